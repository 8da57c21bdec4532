"""The settings index lists only the areas the user's role may open."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import World, log_in
from tocsin.domain.access import Role
from tocsin.web import settings
from tocsin.web.settings import SettingsSection


@pytest.fixture
def sections() -> Iterator[None]:
    saved = list(settings.SECTIONS)
    settings.SECTIONS[:] = [
        SettingsSection("Rota <b>", "/settings/rota", "For responders", Role.RESPONDER),
        SettingsSection("Org", "/settings/org", "For admins only", Role.ADMIN),
    ]
    yield
    settings.SECTIONS[:] = saved


def test_a_responder_sees_their_sections_only(
    client: TestClient, world: World, sections: None
) -> None:
    log_in(client, world.ann.email)

    page = client.get("/settings")

    assert page.status_code == 200
    assert "Rota &lt;b&gt;" in page.text
    assert "/settings/org" not in page.text


def test_the_settings_index_needs_a_login(client: TestClient) -> None:
    page = client.get("/settings", follow_redirects=False)

    assert page.status_code in (302, 303)
    assert "/login" in page.headers["location"]
