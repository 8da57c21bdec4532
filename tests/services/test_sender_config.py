"""The sender configuration shown on a service's page is what the senders and
Tocsin's own intake accept: Alertmanager's own checker passes it, and the
example bodies parse as the events they claim to be."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tocsin.intake import events_v2, generic
from tocsin.services.sender_config import PLACEHOLDER, snippets

BASE = "https://tocsin.example.com/"
KEY = "0123456789abcdef0123456789abcdef"


def _curl_body(text: str) -> bytes:
    """The -d argument of a curl command line."""
    words = shlex.split(text.replace("\\\n", " "))
    return words[words.index("-d") + 1].encode()


@pytest.mark.skipif(
    shutil.which("amtool") is None,
    reason="amtool comes with Debian's prometheus-alertmanager",
)
def test_alertmanager_accepts_the_receiver(tmp_path: Path) -> None:
    [config] = snippets("alertmanager", BASE, KEY)
    path = tmp_path / "alertmanager.yml"
    path.write_text(config.text)

    checked = subprocess.run(
        ["amtool", "check-config", str(path)], capture_output=True, text=True
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "https://tocsin.example.com/api/v1/intake/alertmanager" in config.text


def test_the_events_v2_example_carries_the_key_and_parses() -> None:
    endpoint, example = snippets("events_v2", BASE, KEY)
    document = json.loads(_curl_body(example.text))

    event = events_v2.parse(document)

    assert endpoint.text == "https://tocsin.example.com/v2/enqueue"
    assert events_v2.routing_key(document) == KEY
    assert event.summary == "Disk 95% full on db-1"


def test_the_generic_example_sends_the_key_as_a_bearer_token() -> None:
    [example] = snippets("generic", BASE, KEY)

    event = generic.parse(_curl_body(example.text))

    assert f"Authorization: Bearer {KEY}" in example.text
    assert event.dedup_key == "backup-db-1"


def test_without_a_key_the_placeholder_stands_in_and_own_kinds_get_none() -> None:
    grafana = snippets("grafana", BASE)

    assert PLACEHOLDER in grafana[0].text
    assert "https://tocsin.example.com/api/v1/intake/grafana" in grafana[0].text
    assert snippets("heartbeat", BASE, KEY) == []
