"""What to paste into a sender so it reaches an integration: the copyable
configuration shown on a service's page.

A key exists in clear only just after it is made (integrations keep a hash),
so the snippets take the key when there is one and a placeholder otherwise.
Every snippet sends the key as a bearer token rather than in the URL, which
keeps it out of proxies' access logs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

PLACEHOLDER = "YOUR_INTEGRATION_KEY"


@dataclass(frozen=True)
class Snippet:
    """One block to copy: where it goes, and the text."""

    title: str
    text: str


def snippets(kind: str, base_url: str, key: str | None = None) -> list[Snippet]:
    """The configuration a sender of `kind` needs to post to this Tocsin.

    Unknown kinds get no snippets (an integration Tocsin made for its own
    heartbeats and checks has nothing to configure)."""
    base = base_url.rstrip("/")
    secret = key or PLACEHOLDER
    build = _BUILDERS.get(kind)

    return build(base, secret) if build else []


def _alertmanager(base: str, key: str) -> list[Snippet]:
    config = "\n".join(
        [
            "route:",
            "  receiver: tocsin",
            "receivers:",
            "  - name: tocsin",
            "    webhook_configs:",
            f"      - url: {base}/api/v1/intake/alertmanager",
            "        send_resolved: true",
            "        http_config:",
            "          authorization:",
            f"            credentials: {key}",
        ]
    )
    return [Snippet("alertmanager.yml", config)]


def _grafana(base: str, key: str) -> list[Snippet]:
    steps = "\n".join(
        [
            "Contact point integration: Webhook",
            f"URL: {base}/api/v1/intake/grafana",
            "HTTP method: POST",
            "Authorization header - scheme: Bearer",
            f"Authorization header - credentials: {key}",
        ]
    )
    return [Snippet("Grafana contact point", steps)]


def _events_v2(base: str, key: str) -> list[Snippet]:
    event = {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": "disk-full-db-1",
        "payload": {
            "summary": "Disk 95% full on db-1",
            "source": "db-1",
            "severity": "critical",
        },
    }
    return [
        Snippet("Events API v2 endpoint", f"{base}/v2/enqueue"),
        Snippet("Try it with curl", _curl(f"{base}/v2/enqueue", event)),
    ]


def _generic(base: str, key: str) -> list[Snippet]:
    event = {
        "action": "trigger",
        "dedup_key": "backup-db-1",
        "summary": "Nightly backup failed on db-1",
        "severity": "warning",
    }
    url = f"{base}/api/v1/intake/generic"
    return [Snippet("Try it with curl", _curl(url, event, bearer=key))]


def _curl(url: str, body: Mapping[str, object], bearer: str | None = None) -> str:
    lines = [f"curl -fsS -X POST {url} \\"]
    if bearer is not None:
        lines.append(f"  -H 'Authorization: Bearer {bearer}' \\")
    lines.append("  -H 'Content-Type: application/json' \\")
    lines.append(f"  -d '{json.dumps(body)}'")
    return "\n".join(lines)


_BUILDERS = {
    "alertmanager": _alertmanager,
    "grafana": _grafana,
    "events_v2": _events_v2,
    "generic": _generic,
}
