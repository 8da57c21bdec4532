"""Pages to Slack: an incoming webhook URL, or a user or channel id through the
Web API's chat.postMessage with a bot token.

A page carries an "Acknowledge" button; Slack posts the click to
/intake/slack/actions (tocsin.intake.slack_actions), which checks the request's
signature. Slack has no idempotency key for posting messages: the key travels in
the message metadata, so a reader can spot a repeat after a lost reply.
"""

from __future__ import annotations

from typing import Any

from tocsin.channels.base import DeliveryError, Outbound
from tocsin.channels.web import HttpSender
from tocsin.config import Settings

ACKNOWLEDGE_ACTION = "tocsin_acknowledge"


def escape(text: str) -> str:
    """Text for Slack's mrkdwn: &, < and > are its control characters (a title
    holding `<!channel>` must not ping a whole channel)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def blocks(message: Outbound) -> list[dict[str, Any]]:
    """Block Kit for a page: what happened, and buttons to act on it."""
    payload = message.payload
    if payload.get("kind") != "page":
        return [_section(escape(message.body))]

    number = payload["incident_number"]
    headline = (
        f"*#{number} {escape(str(payload['severity']).upper())}* "
        f"{escape(str(payload['title']))}"
    )
    facts = (
        f"Service: {escape(str(payload['service']))}\n"
        f"Why you: {escape(str(payload['reason']))}"
    )
    return [
        _section(headline),
        _section(facts),
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": ACKNOWLEDGE_ACTION,
                    "text": {"type": "plain_text", "text": "Acknowledge"},
                    "style": "danger",
                    "value": str(number),
                },
                {
                    "type": "button",
                    "action_id": "tocsin_open",
                    "text": {"type": "plain_text", "text": "Open"},
                    "url": str(payload["open_url"]),
                },
            ],
        },
    ]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}


class SlackChannel:
    kind = "slack"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.http = HttpSender(settings, "Slack")

    def send(self, message: Outbound) -> None:
        address = str(message.payload.get("address") or message.recipient)
        body: dict[str, Any] = {
            # The fallback text shows in notifications and old clients.
            "text": escape(message.subject[:300]),
            "blocks": blocks(message),
        }
        if address.startswith(("https://", "http://")):
            # Incoming webhooks answer 200 "ok", or 4xx with an error word.
            self.http.post(address, json=body)
            return

        token = self.settings.slack_bot_token
        if not token:
            raise DeliveryError(
                "Slack: set TOCSIN_SLACK_BOT_TOKEN to page Slack users by id"
            )
        body["channel"] = address
        body["metadata"] = {
            "event_type": "tocsin_page",
            "event_payload": {"idempotency_key": message.idempotency_key},
        }
        url = f"{self.settings.slack_api_url.rstrip('/')}/chat.postMessage"
        response = self.http.post(
            url, json=body, headers={"Authorization": f"Bearer {token}"}
        )
        # The Web API answers 200 even when it refuses; `ok` says which.
        try:
            answer = response.json()
        except ValueError:
            raise DeliveryError("Slack answered with something not JSON") from None
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            error = answer.get("error") if isinstance(answer, dict) else None
            raise DeliveryError(f"Slack refused the message: {error or 'no reason'}")
