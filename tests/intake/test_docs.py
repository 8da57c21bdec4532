"""The curl examples in docs/intake.md work as written (with real keys)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from tests.intake.conftest import Keys, count_alerts, incident_statuses
from tocsin.services.context import Context

DOC = Path(__file__).resolve().parents[2] / "docs" / "intake.md"
CURL = re.compile(
    r"curl -sS https://tocsin\.example\.com(?P<path>\S+) \\\n"
    r"(?P<headers>(?:\s+-H '[^']+' \\\n)*)"
    r"\s+-d '(?P<body>[^']+)'"
)


def curl_examples() -> list[tuple[str, dict[str, str], str]]:
    examples = []
    for match in CURL.finditer(DOC.read_text()):
        headers = dict(
            header.split(": ", 1)
            for header in re.findall(r"-H '([^']+)'", match["headers"])
        )
        examples.append((match["path"], headers, match["body"]))
    return examples


def with_keys(text: str, keys: Keys) -> str:
    for kind in ("alertmanager", "events_v2", "grafana", "generic"):
        text = text.replace(f"{kind.upper()}_KEY", getattr(keys, kind))
    return text


def test_every_curl_example_is_accepted_in_order(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    examples = curl_examples()
    assert len(examples) == 5

    for path, headers, body in examples:
        response = client.post(
            with_keys(path, keys),
            content=with_keys(body, keys).encode(),
            headers={name: with_keys(value, keys) for name, value in headers.items()},
        )
        assert response.status_code in (200, 202), (path, response.text)

    # Alertmanager, Grafana and Events v2 each fired one alert; the generic
    # example fired and then resolved its own.
    assert count_alerts(ctx, "firing") == 3
    assert sorted(incident_statuses(ctx).values()).count("resolved") == 1
