"""Escalation policy pages: the list and a policy's page for those who can see
its team, the step editor for admins and the team's managers, and the paging
preview of one of its services at a chosen instant."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.builders import make_schedule, make_service, make_user, user_by_email
from tests.web.conftest import World, log_in, new_client
from tocsin.domain.access import SYSTEM
from tocsin.services.catalog import policy_edits
from tocsin.services.context import Context


@pytest.fixture
def mona(ctx: Context, world: World) -> str:
    """Mona manages Ops."""
    return make_user(ctx, "mona@example.com", role="manager", teams=("Ops",)).email


def _policy_id(ctx: Context, name: str = "checkout policy") -> int:
    [found] = [p for p in policy_edits.list_visible(ctx, SYSTEM) if p.name == name]
    return found.id


def _steps(ctx: Context, policy_id: int) -> list[tuple[int, list[str], bool]]:
    policy = policy_edits.get_visible(ctx, SYSTEM, policy_id)
    return [
        (step.delay_minutes, [u.email for u in step.users], step.round_robin)
        for step in policy.steps
    ]


def _post(client: TestClient, url: str, csrf: str, **fields: object) -> Response:
    return client.post(url, data={"csrf_token": csrf, **fields})


def test_the_list_shows_only_policies_of_the_users_teams(
    client: TestClient, ctx: Context, world: World
) -> None:
    log_in(client, world.ann.email)

    listed = client.get("/escalation")

    assert listed.status_code == 200
    assert "checkout policy" in listed.text
    assert "billing policy" not in listed.text
    assert 'href="/escalation"' in listed.text


def test_another_teams_policy_is_not_found(
    client: TestClient, ctx: Context, world: World
) -> None:
    log_in(client, world.ann.email)

    shown = client.get(f"/escalation/{_policy_id(ctx, 'billing policy')}")
    missing = client.get("/escalation/999999")

    assert shown.status_code == 404
    assert missing.status_code == 404


def test_a_responder_reads_but_cannot_edit(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Ann sees the steps and no editor; a forged post is refused."""
    policy_id = _policy_id(ctx)
    csrf = log_in(client, world.ann.email)

    page = client.get(f"/escalation/{policy_id}")
    refused = _post(
        client,
        f"/escalation/{policy_id}/steps",
        csrf,
        delay_minutes="5",
        users=world.vera.email,
    )

    assert page.status_code == 200
    assert "Ann" in page.text
    assert "Add a step" not in page.text
    assert refused.status_code == 403
    assert len(_steps(ctx, policy_id)) == 1


def test_a_manager_adds_edits_moves_and_removes_steps(
    client: TestClient, ctx: Context, world: World, mona: str
) -> None:
    policy_id = _policy_id(ctx)
    csrf = log_in(client, mona)
    base = f"/escalation/{policy_id}/steps"

    added = _post(
        client,
        base,
        csrf,
        delay_minutes="10",
        users=[world.vera.email, world.ann.email],
        round_robin="on",
    )
    [first, second] = policy_edits.get_visible(ctx, SYSTEM, policy_id).steps
    edited = _post(
        client, f"{base}/{second.id}", csrf, delay_minutes="15", users=world.vera.email
    )
    moved = _post(client, f"{base}/{second.id}/move", csrf, direction="up")
    after_move = _steps(ctx, policy_id)
    removed = _post(client, f"{base}/{first.id}/delete", csrf)

    assert added.status_code == 303
    assert edited.status_code == 303
    assert moved.status_code == 303
    assert removed.status_code == 303
    assert after_move == [
        (15, [world.vera.email], False),
        (5, [world.ann.email], False),
    ]
    assert _steps(ctx, policy_id) == [(15, [world.vera.email], False)]


def test_a_step_can_page_a_schedule_and_a_team(
    client: TestClient, ctx: Context, world: World, mona: str
) -> None:
    ann = user_by_email(ctx, world.ann.email)
    make_schedule(ctx, "Ops primary", members=[ann])
    policy_id = _policy_id(ctx)
    csrf = log_in(client, mona)

    added = _post(
        client,
        f"/escalation/{policy_id}/steps",
        csrf,
        delay_minutes="0",
        schedules="Ops primary",
        teams="Ops",
    )

    [_, step] = policy_edits.get_visible(ctx, SYSTEM, policy_id).steps
    assert added.status_code == 303
    assert [s.name for s in step.schedules] == ["Ops primary"]
    assert [t.name for t in step.teams] == ["Ops"]
    assert "on call in" in client.get(f"/escalation/{policy_id}").text
    schedule_page = client.get(f"/schedules/{step.schedules[0].id}")
    assert f'href="/escalation/{policy_id}">checkout policy' in schedule_page.text


