"""Incident use cases: who may do what, and what each leaves behind."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from tests.builders import (
    actor_of,
    make_integration,
    make_service,
    make_user,
    trigger,
    user_by_email,
)
from tocsin.domain.access import SYSTEM
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.services import alerts, incidents
from tocsin.services.context import Context
from tocsin.store.models import AuditRecord, OutboxMessage


@pytest.fixture
def opened(ctx: Context) -> int:
    ann = make_user(ctx, "ann@example.com")
    make_service(ctx, steps=[(5, [ann])])
    integration, _ = make_integration(ctx)
    [outcome] = alerts.ingest(ctx, integration, [trigger()])
    assert outcome.incident_number is not None
    return outcome.incident_number


def test_acknowledge_is_audited_with_who(ctx: Context, opened: int) -> None:
    ann = actor_of(ctx, user_by_email(ctx, "ann@example.com"))

    incidents.acknowledge(ctx, ann, opened)

    with ctx.db.read() as session:
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "incident.acknowledge")
        ).one()
    assert (record.actor_label, record.detail["number"]) == ("ann@example.com", opened)


def test_viewers_cannot_acknowledge(ctx: Context, opened: int) -> None:
    viewer = actor_of(ctx, make_user(ctx, "vic@example.com", role="viewer"))
    with pytest.raises(Forbidden):
        incidents.acknowledge(ctx, viewer, opened)


def test_other_teams_do_not_see_the_incident(ctx: Context, opened: int) -> None:
    outsider = actor_of(ctx, make_user(ctx, "out@example.com", teams=("Data",)))

    with pytest.raises(NotFound):
        incidents.get(ctx, outsider, opened)
    with pytest.raises(NotFound):
        incidents.resolve(ctx, outsider, opened)
    assert incidents.list_incidents(ctx, outsider).total == 0


def test_acknowledging_a_resolved_incident_is_a_conflict(
    ctx: Context, opened: int
) -> None:
    incidents.resolve(ctx, SYSTEM, opened)
    with pytest.raises(Conflict):
        incidents.acknowledge(ctx, SYSTEM, opened)


def test_reassign_pages_the_new_assignee_and_reopens_acknowledgement(
    ctx: Context, opened: int
) -> None:
    bob = make_user(ctx, "bob@example.com")
    incidents.acknowledge(ctx, SYSTEM, opened)

    result = incidents.reassign(ctx, SYSTEM, opened, bob.id)

    assert result.status == "triggered"
    assert result.assignee is not None
    assert result.assignee.email == "bob@example.com"
    with ctx.db.read() as session:
        recipients = session.scalars(select(OutboxMessage.recipient)).all()
    assert "bob@example.com" in recipients


def test_notes_are_kept_verbatim_and_empty_ones_refused(
    ctx: Context, opened: int
) -> None:
    detail = incidents.add_note(ctx, SYSTEM, opened, "<b>rolled back</b> deploy 42")
    assert detail.timeline[-1].message == "<b>rolled back</b> deploy 42"

    with pytest.raises(InvalidInput):
        incidents.add_note(ctx, SYSTEM, opened, "   ")
    with pytest.raises(InvalidInput):
        incidents.add_note(ctx, SYSTEM, opened, "nul\x00byte")


def test_parallel_acknowledgements_record_exactly_one(
    ctx: Context, opened: int
) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: incidents.acknowledge(ctx, SYSTEM, opened), range(8)))

    kinds = [e.kind for e in incidents.get(ctx, SYSTEM, opened).timeline]
    assert kinds.count("acknowledged") == 1


def test_parallel_new_alerts_get_distinct_incident_numbers(ctx: Context) -> None:
    make_service(ctx, steps=[(5, [make_user(ctx)])])
    integration, _ = make_integration(ctx)

    def fire(i: int) -> int | None:
        [outcome] = alerts.ingest(ctx, integration, [trigger(f"key-{i}")])
        return outcome.incident_number

    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(fire, range(24)))

    assert sorted(n for n in numbers if n is not None) == list(range(1, 25))


def test_reassigning_to_someone_outside_the_team_is_refused(
    ctx: Context, opened: int
) -> None:
    outsider = make_user(ctx, "out@example.com", teams=("Data",))
    viewer = make_user(ctx, "vic@example.com", role="viewer")

    with pytest.raises(InvalidInput, match="responder role"):
        incidents.reassign(ctx, SYSTEM, opened, outsider.id)
    with pytest.raises(InvalidInput, match="responder role"):
        incidents.reassign(ctx, SYSTEM, opened, viewer.id)
    assert incidents.get(ctx, SYSTEM, opened).assignee is None


@pytest.mark.parametrize("number", [0, -1, 2**31, 2**63])
def test_numbers_outside_the_column_range_are_simply_not_found(
    ctx: Context, number: int
) -> None:
    with pytest.raises(NotFound):
        incidents.get(ctx, SYSTEM, number)
    with pytest.raises(NotFound):
        incidents.acknowledge(ctx, SYSTEM, number)


def test_reassigning_to_the_current_assignee_pages_nobody_again(
    ctx: Context, opened: int
) -> None:
    bob = make_user(ctx, "bob@example.com")
    incidents.reassign(ctx, SYSTEM, opened, bob.id)
    with ctx.db.read() as session:
        before = session.scalars(select(OutboxMessage.id)).all()

    incidents.reassign(ctx, SYSTEM, opened, bob.id)

    with ctx.db.read() as session:
        assert session.scalars(select(OutboxMessage.id)).all() == before


@pytest.mark.parametrize(
    "since",
    [
        datetime(9999, 12, 31, 23, 59, tzinfo=timezone(-timedelta(hours=23))),
        datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=23))),
    ],
)
def test_instants_beyond_utc_are_invalid_input(ctx: Context, since: datetime) -> None:
    with pytest.raises(InvalidInput, match="out of range"):
        incidents.list_incidents(ctx, SYSTEM, incidents.IncidentFilter(since=since))
