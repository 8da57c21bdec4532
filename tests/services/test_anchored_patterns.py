"""Validation patterns match the whole value: a '$' anchor also matches before
a final newline, so 'value\\n' would pass and be stored or echoed. Each pattern
here is checked the way its module uses it (`.match`)."""

from __future__ import annotations

import re

import pytest

from tocsin.services import contacts, insights, reports, sso, status_subscribers, users
from tocsin.web import auth

CASES = [
    ("contacts email", contacts._EMAIL, "olga@example.com"),
    ("contacts phone", contacts._PHONE, "+15551234567"),
    ("contacts slack id", contacts._SLACK_ID, "U0123ABCD"),
    ("status subscriber email", status_subscribers._EMAIL, "olga@example.com"),
    ("reporter email", reports._EMAIL, "olga@example.com"),
    ("user email", users._EMAIL, "olga@example.com"),
    ("login form token", auth._TOKEN, "a" * 43),
    ("provider error", sso._PROVIDER_ERROR, "access_denied"),
    ("insights since", insights._SINCE, "30d"),
]


@pytest.mark.parametrize(
    ("pattern", "value"),
    [(pattern, value) for _, pattern, value in CASES],
    ids=[name for name, _, _ in CASES],
)
def test_a_trailing_newline_does_not_pass(pattern: re.Pattern[str], value: str) -> None:
    """The plain value matches; the same value with a newline after it does not."""
    assert pattern.match(value)

    assert pattern.match(value + "\n") is None
