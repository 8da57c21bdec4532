"""Pages to Microsoft Teams through a workflow webhook ("When a Teams webhook
request is received"), as an Adaptive Card.

The card's buttons open the page's signed acknowledge link and the incident;
Teams workflows have no signed callback Tocsin could verify, so a click goes
through the same confirmation page as an emailed link.
"""

from __future__ import annotations

from typing import Any

from tocsin.channels.base import Outbound
from tocsin.channels.web import HttpSender
from tocsin.config import Settings

CARD_TYPE = "application/vnd.microsoft.card.adaptive"


def card(message: Outbound) -> dict[str, Any]:
    """An Adaptive Card (schema 1.4, which Teams renders) for the message."""
    payload = message.payload
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": message.subject[:300],
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        }
    ]
    actions: list[dict[str, Any]] = []
    if payload.get("kind") == "page":
        body.append(
            {
                "type": "FactSet",
                "facts": [
                    {"title": "Service", "value": str(payload["service"])},
                    {"title": "Severity", "value": str(payload["severity"]).upper()},
                    {"title": "Why you", "value": str(payload["reason"])},
                ],
            }
        )
        actions = [
            {
                "type": "Action.OpenUrl",
                "title": "Acknowledge",
                "url": payload["ack_url"],
            },
            {"type": "Action.OpenUrl", "title": "Open", "url": payload["open_url"]},
        ]
    else:
        body.append({"type": "TextBlock", "text": message.body[:2000], "wrap": True})

    return {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": actions,
    }


class TeamsChannel:
    kind = "teams"

    def __init__(self, settings: Settings) -> None:
        self.http = HttpSender(settings, "Teams")

    def send(self, message: Outbound) -> None:
        address = str(message.payload.get("address") or message.recipient)
        self.http.post(
            address,
            json={
                "type": "message",
                "attachments": [
                    {
                        "contentType": CARD_TYPE,
                        "contentUrl": None,
                        "content": card(message),
                    }
                ],
            },
            headers={"Idempotency-Key": message.idempotency_key},
        )
