"""The PagerDuty Events v2 compatible endpoint: trigger, acknowledge and resolve
by dedup key, with the contract's replies and limits."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.intake.conftest import (
    Keys,
    count_alerts,
    count_incidents,
    count_timeline,
    incident_statuses,
    stored_alert,
)
from tests.intake.payloads import pd_event
from tocsin.services.context import Context
from tocsin.store.models import Incident


def enqueue(
    client: TestClient, event: dict[str, Any], path: str = "/v2/enqueue"
) -> Any:
    response = client.post(path, json=event)
    assert response.status_code == 202, response.text
    return response.json()


def test_a_trigger_is_accepted_with_the_contracts_reply(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    reply = enqueue(client, pd_event(keys.events_v2))

    assert reply == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "checkout/payment-latency",
    }
    stored = stored_alert(ctx, "checkout/payment-latency")
    assert stored.summary == "Payment latency p99 above 2s"
    assert stored.source == "payments-1.prod"
    assert stored.severity == "critical"
    assert stored.labels == {
        "component": "payments",
        "group": "prod-checkout",
        "class": "latency",
    }
    assert stored.starts_at is not None
    assert stored.starts_at.isoformat() == "2026-03-02T08:42:58.315000+00:00"
    assert "routing_key" not in stored.raw
    assert stored.raw["links"][0]["text"] == "Dashboard"


def test_the_custom_details_become_the_incident_description(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    enqueue(client, pd_event(keys.events_v2))

    with ctx.db.read() as session:
        incident = session.scalars(select(Incident)).one()
    assert incident.description == "p99_ms: 2340\nregion: eu-west-1"


def test_trigger_ack_resolve_then_trigger_opens_a_second_incident(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    key = keys.events_v2
    enqueue(client, pd_event(key))
    enqueue(client, pd_event(key, "acknowledge"))
    assert list(incident_statuses(ctx).values()) == ["acknowledged"]

    enqueue(client, pd_event(key, "resolve"))
    assert list(incident_statuses(ctx).values()) == ["resolved"]

    enqueue(client, pd_event(key))

    statuses = incident_statuses(ctx)
    assert sorted(statuses.values()) == ["resolved", "triggered"]
    assert count_alerts(ctx) == 2
    assert count_alerts(ctx, "firing") == 1


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_follow_ups_for_a_closed_key_change_nothing(
    ctx: Context, client: TestClient, keys: Keys, action: str
) -> None:
    key = keys.events_v2
    enqueue(client, pd_event(key))
    enqueue(client, pd_event(key, "resolve"))
    timeline_before = count_timeline(ctx)

    reply = enqueue(client, pd_event(key, action))

    assert reply["dedup_key"] == "checkout/payment-latency"
    assert list(incident_statuses(ctx).values()) == ["resolved"]
    assert count_timeline(ctx) == timeline_before


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_follow_ups_for_an_unknown_key_change_nothing(
    ctx: Context, client: TestClient, keys: Keys, action: str
) -> None:
    enqueue(client, pd_event(keys.events_v2, action, dedup_key="never-seen"))

    assert count_alerts(ctx) == 0
    assert count_incidents(ctx) == 0


def test_a_trigger_without_dedup_key_is_always_new(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    first = enqueue(client, pd_event(keys.events_v2, dedup_key=None))
    second = enqueue(client, pd_event(keys.events_v2, dedup_key=None))

    assert first["dedup_key"] != second["dedup_key"]
    assert count_alerts(ctx) == 2
    assert count_incidents(ctx) == 2

    enqueue(client, pd_event(keys.events_v2, "resolve", first["dedup_key"]))
    assert sorted(incident_statuses(ctx).values()) == ["resolved", "triggered"]


def test_a_repeated_trigger_is_a_duplicate(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    enqueue(client, pd_event(keys.events_v2))
    enqueue(client, pd_event(keys.events_v2))

    assert count_alerts(ctx) == 1
    assert stored_alert(ctx, "checkout/payment-latency").event_count == 1


def test_the_alias_path_behaves_the_same(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    enqueue(client, pd_event(keys.events_v2), path="/api/v1/intake/events-v2")

    assert count_alerts(ctx) == 1


@pytest.mark.parametrize(
    ("change", "location"),
    [
        ({"summary": None}, "payload.summary"),
        ({"summary": ""}, "payload.summary"),
        ({"source": None}, "payload.source"),
        ({"severity": None}, "payload.severity"),
        ({"severity": "fatal"}, "payload.severity"),
        ({"summary": "x" * 1025}, "payload.summary"),
        ({"timestamp": "yesterday"}, "payload.timestamp"),
        ({"custom_details": 42}, "payload.custom_details"),
    ],
)
def test_a_trigger_breaking_the_payload_rules_is_refused(
    ctx: Context, client: TestClient, keys: Keys, change: dict[str, Any], location: str
) -> None:
    event = pd_event(keys.events_v2)
    for name, value in change.items():
        if value is None:
            del event["payload"][name]
        else:
            event["payload"][name] = value

    response = client.post("/v2/enqueue", json=event)

    assert response.status_code == 400
    assert response.json()["detail"].startswith(location)
    assert count_alerts(ctx) == 0


@pytest.mark.parametrize(
    ("event_change", "location"),
    [
        ({"dedup_key": "k" * 256}, "dedup_key"),
        ({"event_action": "escalate"}, "event_action"),
        ({"payload": "Payment latency"}, "payload"),
        ({"links": [{"text": "no href"}]}, "links.0.href"),
    ],
)
def test_an_event_breaking_the_envelope_rules_is_refused(
    ctx: Context,
    client: TestClient,
    keys: Keys,
    event_change: dict[str, Any],
    location: str,
) -> None:
    event = pd_event(keys.events_v2) | event_change

    response = client.post("/v2/enqueue", json=event)

    assert response.status_code == 400
    assert response.json()["detail"].startswith(location)
    assert count_alerts(ctx) == 0


def test_a_dedup_key_of_255_characters_is_accepted(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    reply = enqueue(client, pd_event(keys.events_v2, dedup_key="k" * 255))

    assert reply["dedup_key"] == "k" * 255


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_a_follow_up_without_dedup_key_is_refused(
    ctx: Context, client: TestClient, keys: Keys, action: str
) -> None:
    response = client.post(
        "/v2/enqueue", json=pd_event(keys.events_v2, action, dedup_key=None)
    )

    assert response.status_code == 400
    assert response.json()["detail"] == f"dedup_key: required for {action}"


def test_a_missing_or_unknown_routing_key_is_unauthenticated(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    unknown = client.post("/v2/enqueue", json=pd_event("0" * 32))
    event = pd_event(keys.events_v2)
    del event["routing_key"]
    missing = client.post("/v2/enqueue", json=event)

    assert unknown.status_code == 401
    assert missing.status_code == 401
    assert count_alerts(ctx) == 0


def test_a_routing_key_that_is_not_a_string_is_refused(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    response = client.post(
        "/v2/enqueue", json=pd_event(keys.events_v2) | {"routing_key": 12345}
    )

    assert response.status_code == 400
    assert response.json()["detail"] == "routing_key: must be a string"
