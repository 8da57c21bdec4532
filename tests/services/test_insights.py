"""Insights across incidents, computed from real incident histories."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from tests.builders import (
    actor_of,
    make_integration,
    make_schedule,
    make_service,
    make_user,
    team_id,
    trigger,
)
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.errors import InvalidInput, NotFound
from tocsin.services import alerts, incidents, insights, notices
from tocsin.services.context import Context
from tocsin.services.insights import InsightFilter
from tocsin.services.records import add_timeline
from tocsin.store.models import Incident, OutboxMessage, User


def _open(ctx: Context, key: str, summary: str = "Disk full on db-1") -> int:
    integration, _ = make_integration(ctx)
    [outcome] = alerts.ingest(ctx, integration, [trigger(key, summary)])
    assert outcome.incident_number is not None
    return outcome.incident_number


def _period(ctx: Context, days: int = 30) -> InsightFilter:
    now = ctx.clock.now()
    return InsightFilter(since=now - timedelta(days=days), until=now)


@pytest.fixture
def history(ctx: Context, clock: ManualClock) -> None:
    """Three incidents: acked at 4 and 10 minutes and resolved at 30 and 60;
    the third resolved at 20 without an ack, then acked (ignored)."""
    ann = make_user(ctx, "ann@example.com")
    make_service(ctx, steps=[(5, [ann])])
    ann_actor = actor_of(ctx, ann)

    first = _open(ctx, "a")
    clock.advance(minutes=4)
    incidents.acknowledge(ctx, ann_actor, first)
    clock.advance(minutes=26)
    incidents.resolve(ctx, ann_actor, first)

    second = _open(ctx, "b")
    clock.advance(minutes=10)
    incidents.acknowledge(ctx, ann_actor, second)
    clock.advance(minutes=50)
    incidents.resolve(ctx, ann_actor, second)

    third = _open(ctx, "c", '=HYPERLINK("http://evil")')
    clock.advance(minutes=20)
    incidents.resolve(ctx, ann_actor, third)
    clock.advance(minutes=1)
    with ctx.db.write() as session:
        row = session.query(Incident).filter_by(number=third).one()
        add_timeline(
            session,
            row,
            at=ctx.clock.now(),
            kind="acknowledged",
            message="late",
            actor=ann_actor,
        )
    clock.advance(hours=1)


def test_mtta_and_mttr_of_a_known_history(ctx: Context, history: None) -> None:
    """MTTA leaves out the incident acknowledged only after resolving."""
    found = insights.compute(ctx, SYSTEM, _period(ctx))

    assert found.incidents == 3
    assert found.acknowledge.count == 2
    assert found.acknowledge.mean_minutes == 7.0
    assert found.acknowledge.p90_minutes == 10.0
    assert found.resolve.count == 3
    assert found.resolve.median_minutes == 30.0
    assert found.resolve.mean_minutes == round((30 + 60 + 20) / 3, 1)
    assert sum(week.incidents for week in found.weeks) == 3
    assert found.noisy_services[0].count == 3


def test_pages_and_people_per_person(ctx: Context, history: None) -> None:
    """Pages to Ann come from the outbox for the chosen incidents."""
    found = insights.compute(ctx, SYSTEM, _period(ctx))

    [ann] = found.on_call
    assert ann.name == "Ann"
    assert ann.pages >= 3


def test_notices_about_an_incident_are_not_pages(
    ctx: Context, clock: ManualClock, history: None
) -> None:
    """A survey link, a role or a task notice about an incident is mail to a
    person, not a page: it adds nothing to their pages or night pages."""
    before = insights.compute(ctx, SYSTEM, _period(ctx))
    [ann] = before.on_call
    clock.advance(hours=24 - clock.now().hour)  # midnight UTC: a night
    with ctx.db.write() as session:
        incident_id = session.scalars(select(Incident.id)).first()
        for topic in ("feedback_survey", "role_assigned", "task_overdue"):
            notices.notify(
                session,
                ctx,
                [ann.user_id],
                subject="not a page",
                body="",
                topic=topic,
                incident_id=incident_id,
            )

    after = insights.compute(ctx, SYSTEM, _period(ctx))
    [load] = after.on_call
    assert (load.pages, load.night_pages) == (ann.pages, ann.night_pages)


def test_filters_by_severity_and_service(ctx: Context, history: None) -> None:
    """A severity no incident has gives nothing; an unknown service is 404."""
    period = _period(ctx)
    none = insights.compute(
        ctx, SYSTEM, InsightFilter(period.since, period.until, severity=("sev4",))
    )
    assert none.incidents == 0
    assert none.acknowledge.mean_minutes is None
    with pytest.raises(NotFound):
        insights.compute(
            ctx, SYSTEM, InsightFilter(period.since, period.until, service_id=999)
        )
    with pytest.raises(InvalidInput):
        insights.compute(
            ctx, SYSTEM, InsightFilter(period.since, period.until, severity=("x",))
        )


def test_other_teams_see_none_of_it(ctx: Context, history: None) -> None:
    """A responder of another team counts none of Ops' incidents."""
    outsider = actor_of(ctx, make_user(ctx, "out@example.com", teams=("Data",)))
    found = insights.compute(ctx, outsider, _period(ctx))
    assert found.incidents == 0
    period = _period(ctx)
    with pytest.raises(NotFound):
        insights.compute(
            ctx,
            outsider,
            InsightFilter(period.since, period.until, team_id=team_id(ctx, "Ops")),
        )


