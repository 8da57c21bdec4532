"""Status page use cases: component states follow public incidents, maintenance
and the operator; publish_update opens and updates the linked public incident."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.builders import actor_of, make_integration, make_service, make_user, trigger
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM, Actor
from tocsin.engine.worker import Worker
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.services import alerts, status_reads
from tocsin.services import status_maintenance as maintenance
from tocsin.services import status_page as sp
from tocsin.services.context import Context
from tocsin.store.models import (
    AuditRecord,
    Incident,
    OutboxMessage,
    StatusComponentChange,
    StatusSubscriber,
    TimelineEntry,
)


def open_incident(
    ctx: Context, key: str = "disk-full", severity: str = "critical"
) -> int:
    """Open a Tocsin incident on checkout by alert; returns its id."""
    integration, _ = make_integration(ctx, "checkout")
    [outcome] = alerts.ingest(ctx, integration, [trigger(key, severity=severity)])
    with ctx.db.read() as session:
        found = session.scalar(
            select(Incident.id).where(Incident.number == outcome.incident_number)
        )
    assert found is not None
    return found


def state_of(ctx: Context, name: str) -> str:
    return sp.get_component(ctx, name).state


@pytest.fixture
def components(ctx: Context) -> None:
    make_service(ctx, "checkout")
    sp.create_group(ctx, SYSTEM, "Payments")
    sp.create_component(ctx, SYSTEM, "API", group="Payments", service="checkout")
    sp.create_component(ctx, SYSTEM, "Dashboard")


def test_component_stays_degraded_until_both_incidents_resolve(
    ctx: Context, components: None
) -> None:
    """A component with two open incidents stays affected until both resolve,
    showing the worst impact while both are open."""
    first = sp.create_incident(
        ctx,
        SYSTEM,
        title="Slow API",
        impact="degraded",
        components=["API"],
        message="Looking into slowness",
    )
    second = sp.create_incident(
        ctx,
        SYSTEM,
        title="API errors",
        impact="partial_outage",
        components=["API"],
        message="Some requests fail",
    )
    assert state_of(ctx, "API") == "partial_outage"

    sp.add_update(ctx, SYSTEM, second.id, message="Fixed", stage="resolved")
    assert state_of(ctx, "API") == "degraded"

    sp.add_update(ctx, SYSTEM, first.id, message="Fast again", stage="resolved")
    assert state_of(ctx, "API") == "operational"
    assert state_of(ctx, "Dashboard") == "operational"


def test_two_degraded_incidents_keep_a_component_degraded_until_both_resolve(
    ctx: Context, components: None
) -> None:
    """Resolving one of two open incidents leaves the component degraded; the
    second resolving makes it operational."""
    first, second = (
        sp.create_incident(
            ctx,
            SYSTEM,
            title=title,
            impact="degraded",
            components=["API"],
            message="Slow",
        )
        for title in ("Slow search", "Slow login")
    )
    sp.add_update(ctx, SYSTEM, first.id, message="Fixed", stage="resolved")
    assert state_of(ctx, "API") == "degraded"

    sp.add_update(ctx, SYSTEM, second.id, message="Fixed", stage="resolved")
    assert state_of(ctx, "API") == "operational"


@pytest.mark.parametrize("attempt", range(3))
def test_two_incidents_resolved_at_once_leave_the_component_operational(
    ctx: Context, components: None, attempt: int
) -> None:
    """Each resolution, seen alone, leaves the other incident open; resolved at
    the same moment, the component must not stay degraded for want of seeing
    the other's commit."""
    incidents = [
        sp.create_incident(
            ctx,
            SYSTEM,
            title=title,
            impact="degraded",
            components=["API"],
            message="Slow",
        )
        for title in ("Slow search", "Slow login")
    ]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def resolve(status_incident_id: int) -> None:
        try:
            barrier.wait(timeout=10)
            sp.add_update(
                ctx, SYSTEM, status_incident_id, message="Fixed", stage="resolved"
            )
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [
        threading.Thread(target=resolve, args=(incident.id,)) for incident in incidents
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert state_of(ctx, "API") == "operational"


def test_manual_state_wins_until_set_back_to_auto(
    ctx: Context, components: None
) -> None:
    """An operator's state holds through incidents resolving; `auto` hands the
    component back to its incidents."""
    incident = sp.create_incident(
        ctx,
        SYSTEM,
        title="Outage",
        impact="major_outage",
        components=["API"],
        message="Down",
    )
    sp.set_component_state(ctx, SYSTEM, "API", "degraded")
    assert state_of(ctx, "API") == "degraded"

    sp.add_update(ctx, SYSTEM, incident.id, message="Up", stage="resolved")
    assert state_of(ctx, "API") == "degraded"

    sp.set_component_state(ctx, SYSTEM, "API", "auto")
    assert state_of(ctx, "API") == "operational"


def test_every_state_change_is_recorded_once(
    ctx: Context, clock: ManualClock, components: None
) -> None:
    """The history holds one row per change of effective state, not per update."""
    incident = sp.create_incident(
        ctx,
        SYSTEM,
        title="Outage",
        impact="major_outage",
        components=["API"],
        message="Down",
    )
    clock.advance(minutes=5)
    sp.add_update(ctx, SYSTEM, incident.id, message="Still down", stage="identified")
    clock.advance(minutes=5)
    sp.add_update(ctx, SYSTEM, incident.id, message="Up", stage="resolved")

    api = sp.get_component(ctx, "API")
    with ctx.db.read() as session:
        states = session.scalars(
            select(StatusComponentChange.state)
            .where(StatusComponentChange.component_id == api.id)
            .order_by(StatusComponentChange.id)
        ).all()
    assert states == ["operational", "major_outage", "operational"]


def test_publish_update_opens_then_updates_the_linked_public_incident(
    ctx: Context, components: None
) -> None:
    """The first post opens a public incident on the service's components with
    an impact from the severity; later posts add updates; each is on the
    incident's timeline and audited."""
    incident_id = open_incident(ctx, severity="critical")
    ann = make_user(ctx, "ann@example.com", teams=("Ops",))
    actor = actor_of(ctx, ann, kind="user")

    with ctx.db.write() as session:
        first = sp.publish_update(
            session,
            ctx,
            incident_id=incident_id,
            message="We are looking into it",
            stage="investigating",
            actor=actor,
        )
    with ctx.db.write() as session:
        second = sp.publish_update(
            session,
            ctx,
            incident_id=incident_id,
            message="All fixed",
            stage="resolved",
            actor=actor,
        )

    assert first.id == second.id
    assert first.title == "Disruption to API"
    assert first.components == ["API"]
    assert first.impact == "major_outage"
    assert first.incident_number is not None
    assert [u.stage for u in second.updates] == ["investigating", "resolved"]
    assert second.resolved_at is not None
    assert state_of(ctx, "API") == "operational"
    with ctx.db.read() as session:
        kinds = session.scalars(
            select(TimelineEntry.kind).where(TimelineEntry.incident_id == incident_id)
        ).all()
        actions = session.scalars(
            select(AuditRecord.action).where(AuditRecord.actor_id == ann.id)
        ).all()
    assert kinds.count("status_page_update") == 2
    assert "status_incident.create" in actions
    assert actions.count("status_incident.update") == 2


def test_publish_update_is_in_the_callers_transaction(
    ctx: Context, components: None
) -> None:
    """A caller's failure after publishing rolls the post back with its own work."""
    incident_id = open_incident(ctx)

    def publish_then_fail() -> None:
        with ctx.db.write() as session:
            sp.publish_update(
                session,
                ctx,
                incident_id=incident_id,
                message="Looking",
                stage="investigating",
                actor=SYSTEM,
            )
            raise RuntimeError("the caller failed")

    with pytest.raises(RuntimeError):
        publish_then_fail()

    assert sp.list_incidents(ctx, SYSTEM) == []
    assert state_of(ctx, "API") == "operational"


def test_publish_update_refuses_bad_input_and_unseen_incidents(
    ctx: Context, components: None
) -> None:
    """A bad stage or empty message is invalid input; a viewer is forbidden; a
    responder of another team cannot find the incident."""
    incident_id = open_incident(ctx)
    viewer = actor_of(ctx, make_user(ctx, "vera@example.com", role="viewer"))
    outsider = actor_of(ctx, make_user(ctx, "pete@example.com", teams=("Payments",)))

    cases: list[tuple[Actor, str, str, type[Exception]]] = [
        (SYSTEM, "x", "done-ish", InvalidInput),
        (SYSTEM, "  ", "resolved", InvalidInput),
        (viewer, "x", "resolved", Forbidden),
        (outsider, "x", "resolved", NotFound),
    ]
    for actor, message, stage, error in cases:
        with pytest.raises(error), ctx.db.write() as session:
            sp.publish_update(
                session,
                ctx,
                incident_id=incident_id,
                message=message,
                stage=stage,
                actor=actor,
            )
    assert sp.list_incidents(ctx, SYSTEM) == []


def test_only_one_public_incident_per_tocsin_incident(
    ctx: Context, components: None
) -> None:
    """Opening a second public incident for the same Tocsin incident conflicts."""
    incident_id = open_incident(ctx)
    with ctx.db.read() as session:
        number = session.scalar(
            select(Incident.number).where(Incident.id == incident_id)
        )
    assert number is not None
    sp.create_incident(
        ctx,
        SYSTEM,
        title="Outage",
        impact="degraded",
        components=["API"],
        message="Down",
        incident_number=number,
    )
    with pytest.raises(Conflict):
        sp.create_incident(
            ctx,
            SYSTEM,
            title="Again",
            impact="degraded",
            components=[],
            message="Down",
            incident_number=number,
        )


def test_the_linked_incident_number_is_only_for_those_who_see_that_incident(
    ctx: Context, components: None
) -> None:
    """Staff of another team read the public incident, but not the number of
    the Ops incident it reports on, which is not found for them anyway."""
    incident_id = open_incident(ctx)
    with ctx.db.read() as session:
        number = session.scalar(
            select(Incident.number).where(Incident.id == incident_id)
        )
    public = sp.create_incident(
        ctx,
        SYSTEM,
        title="Outage",
        impact="degraded",
        components=["API"],
        message="Down",
        incident_number=number,
    ).id
    ops = actor_of(ctx, make_user(ctx, "ann@example.com"))
    data = actor_of(ctx, make_user(ctx, "olga@example.com", teams=("Data",)))

    assert sp.get_incident(ctx, ops, public).incident_number is not None
    assert sp.get_incident(ctx, data, public).incident_number is None
    [listed] = sp.list_incidents(ctx, data)
    assert listed.incident_number is None


def test_managing_the_page_needs_the_manager_role(
    ctx: Context, components: None
) -> None:
    """A responder cannot add components or open public incidents directly."""
    responder = actor_of(ctx, make_user(ctx, "ann@example.com"))
    with pytest.raises(Forbidden):
        sp.create_component(ctx, responder, "Search")
    with pytest.raises(Forbidden):
        sp.create_incident(
            ctx, responder, title="x", impact="degraded", components=[], message="x"
        )


def test_a_manager_runs_the_page(ctx: Context, components: None) -> None:
    """The manager role, between responder and admin, may add a component."""
    manager = actor_of(ctx, make_user(ctx, "meg@example.com", role="manager"))
    sp.create_component(ctx, manager, "Search")


def test_bad_component_input_changes_nothing(ctx: Context, components: None) -> None:
    """Duplicate names, control characters, unknown groups and states are refused."""
    with pytest.raises(Conflict):
        sp.create_component(ctx, SYSTEM, "API")
    with pytest.raises(InvalidInput):
        sp.create_component(ctx, SYSTEM, "Bad\x1bname")
    with pytest.raises(NotFound):
        sp.create_component(ctx, SYSTEM, "Search", group="Nope")
    with pytest.raises(InvalidInput):
        sp.set_component_state(ctx, SYSTEM, "API", "on fire")
    with pytest.raises(InvalidInput):
        sp.create_incident(
            ctx,
            SYSTEM,
            title="x",
            impact="maintenance",
            components=["API"],
            message="x",
        )

    assert [c.name for c in sp.list_components(ctx)] == ["API", "Dashboard"]


@pytest.mark.parametrize("character", ["\uffff", "\ufffe", "\udcff"])
def test_text_xml_cannot_carry_is_refused(
    ctx: Context, components: None, character: str
) -> None:
    """Noncharacters and lone surrogates (a CLI argument that is not UTF-8) are
    refused: stored, they would make the Atom feed unreadable or the write fail."""
    with pytest.raises(InvalidInput):
        sp.create_component(ctx, SYSTEM, f"Bad{character}name")
    with pytest.raises(InvalidInput):
        sp.create_group(ctx, SYSTEM, f"Group{character}")
    with pytest.raises(InvalidInput):
        sp.create_incident(
            ctx,
            SYSTEM,
            title=f"Slow{character}",
            impact="degraded",
            components=["API"],
            message="Looking.",
        )
    with pytest.raises(InvalidInput):
        sp.create_incident(
            ctx,
            SYSTEM,
            title="Slow",
            impact="degraded",
            components=["API"],
            message=f"Looking{character}.",
        )

    assert [c.name for c in sp.list_components(ctx)] == ["API", "Dashboard"]
    assert sp.list_incidents(ctx, SYSTEM) == []


def test_maintenance_puts_components_under_maintenance_on_time(
    ctx: Context, clock: ManualClock, components: None
) -> None:
    """Timers move components into maintenance at the start and out at the end;
    an incident during maintenance shows as the incident."""
    start = clock.now() + timedelta(hours=1)
    window = maintenance.schedule_maintenance(
        ctx,
        SYSTEM,
        title="Database upgrade",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        components=["API"],
    )
    assert window.phase == "upcoming"
    worker = Worker(ctx, channels={})

    clock.set(start)
    worker.run_once()
    assert state_of(ctx, "API") == "maintenance"

    incident = sp.create_incident(
        ctx,
        SYSTEM,
        title="Errors",
        impact="degraded",
        components=["API"],
        message="x",
    )
    assert state_of(ctx, "API") == "degraded"
    sp.add_update(ctx, SYSTEM, incident.id, message="ok", stage="resolved")
    assert state_of(ctx, "API") == "maintenance"

    clock.set(start + timedelta(hours=2))
    worker.run_once()
    assert state_of(ctx, "API") == "operational"
    assert maintenance.list_maintenance(ctx)[0].phase == "completed"


def test_cancelling_running_maintenance_ends_it_at_once(
    ctx: Context, clock: ManualClock, components: None
) -> None:
    """A cancelled window frees its components; cancelling again conflicts."""
    window = maintenance.schedule_maintenance(
        ctx,
        SYSTEM,
        title="Upgrade",
        starts_at=clock.now(),
        ends_at=clock.now() + timedelta(hours=1),
        components=["Dashboard"],
    )
    assert state_of(ctx, "Dashboard") == "maintenance"

    cancelled = maintenance.cancel_maintenance(ctx, SYSTEM, window.id)
    assert cancelled.phase == "cancelled"
    assert state_of(ctx, "Dashboard") == "operational"
    with pytest.raises(Conflict):
        maintenance.cancel_maintenance(ctx, SYSTEM, window.id)


def test_maintenance_times_are_checked(
    ctx: Context, clock: ManualClock, components: None
) -> None:
    """Backwards, past, naive and endless windows are refused."""
    now = clock.now()
    bad = [
        (now + timedelta(hours=2), now + timedelta(hours=1)),
        (now - timedelta(hours=2), now - timedelta(hours=1)),
        (now.replace(tzinfo=None), now + timedelta(hours=1)),
        (now, now + timedelta(days=30)),
    ]
    for starts_at, ends_at in bad:
        with pytest.raises(InvalidInput):
            maintenance.schedule_maintenance(
                ctx,
                SYSTEM,
                title="x",
                starts_at=starts_at,
                ends_at=ends_at,
                components=["API"],
            )
    assert maintenance.list_maintenance(ctx) == []


def confirmed_subscriber(ctx: Context, email: str = "reader@example.com") -> None:
    now = ctx.clock.now()
    with ctx.db.write() as session:
        session.add(
            StatusSubscriber(
                email=email,
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


def test_subscribers_hear_maintenance_scheduled_started_and_completed(
    ctx: Context, clock: ManualClock, components: None
) -> None:
    """One mail when maintenance is scheduled, one when it starts and one when it
    completes; a cancelled window tells of the cancellation and nothing after."""
    confirmed_subscriber(ctx)
    worker = Worker(ctx, channels={})
    start = clock.now() + timedelta(hours=1)
    maintenance.schedule_maintenance(
        ctx,
        SYSTEM,
        title="Upgrade",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        components=["API"],
    )
    later = maintenance.schedule_maintenance(
        ctx,
        SYSTEM,
        title="Later",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        components=["Dashboard"],
    )
    maintenance.cancel_maintenance(ctx, SYSTEM, later.id)

    clock.set(start)
    worker.run_once()
    clock.set(start + timedelta(hours=1))
    worker.run_once()
    worker.run_once()

    assert subjects(ctx) == [
        "[Status] Scheduled maintenance: Upgrade",
        "[Status] Scheduled maintenance: Later",
        "[Status] Maintenance cancelled: Later",
        "[Status] Maintenance started: Upgrade",
        "[Status] Maintenance completed: Upgrade",
    ]


def test_subscribers_hear_of_each_public_update_once(
    ctx: Context, components: None
) -> None:
    """A new public incident and each update queue one mail per confirmed
    subscriber; unconfirmed addresses get nothing."""
    confirmed_subscriber(ctx, "one@example.com")
    confirmed_subscriber(ctx, "two@example.com")
    with ctx.db.write() as session:
        session.add(
            StatusSubscriber(
                email="unconfirmed@example.com",
                nonce="m" * 32,
                confirmation_sent_at=ctx.clock.now(),
                created_at=ctx.clock.now(),
            )
        )

    opened = sp.create_incident(
        ctx, SYSTEM, title="Errors", impact="degraded", components=["API"], message="a"
    )
    sp.add_update(ctx, SYSTEM, opened.id, message="b", stage="resolved")

    with ctx.db.read() as session:
        sent = session.execute(
            select(OutboxMessage.recipient, OutboxMessage.subject).order_by(
                OutboxMessage.id
            )
        ).all()
    assert [tuple(row) for row in sent] == [
        ("one@example.com", "[Status] Errors: investigating"),
        ("two@example.com", "[Status] Errors: investigating"),
        ("one@example.com", "[Status] Errors: resolved"),
        ("two@example.com", "[Status] Errors: resolved"),
    ]


def test_concurrent_posts_about_one_incident_open_one_public_incident(
    ctx: Context, components: None
) -> None:
    """Two stakeholder updates posted at the same moment about the same incident
    end as one public incident with both updates."""
    incident_id = open_incident(ctx)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def post(message: str) -> None:
        try:
            barrier.wait(timeout=10)
            with ctx.db.write() as session:
                sp.publish_update(
                    session,
                    ctx,
                    incident_id=incident_id,
                    message=message,
                    stage="investigating",
                    actor=SYSTEM,
                )
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=post, args=(text,)) for text in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    [public] = sp.list_incidents(ctx, SYSTEM)
    assert sorted(update.message for update in public.updates) == ["a", "b"]


@pytest.mark.parametrize(
    "address",
    [
        "root,reader@example.com",  # the To header would name two mailboxes
        "Reader <reader@example.com",
        "admin\u202egnp.exe@example.com",  # a right-to-left override
        "re\u200bader@example.com",  # a zero-width space
        "re\x9bader@example.com",  # a C1 control
    ],
)
def test_a_subscriber_address_that_could_mislead_is_refused(
    ctx: Context, address: str
) -> None:
    """Specials that split a To header, and invisible or reordering
    characters that make a manager misread the list, are refused."""
    from tocsin.services import status_subscribers

    with pytest.raises(InvalidInput, match="does not look like an email"):
        status_subscribers.subscribe(ctx, email=address, client="192.0.2.1")


def test_a_subscriber_address_in_another_script_is_taken(ctx: Context) -> None:
    """Letters beyond ASCII in the local part are fine."""
    from tocsin.services import status_subscribers

    status_subscribers.subscribe(ctx, email="Renée.Łukasz@example.com", client="")

    [row] = status_subscribers.list_subscribers(ctx, SYSTEM)
    assert row.email == "renée.łukasz@example.com"


def test_the_public_uptime_is_computed_once_per_change_and_minute(
    ctx: Context, components: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Readers of the public page share one computation of 90 days of uptime,
    and a state change shows on the very next read, cache or no cache."""
    computed = []
    history = status_reads._history

    def counting(*args: object, **kwargs: object) -> object:
        computed.append(1)
        return history(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(status_reads, "_history", counting)
    assert isinstance(ctx.clock, ManualClock)
    ctx.clock.advance(hours=1)
    first = status_reads.page(ctx)
    status_reads.page(ctx)
    status_reads.summary(ctx)
    assert len(computed) == 1

    sp.set_component_state(ctx, SYSTEM, "API", "major_outage")
    status_reads.page(ctx)
    assert len(computed) == 2, "a new state change is read at once"

    ctx.clock.advance(hours=3)
    later = status_reads.page(ctx)
    assert len(computed) == 3

    def api_bar(view: status_reads.PageView) -> status_reads.DayBar:
        [api] = [
            c for g in view.groups for c in g.components if c.component.name == "API"
        ]
        return api.bars[-1]

    assert api_bar(first).worst == "operational"
    assert api_bar(later).worst == "major_outage"
    assert api_bar(later).down_seconds > 0
