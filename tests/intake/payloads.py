"""Payloads shaped like real deliveries, written from each sender's documented
format: Alertmanager webhook v4, Grafana's webhook contact point (version 1),
PagerDuty Events v2 and Tocsin's generic shape."""

from __future__ import annotations

from typing import Any

NO_END = "0001-01-01T00:00:00Z"
GROUP_KEY = '{}/{severity=~"critical|warning"}:{alertname="HighErrorRate"}'


def am_alert(
    instance: str,
    *,
    status: str = "firing",
    fingerprint: str | None = None,
    severity: str = "critical",
    summary: str | None = None,
) -> dict[str, Any]:
    """One alert of a group, as Alertmanager writes it."""
    alert: dict[str, Any] = {
        "status": status,
        "labels": {
            "alertname": "HighErrorRate",
            "instance": instance,
            "job": "checkout-api",
            "severity": severity,
        },
        "annotations": {
            "summary": summary or f"5xx rate above 5% on {instance}",
            "description": "Error ratio 0.071 over the last 5 minutes.",
            "runbook_url": "https://runbooks.example.com/high-error-rate",
        },
        "startsAt": "2026-03-02T08:51:03.157076254Z",
        "endsAt": NO_END if status == "firing" else "2026-03-02T09:06:03.157Z",
        "generatorURL": (
            "http://prometheus.example.com:9090/graph?g0.expr="
            "job%3Acheckout_errors%3Aratio5m+%3E+0.05\u0026g0.tab=1"
        ),
    }
    if fingerprint is not None:
        alert["fingerprint"] = fingerprint
    return alert


def am_group(
    *alerts: dict[str, Any],
    group_key: str = GROUP_KEY,
    truncated: int = 0,
) -> dict[str, Any]:
    """A webhook v4 notification. The group status is `firing` while any alert
    fires, as Alertmanager sets it."""
    firing = any(alert["status"] == "firing" for alert in alerts)
    return {
        "receiver": "tocsin",
        "status": "firing" if firing else "resolved",
        "alerts": list(alerts),
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {"alertname": "HighErrorRate", "job": "checkout-api"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.com:9093",
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": truncated,
    }


def grafana_alert(
    zone: str, *, status: str = "firing", fingerprint: str = "c6eadffa33fcdf37"
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {
            "alertname": "High memory usage",
            "team": "blue",
            "zone": zone,
            "grafana_folder": "Checkout",
        },
        "annotations": {
            "description": "Memory usage is above 90%",
            "summary": f"High memory usage in zone {zone}",
        },
        "startsAt": "2026-03-02T09:51:03.157076+02:00",
        "endsAt": NO_END if status == "firing" else "2026-03-02T10:01:03+02:00",
        "generatorURL": "https://grafana.example.com/alerting/grafana/1afz29v7z/view",
        "fingerprint": fingerprint,
        "silenceURL": "https://grafana.example.com/alerting/silence/new?matcher=x",
        "dashboardURL": "https://grafana.example.com/d/mem",
        "panelURL": "https://grafana.example.com/d/mem?viewPanel=2",
        "values": {"B": 93.21, "C": 1},
        "valueString": "[ var='B' labels={zone=eu-1} value=93.21 ]",
    }


def grafana_group(*alerts: dict[str, Any]) -> dict[str, Any]:
    firing = [a for a in alerts if a["status"] == "firing"]
    resolved = len(alerts) - len(firing)
    title = f"[FIRING:{len(firing)}] High memory usage (blue)"
    if resolved:
        title += f", [RESOLVED:{resolved}]"
    return {
        "receiver": "tocsin",
        "status": "firing" if firing else "resolved",
        "orgId": 1,
        "alerts": list(alerts),
        "groupLabels": {"alertname": "High memory usage"},
        "commonLabels": {"team": "blue"},
        "commonAnnotations": {},
        "externalURL": "https://grafana.example.com/",
        "version": "1",
        "groupKey": '{}/{team="blue"}:{alertname="High memory usage"}',
        "truncatedAlerts": 0,
        "title": title,
        "state": "alerting" if firing else "ok",
        "message": f"**Firing**\n\nValue: B=93.21\nLabels:\n - team = blue\n{title}",
    }


def pd_event(
    routing_key: str,
    action: str = "trigger",
    dedup_key: str | None = "checkout/payment-latency",
    **payload: Any,
) -> dict[str, Any]:
    """An Events v2 body; trigger bodies get a full payload."""
    event: dict[str, Any] = {"routing_key": routing_key, "event_action": action}
    if dedup_key is not None:
        event["dedup_key"] = dedup_key
    if action == "trigger":
        event["payload"] = {
            "summary": "Payment latency p99 above 2s",
            "source": "payments-1.prod",
            "severity": "critical",
            "timestamp": "2026-03-02T08:42:58.315+0000",
            "component": "payments",
            "group": "prod-checkout",
            "class": "latency",
            "custom_details": {"p99_ms": 2340, "region": "eu-west-1"},
            **payload,
        }
        event["client"] = "Sample Monitoring Service"
        event["client_url"] = "https://monitoring.example.com"
        event["links"] = [{"href": "https://dash.example.com/p", "text": "Dashboard"}]
        event["images"] = [{"src": "https://img.example.com/p.png", "alt": "p99"}]
    return event


def generic_event(**fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "action": "trigger",
        "dedup_key": "backup-db-1",
        "summary": "Nightly backup failed on db-1",
        "source": "db-1",
        "severity": "warning",
        "labels": {"job": "backup"},
        "details": {"exit_code": 2},
    }
    event.update(fields)
    return {name: value for name, value in event.items() if value is not None}