def test_night_pages_use_the_persons_zone(ctx: Context, clock: ManualClock) -> None:
    """A page at 23:30 Berlin time is a night page; one at 12:00 is not."""
    from datetime import UTC, datetime

    ann = make_user(ctx, "ann@example.com")
    make_service(ctx)
    number = _open(ctx, "n")
    with ctx.db.write() as session:
        session.get_one(User, ann.id).time_zone = "Europe/Berlin"
        incident_id = session.query(Incident).filter_by(number=number).one().id
        for i, at in enumerate(
            (
                datetime(2026, 7, 1, 21, 30, tzinfo=UTC),
                datetime(2026, 7, 1, 10, 0, tzinfo=UTC),
            )
        ):
            session.execute(
                insert(OutboxMessage),
                {
                    "channel": "email",
                    "recipient": "ann@example.com",
                    "subject": "",
                    "body": "",
                    "payload": {"kind": "page"},
                    "idempotency_key": f"night-{i}",
                    "incident_id": incident_id,
                    "user_id": ann.id,
                    "status": "sent",
                    "attempts": 1,
                    "next_attempt_at": at,
                    "last_error": "",
                    "created_at": at,
                },
            )
    clock.advance(minutes=1)
    found = insights.compute(ctx, SYSTEM, _period(ctx))
    [load] = found.on_call
    assert (load.pages, load.night_pages) == (2, 1)


def test_hours_on_call_come_from_schedules_across_dst(ctx: Context) -> None:
    """Daily London shifts over the spring-forward: the short day is 23 hours."""
    from datetime import UTC, datetime

    ann = make_user(ctx, "ann@example.com")
    bob = make_user(ctx, "bob@example.com")
    make_schedule(ctx, members=[ann, bob], time_zone="Europe/London")
    since = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)  # 09:00 GMT, Ann's day
    until = datetime(2026, 3, 31, 8, 0, tzinfo=UTC)  # 09:00 BST
    found = insights.compute(ctx, SYSTEM, InsightFilter(since=since, until=until))
    hours = {load.name: load.hours_on_call for load in found.on_call}
    assert hours == {"Ann": 48.0, "Bob": 47.0}


def test_csv_and_json_neutralise_formulas(ctx: Context, history: None) -> None:
    """Cells that a spreadsheet would run as formulas start with an apostrophe."""
    found = insights.compute(ctx, SYSTEM, _period(ctx))

    rows = list(csv.DictReader(io.StringIO(insights.to_csv(found))))
    titles = {row["title"] for row in rows}
    assert '\'=HYPERLINK("http://evil")' in titles
    assert rows[0]["minutes_to_acknowledge"] == "4.0"
    exported = json.loads(insights.to_json(found))
    assert exported["rows"][2]["title"].startswith("'=")
    for text in ("+1", "-1", "@x", "\tx", "\rx"):
        assert insights.safe_cell(text) == "'" + text
    assert insights.safe_cell("plain") == "plain"


