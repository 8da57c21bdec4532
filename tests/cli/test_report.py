"""`tocsin report`: a readable table, safe CSV and JSON, and clear refusals."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.builders import actor_of, make_integration, make_service, make_user, trigger
from tests.cli.conftest import Run
from tocsin.clock import ManualClock
from tocsin.services import alerts, incidents
from tocsin.services.context import Context

SINCE = "2026-03-01"


@pytest.fixture
def history(ctx: Context, clock: ManualClock) -> None:
    """One incident acknowledged after 6 minutes and resolved after 30."""
    ann = make_user(ctx, "ann@example.com", password=None)
    make_service(ctx, "checkout", steps=[(5, [ann])])
    integration, _ = make_integration(ctx, "checkout")
    [outcome] = alerts.ingest(ctx, integration, [trigger("k", "-2+3 disk")])
    assert outcome.incident_number is not None
    clock.advance(minutes=6)
    incidents.acknowledge(ctx, actor_of(ctx, ann), outcome.incident_number)
    clock.advance(minutes=24)
    incidents.resolve(ctx, actor_of(ctx, ann), outcome.incident_number)


def test_table_shows_response_times(tocsin: Run, history: None) -> None:
    """The table reads MTTA 6 minutes and MTTR 30 minutes."""
    result = tocsin("report", "--since", SINCE)
    assert result.exit_code == 0, result.output
    assert "1 incidents" in result.output
    assert "6.0 min" in result.output
    assert "30.0 min" in result.output
    assert "checkout" in result.output


def test_csv_neutralises_formulas(tocsin: Run, history: None) -> None:
    """A title starting with a minus sign comes out as text."""
    result = tocsin("report", "--since", SINCE, "--format", "csv")
    assert result.exit_code == 0, result.output
    [row] = list(csv.DictReader(io.StringIO(result.output)))
    assert row["title"] == "'-2+3 disk"
    assert row["minutes_to_resolve"] == "30.0"


def test_json_has_the_summary(tocsin: Run, history: None) -> None:
    """JSON carries the same figures as the table."""
    result = tocsin(
        "report", "--since", SINCE, "--format", "json", "--severity", "sev1"
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found["acknowledge"]["mean_minutes"] == 6.0
    assert found["severity"] == ["sev1"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "soon"), "--since is a number of days"),
        (("--team", "Nobody"), "no team named"),
        (("--service", "nothing"), "no service named"),
        (("--severity", "sev9"), "severity is one of"),
        (("--until", "later"), "--until is a date"),
    ],
)
def test_bad_input_is_one_error_line(
    tocsin: Run, history: None, args: tuple[str, ...], message: str
) -> None:
    """Each bad option gives one `error:` line and exit 1."""
    result = tocsin("report", "--since", SINCE, *args)
    assert result.exit_code == 1
    assert message in result.output


def test_table_shows_feedback_averages(
    tocsin: Run, ctx: Context, history: None
) -> None:
    """One answer rated 4, 2 and 5 shows as the team's mean ratings."""
    from sqlalchemy import insert, select

    from tocsin.store.models import FeedbackAnswer, Incident

    assert "feedback: no answers" in tocsin("report", "--since", SINCE).output
    with ctx.db.write() as session:
        incident_id = session.scalars(select(Incident.id)).one()
        session.execute(
            insert(FeedbackAnswer).values(
                incident_id=incident_id,
                respondent="r1",
                rating_overall=4,
                rating_tools=2,
                rating_communication=5,
                went_well="",
                hindered="",
                answered_at=ctx.clock.now(),
            )
        )

    result = tocsin("report", "--since", SINCE)

    assert result.exit_code == 0, result.output
    assert (
        "feedback: 1 answers; mean of 5: overall 4.0, tools 2.0, communication 5.0"
        in result.output
    )
