"""Assembling the team: users, teams and policies are paged and take part."""

from __future__ import annotations

import pytest

from tests.builders import make_user
from tests.services.escalation_helpers import make_policy
from tests.services.response.conftest import Crew, outbox, timeline
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.services import incidents, responders
from tocsin.services.context import Context


def test_adding_a_user_pages_them_and_lists_them_as_participant(
    ctx: Context, crew: Crew
) -> None:
    """Bob is paged, listed as a participant, and the request is on the timeline."""
    team = responders.add(ctx, crew.ann, crew.number, user_id=crew.bob_user.id)

    assert [(r.kind, r.target) for r in team.responders] == [("user", "Bob")]
    assert [p.user.email for p in team.participants] == ["bob@example.com"]
    [page] = outbox(ctx, "page")
    assert page.recipient == "bob@example.com"
    assert "added you as a responder" in page.body
    assert len(timeline(ctx, "responders_added")) == 1


def test_adding_a_team_pages_its_members_who_can_act(ctx: Context, crew: Crew) -> None:
    """Ops' responders are paged; its viewer is left out and the timeline says so."""
    team = responders.add(ctx, crew.ann, crew.number, team_id=_ops(crew))

    paged = sorted(message.recipient for message in outbox(ctx, "page"))
    assert paged == ["ann@example.com", "bob@example.com"]
    assert sorted(p.user.email for p in team.participants) == paged
    [skipped] = timeline(ctx, "responders_skipped")
    assert "Vic" in skipped.message


def test_adding_a_policy_pages_its_first_step(ctx: Context, crew: Crew) -> None:
    """A policy's first step is paged at once; its later steps are not."""
    carl = make_user(ctx, "carl@example.com", password=None)
    policy_id = make_policy(
        ctx, "Ops backup", [(5, [("user", carl.id)]), (5, [("user", crew.bob_user.id)])]
    )

    team = responders.add(ctx, crew.ann, crew.number, policy_id=policy_id)

    assert [message.recipient for message in outbox(ctx, "page")] == [
        "carl@example.com"
    ]
    assert [p.via for p in team.participants] == ["policy Ops backup"]


def test_a_participant_keeps_how_they_first_came(ctx: Context, crew: Crew) -> None:
    """Added once directly and again with the team, Bob is listed once."""
    responders.add(ctx, crew.ann, crew.number, user_id=crew.bob_user.id)
    team = responders.add(ctx, crew.ann, crew.number, team_id=_ops(crew))

    bob = [p for p in team.participants if p.user.email == "bob@example.com"]
    assert [p.via for p in bob] == ["added by ann@example.com"]
    assert len(team.responders) == 2


@pytest.mark.parametrize(
    "named",
    [{}, {"user_id": 1, "team_id": 1}],
)
def test_exactly_one_target_is_named(
    ctx: Context, crew: Crew, named: dict[str, int]
) -> None:
    """Nothing or two things to add is InvalidInput, and nobody is paged."""
    with pytest.raises(InvalidInput):
        responders.add(ctx, crew.ann, crew.number, **named)

    assert outbox(ctx, "page") == []


def test_unknown_targets_are_not_found(ctx: Context, crew: Crew) -> None:
    """An id that names nothing (or is out of range) is NotFound."""
    for named in ({"user_id": 99_999}, {"team_id": 99_999}, {"policy_id": 2**40}):
        with pytest.raises(NotFound):
            responders.add(ctx, crew.ann, crew.number, **named)


def test_nobody_able_to_act_is_refused(ctx: Context, crew: Crew) -> None:
    """A team whose members cannot see the incident pages nobody: refused."""
    data_team = crew.olga.team_ids
    with pytest.raises(InvalidInput, match="nobody in team Data"):
        responders.add(ctx, crew.ann, crew.number, team_id=next(iter(data_team)))

    assert responders.response_team(ctx, crew.ann, crew.number).responders == []


def test_viewers_cannot_add_and_resolved_incidents_take_nobody(
    ctx: Context, crew: Crew
) -> None:
    """Viewers are Forbidden; a resolved incident is a Conflict."""
    with pytest.raises(Forbidden):
        responders.add(ctx, crew.vic, crew.number, user_id=crew.bob_user.id)

    incidents.resolve(ctx, crew.ann, crew.number)

    with pytest.raises(Conflict):
        responders.add(ctx, crew.ann, crew.number, user_id=crew.bob_user.id)


def _ops(crew: Crew) -> int:
    [team_id] = crew.ann.team_ids
    return team_id
