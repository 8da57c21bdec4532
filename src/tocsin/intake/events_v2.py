"""PagerDuty Events API v2 compatible events as alert events.

The rules carried over from the Events v2 contract:

- `routing_key` in the body names the integration (it is never stored);
- `event_action` is `trigger`, `acknowledge` or `resolve`;
- `dedup_key` is at most 255 characters; a trigger without one gets a fresh
  random key, so it always opens a new alert, and the reply tells the sender
  the key to use for follow-ups; acknowledge and resolve need one;
- a trigger needs `payload.summary` (at most 1024 characters), `payload.source`
  and `payload.severity` (`critical`, `error`, `warning` or `info`);
- `payload.timestamp`, `component`, `group`, `class`, `custom_details`,
  `client`, `client_url`, `links` and `images` are optional.

Follow-ups reach only the open alert with that key; for a closed or unknown key
they change nothing and are still accepted, as the contract says.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from tocsin.domain.alerts import MAX_DEDUP_KEY, AlertAction, AlertEvent
from tocsin.errors import InvalidInput
from tocsin.intake.common import (
    Details,
    SenderModel,
    Source,
    Summary,
    Text,
    Timestamp,
    details_text,
    validate,
)

MAX_LINKS = 100

DedupKey = Annotated[str, StringConstraints(max_length=MAX_DEDUP_KEY)]


class Link(SenderModel):
    href: Text
    text: Text = ""


class Image(SenderModel):
    src: Text
    href: Text = ""
    alt: Text = ""


class EventPayload(SenderModel):
    summary: Summary = ""
    source: Source = ""
    severity: Literal["critical", "error", "warning", "info"] | None = None
    timestamp: Timestamp = None
    component: Source = ""
    group: Source = ""
    class_: Source = Field(default="", alias="class")
    custom_details: Details | None = None


class EventsV2Event(SenderModel):
    routing_key: str
    event_action: Literal["trigger", "acknowledge", "resolve"]
    dedup_key: DedupKey | None = None
    payload: EventPayload | None = None
    client: Text = ""
    client_url: Text = ""
    links: Annotated[list[Link], Field(max_length=MAX_LINKS)] = Field(
        default_factory=list
    )
    images: Annotated[list[Image], Field(max_length=MAX_LINKS)] = Field(
        default_factory=list
    )


def routing_key(document: dict[str, Any]) -> str | None:
    """The integration key the event names; None when it names none."""
    key = document.get("routing_key")
    if key is not None and not isinstance(key, str):
        raise InvalidInput("routing_key: must be a string")

    return key


def parse(document: dict[str, Any]) -> AlertEvent:
    """The event in an Events v2 body. Raises InvalidInput when it breaks the
    contract above."""
    event = validate(EventsV2Event, document)
    action = AlertAction(event.event_action)
    # The routing key authenticates; it is not data about the alert.
    raw = {name: value for name, value in document.items() if name != "routing_key"}

    if action is not AlertAction.TRIGGER:
        if not event.dedup_key:
            raise InvalidInput(f"dedup_key: required for {event.event_action}")
        return AlertEvent(action=action, dedup_key=event.dedup_key, summary="", raw=raw)

    payload = event.payload
    if payload is None:
        raise InvalidInput("payload: required for trigger")
    missing = [
        name
        for name, value in (
            ("summary", payload.summary),
            ("source", payload.source),
            ("severity", payload.severity),
        )
        if not value
    ]
    if missing:
        raise InvalidInput(f"payload.{missing[0]}: required for trigger")

    labels = {
        name: value
        for name, value in (
            ("component", payload.component),
            ("group", payload.group),
            ("class", payload.class_),
        )
        if value
    }
    return AlertEvent(
        action=action,
        # Without a key every trigger is a new alert (Events v2 semantics).
        dedup_key=event.dedup_key or uuid.uuid4().hex,
        summary=payload.summary,
        source=payload.source,
        severity=payload.severity or "error",
        labels=labels,
        raw=raw,
        starts_at=payload.timestamp,
        details=details_text(payload.custom_details),
    )
