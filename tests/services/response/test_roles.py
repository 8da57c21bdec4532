"""Incident roles: the catalogue, assignment, handover and who may do what."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.services.response.conftest import Crew, outbox, timeline
from tocsin.clock import ManualClock
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.services import incidents, roles
from tocsin.services.context import Context
from tocsin.store.models import AuditRecord, ResponseRole


def test_catalogue_starts_with_the_four_default_roles(ctx: Context, crew: Crew) -> None:
    """A fresh database lists commander, communications, scribe and operations."""
    keys = [role.key for role in roles.list_roles(ctx, crew.vic)]

    assert keys == ["commander", "communications", "scribe", "operations"]


def test_assigning_notifies_the_person_and_shows_them_as_holder(
    ctx: Context, crew: Crew
) -> None:
    """The assignee gets a notice, holds the role and is on the timeline."""
    holders = roles.assign(ctx, crew.ann, crew.number, "commander", crew.bob_user.id)

    assert [(h.role, h.user.email) for h in holders] == [
        ("commander", "bob@example.com")
    ]
    [notice] = outbox(ctx, "role_assigned")
    assert notice.recipient == "bob@example.com"
    assert "Incident commander" in notice.subject
    [entry] = timeline(ctx, "role_assigned")
    assert entry.message == "Bob is Incident commander (assigned by ann@example.com)"


def test_handover_ends_the_old_holding_and_is_on_the_timeline(
    ctx: Context, crew: Crew, clock: ManualClock
) -> None:
    """Assigning a held role hands it over; the history keeps both holders."""
    roles.assign(ctx, crew.ann, crew.number, "commander", crew.ann_user.id)
    clock.advance(minutes=30)

    roles.assign(ctx, crew.ann, crew.number, "commander", crew.bob_user.id)

    current = roles.incident_roles(ctx, crew.vic, crew.number)
    history = roles.incident_roles(ctx, crew.vic, crew.number, history=True)
    assert [h.user.email for h in current] == ["bob@example.com"]
    assert [(h.user.email, h.ended_at is None) for h in history] == [
        ("ann@example.com", False),
        ("bob@example.com", True),
    ]
    # Ann handed over herself: only the new holder is told.
    assert outbox(ctx, "role_handed_over") == []
    [entry] = timeline(ctx, "role_handover")
    assert entry.message == (
        "Incident commander handed over from Ann to Bob by ann@example.com"
    )


def test_assigning_the_current_holder_again_changes_nothing(
    ctx: Context, crew: Crew
) -> None:
    """A double click neither notifies twice nor adds a timeline entry."""
    roles.assign(ctx, crew.ann, crew.number, "scribe", crew.bob_user.id)
    roles.assign(ctx, crew.ann, crew.number, "scribe", crew.bob_user.id)

    assert len(outbox(ctx, "role_assigned")) == 1
    assert len(timeline(ctx, "role_assigned")) == 1


def test_current_holders_are_in_the_incident_detail(ctx: Context, crew: Crew) -> None:
    """The incident's detail lists who holds which role now."""
    roles.assign(ctx, crew.ann, crew.number, "communications", crew.ann_user.id)

    detail = incidents.get(ctx, crew.vic, crew.number)

    assert [(h.role, h.user.email) for h in detail.roles] == [
        ("communications", "ann@example.com")
    ]


def test_release_leaves_the_role_empty(ctx: Context, crew: Crew) -> None:
    """Releasing ends the holding; releasing an empty role is NotFound."""
    roles.assign(ctx, crew.ann, crew.number, "scribe", crew.bob_user.id)

    assert roles.release(ctx, crew.bob, crew.number, "scribe") == []
    assert len(timeline(ctx, "role_released")) == 1
    with pytest.raises(NotFound):
        roles.release(ctx, crew.bob, crew.number, "scribe")


@pytest.mark.parametrize(
    ("who", "error"),
    [("vic", Forbidden), ("olga", NotFound)],
)
def test_viewers_and_other_teams_cannot_assign(
    ctx: Context, crew: Crew, who: str, error: type[Exception]
) -> None:
    """Viewers are refused; another team does not even see the incident."""
    with pytest.raises(error):
        roles.assign(ctx, getattr(crew, who), crew.number, "scribe", crew.bob_user.id)


def test_a_person_who_cannot_see_the_incident_cannot_take_a_role(
    ctx: Context, crew: Crew
) -> None:
    """Olga of another team would be notified about an incident she cannot open."""
    with pytest.raises(InvalidInput, match="cannot take part"):
        roles.assign(ctx, crew.ann, crew.number, "scribe", crew.olga_user.id)

    assert outbox(ctx, "role_assigned") == []


def test_unknown_and_retired_roles_are_refused(ctx: Context, crew: Crew) -> None:
    """An unknown key is NotFound; a retired role cannot be assigned."""
    with pytest.raises(NotFound):
        roles.assign(ctx, crew.ann, crew.number, "chef", crew.bob_user.id)

    roles.update_role(ctx, crew.adam, "scribe", retired=True)

    with pytest.raises(InvalidInput, match="retired"):
        roles.assign(ctx, crew.ann, crew.number, "scribe", crew.bob_user.id)
    assert "scribe" not in [r.key for r in roles.list_roles(ctx, crew.ann)]


def test_catalogue_changes_need_a_manager_and_are_audited(
    ctx: Context, crew: Crew
) -> None:
    """Responders cannot add roles; a manager's new role is audited and usable."""
    with pytest.raises(Forbidden):
        roles.create_role(ctx, crew.ann, key="liaison", name="Customer liaison")

    roles.create_role(ctx, crew.adam, key="liaison", name="Customer liaison")
    roles.assign(ctx, crew.ann, crew.number, "liaison", crew.bob_user.id)

    with ctx.db.read() as session:
        actions = session.scalars(select(AuditRecord.action)).all()
    assert "role.create" in actions
    assert "incident.role_assign" in actions


@pytest.mark.parametrize(
    ("key", "name"),
    [("Bad Key", "x"), ("ok", ""), ("ok", "tab\there"), ("1st", "x")],
)
def test_bad_roles_are_refused_and_nothing_is_stored(
    ctx: Context, crew: Crew, key: str, name: str
) -> None:
    """A malformed key or name is InvalidInput and the catalogue is unchanged."""
    with pytest.raises(InvalidInput):
        roles.create_role(ctx, crew.adam, key=key, name=name)

    with ctx.db.read() as session:
        count = len(session.scalars(select(ResponseRole.id)).all())
    assert count in (0, 4)


def test_a_taken_key_is_a_conflict(ctx: Context, crew: Crew) -> None:
    """Two roles cannot share a key."""
    with pytest.raises(Conflict):
        roles.create_role(ctx, crew.adam, key="scribe", name="Another scribe")


def test_resolved_incidents_take_no_new_roles(ctx: Context, crew: Crew) -> None:
    """Roles are for running an incident; a resolved one is a conflict."""
    incidents.resolve(ctx, crew.ann, crew.number)

    with pytest.raises(Conflict):
        roles.assign(ctx, crew.ann, crew.number, "scribe", crew.bob_user.id)


def test_a_holder_replaced_by_someone_else_is_told(ctx: Context, crew: Crew) -> None:
    """When Ann gives Bob's role to herself, Bob hears that he no longer has it."""
    roles.assign(ctx, crew.ann, crew.number, "scribe", crew.bob_user.id)

    roles.assign(ctx, crew.ann, crew.number, "scribe", crew.ann_user.id)

    [notice] = outbox(ctx, "role_handed_over")
    assert notice.recipient == "bob@example.com"
    assert "no longer Scribe" in notice.subject
