"""The Grafana webhook contact point: Alertmanager-shaped alerts with Grafana's
own top-level fields, which must not make repeats look like changes."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.intake.conftest import (
    Keys,
    count_alerts,
    count_incidents,
    incident_statuses,
    stored_alert,
)
from tests.intake.payloads import grafana_alert, grafana_group
from tocsin.services.context import Context


def post(client: TestClient, key: str, payload: dict[str, Any]) -> list[str]:
    response = client.post(
        "/api/v1/intake/grafana",
        json=payload,
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.text
    return [outcome["result"] for outcome in response.json()["outcomes"]]


def test_a_grafana_group_opens_one_incident(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    payload = grafana_group(
        grafana_alert("us-1", fingerprint="c6eadffa33fcdf37"),
        grafana_alert("eu-1", fingerprint="bc97ff14869b13e3"),
    )

    assert post(client, keys.grafana, payload) == ["created", "created"]

    assert count_incidents(ctx) == 1
    stored = stored_alert(ctx, "c6eadffa33fcdf37")
    assert stored.summary == "High memory usage in zone us-1"
    assert stored.source == "grafana"
    assert stored.raw["values"] == {"B": 93.21, "C": 1}


def test_a_new_title_alone_does_not_turn_a_repeat_into_an_update(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    us = grafana_alert("us-1", fingerprint="c6eadffa33fcdf37")
    eu = grafana_alert("eu-1", fingerprint="bc97ff14869b13e3")
    post(client, keys.grafana, grafana_group(us, eu))

    # eu-1 clears: the group title and message change, us-1 does not.
    eu_clear = grafana_alert("eu-1", fingerprint="bc97ff14869b13e3", status="resolved")
    payload = grafana_group(us, eu_clear)

    assert post(client, keys.grafana, payload) == ["duplicate", "resolved"]
    assert count_alerts(ctx, "firing") == 1
    assert list(incident_statuses(ctx).values()) == ["triggered"]


def test_the_key_can_be_in_the_url(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    response = client.post(
        f"/api/v1/intake/grafana/{keys.grafana}",
        json=grafana_group(grafana_alert("us-1")),
    )

    assert response.status_code == 200, response.text
    assert count_alerts(ctx) == 1


def test_grafana_values_of_null_are_accepted(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    alert = dict(grafana_alert("us-1"), values=None)

    assert post(client, keys.grafana, grafana_group(alert)) == ["created"]
