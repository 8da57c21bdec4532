"""Pages to Microsoft Teams through a workflow webhook ("When a Teams webhook
request is received"), as an Adaptive Card.

The card's buttons open the page's signed acknowledge link and the incident;
Teams workflows have no signed callback Tocsin could verify, so a click goes
through the same confirmation page as an emailed link.

Titles and bodies carry outside text (an alert's summary, a public report's
title), and a TextBlock reads Markdown: `[text](url)` there would be a link
that hides where it goes. They go in TextRuns, which Teams shows as written.
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
        _plain(message.subject[:300], weight="Bolder", size="Medium")
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
        body.append(_plain(message.body[:2000]))
        if payload.get("open_url"):
            # The body's link is plain text now, so the card offers it too.
            actions = [
                {"type": "Action.OpenUrl", "title": "Open", "url": payload["open_url"]}
            ]

    return {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": actions,
    }


def _plain(text: str, **style: str) -> dict[str, Any]:
    """A block showing `text` as written: a TextRun's text is never Markdown."""
    return {
        "type": "RichTextBlock",
        "inlines": [{"type": "TextRun", "text": text, **style}],
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
