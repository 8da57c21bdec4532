"""Fixtures for intake tests: an application client, a service with one
integration of each kind, and small readers of what was stored."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.builders import make_integration, make_service
from tocsin.app import create_app
from tocsin.services.context import Context
from tocsin.store.models import Alert, Incident, TimelineEntry


@dataclass(frozen=True)
class Keys:
    alertmanager: str
    events_v2: str
    grafana: str
    generic: str


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as test_client:
        yield test_client


@pytest.fixture
def keys(ctx: Context) -> Keys:
    """One integration of every kind on the service `checkout`."""
    make_service(ctx, "checkout")
    return Keys(
        **{
            kind: make_integration(ctx, "checkout", kind)[1]
            for kind in ("alertmanager", "events_v2", "grafana", "generic")
        }
    )


def count_alerts(ctx: Context, status: str | None = None) -> int:
    query = select(func.count()).select_from(Alert)
    if status is not None:
        query = query.where(Alert.status == status)
    with ctx.db.read() as session:
        return int(session.scalar(query) or 0)


def count_incidents(ctx: Context, status: str | None = None) -> int:
    query = select(func.count()).select_from(Incident)
    if status is not None:
        query = query.where(Incident.status == status)
    with ctx.db.read() as session:
        return int(session.scalar(query) or 0)


def count_timeline(ctx: Context) -> int:
    with ctx.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(TimelineEntry)) or 0)


def incident_statuses(ctx: Context) -> dict[int, str]:
    with ctx.db.read() as session:
        rows = session.execute(select(Incident.number, Incident.status)).all()
    return {row.number: row.status for row in rows}


def stored_alert(ctx: Context, dedup_key: str) -> Alert:
    """The newest alert with `dedup_key` (loaded objects stay readable)."""
    with ctx.db.read() as session:
        alert = session.scalar(
            select(Alert).where(Alert.dedup_key == dedup_key).order_by(Alert.id.desc())
        )
    assert alert is not None, f"no alert {dedup_key!r}"
    return alert
