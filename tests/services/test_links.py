"""Signed action links: bound to incident, action and user; they expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tocsin.errors import Forbidden, InvalidInput
from tocsin.services import links

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
SECRET = "s3cret-for-links"


def token(action: str = "acknowledge", ttl: timedelta = timedelta(hours=1)) -> str:
    return links.sign(SECRET, incident_id=7, action=action, user_id=3, now=NOW, ttl=ttl)


def test_a_signed_link_verifies_to_its_claim() -> None:
    claim = links.verify(SECRET, token(), now=NOW)
    assert (claim.incident_id, claim.action, claim.user_id) == (7, "acknowledge", 3)


def test_an_expired_link_is_refused() -> None:
    with pytest.raises(Forbidden, match="expired"):
        links.verify(SECRET, token(), now=NOW + timedelta(hours=1))


def test_changing_the_action_breaks_the_signature() -> None:
    body, _, signature = token().partition(".")
    other_body, _, _ = token("resolve").partition(".")
    with pytest.raises(Forbidden):
        links.verify(SECRET, f"{other_body}.{signature}", now=NOW)
    assert body != other_body


def test_another_instances_key_is_refused() -> None:
    with pytest.raises(Forbidden):
        links.verify("another-secret", token(), now=NOW)


@pytest.mark.parametrize("garbage", ["", "abc", ".", "a.b.c", "%%%.%%%"])
def test_garbage_is_invalid_or_forbidden(garbage: str) -> None:
    with pytest.raises((InvalidInput, Forbidden)):
        links.verify(SECRET, garbage, now=NOW)


def test_unknown_actions_cannot_be_signed() -> None:
    with pytest.raises(ValueError, match="unknown"):
        token("delete")


@pytest.mark.parametrize("edited", ["abc.\u00e9", "\u00e9\u00e9.\u00e9", "a.\x00"])
def test_non_ascii_signatures_are_refused_not_crashed_on(edited: str) -> None:
    with pytest.raises((InvalidInput, Forbidden)):
        links.verify(SECRET, edited, now=NOW)
