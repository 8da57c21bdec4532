"""What the status page administration pages need beyond the API: renaming
and moving a group, and editing maintenance that has not finished."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.builders import actor_of, make_user
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.engine.worker import Worker
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.services import status_maintenance as maintenance
from tocsin.services import status_page as sp
from tocsin.services.context import Context
from tocsin.services.status_page import MAINTENANCE_TIMER
from tocsin.store.models import OutboxMessage, StatusSubscriber, Timer


@pytest.fixture
def components(ctx: Context) -> None:
    sp.create_group(ctx, SYSTEM, "Core")
    sp.create_group(ctx, SYSTEM, "Edge", position=5)
    sp.create_component(ctx, SYSTEM, "API", group="Core")
    sp.create_component(ctx, SYSTEM, "Website")


def test_a_group_is_renamed_and_moved(ctx: Context, components: None) -> None:
    """The new name and position show in the list, in the new order; the
    components keep their group under its new name."""
    core = sp.list_groups(ctx)[0]

    edited = sp.edit_group(ctx, SYSTEM, core.id, name="Platform", position=9)

    assert (edited.name, edited.position) == ("Platform", 9)
    assert [g.name for g in sp.list_groups(ctx)] == ["Edge", "Platform"]
    assert sp.get_component(ctx, "API").group == "Platform"


def test_a_group_edit_is_refused_cleanly(ctx: Context, components: None) -> None:
    """A taken or empty name, a wild position, an unknown group or a responder
    change nothing."""
    core = sp.list_groups(ctx)[0]
    responder = actor_of(ctx, make_user(ctx, "rita@example.com"))

    with pytest.raises(Conflict):
        sp.edit_group(ctx, SYSTEM, core.id, name="Edge")
    with pytest.raises(InvalidInput):
        sp.edit_group(ctx, SYSTEM, core.id, name="  ")
    with pytest.raises(InvalidInput):
        sp.edit_group(ctx, SYSTEM, core.id, position=10**6)
    with pytest.raises(NotFound):
        sp.edit_group(ctx, SYSTEM, 999, name="Other")
    with pytest.raises(Forbidden):
        sp.edit_group(ctx, responder, core.id, name="Mine")

    assert [(g.name, g.position) for g in sp.list_groups(ctx)] == [
        ("Core", 0),
        ("Edge", 5),
    ]


def subscribe_confirmed(ctx: Context) -> None:
    now = ctx.clock.now()
    with ctx.db.write() as session:
        session.add(
            StatusSubscriber(
                email="reader@example.com",
                nonce="n" * 32,
                confirmation_sent_at=now,
                confirmed_at=now,
                created_at=now,
            )
        )


def subjects(ctx: Context) -> list[str]:
    with ctx.db.read() as session:
        return list(
            session.scalars(select(OutboxMessage.subject).order_by(OutboxMessage.id))
        )


def test_moved_maintenance_runs_at_its_new_times_only(
    ctx: Context, clock: ManualClock, components: None
) -> None:
    """Moving a window re-arms its timers: nothing happens at the old start,
    the components go under maintenance at the new one, and subscribers hear
    of the move, the start and the end once each."""
    subscribe_confirmed(ctx)
    start = clock.now() + timedelta(hours=1)
    window = maintenance.schedule_maintenance(
        ctx,
        SYSTEM,
        title="Upgrade",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        components=["API"],
    )
    later = start + timedelta(hours=3)

    moved = maintenance.edit_maintenance(
        ctx,
        SYSTEM,
        window.id,
        starts_at=later,
        ends_at=later + timedelta(hours=1),
        components=["API", "Website"],
    )

    assert (moved.starts_at, moved.ends_at) == (later, later + timedelta(hours=1))
    assert moved.components == ["API", "Website"]
    with ctx.db.read() as session:
        timers = session.scalars(
            select(Timer).where(Timer.kind == MAINTENANCE_TIMER)
        ).all()
    assert sorted(t.due_at for t in timers) == [later, later + timedelta(hours=1)]

    worker = Worker(ctx, channels={})
    clock.set(start)
    worker.run_once()
    assert sp.get_component(ctx, "API").state == "operational"
    clock.set(later)
    worker.run_once()
    assert sp.get_component(ctx, "Website").state == "maintenance"
    clock.set(later + timedelta(hours=1))
    worker.run_once()
    assert sp.get_component(ctx, "Website").state == "operational"
    assert subjects(ctx) == [
        "[Status] Scheduled maintenance: Upgrade",
        "[Status] Maintenance rescheduled: Upgrade",
        "[Status] Maintenance started: Upgrade",
        "[Status] Maintenance completed: Upgrade",
    ]


def test_a_corrected_title_tells_nobody(
    ctx: Context, clock: ManualClock, components: None
) -> None:
    subscribe_confirmed(ctx)
    start = clock.now() + timedelta(hours=1)
    window = maintenance.schedule_maintenance(
        ctx,
        SYSTEM,
        title="Upgarde",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        components=["API"],
    )

    edited = maintenance.edit_maintenance(
        ctx, SYSTEM, window.id, title="Upgrade", description="New disks."
    )

    assert (edited.title, edited.description) == ("Upgrade", "New disks.")
    assert subjects(ctx) == ["[Status] Scheduled maintenance: Upgarde"]


def test_a_maintenance_edit_is_refused_cleanly(
    ctx: Context, clock: ManualClock, components: None
) -> None:
    """Backwards windows, unknown or no components, an empty title, finished
    windows and responders change nothing."""
    start = clock.now() + timedelta(hours=1)
    end = start + timedelta(hours=1)
    window = maintenance.schedule_maintenance(
        ctx, SYSTEM, title="Upgrade", starts_at=start, ends_at=end, components=["API"]
    )
    responder = actor_of(ctx, make_user(ctx, "rita@example.com"))

    with pytest.raises(InvalidInput):
        maintenance.edit_maintenance(
            ctx, SYSTEM, window.id, starts_at=end, ends_at=start
        )
    with pytest.raises(NotFound):
        maintenance.edit_maintenance(
            ctx, SYSTEM, window.id, title="New", components=["Nope"]
        )
    with pytest.raises(InvalidInput):
        maintenance.edit_maintenance(ctx, SYSTEM, window.id, components=[])
    with pytest.raises(InvalidInput):
        maintenance.edit_maintenance(ctx, SYSTEM, window.id, title=" ")
    with pytest.raises(Forbidden):
        maintenance.edit_maintenance(ctx, responder, window.id, title="Mine")

    [kept] = maintenance.list_maintenance(ctx)
    assert (kept.title, kept.starts_at, kept.ends_at, kept.components) == (
        "Upgrade",
        start,
        end,
        ["API"],
    )

    maintenance.cancel_maintenance(ctx, SYSTEM, window.id)
    with pytest.raises(Conflict):
        maintenance.edit_maintenance(ctx, SYSTEM, window.id, title="Again")


def test_components_move_up_and_down_within_their_group(ctx: Context) -> None:
    """Moving swaps neighbours in the page's order and renumbers the group;
    the top one does not move up, and other groups keep their positions."""
    sp.create_group(ctx, SYSTEM, "Core")
    for name in ("A", "B", "C"):
        sp.create_component(ctx, SYSTEM, name, group="Core", position=7)
    sp.create_component(ctx, SYSTEM, "Loose", position=7)

    sp.move_component(ctx, SYSTEM, "C", up=True)
    sp.move_component(ctx, SYSTEM, "C", up=True)
    sp.move_component(ctx, SYSTEM, "C", up=True)
    sp.move_component(ctx, SYSTEM, "A", up=False)

    ordered = [(c.name, c.position) for c in sp.list_components(ctx)]
    assert ordered == [("C", 0), ("B", 1), ("A", 2), ("Loose", 7)]


def test_groups_move_up_and_down(ctx: Context) -> None:
    for name in ("Core", "Edge", "Web"):
        sp.create_group(ctx, SYSTEM, name)
    responder = actor_of(ctx, make_user(ctx, "rita@example.com"))

    sp.move_group(ctx, SYSTEM, "Web", up=True)
    sp.move_group(ctx, SYSTEM, "Core", up=False)
    sp.move_group(ctx, SYSTEM, "Core", up=False)
    with pytest.raises(Forbidden):
        sp.move_group(ctx, responder, "Core", up=True)
    with pytest.raises(Forbidden):
        sp.move_component(ctx, responder, "Core", up=True)

    assert [(g.name, g.position) for g in sp.list_groups(ctx)] == [
        ("Web", 0),
        ("Edge", 1),
        ("Core", 2),
    ]
