"""Change events: recorded per service, checked, and shown on incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.builders import actor_of, make_integration, make_service, make_user, trigger
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from tocsin.services import alerts, changes, incidents
from tocsin.services.context import Context
from tocsin.store.models import AuditRecord, ChangeEvent


def stored(ctx: Context) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count(ChangeEvent.id))) or 0


def deploy(ctx: Context, summary: str, at: datetime, service: str = "checkout") -> None:
    changes.record(ctx, SYSTEM, service=service, kind="deploy", summary=summary, at=at)


def test_an_incident_lists_the_changes_shortly_before_it_began(
    ctx: Context, clock: ManualClock
) -> None:
    """Recent changes: its service's, in the window before it, newest first."""
    make_service(ctx, "checkout")
    make_service(ctx, "billing")
    integration, _ = make_integration(ctx, "checkout")
    began = clock.now()
    deploy(ctx, "too old", began - changes.RECENT_WINDOW - timedelta(minutes=1))
    deploy(ctx, "v1.1", began - timedelta(hours=2))
    deploy(ctx, "v1.2", began - timedelta(minutes=10))
    deploy(ctx, "other service", began - timedelta(minutes=5), service="billing")

    [outcome] = alerts.ingest(ctx, integration, [trigger()])
    assert outcome.incident_number is not None
    clock.advance(minutes=30)
    deploy(ctx, "after it began", clock.now())
    detail = incidents.get(ctx, SYSTEM, outcome.incident_number)

    assert [c.summary for c in detail.recent_changes] == ["v1.2", "v1.1"]
    assert detail.recent_changes[0].service.name == "checkout"


def test_a_change_is_stored_with_its_source_and_audited(ctx: Context) -> None:
    """The change keeps who told Tocsin; the audit trail has the write."""
    ann = make_user(ctx, teams=("Ops",))
    make_service(ctx, "checkout", team="Ops")

    change = changes.record(
        ctx,
        actor_of(ctx, ann),
        service="checkout",
        kind="feature_flag",
        summary="new-checkout on for 10%",
        link="https://flags.example.com/new-checkout",
        version="",
    )

    assert change.source == "ann@example.com"
    assert change.kind == "feature_flag"
    with ctx.db.read() as session:
        actions = session.scalars(select(AuditRecord.action)).all()
    assert actions.count("change.record") == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "rollback"),
        ("summary", "   "),
        ("summary", "x" * 501),
        ("summary", "two\nlines"),
        ("summary", "nul\x00"),
        ("link", "javascript:alert(1)"),
        ("link", "ftp://example.com/x"),
        ("version", "v" * 201),
    ],
)
def test_bad_input_is_refused_and_nothing_stored(
    ctx: Context, field: str, value: str
) -> None:
    """Each bad field is a 400 and stores nothing."""
    make_service(ctx, "checkout")
    fields = {"kind": "deploy", "summary": "ok", "link": "", "version": ""}
    fields[field] = value

    with pytest.raises(InvalidInput):
        changes.record(ctx, SYSTEM, service="checkout", **fields)
    assert stored(ctx) == 0


def test_times_must_be_aware_and_not_in_the_future(
    ctx: Context, clock: ManualClock
) -> None:
    """A naive time or one far ahead of now is refused."""
    make_service(ctx, "checkout")
    with pytest.raises(InvalidInput):
        deploy(ctx, "naive", datetime(2026, 3, 2, 9, 0))  # noqa: DTZ001
    with pytest.raises(InvalidInput):
        deploy(ctx, "ahead", clock.now() + timedelta(hours=1))
    deploy(ctx, "a little ahead", clock.now() + timedelta(minutes=1))

    assert stored(ctx) == 1


def test_only_responders_of_the_team_record_changes(ctx: Context) -> None:
    """Viewers are forbidden; another team's users cannot see the service."""
    make_service(ctx, "checkout", team="Ops")
    vera = make_user(ctx, "vera@example.com", role="viewer", teams=("Ops",))
    pete = make_user(ctx, "pete@example.com", teams=("Payments",))

    with pytest.raises(Forbidden):
        changes.record(
            ctx, actor_of(ctx, vera), service="checkout", kind="deploy", summary="x"
        )
    with pytest.raises(NotFound):
        changes.record(
            ctx, actor_of(ctx, pete), service="checkout", kind="deploy", summary="x"
        )
    assert stored(ctx) == 0


def test_an_integration_key_names_its_service(ctx: Context) -> None:
    """With a key the service may be left out; naming another one is refused."""
    make_service(ctx, "checkout")
    make_service(ctx, "billing")
    _, key = make_integration(ctx, "checkout", "generic")
    actor, integration = changes.authenticate_key(ctx, key)

    change = changes.record(
        ctx,
        actor,
        service=None,
        kind="config",
        summary="pool 20",
        integration=integration,
    )
    assert change.service.name == "checkout"
    with pytest.raises(Forbidden):
        changes.record(
            ctx,
            actor,
            service="billing",
            kind="config",
            summary="x",
            integration=integration,
        )
    with pytest.raises(Unauthenticated):
        changes.authenticate_key(ctx, "not-a-key")
    assert stored(ctx) == 1


def test_listing_is_newest_first_and_bounded(ctx: Context, clock: ManualClock) -> None:
    """A service's list is newest first, honours since and limit."""
    make_service(ctx, "checkout")
    start = clock.now()
    for hour in range(5):
        deploy(ctx, f"v{hour}", start - timedelta(hours=5 - hour))

    listed = changes.list_changes(ctx, SYSTEM, "checkout", limit=3)
    assert [c.summary for c in listed] == ["v4", "v3", "v2"]
    since = changes.list_changes(
        ctx, SYSTEM, "checkout", since=start - timedelta(hours=2, minutes=30)
    )
    assert [c.summary for c in since] == ["v4", "v3"]
    assert since[0].at.tzinfo is not None
    assert since[0].at == (start - timedelta(hours=1)).astimezone(UTC)
