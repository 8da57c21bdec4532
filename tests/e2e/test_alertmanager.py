"""Prometheus Alertmanager to Tocsin to a person and back, on real servers.

An alert posted to Alertmanager reaches Tocsin through its webhook, opens an
incident and pages Alice by email; her emailed link acknowledges it and stops
escalation; clearing the alert in Alertmanager resolves the incident. Alerts
of one Alertmanager group share one incident.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.harness import ActionLink, Alertmanager, Mailbox, Tocsin, wait_for

pytestmark = pytest.mark.e2e

ALICE = "alice@example.com"


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _alert(
    name: str, tag: str, *, instance: str = "web-1", cleared: bool = False
) -> dict[str, Any]:
    """An alert as Alertmanager's API takes it; `cleared` ends it now."""
    now = datetime.now(UTC)
    alert: dict[str, Any] = {
        "labels": {
            "alertname": name,
            "instance": instance,
            "severity": "critical",
            "e2e": tag,
        },
        "annotations": {"summary": f"{name} on {instance}"},
        "startsAt": _iso(now - timedelta(minutes=1)),
        "generatorURL": "http://127.0.0.1:9090/graph",
    }
    if cleared:
        alert["endsAt"] = _iso(now)
    return alert


def _carries(tag: str, instance: str | None = None) -> Callable[[dict[str, Any]], bool]:
    """Matches an incident holding an alert with our tag (and instance)."""

    def match(detail: dict[str, Any]) -> bool:
        return any(
            alert["labels"].get("e2e") == tag
            and (instance is None or alert["labels"].get("instance") == instance)
            for alert in detail["alerts"]
        )

    return match


def _kinds(detail: dict[str, Any]) -> list[str]:
    return [entry["kind"] for entry in detail["timeline"]]


def test_alert_pages_alice_whose_link_acknowledges_and_clearing_resolves(
    tocsin: Tocsin, alertmanager: Alertmanager, mailbox: Mailbox
) -> None:
    tag = secrets.token_hex(4)
    name = f"DiskFull{tag}"

    alertmanager.post_alerts([_alert(name, tag)])
    incident = tocsin.wait_for_incident(
        _carries(tag), what="an incident for the Alertmanager alert"
    )
    number = incident["number"]
    assert incident["status"] == "triggered"
    assert tocsin.pending_timers(incident["id"]) == 1, "the next step is scheduled"

    page = mailbox.wait_for_page(ALICE, number)
    link = ActionLink(page.link("Acknowledge"))
    try:
        shown = link.open()
        assert shown.status_code == 200
        assert tocsin.incident(number)["status"] == "triggered", "GET changed state"

        done = link.confirm()
        assert done.status_code == 200, done.text
    finally:
        link.close()

    acknowledged = tocsin.incident(number)
    assert acknowledged["status"] == "acknowledged"
    assert acknowledged["acknowledged_by"]["email"] == ALICE
    assert "acknowledged" in _kinds(acknowledged)
    assert _kinds(acknowledged).count("escalated") == 1
    assert tocsin.pending_timers(incident["id"]) == 0, "escalation still scheduled"

    alertmanager.post_alerts([_alert(name, tag, cleared=True)])
    resolved = tocsin.wait_for_status(number, "resolved")
    assert [alert["status"] for alert in resolved["alerts"]] == ["resolved"]
    assert _kinds(resolved).count("escalated") == 1
    assert [m.recipients for m in mailbox.to("bob@example.com", number)] == []


def test_alerts_of_one_group_share_an_incident_until_the_last_clears(
    tocsin: Tocsin, alertmanager: Alertmanager, mailbox: Mailbox
) -> None:
    tag = secrets.token_hex(4)
    name = f"HighLatency{tag}"

    alertmanager.post_alerts([_alert(name, tag, instance="web-1")])
    first = tocsin.wait_for_incident(
        _carries(tag, "web-1"), what="an incident for the first alert"
    )
    number = first["number"]

    alertmanager.post_alerts([_alert(name, tag, instance="web-2")])
    joined = wait_for(
        lambda: _with_alerts(tocsin.incident(number), 2),
        what=f"the second alert of the group to join incident #{number}",
        diagnose=tocsin.server.log_tail,
    )
    assert {a["labels"]["instance"] for a in joined["alerts"]} == {"web-1", "web-2"}
    assert _incidents_carrying(tocsin, tag) == [number]
    mailbox.wait_for_page(ALICE, number)
    assert len(mailbox.to(ALICE, number)) == 1, "joining the group paged again"

    alertmanager.post_alerts([_alert(name, tag, instance="web-1", cleared=True)])
    partly = wait_for(
        lambda: _with_resolved(tocsin.incident(number), "web-1"),
        what="the first alert to clear",
        diagnose=tocsin.server.log_tail,
    )
    assert partly["status"] == "triggered", "resolved while web-2 still fires"

    alertmanager.post_alerts([_alert(name, tag, instance="web-2", cleared=True)])
    resolved = tocsin.wait_for_status(number, "resolved")
    assert {a["status"] for a in resolved["alerts"]} == {"resolved"}
    assert tocsin.pending_timers(resolved["id"]) == 0


def _with_alerts(detail: dict[str, Any], count: int) -> dict[str, Any] | None:
    return detail if len(detail["alerts"]) == count else None


def _with_resolved(detail: dict[str, Any], instance: str) -> dict[str, Any] | None:
    for alert in detail["alerts"]:
        if alert["labels"].get("instance") == instance:
            return detail if alert["status"] == "resolved" else None
    return None


def _incidents_carrying(tocsin: Tocsin, tag: str) -> list[int]:
    match = _carries(tag)
    return sorted(
        number for number in tocsin.incident_numbers() if match(tocsin.incident(number))
    )
