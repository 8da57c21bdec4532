"""Fixtures for API tests: the app around the test context, people holding
tokens, and incidents opened the way production opens them, by alert intake.

The people: Ann responds for Ops, Vera views Ops, Pete responds for Payments and
Adam is an admin in no team. Checkout belongs to Ops and billing to Payments.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.builders import make_integration, make_service, make_user, trigger
from tocsin.app import create_app
from tocsin.domain.access import SYSTEM
from tocsin.services import alerts, users
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def add_person(ctx: Context, email: str, role: str, teams: tuple[str, ...]) -> Person:
    user = make_user(ctx, email, role=role, teams=teams, password=None)
    token = users.create_token(ctx, SYSTEM, email=email, name="tests")
    return Person(user.id, user.email, token)


def open_incident(
    ctx: Context,
    integration: IntegrationRef,
    key: str = "disk-full",
    *,
    severity: str = "critical",
) -> int:
    """Trigger a new alert; returns the number of the incident it opened."""
    [outcome] = alerts.ingest(
        ctx, integration, [trigger(key, f"{key} on db-1", severity=severity)]
    )
    assert outcome.result == alerts.CREATED
    assert outcome.incident_number is not None
    return outcome.incident_number


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as test_client:
        yield test_client


@pytest.fixture
def ann(ctx: Context) -> Person:
    return add_person(ctx, "ann@example.com", "responder", ("Ops",))


@pytest.fixture
def vera(ctx: Context) -> Person:
    return add_person(ctx, "vera@example.com", "viewer", ("Ops",))


@pytest.fixture
def pete(ctx: Context) -> Person:
    return add_person(ctx, "pete@example.com", "responder", ("Payments",))


@pytest.fixture
def adam(ctx: Context) -> Person:
    return add_person(ctx, "adam@example.com", "admin", ())


@pytest.fixture
def checkout(ctx: Context) -> IntegrationRef:
    make_service(ctx, "checkout", team="Ops")
    integration, _ = make_integration(ctx, "checkout")
    return integration


@pytest.fixture
def billing(ctx: Context) -> IntegrationRef:
    make_service(ctx, "billing", team="Payments")
    integration, _ = make_integration(ctx, "billing")
    return integration
