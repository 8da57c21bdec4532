"""Prometheus Alertmanager webhook payloads (version 4) as alert events.

Alertmanager posts one alert group per request. The facts this module relies on:

- every alert carries its own `status`; a group whose top-level status is
  `firing` can still hold alerts that have `resolved`, so the top level is never
  used to judge an alert;
- `fingerprint` identifies an alert by its labels and is the dedup key; an
  alert without one gets a key derived from its sorted labels;
- `endsAt` of `0001-01-01T00:00:00Z` (Go's zero time) means "no end yet";
- `groupKey` names the group; alerts of one group share one open incident;
- `truncatedAlerts` counts alerts left out because of the receiver's
  `max_alerts`. A positive count is logged and kept in each alert's raw data.

Grafana's webhook contact point sends the same alert shape, so `group_events`
serves both formats.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Field

from tocsin.domain.alerts import (
    MAX_SUMMARY,
    AlertAction,
    AlertEvent,
    derived_dedup_key,
    normalise_severity,
)
from tocsin.errors import InvalidInput
from tocsin.intake.common import (
    MAX_ALERTS,
    Annotations,
    Key,
    Labels,
    SenderModel,
    Text,
    Timestamp,
    load_object,
    validate,
)

log = logging.getLogger(__name__)

WEBHOOK_VERSION = "4"
# Group keys are stored with the integration id in a 512-character column; a
# longer one (many group_by labels) is stored as its digest instead.
MAX_GROUP_KEY = 255


class GroupAlert(SenderModel):
    """One alert inside an Alertmanager or Grafana notification."""

    status: Literal["firing", "resolved"]
    labels: Labels
    annotations: Annotations = Field(default_factory=dict)
    starts_at: Timestamp = Field(default=None, alias="startsAt")
    ends_at: Timestamp = Field(default=None, alias="endsAt")
    generator_url: Text = Field(default="", alias="generatorURL")
    fingerprint: Key | None = None


class AlertmanagerPayload(SenderModel):
    version: str | None = None
    group_key: Text | None = Field(default=None, alias="groupKey")
    truncated_alerts: int = Field(
        default=0, ge=0, le=1_000_000_000, alias="truncatedAlerts"
    )
    alerts: Annotated[list[GroupAlert], Field(min_length=1, max_length=MAX_ALERTS)]


def parse(body: bytes) -> tuple[list[AlertEvent], int]:
    """The events in an Alertmanager delivery and its truncatedAlerts count.

    Raises InvalidInput for anything that is not a version 4 webhook payload.
    """
    document = load_object(body)
    payload = validate(AlertmanagerPayload, document)
    if payload.version is not None and payload.version != WEBHOOK_VERSION:
        raise InvalidInput(
            f"version: this endpoint reads webhook version {WEBHOOK_VERSION}, "
            f"not {payload.version!r}"
        )

    events = group_events(
        payload.alerts,
        document["alerts"],
        group_key=payload.group_key,
        truncated_alerts=payload.truncated_alerts,
        default_source="alertmanager",
    )
    return events, payload.truncated_alerts


def group_events(
    alerts: Sequence[GroupAlert],
    raw_alerts: Sequence[dict[str, Any]],
    *,
    group_key: str | None,
    truncated_alerts: int,
    default_source: str,
) -> list[AlertEvent]:
    """One event per alert of a group, each judged by its own status."""
    if truncated_alerts:
        log.warning(
            "alert group truncated by sender",
            extra={"truncated_alerts": truncated_alerts, "group_key": group_key},
        )

    shared_group = _bounded_group_key(group_key)
    events = []
    for alert, raw in zip(alerts, raw_alerts, strict=True):
        if truncated_alerts:
            raw = {**raw, "truncatedAlerts": truncated_alerts}
        events.append(_event(alert, raw, shared_group, default_source))

    return events


def _event(
    alert: GroupAlert, raw: dict[str, Any], group_key: str | None, default_source: str
) -> AlertEvent:
    labels = alert.labels
    annotations = alert.annotations
    summary = annotations.get("summary") or annotations.get("description")
    details = annotations.get("description", "")
    if runbook := annotations.get("runbook_url"):
        details = f"{details}\n\nRunbook: {runbook}".strip()

    return AlertEvent(
        action=(
            AlertAction.TRIGGER if alert.status == "firing" else AlertAction.RESOLVE
        ),
        dedup_key=alert.fingerprint or label_fingerprint(labels),
        summary=(summary or _summary_from_labels(labels))[:MAX_SUMMARY],
        source=labels.get("instance") or labels.get("job") or default_source,
        severity=normalise_severity(labels.get("severity")),
        labels=dict(labels),
        raw=raw,
        group_key=group_key,
        starts_at=alert.starts_at,
        ends_at=alert.ends_at,
        details=details,
    )


def label_fingerprint(labels: dict[str, str]) -> str:
    """A dedup key for an alert that came without a fingerprint: its label set."""
    return derived_dedup_key(*(f"{name}={labels[name]}" for name in sorted(labels)))


def _summary_from_labels(labels: dict[str, str]) -> str:
    name = labels.get("alertname", "Alert")
    rest = ", ".join(
        f"{key}={value}" for key, value in sorted(labels.items()) if key != "alertname"
    )
    return f"{name} ({rest})" if rest else name


def _bounded_group_key(group_key: str | None) -> str | None:
    if not group_key:
        return None
    if len(group_key) <= MAX_GROUP_KEY:
        return group_key

    return "sha256:" + hashlib.sha256(group_key.encode()).hexdigest()
