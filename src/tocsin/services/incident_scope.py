"""What the response use cases (roles, responders, runbooks, tasks, notes,
updates) share: finding the incident an actor names, checking the people they
name, and checking free text before it is stored."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.domain.access import Actor, Role, can_see_team, require_role
from tocsin.errors import Forbidden, InvalidInput, NotFound
from tocsin.services.context import Context
from tocsin.store.models import EscalationPolicy, Incident, Team, TeamMember, User

MAX_ID = 2**31 - 1

# The manager role sits between responder and admin where domain.access has
# it; on a Tocsin without it, what needs a manager needs an admin.
MANAGER = Role("manager") if "manager" in {r.value for r in Role} else Role.ADMIN

_BIDI = "\u200e\u200f\u202a-\u202e\u2066-\u2069"
# A line of text (a title, a role name) holds no control characters at all; a
# longer text may run over lines and hold tabs. PostgreSQL cannot store NUL, a
# terminal acts on the rest, and direction overrides make text read as other.
_CONTROL_IN_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_CONTROL_IN_TEXT = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")


def is_manager(actor: Actor) -> bool:
    """Whether the actor holds the manager role or a higher one."""
    try:
        require_role(actor, MANAGER)
    except Forbidden:
        return False
    return True


def check_number(number: int) -> None:
    # Numbers are 32-bit in the database; PostgreSQL rejects a larger literal.
    if not 1 <= number <= MAX_ID:
        raise NotFound(f"no incident #{number}")


def locked_incident(session: Session, actor: Actor, number: int) -> Incident:
    """The incident, its row locked for update, so changes to its response
    (two people handing over the commander role) take turns. NotFound when
    the actor may not see it."""
    check_number(number)
    incident = session.scalar(
        select(Incident).where(Incident.number == number).with_for_update()
    )
    if incident is None or not can_see_team(actor, incident.service.team_id):
        raise NotFound(f"no incident #{number}")
    return incident


def visible_incident(session: Session, actor: Actor, number: int) -> Incident:
    check_number(number)
    incident = session.scalar(select(Incident).where(Incident.number == number))
    if incident is None or not can_see_team(actor, incident.service.team_id):
        raise NotFound(f"no incident #{number}")
    return incident


def incident_type_names(incident: Incident) -> tuple[str, ...]:
    """The name and key of the incident's type (triage's catalogue), which
    runbooks and templates are attached to; empty when it has none."""
    kind = incident.incident_type
    return (kind.name, kind.key) if kind is not None else ()


def team_ids(session: Session, user_id: int) -> frozenset[int]:
    return frozenset(
        session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user_id))
    )


def can_act_on(session: Session, user: User, incident: Incident) -> bool:
    """Whether `user` could see `incident` and act on it: an active responder
    (or more) in the service's team, or an admin."""
    if not user.active or user.role == Role.VIEWER:
        return False
    if user.role == Role.ADMIN:
        return True
    team_id = incident.service.team_id
    return team_id is None or team_id in team_ids(session, user.id)


def responding_user(session: Session, user_id: int, incident: Incident) -> User:
    """The active user with this id, who can act on the incident.

    NotFound for no such active user; InvalidInput for one who could not see
    the incident (a page or notice would lead them to a 404)."""
    user = session.get(User, user_id) if 0 < user_id <= MAX_ID else None
    if user is None or not user.active:
        raise NotFound(f"no active user with id {user_id}")
    if not can_act_on(session, user, incident):
        raise InvalidInput(
            f"{user.name} cannot take part in incident #{incident.number}: they "
            "need the responder role in the service's team"
        )
    return user


def user_by_email(session: Session, email: str) -> User:
    address = looked_up(email, "user with email").lower()
    user = session.scalar(select(User).where(User.email == address))
    if user is None or not user.active:
        raise NotFound(f"no active user with email {email}")
    return user


def checked_line(value: str, what: str, limit: int) -> str:
    """`value` stripped; InvalidInput when empty, too long or holding control
    characters."""
    line = value.strip()
    if _CONTROL_IN_LINE.search(line):
        raise InvalidInput(f"{what} cannot hold NUL or other control characters")
    if not line or len(line) > limit:
        raise InvalidInput(f"{what} of 1 to {limit} characters is required")
    return line


def checked_text(value: str, what: str, limit: int, *, empty: bool = False) -> str:
    """Like checked_line, but newlines and tabs are allowed, and with `empty`
    so is an empty text."""
    text = value.strip()
    if _CONTROL_IN_TEXT.search(text):
        raise InvalidInput(
            f"{what} cannot hold NUL or control characters other than newlines and tabs"
        )
    if len(text) > limit:
        raise InvalidInput(f"{what} is at most {limit} characters")
    if not text and not empty:
        raise InvalidInput(f"{what} needs some text")
    return text


def checked_instant(value: datetime | None, what: str) -> datetime | None:
    """`value` in UTC; InvalidInput when it has no time zone."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise InvalidInput(f"{what} needs a time zone offset")
    try:
        return value.astimezone(UTC)
    except OverflowError as error:
        raise InvalidInput(f"{what} is out of range") from error


def ids_by_name(
    ctx: Context,
    *,
    email: str | None = None,
    team: str | None = None,
    policy: str | None = None,
) -> int | None:
    """The id of the active user, team or escalation policy named (for the
    CLI, which names things where the API takes ids); None when none is
    asked for. NotFound when the name matches nothing."""
    with ctx.db.read() as session:
        if email is not None:
            return user_by_email(session, email).id
        if team is not None:
            name = looked_up(team, "team")
            found = session.scalar(select(Team.id).where(Team.name == name))
            if found is None:
                raise NotFound(f"no team named {team!r}")
            return found
        if policy is not None:
            name = looked_up(policy, "escalation policy")
            found = session.scalar(
                select(EscalationPolicy.id).where(EscalationPolicy.name == name)
            )
            if found is None:
                raise NotFound(f"no escalation policy named {policy!r}")
            return found
    return None


def looked_up(value: str, what: str) -> str:
    """A name to look something up by, stripped. NotFound when it holds
    control characters (nothing is named so, and PostgreSQL refuses NUL in a
    query) or is longer than any name."""
    name = value.strip()
    if _CONTROL_IN_LINE.search(name) or len(name) > 320:
        raise NotFound(f"no {what} named {value!r}")
    return name
