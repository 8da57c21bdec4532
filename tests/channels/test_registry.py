"""Channels are pluggable: an installed package's `tocsin.channels` entry point
adds a contact method kind that is validated, paged and delivered like the
built-in ones; a broken or shadowing plugin is left out."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.builders import make_integration, make_service, make_user
from tests.builders import trigger as alert
from tocsin.channels import registry
from tocsin.channels.email import EmailChannel
from tocsin.config import Settings
from tocsin.domain.access import SYSTEM
from tocsin.engine.worker import Worker
from tocsin.errors import InvalidInput
from tocsin.services import alerts, contacts
from tocsin.services.context import Context

PLUGIN = """
SENT = []


class PagerChannel:
    kind = "pager"

    def send(self, message):
        SENT.append(message)


def make_channel(ctx):
    return PagerChannel()


def validate_address(address):
    if not address.isdigit():
        raise ValueError("a pager number is digits only")
    return address


make_channel.validate_address = validate_address
"""

ENTRY_POINTS = """[tocsin.channels]
pager = tocsin_pager_plugin:make_channel
email = tocsin_pager_plugin:make_channel
broken = tocsin_pager_plugin_missing:make_channel
"""


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An installed distribution (a dist-info folder on sys.path) with a channel."""
    (tmp_path / "tocsin_pager_plugin.py").write_text(PLUGIN)
    info = tmp_path / "tocsin_pager_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: tocsin-pager-plugin\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.added.cache_clear()

    import tocsin_pager_plugin  # type: ignore[import-not-found]

    yield tocsin_pager_plugin

    registry.added.cache_clear()
    sys.modules.pop("tocsin_pager_plugin", None)


def test_the_built_in_channels_are_registered() -> None:
    """Every built-in contact kind has a channel."""
    assert set(registry.kinds()) >= {
        "email",
        "sms",
        "voice",
        "slack",
        "teams",
        "webhook",
    }


def test_a_plugin_adds_a_kind_but_cannot_replace_a_built_in_one(
    ctx: Context, plugin: Any
) -> None:
    """`pager` joins the kinds; `email` stays Tocsin's; `broken` is left out."""
    channels = registry.load(ctx)

    assert "pager" in registry.kinds()
    assert "broken" not in registry.kinds()
    assert isinstance(channels["email"], EmailChannel)
    assert channels["pager"].kind == "pager"


def test_a_plugin_checks_its_own_addresses(ctx: Context, plugin: Any) -> None:
    """The plugin's validate_address decides what its contact methods look like."""
    ann = make_user(ctx, "ann@example.com")

    with pytest.raises(InvalidInput, match="digits only"):
        contacts.add_contact(ctx, SYSTEM, ann.id, kind="pager", address="call me")
    added = contacts.add_contact(ctx, SYSTEM, ann.id, kind="pager", address="4711")

    assert added.kind == "pager"


def test_a_plugin_channel_is_paged_by_the_worker(ctx: Context, plugin: Any) -> None:
    """An incident pages the plugin's contact method like a built-in one."""
    ann = make_user(ctx, "ann@example.com")
    contacts.add_contact(ctx, SYSTEM, ann.id, kind="pager", address="4711")
    make_service(ctx, steps=[(30, [ann])])
    integration, _ = make_integration(ctx)

    alerts.ingest(ctx, integration, [alert()])
    Worker(ctx, {**registry.load(ctx), "email": plugin.PagerChannel()}).run_once()

    pager_pages = [m for m in plugin.SENT if m.recipient == "4711"]
    assert len(pager_pages) == 1
    assert pager_pages[0].payload["incident_number"] == 1


def test_an_unknown_kind_is_refused_with_the_known_ones(settings: Settings) -> None:
    """Without the plugin, `pager` is not a kind."""
    registry.added.cache_clear()

    with pytest.raises(InvalidInput, match="kind must be one of email"):
        contacts.clean_address(settings, "pager", "4711")
