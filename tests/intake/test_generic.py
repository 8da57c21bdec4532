"""The generic JSON webhook: Tocsin's own one-event shape."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.intake.conftest import (
    Keys,
    count_alerts,
    count_incidents,
    incident_statuses,
    stored_alert,
)
from tests.intake.payloads import generic_event
from tocsin.services.context import Context


def post(client: TestClient, key: str, event: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/api/v1/intake/generic/{key}", json=event)
    assert response.status_code == 200, response.text
    [outcome] = response.json()["outcomes"]
    return dict(outcome)


def test_a_trigger_opens_an_incident_and_a_resolve_closes_it(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    opened = post(client, keys.generic, generic_event())
    assert opened["result"] == "created"
    stored = stored_alert(ctx, "backup-db-1")
    assert stored.severity == "warning"
    assert stored.labels == {"job": "backup"}

    closed = post(
        client, keys.generic, {"action": "resolve", "dedup_key": "backup-db-1"}
    )

    assert closed == {
        "dedup_key": "backup-db-1",
        "result": "resolved",
        "incident_number": opened["incident_number"],
    }
    assert list(incident_statuses(ctx).values()) == ["resolved"]


def test_acknowledge_stops_paging(ctx: Context, client: TestClient, keys: Keys) -> None:
    post(client, keys.generic, generic_event())

    reply = post(
        client, keys.generic, {"action": "acknowledge", "dedup_key": "backup-db-1"}
    )

    assert reply["result"] == "acknowledged"
    assert list(incident_statuses(ctx).values()) == ["acknowledged"]


def test_without_dedup_key_a_repeat_of_the_same_trigger_is_a_duplicate(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    event = generic_event(dedup_key=None)

    first = post(client, keys.generic, event)
    second = post(client, keys.generic, event)
    other = post(client, keys.generic, generic_event(dedup_key=None, source="db-2"))

    assert second["result"] == "duplicate"
    assert second["dedup_key"] == first["dedup_key"]
    assert other["result"] == "created"
    assert other["dedup_key"] != first["dedup_key"]
    assert count_alerts(ctx) == 2


def test_defaults_make_a_minimal_trigger_valid(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    reply = post(client, keys.generic, {"summary": "Queue depth above 10k"})

    assert reply["result"] == "created"
    assert stored_alert(ctx, reply["dedup_key"]).severity == "error"


def test_triggers_with_one_group_key_share_an_incident(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    post(client, keys.generic, generic_event(dedup_key="a", group_key="backups"))
    post(client, keys.generic, generic_event(dedup_key="b", group_key="backups"))

    assert count_incidents(ctx) == 1
    assert count_alerts(ctx) == 2


def test_the_key_can_come_as_a_bearer_token(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    response = client.post(
        "/api/v1/intake/generic",
        json=generic_event(),
        headers={"Authorization": f"bearer {keys.generic}"},
    )

    assert response.status_code == 200, response.text
    assert count_alerts(ctx) == 1


@pytest.mark.parametrize(
    ("event", "detail"),
    [
        (generic_event(sevrity="info"), "sevrity: Extra inputs are not permitted"),
        (generic_event(summary=None), "summary: required for trigger"),
        ({"action": "resolve"}, "dedup_key: required for resolve"),
        (generic_event(action="close"), "action: Input should be"),
        (generic_event(severity="WARN"), "severity: Input should be"),
        (generic_event(labels={"retries": 3}), "labels.retries: Input should be"),
        (generic_event(details=5), "details: must be a string or an object"),
        (generic_event(dedup_key=""), "dedup_key: String should have at least"),
        (generic_event(group_key="g" * 256), "group_key: String should have at"),
    ],
)
def test_an_event_breaking_the_shape_is_refused_with_its_location(
    ctx: Context, client: TestClient, keys: Keys, event: dict[str, Any], detail: str
) -> None:
    response = client.post(f"/api/v1/intake/generic/{keys.generic}", json=event)

    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)
    assert count_alerts(ctx) == 0


@pytest.mark.parametrize("blank", [" ", "   ", "\t\n"])
def test_a_dedup_key_of_white_space_alone_is_refused(
    client: TestClient, keys: Keys, ctx: Context, blank: str
) -> None:
    response = client.post(
        f"/api/v1/intake/generic/{keys.generic}",
        json=generic_event(dedup_key=blank),
    )

    assert response.status_code == 400
    assert response.json()["detail"].startswith("dedup_key:")
    assert count_alerts(ctx) == 0
