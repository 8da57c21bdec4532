"""Reading the audit trail: admins only, newest first, filters, and pages that
hold still while new records arrive."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from tests.builders import make_user
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM, Actor, Role
from tocsin.errors import Forbidden, InvalidInput
from tocsin.services import audit_log, people
from tocsin.services.audit_log import AuditCursor, AuditQuery
from tocsin.services.catalog.policies import create_team
from tocsin.services.context import Context

ADMIN = Actor(kind="user", label="ada@example.com", user_id=1, role=Role.ADMIN)


def _teams(ctx: Context, clock: ManualClock, names: list[str]) -> None:
    for name in names:
        clock.advance(minutes=1)
        create_team(ctx, SYSTEM, name)


def test_only_an_admin_reads_the_trail(ctx: Context) -> None:
    manager = Actor(kind="user", label="mia", user_id=2, role=Role.MANAGER)

    with pytest.raises(Forbidden):
        audit_log.search(ctx, manager, AuditQuery())
    with pytest.raises(Forbidden):
        audit_log.choices(ctx, manager)


def test_records_come_newest_first_and_pages_do_not_shift(
    ctx: Context, clock: ManualClock
) -> None:
    """A record written between two pages appears on neither: the second page
    goes on from where the first ended."""
    _teams(ctx, clock, [f"T{n}" for n in range(5)])

    first = audit_log.search(ctx, ADMIN, AuditQuery(kind="team", limit=2))
    _teams(ctx, clock, ["Late"])
    second = audit_log.search(
        ctx, ADMIN, AuditQuery(kind="team", limit=2, after=first.next_cursor)
    )
    third = audit_log.search(
        ctx, ADMIN, AuditQuery(kind="team", limit=2, after=second.next_cursor)
    )

    names = [e.detail["name"] for p in (first, second, third) for e in p.entries]
    assert names == ["T4", "T3", "T2", "T1", "T0"]
    assert third.next_cursor is None


def test_records_at_the_same_instant_are_ordered_by_id(
    ctx: Context, clock: ManualClock
) -> None:
    for name in ("A", "B", "C"):
        create_team(ctx, SYSTEM, name)

    first = audit_log.search(ctx, ADMIN, AuditQuery(limit=2))
    rest = audit_log.search(ctx, ADMIN, AuditQuery(limit=2, after=first.next_cursor))

    names = [e.detail["name"] for e in [*first.entries, *rest.entries]]
    assert names == ["C", "B", "A"]


def test_filters_by_actor_action_kind_and_time(
    ctx: Context, clock: ManualClock
) -> None:
    start = clock.now()
    _teams(ctx, clock, ["Early"])
    clock.advance(days=2)
    make_user(ctx, "ann@example.com", teams=())

    by_action = audit_log.search(ctx, ADMIN, AuditQuery(action="user.create"))
    by_kind = audit_log.search(ctx, ADMIN, AuditQuery(kind="team"))
    by_actor = audit_log.search(ctx, ADMIN, AuditQuery(actor="TOCS"))
    by_time = audit_log.search(ctx, ADMIN, AuditQuery(until=start + timedelta(days=1)))
    nobody = audit_log.search(ctx, ADMIN, AuditQuery(actor="%"))

    assert [e.action for e in by_action.entries] == ["user.create"]
    assert [e.action for e in by_kind.entries] == ["team.create"]
    assert len(by_actor.entries) == 2
    assert [e.action for e in by_time.entries] == ["team.create"]
    assert nobody.entries == []
    assert audit_log.choices(ctx, ADMIN) == (
        ["team.create", "user.create"],
        ["team", "user"],
    )


def test_before_and_after_are_set_apart_from_other_detail(
    ctx: Context, clock: ManualClock
) -> None:
    make_user(ctx, "ann@example.com", teams=())
    [ann] = people.list_people(ctx, SYSTEM)
    people.change_role(ctx, SYSTEM, ann.id, "viewer")

    [entry] = audit_log.search(
        ctx, ADMIN, AuditQuery(action="user.role_change")
    ).entries

    assert entry.changes == [("role", "responder", "viewer")]
    assert entry.detail == {"email": "ann@example.com"}


def test_bad_queries_and_cursors_are_refused(ctx: Context, clock: ManualClock) -> None:
    now = clock.now()

    with pytest.raises(InvalidInput, match="ends before"):
        audit_log.search(ctx, ADMIN, AuditQuery(since=now, until=now))
    with pytest.raises(InvalidInput):
        audit_log.search(ctx, ADMIN, AuditQuery(actor="x" * 201))
    with pytest.raises(InvalidInput, match="broken"):
        AuditCursor.decode("not-a-cursor")
    assert AuditCursor.decode(AuditCursor(now, 7).encode()) == AuditCursor(now, 7)


@pytest.mark.parametrize(
    "data",
    [
        '{"a":"2026-01-01T00:00:00+00:00","i":Infinity}',
        '{"a":"2026-01-01T00:00:00+00:00","i":1e400}',
        '{"a":"0001-01-01T00:00:00+14:00","i":1}',
        '{"a":"9999-12-31T23:59:59-14:00","i":1}',
    ],
)
def test_a_forged_cursor_out_of_range_is_broken_not_an_error(data: str) -> None:
    # JSON lets Infinity through, and an offset can push an instant past the
    # years a datetime holds once it is turned to UTC for the query.
    text = base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")

    with pytest.raises(InvalidInput, match="broken"):
        AuditCursor.decode(text)
