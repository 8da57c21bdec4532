"""Log lines: uvicorn's coloured copy of each message stays out of them."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from tocsin.config import Settings
from tocsin.logs import configure

COLOURED = "\x1b[32mStarted\x1b[0m server process"


@pytest.fixture(autouse=True)
def root_logger() -> Iterator[None]:
    """Put the root logger back as it was: `configure` replaces its handlers."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def log_as_uvicorn() -> None:
    """A record shaped as uvicorn's are, on a logger of our own: other tests run
    uvicorn, which leaves its loggers at levels of its choosing."""
    logging.getLogger("tests.uvicorn_like").info(
        "Started server process", extra={"color_message": COLOURED}
    )


def test_json_lines_carry_no_color_message(capsys: pytest.CaptureFixture[str]) -> None:
    configure(Settings(log_format="json"))

    log_as_uvicorn()

    [line] = capsys.readouterr().err.splitlines()
    event = json.loads(line)
    assert event["event"] == "Started server process"
    assert "color_message" not in event


def test_console_lines_carry_no_escape_sequence(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure(Settings(log_format="console"))

    log_as_uvicorn()

    [line] = capsys.readouterr().err.splitlines()
    assert "Started server process" in line
    assert "color_message" not in line
    assert "\x1b" not in line
