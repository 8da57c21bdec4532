"""Heartbeats: silence past the interval alerts through intake, a ping resolves."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.builders import make_service, make_user
from tocsin.channels.base import Outbound
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM, Actor, Role
from tocsin.engine.worker import Worker
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.services import heartbeats
from tocsin.services.context import Context
from tocsin.store.models import Alert, AuditRecord, Heartbeat, Incident, Timer


class NullChannel:
    kind = "email"

    def send(self, message: Outbound) -> None:
        """Pages go nowhere: these tests look at alerts, not mail."""


def run_worker(ctx: Context) -> None:
    Worker(ctx, {"email": NullChannel()}).run_once()


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def add(ctx: Context, interval: int = 600, grace: int = 60) -> str:
    ann = make_user(ctx)
    make_service(ctx, steps=[(5, [ann])])
    created = heartbeats.create(
        ctx,
        SYSTEM,
        service="checkout",
        name="nightly-backup",
        interval_seconds=interval,
        grace_seconds=grace,
    )
    return token_of(created.ping_url)


def incidents_of(ctx: Context) -> list[tuple[int, str]]:
    with ctx.db.read() as session:
        rows = session.execute(
            select(Incident.number, Incident.status).order_by(Incident.number)
        ).all()
        return [(number, status) for number, status in rows]


def test_a_silent_heartbeat_alerts_within_one_interval_and_grace(
    ctx: Context, clock: ManualClock
) -> None:
    """No ping for interval + grace opens an incident; not a second earlier."""
    token = add(ctx, interval=600, grace=60)
    heartbeats.ping(ctx, token)

    clock.advance(seconds=659)
    run_worker(ctx)
    assert incidents_of(ctx) == []

    clock.advance(seconds=1)
    run_worker(ctx)
    assert incidents_of(ctx) == [(1, "triggered")]
    [beat] = heartbeats.list_heartbeats(ctx, SYSTEM)
    assert beat.status == "down"


def test_regular_pings_keep_it_quiet(ctx: Context, clock: ManualClock) -> None:
    """A job pinging every interval never alerts, however long it runs."""
    token = add(ctx, interval=600, grace=0)

    for _ in range(10):
        clock.advance(seconds=590)
        heartbeats.ping(ctx, token)
        run_worker(ctx)

    assert incidents_of(ctx) == []
    with ctx.db.read() as session:
        pending = session.scalar(select(func.count(Timer.id)))
    # The timer chain stays one timer long, not one per ping.
    assert pending == 1


def test_the_next_ping_resolves_the_alert_and_rearms(
    ctx: Context, clock: ManualClock
) -> None:
    """After an alert, a ping resolves it; later silence opens a new incident."""
    token = add(ctx, interval=600, grace=0)
    clock.advance(seconds=601)
    run_worker(ctx)
    assert incidents_of(ctx) == [(1, "triggered")]

    beat = heartbeats.ping(ctx, token)
    assert beat.status == "up"
    assert incidents_of(ctx) == [(1, "resolved")]

    clock.advance(seconds=601)
    run_worker(ctx)
    assert incidents_of(ctx) == [(1, "resolved"), (2, "triggered")]


def test_a_heartbeat_never_pinged_alerts_from_its_creation(
    ctx: Context, clock: ManualClock
) -> None:
    """The first deadline counts from when the heartbeat was set up."""
    add(ctx, interval=300, grace=0)
    clock.advance(seconds=300)
    run_worker(ctx)

    with ctx.db.read() as session:
        alert = session.scalars(select(Alert)).one()
    assert alert.status == "firing"
    assert "no ping since it was set up" in alert.summary


def test_the_timer_fired_twice_raises_one_alert(
    ctx: Context, clock: ManualClock
) -> None:
    """A handler run again (a retried timer) changes nothing the second time."""
    add(ctx, interval=60, grace=0)
    clock.advance(seconds=61)
    with ctx.db.write() as session:
        heartbeat_id = session.scalars(select(Heartbeat.id)).one()
    timer = Timer(kind=heartbeats.TIMER_KIND, payload={"heartbeat_id": heartbeat_id})

    for _ in range(2):
        with ctx.db.write() as session:
            heartbeats.on_timer(session, ctx, timer, None)

    with ctx.db.read() as session:
        assert session.scalar(select(func.count(Alert.id))) == 1


def test_the_token_is_stored_only_as_a_hash(ctx: Context) -> None:
    """The database holds no copy of the ping URL's secret."""
    token = add(ctx)
    with ctx.db.read() as session:
        row = session.scalars(select(Heartbeat)).one()
    assert token not in (row.token_hash, row.token_prefix)
    assert row.token_prefix == token[:6]


@pytest.mark.parametrize("token", ["", "short", "x" * 101, "../../etc", "a" * 40])
def test_an_unknown_or_malformed_token_is_not_found(ctx: Context, token: str) -> None:
    """Pings with a token no heartbeat has are refused as 404, changing nothing."""
    add(ctx)
    with pytest.raises(NotFound):
        heartbeats.ping(ctx, token)


def test_creating_is_audited_and_bad_settings_are_refused(ctx: Context) -> None:
    """Bounds, duplicates and roles are checked before anything is stored."""
    add(ctx)
    with pytest.raises(InvalidInput):
        heartbeats.create(
            ctx, SYSTEM, service="checkout", name="fast", interval_seconds=1
        )
    with pytest.raises(Conflict):
        heartbeats.create(
            ctx, SYSTEM, service="checkout", name="nightly-backup", interval_seconds=60
        )
    with pytest.raises(NotFound):
        heartbeats.create(ctx, SYSTEM, service="nope", name="x", interval_seconds=60)
    responder = Actor(kind="token", label="r", user_id=1, role=Role.RESPONDER)
    with pytest.raises(Forbidden):
        heartbeats.create(
            ctx, responder, service="checkout", name="y", interval_seconds=60
        )

    with ctx.db.read() as session:
        assert session.scalar(select(func.count(Heartbeat.id))) == 1
        actions = session.scalars(select(AuditRecord.action)).all()
    assert "heartbeat.create" in actions


def test_removing_resolves_its_alert_and_kills_the_url(
    ctx: Context, clock: ManualClock
) -> None:
    """A removed heartbeat leaves no firing alert and its URL answers 404."""
    token = add(ctx, interval=60, grace=0)
    clock.advance(seconds=61)
    run_worker(ctx)

    heartbeats.remove(ctx, SYSTEM, service="checkout", name="nightly-backup")
    run_worker(ctx)

    assert incidents_of(ctx) == [(1, "resolved")]
    with pytest.raises(NotFound):
        heartbeats.ping(ctx, token)


def test_other_teams_do_not_see_a_heartbeat(ctx: Context) -> None:
    """Listing shows only the heartbeats of services the actor's teams own."""
    add(ctx)
    outsider = Actor(kind="token", label="o", user_id=9, role=Role.RESPONDER)

    assert heartbeats.list_heartbeats(ctx, outsider) == []
    with pytest.raises(NotFound):
        heartbeats.list_heartbeats(ctx, outsider, "checkout")
