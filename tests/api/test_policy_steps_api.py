"""Editing an escalation policy's steps through the API, as the web editor
does: admins and the owning team's managers append, replace, move and remove
steps by their number and set the repeat; others are refused and nothing
changes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.conftest import Person, add_person
from tests.builders import make_service, user_by_email
from tocsin.services.context import Context
from tocsin.store.models import EscalationPolicy


@pytest.fixture
def policy_id(ctx: Context, ann: Person) -> int:
    """Checkout's policy (team Ops): page Ann, then Ann again after 10."""
    person = user_by_email(ctx, ann.email)
    make_service(ctx, "checkout", steps=[(5, [person]), (10, [person])], team="Ops")
    with ctx.db.read() as session:
        return session.scalars(
            select(EscalationPolicy.id).where(
                EscalationPolicy.name == "checkout policy"
            )
        ).one()


def _delays(body: dict[str, Any]) -> list[int]:
    return [step["delay_minutes"] for step in body["steps"]]


def test_a_manager_of_the_team_edits_the_steps_by_number(
    client: TestClient, ctx: Context, ann: Person, policy_id: int
) -> None:
    mona = add_person(ctx, "mona@example.com", "manager", ("Ops",))
    url = f"/api/v1/policies/{policy_id}"

    added = client.post(
        f"{url}/steps",
        json={"delay_minutes": 15, "users": [ann.email], "round_robin": True},
        headers=mona.headers,
    )
    replaced = client.put(
        f"{url}/steps/1",
        json={"delay_minutes": 3, "users": [mona.email]},
        headers=mona.headers,
    )
    moved = client.post(
        f"{url}/steps/3/move", json={"offset": -1}, headers=mona.headers
    )
    removed = client.delete(f"{url}/steps/1", headers=mona.headers)
    repeated = client.put(
        f"{url}/repeat",
        json={"repeat": 2, "ack_timeout_minutes": 30},
        headers=mona.headers,
    )

    assert added.status_code == 201, added.text
    assert _delays(added.json()) == [5, 10, 15]
    assert replaced.json()["steps"][0]["targets"][0]["email"] == mona.email
    assert _delays(moved.json()) == [3, 15, 10]
    assert moved.json()["steps"][1]["round_robin"] is True
    assert _delays(removed.json()) == [15, 10]
    assert repeated.json()["repeat"] == 2
    assert repeated.json()["ack_timeout_minutes"] == 30


def test_refusals_change_nothing(
    client: TestClient,
    ctx: Context,
    ann: Person,
    pete: Person,
    policy_id: int,
) -> None:
    """A responder is forbidden; a manager of Payments does not see the Ops
    policy; a step past the end is not found; the last step stays; a bad
    offset or delay is refused by the schema."""
    paula = add_person(ctx, "paula@example.com", "manager", ("Payments",))
    mona = add_person(ctx, "mona@example.com", "manager", ("Ops",))
    url = f"/api/v1/policies/{policy_id}"
    before = client.get(url, headers=ann.headers).json()

    as_responder = client.delete(f"{url}/steps/1", headers=ann.headers)
    other_team = client.delete(f"{url}/steps/1", headers=paula.headers)
    past_end = client.delete(f"{url}/steps/3", headers=mona.headers)
    bad_offset = client.post(
        f"{url}/steps/1/move", json={"offset": 2}, headers=mona.headers
    )
    bad_delay = client.put(
        f"{url}/steps/1", json={"delay_minutes": -1}, headers=mona.headers
    )
    client.delete(f"{url}/steps/2", headers=mona.headers)
    last = client.delete(f"{url}/steps/1", headers=mona.headers)

    assert as_responder.status_code == 403
    assert other_team.status_code == 404
    assert past_end.status_code == 404
    assert bad_offset.status_code == 422
    assert bad_delay.status_code == 422
    assert last.status_code == 400
    assert "keeps at least one step" in last.json()["detail"]
    after = client.get(url, headers=ann.headers).json()
    assert after["steps"] == before["steps"][:1]
