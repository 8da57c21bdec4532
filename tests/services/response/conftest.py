"""Fixtures for the response tests: an incident of the Ops team's checkout
service and the people around it.

Ann and Bob respond for Ops, Vic views Ops, Olga responds for another team,
and Adam is an admin in no team.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from tests.builders import (
    actor_of,
    make_integration,
    make_service,
    make_user,
    trigger,
)
from tests.services.escalation_helpers import RecordingChannel
from tocsin.domain.access import Actor
from tocsin.engine.worker import Worker
from tocsin.services import alerts
from tocsin.services.context import Context
from tocsin.store.models import (
    Incident,
    OutboxMessage,
    TimelineEntry,
    User,
)
from tocsin.store.models.triage import IncidentType


@dataclass(frozen=True)
class Crew:
    number: int
    ann: Actor
    bob: Actor
    vic: Actor
    olga: Actor
    adam: Actor
    ann_user: User
    bob_user: User
    olga_user: User


def open_incident(ctx: Context, key: str = "disk-full") -> int:
    integration, _ = make_integration(ctx, "checkout")
    [outcome] = alerts.ingest(ctx, integration, [trigger(key)])
    assert outcome.incident_number is not None
    return outcome.incident_number


@pytest.fixture
def crew(ctx: Context) -> Crew:
    ann = make_user(ctx, "ann@example.com", password=None)
    bob = make_user(ctx, "bob@example.com", password=None)
    vic = make_user(ctx, "vic@example.com", role="viewer", password=None)
    olga = make_user(ctx, "olga@example.com", teams=("Data",), password=None)
    adam = make_user(ctx, "adam@example.com", role="admin", teams=(), password=None)
    make_service(ctx, "checkout", team="Ops")
    number = open_incident(ctx)
    return Crew(
        number=number,
        ann=actor_of(ctx, ann),
        bob=actor_of(ctx, bob),
        vic=actor_of(ctx, vic),
        olga=actor_of(ctx, olga),
        adam=actor_of(ctx, adam),
        ann_user=ann,
        bob_user=bob,
        olga_user=olga,
    )


def outbox(ctx: Context, kind: str | None = None) -> list[OutboxMessage]:
    """Queued messages, oldest first; only of payload kind or notice topic
    `kind` when given."""
    with ctx.db.read() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    if kind is None:
        return list(rows)
    return [
        row
        for row in rows
        if kind in (row.payload.get("kind"), row.payload.get("topic"))
    ]


def timeline(ctx: Context, kind: str) -> list[TimelineEntry]:
    with ctx.db.read() as session:
        return list(
            session.scalars(
                select(TimelineEntry)
                .where(TimelineEntry.kind == kind)
                .order_by(TimelineEntry.id)
            )
        )


def run_worker(ctx: Context) -> RecordingChannel:
    """Fire every due timer and send every due message, into a recorder."""
    channel = RecordingChannel()
    Worker(ctx, channels={"email": channel}).run_once()
    return channel


def set_incident_type(ctx: Context, number: int, name: str, key: str) -> None:
    """Give the incident a type of triage's catalogue, made if missing."""
    with ctx.db.write() as session:
        kind = session.scalar(select(IncidentType).where(IncidentType.name == name))
        if kind is None:
            kind = IncidentType(key=key, name=name, created_at=ctx.clock.now())
            session.add(kind)
            session.flush()
        incident = session.scalars(
            select(Incident).where(Incident.number == number)
        ).one()
        incident.incident_type_id = kind.id
