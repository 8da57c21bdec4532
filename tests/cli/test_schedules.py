"""`tocsin schedule ...`: set up a rotation, ask who is on call, read the
timeline, and get one `error:` line with nothing stored on bad input."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.builders import make_user
from tests.cli.conftest import Run
from tocsin.services.context import Context
from tocsin.store.models import Schedule, ScheduleLayer, ScheduleOverride


@pytest.fixture
def people(ctx: Context) -> None:
    make_user(ctx, "ann@example.com", teams=("Ops",))
    make_user(ctx, "bob@example.com", teams=("Ops",))


def _count(ctx: Context, model: type) -> int:
    with ctx.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _rotation(tocsin: Run) -> None:
    added = tocsin(
        "schedule", "add", "Ops primary", "--team", "Ops", "--zone", "America/New_York"
    )
    assert added.exit_code == 0, added.output
    layer = tocsin(
        "schedule", "layer-add", "Ops primary",
        "--member", "ann@example.com", "--member", "bob@example.com",
        "--shift", "1d", "--start", "2027-03-01T09:00", "--name", "Primary",
    )  # fmt: skip
    assert layer.exit_code == 0, layer.output


def test_a_rotation_set_up_from_the_shell_answers_who_is_on_call(
    tocsin: Run, people: None
) -> None:
    """Daily 09:00 New York handoffs: Bob on 2 March, and the 14 March handoff
    (after the clocks went forward) at 09:00 EDT."""
    _rotation(tocsin)

    oncall = tocsin("schedule", "oncall", "Ops primary", "--at", "2027-03-02T12:00")
    timeline = tocsin(
        "schedule", "timeline", "Ops primary",
        "--start", "2027-03-13T00:00", "--end", "2027-03-15T00:00",
    )  # fmt: skip
    listed = tocsin("schedule", "list")
    shown = tocsin("schedule", "show", "Ops primary")

    assert oncall.exit_code == 0, oncall.output
    assert "bob@example.com" in oncall.output
    assert "until Wed 2027-03-03 09:00 -0500" in oncall.output
    assert "Sun 2027-03-14 09:00 -0400" in timeline.output
    assert "0 gap(s)" in timeline.output
    assert "Ops primary" in listed.output
    assert "every 1 days from 2027-03-01 09:00" in shown.output


def test_an_override_from_the_shell_takes_over(tocsin: Run, people: None) -> None:
    """Times without an offset are the schedule's local time."""
    _rotation(tocsin)

    added = tocsin(
        "schedule", "override-add", "Ops primary", "ann@example.com",
        "--start", "2027-03-02T12:00", "--end", "2027-03-02T18:00",
    )  # fmt: skip
    oncall = tocsin("schedule", "oncall", "Ops primary", "--at", "2027-03-02T13:00")

    assert added.exit_code == 0, added.output
    assert "override" in added.output
    assert "ann@example.com" in oncall.output
    assert "until Tue 2027-03-02 18:00 -0500" in oncall.output


def test_a_calendar_url_is_printed_once(tocsin: Run, people: None) -> None:
    """`schedule calendar` prints the secret URL; revoking it succeeds."""
    _rotation(tocsin)

    made = tocsin("schedule", "calendar", "--for", "ann@example.com")
    revoked = tocsin("schedule", "calendar-revoke", "1")

    assert made.exit_code == 0, made.output
    assert "/api/v1/calendars/" in made.output
    assert revoked.exit_code == 0
    assert "revoked" in revoked.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "X", "--team", "Ops", "--zone", "Mars/Base"], "IANA"),
        (["add", "X", "--team", "Nobody", "--zone", "UTC"], "no team"),
    ],
)
def test_a_bad_schedule_is_one_error_line_and_nothing_stored(
    tocsin: Run, ctx: Context, people: None, args: list[str], message: str
) -> None:
    """Unknown zones and teams are refused before anything is stored."""
    result = tocsin("schedule", *args)

    assert result.exit_code == 1
    assert result.stderr.startswith("error:")
    assert message in result.stderr
    assert _count(ctx, Schedule) == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--shift", "0d"], "a shift lasts 1 to"),
        (["--shift", "-1d"], "a shift length is"),
        (["--member", "nobody@example.com"], "no user with email"),
        (["--start", "2027-03-01T09:00+01:00"], "local time"),
        (["--start", "soon"], "not a date"),
        (["--restrict", "weekdays 09:00-17:00"], "days are mon to sun"),
    ],
)
def test_a_bad_layer_is_one_error_line_and_nothing_stored(
    tocsin: Run, ctx: Context, people: None, change: list[str], message: str
) -> None:
    """Zero or negative lengths, unknown people, offsets and bad restrictions
    are refused; the schedule keeps no layer."""
    tocsin("schedule", "add", "Ops primary", "--team", "Ops", "--zone", "UTC")
    base = {
        "--member": "ann@example.com",
        "--shift": "1d",
        "--start": "2027-03-01T09:00",
    }
    flag, value = change
    args = [part for key, val in base.items() if key != flag for part in (key, val)]

    result = tocsin("schedule", "layer-add", "Ops primary", *args, flag, value)

    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert _count(ctx, ScheduleLayer) == 0


def test_an_override_ending_before_it_starts_is_refused(
    tocsin: Run, ctx: Context, people: None
) -> None:
    """An end before the start is one error line; no override is stored."""
    _rotation(tocsin)

    result = tocsin(
        "schedule", "override-add", "Ops primary", "ann@example.com",
        "--start", "2027-03-02T18:00", "--end", "2027-03-02T12:00",
    )  # fmt: skip

    assert result.exit_code == 1
    assert "the end must be after the start" in result.stderr
    assert _count(ctx, ScheduleOverride) == 0