def test_since_accepts_days_weeks_and_dates(ctx: Context) -> None:
    """`30d`, `2w` and a date parse; nonsense and long periods are refused."""
    now = ctx.clock.now()
    assert insights.parse_since("30d", now) == now - timedelta(days=30)
    assert insights.parse_since("2w", now) == now - timedelta(days=14)
    assert insights.parse_since("2026-01-01", now).day == 1
    for bad in ("soon", "0d", "9999d", "2999-01-01"):
        with pytest.raises(InvalidInput):
            insights.parse_since(bad, now)


def test_postmortem_and_action_item_completion(ctx: Context, history: None) -> None:
    """One of two postmortems published; one of two live action items done
    (a cancelled item counts for neither)."""
    from sqlalchemy import select, update

    from tocsin.services import action_items, postmortems
    from tocsin.store.models import Postmortem

    ann = actor_of(ctx, make_user(ctx, "pm@example.com"))
    with ctx.db.read() as session:
        first, second = session.scalars(
            select(Incident.number).order_by(Incident.number).limit(2)
        ).all()
    published = postmortems.create(ctx, ann, [first])
    draft = postmortems.create(ctx, ann, [second])
    with ctx.db.write() as session:
        session.execute(
            update(Postmortem)
            .where(Postmortem.id == published.id)
            .values(status="published")
        )
    done, _open_item, cancelled = (
        action_items.create(ctx, ann, draft.id, title=title, kind="prevent")
        for title in ("Add a disk alert", "Grow the disk", "Buy a bigger host")
    )
    action_items.update(ctx, ann, done.id, status="done")
    action_items.update(ctx, ann, cancelled.id, status="cancelled")

    found = insights.compute(ctx, SYSTEM, _period(ctx))
    assert (found.postmortems.done, found.postmortems.total) == (1, 2)
    assert (found.action_items.done, found.action_items.total) == (1, 2)
    assert found.action_items.rate == 0.5


def test_feedback_is_averaged_over_the_chosen_incidents(
    ctx: Context, history: None
) -> None:
    """Three answers give their count and mean ratings; a filter that chooses
    no incident, or another team, counts none of them."""
    from tocsin.store.models import FeedbackAnswer

    with ctx.db.write() as session:
        first, second = session.scalars(
            select(Incident.id).order_by(Incident.number).limit(2)
        ).all()
        session.execute(
            insert(FeedbackAnswer),
            [
                _answer(ctx, first, "r1", (5, 4, 3)),
                _answer(ctx, first, "r2", (2, 2, 4)),
                _answer(ctx, second, "r1", (4, 3, 5)),
            ],
        )

    said = insights.compute(ctx, SYSTEM, _period(ctx)).feedback

    assert said.answers == 3
    assert said.mean_overall == round(11 / 3, 2)
    assert said.mean_tools == 3.0
    assert said.mean_communication == 4.0
    period = _period(ctx)
    none = insights.compute(
        ctx, SYSTEM, InsightFilter(period.since, period.until, severity=("sev4",))
    ).feedback
    assert (none.answers, none.mean_overall) == (0, None)
    outsider = actor_of(ctx, make_user(ctx, "out@example.com", teams=("Data",)))
    assert insights.compute(ctx, outsider, period).feedback.answers == 0


def _answer(
    ctx: Context, incident_id: int, respondent: str, ratings: tuple[int, int, int]
) -> dict[str, object]:
    overall, tools, communication = ratings
    return {
        "incident_id": incident_id,
        "respondent": respondent,
        "rating_overall": overall,
        "rating_tools": tools,
        "rating_communication": communication,
        "went_well": "",
        "hindered": "",
        "answered_at": ctx.clock.now(),
    }