def test_bad_step_input_is_refused_with_a_reason(
    client: TestClient, ctx: Context, world: World, mona: str
) -> None:
    """A delay that is no number, no target, an unknown person and removing
    the last step: each a 400 with the reason, the policy unchanged."""
    policy_id = _policy_id(ctx)
    csrf = log_in(client, mona)
    base = f"/escalation/{policy_id}/steps"
    [only] = policy_edits.get_visible(ctx, SYSTEM, policy_id).steps

    no_number = _post(client, base, csrf, delay_minutes="soon", users=world.vera.email)
    nobody = _post(client, base, csrf, delay_minutes="5")
    stranger = _post(client, base, csrf, delay_minutes="5", users="x@example.com")
    last = _post(client, f"{base}/{only.id}/delete", csrf)

    assert no_number.status_code == 400
    assert "the delay is a whole number from 0 to 1440" in no_number.text
    assert nobody.status_code == 400
    assert "a step pages 1 to 20" in nobody.text
    assert stranger.status_code == 400
    assert "no user with email x@example.com" in stranger.text
    assert 'value="5"' in stranger.text
    assert last.status_code == 400
    assert "keeps at least one step" in last.text
    assert _steps(ctx, policy_id) == [(5, [world.ann.email], False)]


def test_the_repeat_count_is_set_and_checked(
    client: TestClient, ctx: Context, world: World, mona: str
) -> None:
    policy_id = _policy_id(ctx)
    csrf = log_in(client, mona)
    url = f"/escalation/{policy_id}/repeat"

    saved = _post(client, url, csrf, repeat="2", ack_timeout_minutes="30")
    refused = _post(client, url, csrf, repeat="99", ack_timeout_minutes="")

    policy = policy_edits.get_visible(ctx, SYSTEM, policy_id)
    assert saved.status_code == 303
    assert refused.status_code == 400
    assert "the repeat count is a whole number from 0 to 9" in refused.text
    assert (policy.repeat, policy.ack_timeout_minutes) == (2, 30)


def test_edits_need_the_csrf_token_and_the_right_team(
    client: TestClient, ctx: Context, world: World, mona: str
) -> None:
    """Without the token a post is refused; Mona cannot see Payments' policy."""
    billing = _policy_id(ctx, "billing policy")
    checkout = _policy_id(ctx)
    csrf = log_in(client, mona)

    without_token = client.post(
        f"/escalation/{checkout}/steps",
        data={"delay_minutes": "5", "users": world.vera.email},
    )
    other_team = _post(
        client,
        f"/escalation/{billing}/steps",
        csrf,
        delay_minutes="5",
        users=world.vera.email,
    )

    assert without_token.status_code == 403
    assert other_team.status_code == 404
    assert len(_steps(ctx, checkout)) == 1
    assert len(_steps(ctx, billing)) == 1


def test_the_preview_shows_who_would_be_paged_when(
    client: TestClient, ctx: Context, world: World
) -> None:
    policy_id = _policy_id(ctx)
    service_id = policy_edits.get_visible(ctx, SYSTEM, policy_id).services[0].id
    log_in(client, world.vera.email)

    shown = client.get(
        f"/escalation/{policy_id}",
        params={"service": str(service_id), "at": "2026-03-03T12:00"},
    )
    bad = client.get(f"/escalation/{policy_id}", params={"at": "noon"})

    assert shown.status_code == 200
    assert "2026-03-03 12:00 UTC" in shown.text
    assert "Ann (ann@example.com)" in shown.text
    assert bad.status_code == 400
    assert "YYYY-MM-DDTHH:MM (UTC)" in bad.text


def test_names_are_escaped(client: TestClient, ctx: Context, world: World) -> None:
    ann = user_by_email(ctx, world.ann.email)
    make_service(ctx, "<script>alert(1)</script>", steps=[(5, [ann])], team="Ops")
    policy_id = _policy_id(ctx, "<script>alert(1)</script> policy")
    log_in(client, world.ann.email)

    listed = client.get("/escalation")
    shown = client.get(f"/escalation/{policy_id}")

    for page in (listed, shown):
        assert "<script>alert" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_an_admin_sees_and_edits_every_policy(ctx: Context, world: World) -> None:
    admin = make_user(ctx, "ada@example.com", role="admin", teams=())
    billing = _policy_id(ctx, "billing policy")

    with new_client(ctx) as client:
        csrf = log_in(client, admin.email)
        listed = client.get("/escalation")
        added = _post(
            client,
            f"/escalation/{billing}/steps",
            csrf,
            delay_minutes="5",
            users=world.pete.email,
            teams="Payments",
        )

    assert "billing policy" in listed.text
    assert "checkout policy" in listed.text
    assert added.status_code == 303
    assert len(_steps(ctx, billing)) == 2
