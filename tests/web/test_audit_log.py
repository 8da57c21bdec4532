"""The audit log page: admins only, newest first, filters, escaped details, and
pages that hold still while new records are written."""

from __future__ import annotations

import base64
import re
from html import unescape

import pytest
from fastapi.testclient import TestClient

from tests.builders import make_user
from tests.web.conftest import World, log_in
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.services import people
from tocsin.services.catalog.policies import create_team
from tocsin.services.context import Context
from tocsin.web.audit_log import PAGE_SIZE

SCRIPT = "<script>alert('owned')</script>"


@pytest.fixture
def admin(ctx: Context, world: World) -> int:
    return make_user(ctx, "ada@example.com", role="admin", teams=()).id


def _actions(html: str) -> list[str]:
    return re.findall(r'<strong class="audit-action">([^<]*)</strong>', html)


def _team_names(html: str) -> list[str]:
    found = re.findall(r"<dt>name</dt><dd>([^<]*)</dd>", html)
    return [unescape(name) for name in found]


def _next(html: str) -> str:
    found = re.search(r'<a href="([^"]*)" rel="next">', html)
    assert found is not None, "no next page link"
    return unescape(found.group(1))


def test_an_admin_sees_records_newest_first_with_who_and_when(
    ctx: Context, client: TestClient, admin: int, clock: ManualClock
) -> None:
    log_in(client, "ada@example.com")
    clock.advance(minutes=1)
    create_team(ctx, SYSTEM, "SRE")

    page = client.get("/settings/audit")

    assert page.status_code == 200
    actions = _actions(page.text)
    assert actions[0] == "team.create"
    assert actions[1] == "session.login"
    assert "user.create" in actions
    assert 'href="/settings/audit?actor=tocsin"' in page.text
    assert '<a href="/settings/users/' in page.text
    assert "<time datetime=" in page.text


@pytest.mark.parametrize(
    "email", ["ann@example.com", "vera@example.com", "mia@example.com"]
)
def test_anyone_but_an_admin_is_refused(
    ctx: Context, client: TestClient, world: World, email: str
) -> None:
    make_user(ctx, "mia@example.com", role="manager")
    log_in(client, email)

    page = client.get("/settings/audit")

    assert page.status_code == 403
    assert "audit-action" not in page.text


def test_a_visitor_is_sent_to_log_in(client: TestClient) -> None:
    answer = client.get("/settings/audit")

    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


def test_filters_by_actor_action_kind_and_day(
    ctx: Context, client: TestClient, admin: int, clock: ManualClock
) -> None:
    first_day = clock.now().date().isoformat()
    clock.advance(days=3)
    log_in(client, "ada@example.com")
    create_team(ctx, SYSTEM, "Later")

    by_action = client.get("/settings/audit?action=team.create")
    by_kind = client.get("/settings/audit?kind=team")
    by_actor = client.get("/settings/audit?actor=ADA@")
    by_day = client.get(f"/settings/audit?since={first_day}&until={first_day}")

    assert set(_actions(by_action.text)) == {"team.create"}
    assert _team_names(by_kind.text) == ["Later"]
    assert _actions(by_actor.text) == ["session.login"]
    assert "user.create" in _actions(by_day.text)
    assert "team.create" not in _actions(by_day.text)
    assert "session.login" not in _actions(by_day.text)
    assert '<option value="team.create" selected>' in by_action.text


def test_bad_filters_are_a_400_with_a_message(client: TestClient, admin: int) -> None:
    log_in(client, "ada@example.com")

    for query, message in (
        ("since=yesterday", "From must be a date"),
        ("since=2026-05-02&until=2026-05-01", "ends before it starts"),
        ("after=garbage", "This page link is broken"),
        ("actor=" + "x" * 300, "too long"),
    ):
        page = client.get(f"/settings/audit?{query}")
        assert page.status_code == 400, query
        assert message in page.text


def test_details_and_changes_are_escaped(
    ctx: Context, client: TestClient, admin: int, world: World
) -> None:
    log_in(client, "ada@example.com")
    create_team(ctx, SYSTEM, SCRIPT)
    people.change_role(ctx, SYSTEM, world.ann.id, "manager")

    page = client.get("/settings/audit")

    assert SCRIPT not in page.text
    assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in page.text
    assert '<span class="before">responder</span>' in page.text
    assert '<span class="after">manager</span>' in page.text


def test_pages_hold_still_while_new_records_arrive(
    ctx: Context, client: TestClient, admin: int, clock: ManualClock
) -> None:
    """Records written after the first page was read appear on no later page,
    and no record is shown twice or skipped."""
    log_in(client, "ada@example.com")
    names = [f"team-{n:03}" for n in range(PAGE_SIZE + 10)]
    for name in names:
        clock.advance(seconds=1)
        create_team(ctx, SYSTEM, name)

    first = client.get("/settings/audit?kind=team")
    for late in ("late-1", "late-2"):
        clock.advance(seconds=1)
        create_team(ctx, SYSTEM, late)
    second = client.get(_next(first.text))

    seen = _team_names(first.text) + _team_names(second.text)
    assert seen == list(reversed(names))
    assert len(_team_names(first.text)) == PAGE_SIZE
    assert 'rel="next"' not in second.text
    assert 'href="/settings/audit?kind=team">Newest</a>' in second.text
    assert _team_names(client.get("/settings/audit?kind=team").text)[:2] == [
        "late-2",
        "late-1",
    ]


def test_a_forged_page_link_out_of_range_is_a_400(
    ctx: Context, client: TestClient, admin: int
) -> None:
    log_in(client, "ada@example.com")
    forged = '{"a":"0001-01-01T00:00:00+14:00","i":1}'
    after = base64.urlsafe_b64encode(forged.encode()).decode().rstrip("=")

    page = client.get("/settings/audit", params={"after": after})

    assert page.status_code == 400
    assert "This page link is broken" in page.text
