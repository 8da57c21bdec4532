"""Fixtures for page tests: a browser-like client (asks for HTML, keeps cookies,
does not follow redirects), people with passwords, and incidents opened by alert
intake as in production.

The people: Ann responds for Ops, Vera views Ops, Pete responds for Payments.
Checkout belongs to Ops and pages Ann; billing belongs to Payments.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape

import pytest
from fastapi.testclient import TestClient

from tests.builders import make_integration, make_service, make_user, trigger
from tocsin.app import create_app
from tocsin.services import alerts
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Person:
    id: int
    email: str


@dataclass(frozen=True)
class World:
    ann: Person
    vera: Person
    pete: Person
    checkout: IntegrationRef
    billing: IntegrationRef


def hidden_field(html: str, name: str) -> str:
    """The value of the hidden input `name` in a page."""
    found = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert found is not None, f"no hidden field {name!r} on the page"
    return unescape(found.group(1))


def open_incident(
    ctx: Context,
    integration: IntegrationRef,
    key: str = "disk-full",
    summary: str | None = None,
) -> int:
    """Trigger a new alert; returns the number of the incident it opened."""
    event = trigger(key, summary or f"{key} on db-1")
    [outcome] = alerts.ingest(ctx, integration, [event])
    assert outcome.result == alerts.CREATED
    assert outcome.incident_number is not None
    return outcome.incident_number


def log_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Log in through the form, as a browser does; returns the CSRF token the
    pages then carry."""
    form = client.get("/login")
    response = client.post(
        "/login",
        data={
            "email": email,
            "password": password,
            "login_token": hidden_field(form.text, "login_token"),
            "next": "/incidents",
        },
    )
    assert response.status_code == 303, response.text
    page = client.get("/incidents")
    assert page.status_code == 200
    return hidden_field(page.text, "csrf_token")


def new_client(ctx: Context, base_url: str = "http://testserver") -> TestClient:
    return TestClient(
        create_app(ctx),
        base_url=base_url,
        headers={"Accept": "text/html"},
        follow_redirects=False,
    )


@pytest.fixture
def world(ctx: Context) -> World:
    ann = make_user(ctx, "ann@example.com", teams=("Ops",))
    vera = make_user(ctx, "vera@example.com", role="viewer", teams=("Ops",))
    pete = make_user(ctx, "pete@example.com", teams=("Payments",))
    make_service(ctx, "checkout", steps=[(5, [ann])], team="Ops")
    make_service(ctx, "billing", steps=[(5, [pete])], team="Payments")
    checkout, _ = make_integration(ctx, "checkout")
    billing, _ = make_integration(ctx, "billing")
    return World(
        ann=Person(ann.id, ann.email),
        vera=Person(vera.id, vera.email),
        pete=Person(pete.id, pete.email),
        checkout=checkout,
        billing=billing,
    )


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with new_client(ctx) as test_client:
        yield test_client
