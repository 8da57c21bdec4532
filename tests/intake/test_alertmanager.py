"""The Alertmanager webhook (v4): one alert event per alert, each judged by its
own status, grouped by groupKey, deduplicated by fingerprint."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from tests.intake.conftest import (
    Keys,
    count_alerts,
    count_incidents,
    count_timeline,
    incident_statuses,
    stored_alert,
)
from tests.intake.payloads import am_alert, am_group
from tocsin.intake.alertmanager import label_fingerprint
from tocsin.services.context import Context


def post(client: TestClient, key: str, payload: dict[str, Any]) -> Any:
    response = client.post(f"/api/v1/intake/alertmanager/{key}", json=payload)
    assert response.status_code == 200, response.text
    return response.json()


def results(reply: dict[str, Any]) -> list[str]:
    return [outcome["result"] for outcome in reply["outcomes"]]


def test_a_firing_group_opens_one_incident_for_all_its_alerts(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    payload = am_group(
        am_alert("web-1:9100", fingerprint="a1b2c3d4e5f60718"),
        am_alert("web-2:9100", fingerprint="0918f7e6d5c4b3a2"),
    )

    reply = post(client, keys.alertmanager, payload)

    assert results(reply) == ["created", "created"]
    numbers = {outcome["incident_number"] for outcome in reply["outcomes"]}
    assert len(numbers) == 1
    assert count_incidents(ctx) == 1
    assert count_alerts(ctx, "firing") == 2


def test_alert_fields_are_mapped_and_the_raw_alert_is_kept(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    alert = am_alert("web-1:9100", fingerprint="a1b2c3d4e5f60718", severity="warning")

    post(client, keys.alertmanager, am_group(alert))

    stored = stored_alert(ctx, "a1b2c3d4e5f60718")
    assert stored.summary == "5xx rate above 5% on web-1:9100"
    assert stored.severity == "warning"
    assert stored.source == "web-1:9100"
    assert stored.labels == alert["labels"]
    assert stored.raw == alert
    assert stored.starts_at is not None
    assert stored.starts_at.isoformat() == "2026-03-02T08:51:03.157076+00:00"
    # The zero time Alertmanager sends for a firing alert means "no end".
    assert stored.ends_at is None


def test_a_group_marked_firing_still_resolves_its_resolved_alerts(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    first = am_alert("web-1:9100", fingerprint="a1b2c3d4e5f60718")
    second = am_alert("web-2:9100", fingerprint="0918f7e6d5c4b3a2")
    post(client, keys.alertmanager, am_group(first, second))

    mixed = am_group(
        am_alert("web-1:9100", fingerprint="a1b2c3d4e5f60718", status="resolved"),
        second,
    )
    assert mixed["status"] == "firing"
    reply = post(client, keys.alertmanager, mixed)

    assert results(reply) == ["resolved", "duplicate"]
    assert stored_alert(ctx, "a1b2c3d4e5f60718").status == "resolved"
    assert stored_alert(ctx, "a1b2c3d4e5f60718").ends_at is not None
    assert list(incident_statuses(ctx).values()) == ["triggered"]

    resolved = am_group(
        am_alert("web-2:9100", fingerprint="0918f7e6d5c4b3a2", status="resolved")
    )
    assert results(post(client, keys.alertmanager, resolved)) == ["resolved"]
    assert list(incident_statuses(ctx).values()) == ["resolved"]


def test_a_resolved_delivery_for_an_unknown_alert_is_ignored(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    payload = am_group(
        am_alert("web-9:9100", fingerprint="ffffeeeeddddcccc", status="resolved")
    )

    reply = post(client, keys.alertmanager, payload)

    assert reply["outcomes"] == [
        {"dedup_key": "ffffeeeeddddcccc", "result": "ignored", "incident_number": None}
    ]
    assert count_alerts(ctx) == 0
    assert count_incidents(ctx) == 0


def test_a_repeated_identical_delivery_is_a_duplicate_and_writes_nothing(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    payload = am_group(am_alert("web-1:9100", fingerprint="a1b2c3d4e5f60718"))
    first = post(client, keys.alertmanager, payload)
    timeline_before = count_timeline(ctx)

    again = post(client, keys.alertmanager, payload)

    assert results(again) == ["duplicate"]
    assert (
        again["outcomes"][0]["incident_number"]
        == (first["outcomes"][0]["incident_number"])
    )
    assert stored_alert(ctx, "a1b2c3d4e5f60718").event_count == 1
    assert count_timeline(ctx) == timeline_before


def test_a_large_group_is_stored_and_its_repeat_is_a_duplicate(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    # Over 64 KB and 64 alerts: parsed and checked on a thread, not the loop.
    payload = am_group(
        *(am_alert(f"web-{n}:9100", fingerprint=f"{n:016x}") for n in range(200))
    )
    assert len(json.dumps(payload)) > 64 * 1024
    post(client, keys.alertmanager, payload)
    timeline_before = count_timeline(ctx)

    again = post(client, keys.alertmanager, payload)

    assert set(results(again)) == {"duplicate"}
    assert count_alerts(ctx) == 200
    assert count_incidents(ctx) == 1
    assert count_timeline(ctx) == timeline_before


def test_a_changed_annotation_updates_the_open_alert(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    post(
        client,
        keys.alertmanager,
        am_group(am_alert("web-1:9100", fingerprint="a1b2c3d4e5f60718")),
    )

    changed = am_alert(
        "web-1:9100",
        fingerprint="a1b2c3d4e5f60718",
        summary="5xx rate above 20% on web-1:9100",
    )
    reply = post(client, keys.alertmanager, am_group(changed))

    assert results(reply) == ["updated"]
    stored = stored_alert(ctx, "a1b2c3d4e5f60718")
    assert stored.summary == "5xx rate above 20% on web-1:9100"
    assert stored.event_count == 2
    assert count_incidents(ctx) == 1


def test_an_alert_without_fingerprint_is_keyed_by_its_sorted_labels(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    alert = am_alert("web-1:9100")
    reordered = dict(alert, labels=dict(reversed(list(alert["labels"].items()))))

    first = post(client, keys.alertmanager, am_group(alert))
    second = post(client, keys.alertmanager, am_group(reordered))

    expected = label_fingerprint(alert["labels"])
    assert first["outcomes"][0]["dedup_key"] == expected
    assert results(second) == ["duplicate"]
    assert count_alerts(ctx) == 1


def test_without_summary_annotations_the_summary_names_the_alert_and_labels(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    alert = am_alert("web-1:9100", fingerprint="a1b2c3d4e5f60718")
    alert["annotations"] = {}

    post(client, keys.alertmanager, am_group(alert))

    assert stored_alert(ctx, "a1b2c3d4e5f60718").summary == (
        "HighErrorRate (instance=web-1:9100, job=checkout-api, severity=critical)"
    )


def test_different_groups_open_different_incidents(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    post(
        client,
        keys.alertmanager,
        am_group(am_alert("web-1:9100", fingerprint="a1"), group_key="{}:{a}"),
    )
    post(
        client,
        keys.alertmanager,
        am_group(am_alert("web-2:9100", fingerprint="b2"), group_key="{}:{b}"),
    )

    assert count_incidents(ctx) == 2


def test_a_very_long_group_key_still_groups(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    long_key = "{}:{" + ", ".join(f'label{i}="value{i}"' for i in range(80)) + "}"

    post(
        client,
        keys.alertmanager,
        am_group(am_alert("web-1:9100", fingerprint="a1"), group_key=long_key),
    )
    post(
        client,
        keys.alertmanager,
        am_group(am_alert("web-2:9100", fingerprint="b2"), group_key=long_key),
    )

    assert count_incidents(ctx) == 1
    assert count_alerts(ctx) == 2


def test_truncated_alerts_are_reported_and_kept_in_the_raw_alert(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    payload = am_group(am_alert("web-1:9100", fingerprint="a1"), truncated=7)

    reply = post(client, keys.alertmanager, payload)

    assert reply["truncated_alerts"] == 7
    assert stored_alert(ctx, "a1").raw["truncatedAlerts"] == 7


def test_the_key_can_come_as_a_bearer_token(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    response = client.post(
        "/api/v1/intake/alertmanager",
        json=am_group(am_alert("web-1:9100", fingerprint="a1")),
        headers={"Authorization": f"Bearer {keys.alertmanager}"},
    )

    assert response.status_code == 200, response.text
    assert count_alerts(ctx) == 1


def test_another_webhook_version_is_refused(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    payload = dict(am_group(am_alert("web-1:9100")), version="3")

    response = client.post(
        f"/api/v1/intake/alertmanager/{keys.alertmanager}", json=payload
    )

    assert response.status_code == 400
    assert "version" in response.json()["detail"]
    assert count_alerts(ctx) == 0
