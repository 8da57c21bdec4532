"""Grafana alerting webhook contact point payloads as alert events.

Grafana's webhook (payload version 1) wraps an Alertmanager-shaped group: the
same `alerts[]` with their own `status`, `labels`, `annotations`, `fingerprint`,
`startsAt`, `endsAt` and `generatorURL`, plus Grafana's own `silenceURL`,
`dashboardURL`, `panelURL` and `values`, and top-level `title`, `state`,
`message`, `orgId`, `groupKey` and `truncatedAlerts`.

Each alert is judged by its own status and deduplicated by its fingerprint, as
for Alertmanager. The top-level `title` and `message` are not kept with the
alerts: they count firing and resolved alerts, so they change whenever any
alert of the group does, and would make every repeat look like an update.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from tocsin.domain.alerts import AlertEvent
from tocsin.intake.alertmanager import GroupAlert, group_events
from tocsin.intake.common import (
    MAX_ALERTS,
    SenderModel,
    Text,
    load_object,
    validate,
)


class GrafanaPayload(SenderModel):
    group_key: Text | None = Field(default=None, alias="groupKey")
    truncated_alerts: int = Field(
        default=0, ge=0, le=1_000_000_000, alias="truncatedAlerts"
    )
    org_id: int | None = Field(default=None, alias="orgId")
    title: Text = ""
    state: Text = ""
    message: Text = ""
    alerts: Annotated[list[GroupAlert], Field(min_length=1, max_length=MAX_ALERTS)]


def parse(body: bytes) -> tuple[list[AlertEvent], int]:
    """The events in a Grafana delivery and its truncatedAlerts count.

    Raises InvalidInput for anything that is not a Grafana webhook payload.
    """
    document = load_object(body)
    payload = validate(GrafanaPayload, document)

    events = group_events(
        payload.alerts,
        document["alerts"],
        group_key=payload.group_key,
        truncated_alerts=payload.truncated_alerts,
        default_source="grafana",
    )
    return events, payload.truncated_alerts
