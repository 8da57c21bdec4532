"""The generic JSON webhook: one event per request, in a shape Tocsin defines.

For scripts, cron jobs and tools without a format of their own. The body is a
JSON object with these fields (unknown fields are refused, to catch typos):

    action      "trigger" (default), "acknowledge" or "resolve"
    dedup_key   string, 1-255 characters. Optional for a trigger: without it the
                key is derived from source, summary and labels, so sending the
                same trigger again is a duplicate. Required otherwise.
    summary     string, 1-1024 characters; required for a trigger
    source      string, at most 255 characters: the host or system affected
    severity    "critical", "error" (default), "warning" or "info"
    labels      object of string values, at most 128 entries
    details     string, or an object shown as `name: value` lines; becomes the
                incident description
    group_key   string, at most 255 characters: triggers with the same group
                key share one open incident
    timestamp   ISO 8601 time the condition began (UTC when no offset is given)

Example:

    {"action": "trigger", "dedup_key": "backup-db-1", "summary": "Nightly
     backup failed on db-1", "source": "db-1", "severity": "warning",
     "labels": {"job": "backup"}, "details": {"exit_code": 2}}

The reply lists the outcome and the dedup key, so a sender that let Tocsin
derive the key can resolve with it later. The same text is in docs/intake.md.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tocsin.domain.alerts import AlertAction, AlertEvent, derived_dedup_key
from tocsin.errors import InvalidInput
from tocsin.intake.common import (
    Details,
    Key,
    Labels,
    OwnModel,
    Source,
    Summary,
    Timestamp,
    details_text,
    load_object,
    validate,
)


class GenericEvent(OwnModel):
    action: Literal["trigger", "acknowledge", "resolve"] = "trigger"
    dedup_key: Key | None = None
    summary: Summary = ""
    source: Source = ""
    severity: Literal["critical", "error", "warning", "info"] = "error"
    labels: Labels = Field(default_factory=dict)
    details: Details = ""
    group_key: Key | None = None
    timestamp: Timestamp = None


def parse(body: bytes) -> AlertEvent:
    """The event in a generic webhook body. Raises InvalidInput when the body
    breaks the shape above."""
    document = load_object(body)
    event = validate(GenericEvent, document)
    action = AlertAction(event.action)

    if action is not AlertAction.TRIGGER:
        if event.dedup_key is None:
            raise InvalidInput(f"dedup_key: required for {event.action}")
        return AlertEvent(
            action=action, dedup_key=event.dedup_key, summary="", raw=document
        )

    if not event.summary:
        raise InvalidInput("summary: required for trigger")

    dedup_key = event.dedup_key or derived_dedup_key(
        event.source,
        event.summary,
        *(f"{name}={event.labels[name]}" for name in sorted(event.labels)),
    )
    return AlertEvent(
        action=action,
        dedup_key=dedup_key,
        summary=event.summary,
        source=event.source,
        severity=event.severity,
        labels=dict(event.labels),
        raw=document,
        group_key=event.group_key,
        starts_at=event.timestamp,
        details=details_text(event.details),
    )
