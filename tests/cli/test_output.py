"""Text from alerts and users reaches the terminal as text: control characters
that would colour, move the cursor or reorder the line are shown escaped."""

from __future__ import annotations

import pytest

from tests.builders import make_integration, make_service, trigger
from tests.cli.conftest import Run
from tocsin.cli.common import printable
from tocsin.domain.access import SYSTEM
from tocsin.services import alerts, incidents
from tocsin.services.context import Context

RED = "a\x1b[31mred"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (RED, "a\\x1b[31mred"),
        ("bell\x07 and CR\r", "bell\\x07 and CR\\x0d"),
        ("C1 CSI \x9b2J", "C1 CSI \\x9b2J"),
        ("DEL \x7f", "DEL \\x7f"),
        ("nul \x00", "nul \\x00"),
        ("abc\u202edcba", "abc\\u202edcba"),
        ("isolate \u2066x\u2069", "isolate \\u2066x\\u2069"),
    ],
)
def test_control_characters_are_shown_escaped(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_text_newlines_tabs_and_other_scripts_are_kept() -> None:
    text = "line one\nline\ttwo: Störung — 障害 🔥"

    assert printable(text) == text


def test_incident_show_and_list_print_no_escape_sequence(
    tocsin: Run, ctx: Context
) -> None:
    make_service(ctx, "checkout\x1b]0;pwned\x07", team="Ops")
    integration, _ = make_integration(ctx, "checkout\x1b]0;pwned\x07")
    [outcome] = alerts.ingest(ctx, integration, [trigger("disk\x1b[2J", RED)])
    number = outcome.incident_number
    assert number is not None
    incidents.add_note(ctx, SYSTEM, number, "first\x1b[1A\x1b[2Kgone")

    shown = tocsin("incident", "show", str(number))
    listed = tocsin("incident", "list")

    for result in (shown, listed):
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.stdout
        assert "\x07" not in result.stdout
    assert "\\x1b[31mred" in shown.stdout
    assert "\\x1b[2J" in shown.stdout
    assert "\\x1b[1A" in shown.stdout
