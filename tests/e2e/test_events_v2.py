"""The PagerDuty Events v2 compatible endpoint to a person and back, on real
servers: a trigger opens an incident and pages Alice, her emailed link
acknowledges it, a resolve event resolves it, and the next trigger of the same
dedup key opens a new incident. Unacknowledged, escalation reaches Bob.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from tests.e2e.harness import ActionLink, Mailbox, Tocsin

pytestmark = pytest.mark.e2e

ALICE = "alice@example.com"
BOB = "bob@example.com"


def _send(tocsin: Tocsin, action: str, dedup_key: str, **payload: Any) -> None:
    event: dict[str, Any] = {
        "routing_key": tocsin.keys["events_v2"],
        "event_action": action,
        "dedup_key": dedup_key,
    }
    if action == "trigger":
        event["payload"] = {
            "summary": payload.get("summary", f"Checkout errors ({dedup_key})"),
            "source": "e2e.example.com",
            "severity": "critical",
        }
    response = httpx.post(f"{tocsin.base_url}/v2/enqueue", json=event, timeout=10)

    assert response.status_code == 202, response.text
    assert response.json()["dedup_key"] == dedup_key


def _open_with_key(
    tocsin: Tocsin, dedup_key: str, *, besides: frozenset[int] = frozenset()
) -> dict[str, Any]:
    return tocsin.wait_for_incident(
        lambda detail: (
            any(a["dedup_key"] == dedup_key for a in detail["alerts"])
            and detail["status"] != "resolved"
        ),
        among=lambda: tocsin.incident_numbers() - besides,
        what=f"an open incident for dedup key {dedup_key}",
    )


def _follow(url: str, tocsin: Tocsin, number: int, status_before: str) -> None:
    """Open an action link, check that looking changed nothing, then confirm."""
    link = ActionLink(url)
    try:
        assert link.open().status_code == 200
        assert tocsin.incident(number)["status"] == status_before

        done = link.confirm()
        assert done.status_code == 200, done.text
    finally:
        link.close()


def test_trigger_pages_alice_whose_link_acknowledges_and_resolve_event_resolves(
    tocsin: Tocsin, mailbox: Mailbox
) -> None:
    key = f"e2e-{secrets.token_hex(6)}"

    for _ in range(3):
        _send(tocsin, "trigger", key)
    incident = _open_with_key(tocsin, key)
    number = incident["number"]
    assert [a["event_count"] for a in incident["alerts"]] == [1], "repeats counted"
    assert tocsin.pending_timers(incident["id"]) == 1

    page = mailbox.wait_for_page(ALICE, number)
    _follow(page.link("Acknowledge"), tocsin, number, "triggered")

    acknowledged = tocsin.incident(number)
    assert acknowledged["status"] == "acknowledged"
    assert acknowledged["acknowledged_by"]["email"] == ALICE
    assert tocsin.pending_timers(incident["id"]) == 0

    _send(tocsin, "resolve", key)
    resolved = tocsin.wait_for_status(number, "resolved")
    kinds = [entry["kind"] for entry in resolved["timeline"]]
    assert kinds.count("escalated") == 1
    assert "acknowledged" in kinds

    _send(tocsin, "trigger", key)
    reopened = _open_with_key(tocsin, key, besides=frozenset({number}))
    assert reopened["number"] != number
    assert reopened["status"] == "triggered"
    assert tocsin.incident(number)["status"] == "resolved", "old incident reopened"
    mailbox.wait_for_page(ALICE, reopened["number"])


def test_unacknowledged_incident_escalates_to_bob_whose_link_resolves(
    tocsin: Tocsin, mailbox: Mailbox
) -> None:
    key = f"e2e-{secrets.token_hex(6)}"

    _send(tocsin, "trigger", key)
    incident = _open_with_key(tocsin, key)
    number = incident["number"]
    mailbox.wait_for_page(ALICE, number)
    assert mailbox.to(BOB, number) == []

    # The demo policy waits five minutes before Bob; move that timer to now
    # rather than wait, and let the real worker find it due.
    assert tocsin.make_timers_due(incident["id"]) == 1
    page = mailbox.wait_for_page(BOB, number)
    escalated = tocsin.incident(number)
    assert [e["kind"] for e in escalated["timeline"]].count("escalated") == 2

    _follow(page.link("Resolve"), tocsin, number, "triggered")
    resolved = tocsin.incident(number)
    assert resolved["status"] == "resolved"
    assert resolved["resolved_by"]["email"] == BOB
    assert tocsin.pending_timers(incident["id"]) == 0
