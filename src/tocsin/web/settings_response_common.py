"""What the response settings pages share: choices for selects, and the
status a refused change is shown with."""

from __future__ import annotations

from dataclasses import dataclass

from tocsin.digits import plain_digits
from tocsin.errors import InvalidInput, TocsinError

MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


def refusal_status(error: TocsinError) -> int:
    """The status a form re-rendered after `error` answers with: the error's
    own (400, 404, 409), so scripts and tests can tell them apart."""
    return error.status_code if 400 <= error.status_code < 500 else 400


def form_id(value: str, what: str) -> int | None:
    """A select's id value: None when empty, InvalidInput naming `what` when
    it is not an id."""
    value = value.strip()
    if not value:
        return None
    chosen = int(value) if plain_digits(value) and len(value) < 11 else 0
    if not 0 < chosen <= MAX_ID:
        raise InvalidInput(f"choose a {what}")
    return chosen


def lines(value: str) -> str:
    """A textarea's value with the CRLF line ends browsers submit forms with
    turned into the newlines the services store (they refuse a bare CR)."""
    return value.replace("\r\n", "\n")
