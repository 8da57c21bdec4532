"""The organisation's people and teams as an admin manages them: who exists,
with which role, in which teams, and who may log in at all.

Every call here needs the admin role: roles and team memberships decide what
everyone else may see and do. Two rules hold whatever the order of requests:
the organisation always keeps at least one active admin (otherwise nobody
could manage anyone again), and a deactivated user holds no live credential:
their browser sessions end, their API tokens are revoked and their open
password-reset links are used up, so reactivating them does not bring an old
credential back to life.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tocsin.domain.access import Actor, Role, require_role
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.services.context import Context
from tocsin.services.records import audit
from tocsin.store.models import (
    ApiToken,
    PasswordReset,
    Team,
    TeamMember,
    User,
    WebSession,
)

# Ids are 32-bit integers in the database; PostgreSQL refuses to compare with
# a larger number, and no row could carry one anyway.
MAX_ID = 2**31 - 1
ROLES = tuple(role.value for role in Role)


@dataclass(frozen=True)
class PersonRow:
    """A user as the people page lists them."""

    id: int
    email: str
    name: str
    role: str
    active: bool
    has_password: bool
    teams: tuple[str, ...]


@dataclass(frozen=True)
class Member:
    id: int
    name: str
    email: str
    active: bool


@dataclass(frozen=True)
class TeamRow:
    """A team with its members by name."""

    id: int
    name: str
    members: tuple[Member, ...]


def list_people(ctx: Context, actor: Actor) -> list[PersonRow]:
    """Every user, active ones first, then by name. Admins only."""
    require_role(actor, Role.ADMIN)
    with ctx.db.read() as session:
        rows = session.scalars(
            select(User).order_by(User.active.desc(), User.name, User.id)
        ).all()
        teams = _team_names(session)
        return [_person(user, teams.get(user.id, ())) for user in rows]


def get_person(ctx: Context, actor: Actor, user_id: int) -> PersonRow:
    """One user; NotFound when there is none. Admins only."""
    require_role(actor, Role.ADMIN)
    with ctx.db.read() as session:
        user = _user(session, user_id)
        return _person(user, _team_names(session, user_id).get(user_id, ()))


def change_role(ctx: Context, actor: Actor, user_id: int, role: str) -> PersonRow:
    """Give the user `role`. Admins only.

    InvalidInput for an unknown role; Conflict when this would leave the
    organisation without an active admin. Takes effect on the user's next
    request: sessions and tokens read the role each time.
    """
    require_role(actor, Role.ADMIN)
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")

    now = ctx.clock.now()
    with ctx.db.write() as session:
        admins = _lock_admins(session)
        user = _user(session, user_id, lock=True)
        before = user.role
        if before == role:
            return _person(user, _team_names(session, user_id).get(user_id, ()))
        if before == Role.ADMIN and user.active:
            _keep_an_admin(admins, user, "demote")
        user.role = role
        audit(
            session,
            actor,
            at=now,
            action="user.role_change",
            object_type="user",
            object_id=user.id,
            email=user.email,
            before={"role": before},
            after={"role": role},
        )
        return _person(user, _team_names(session, user_id).get(user_id, ()))


def set_active(ctx: Context, actor: Actor, user_id: int, active: bool) -> PersonRow:
    """Deactivate or reactivate a user. Admins only.

    Deactivating ends every browser session, revokes every API token and uses
    up every open password-reset link of the user, in the same transaction,
    and stamps `deactivated_at` (schedules show the user on call before it and
    nobody from it on); reactivating clears the stamp.
    Conflict when the user is the last active admin. Changing nothing (the
    user is already as asked) writes nothing.
    """
    require_role(actor, Role.ADMIN)

    now = ctx.clock.now()
    with ctx.db.write() as session:
        admins = _lock_admins(session)
        user = _user(session, user_id, lock=True)
        teams = _team_names(session, user_id).get(user_id, ())
        if user.active == active:
            return _person(user, teams)

        if not active:
            if user.role == Role.ADMIN:
                _keep_an_admin(admins, user, "deactivate")
            ended = _revoke_credentials(session, user.id, now)
            user.active = False
            # Schedules keep the user's shifts before this instant.
            user.deactivated_at = now
            audit(
                session,
                actor,
                at=now,
                action="user.deactivate",
                object_type="user",
                object_id=user.id,
                email=user.email,
                before={"active": True},
                after={"active": False},
                **ended,
            )
        else:
            user.active = True
            user.deactivated_at = None
            audit(
                session,
                actor,
                at=now,
                action="user.reactivate",
                object_type="user",
                object_id=user.id,
                email=user.email,
                before={"active": False},
                after={"active": True},
            )
        return _person(user, teams)


def list_teams(ctx: Context, actor: Actor) -> list[TeamRow]:
    """Every team by name with its members by name. Admins only."""
    require_role(actor, Role.ADMIN)
    with ctx.db.read() as session:
        teams = session.scalars(select(Team).order_by(Team.name, Team.id)).all()
        rows = session.execute(
            select(TeamMember.team_id, User.id, User.name, User.email, User.active)
            .join(User, User.id == TeamMember.user_id)
            .order_by(User.name, User.id)
        ).all()
    members: dict[int, list[Member]] = {}
    for team_id, id_, name, email, active in rows:
        members.setdefault(team_id, []).append(Member(id_, name, email, active))

    return [
        TeamRow(team.id, team.name, tuple(members.get(team.id, ()))) for team in teams
    ]


def add_member(ctx: Context, actor: Actor, team_id: int, user_id: int) -> None:
    """Put the user in the team. Admins only; NotFound for an unknown team or
    user, Conflict when they are already a member."""
    require_role(actor, Role.ADMIN)

    now = ctx.clock.now()
    with ctx.db.write() as session:
        team = _team(session, team_id)
        user = _user(session, user_id)
        if session.get(TeamMember, (team.id, user.id)) is not None:
            raise Conflict(f"{user.name} is already a member of {team.name}")
        session.add(TeamMember(team_id=team.id, user_id=user.id))
        audit(
            session,
            actor,
            at=now,
            action="team.member_add",
            object_type="team",
            object_id=team.id,
            team=team.name,
            user_id=user.id,
            email=user.email,
        )


def remove_member(ctx: Context, actor: Actor, team_id: int, user_id: int) -> None:
    """Take the user out of the team. Admins only; NotFound for an unknown
    team or user, or one who is not a member."""
    require_role(actor, Role.ADMIN)

    now = ctx.clock.now()
    with ctx.db.write() as session:
        team = _team(session, team_id)
        user = _user(session, user_id)
        membership = session.get(TeamMember, (team.id, user.id))
        if membership is None:
            raise NotFound(f"{user.name} is not a member of {team.name}")
        session.delete(membership)
        audit(
            session,
            actor,
            at=now,
            action="team.member_remove",
            object_type="team",
            object_id=team.id,
            team=team.name,
            user_id=user.id,
            email=user.email,
        )


# Helpers ----------------------------------------------------------------------


def _lock_admins(session: Session) -> list[int]:
    """The active admins' ids, their rows locked, in id order.

    Taken before any other row lock of a role or activity change, always in
    the same order: two admins demoting each other at once are serialised
    rather than deadlocked, and the second sees the first's change
    (PostgreSQL re-checks a locked row's WHERE after waiting). SQLite writes
    one transaction at a time anyway.
    """
    return list(
        session.scalars(
            select(User.id)
            .where(User.role == Role.ADMIN.value, User.active.is_(True))
            .order_by(User.id)
            .with_for_update()
        ).all()
    )


def _keep_an_admin(admins: list[int], user: User, verb: str) -> None:
    """Conflict unless an active admin other than `user` remains."""
    if not [admin for admin in admins if admin != user.id]:
        raise Conflict(
            f"cannot {verb} {user.name}: they are the last active admin. "
            "Make someone else an admin first."
        )


def _revoke_credentials(
    session: Session, user_id: int, now: datetime
) -> dict[str, int]:
    sessions = session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    tokens = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    return {
        "sessions_ended": int(getattr(sessions, "rowcount", 0) or 0),
        "tokens_revoked": int(getattr(tokens, "rowcount", 0) or 0),
    }


def _user(session: Session, user_id: int, *, lock: bool = False) -> User:
    if not 1 <= user_id <= MAX_ID:
        raise NotFound(f"no user {user_id}")
    query = select(User).where(User.id == user_id)
    if lock:
        query = query.with_for_update()
    user = session.scalar(query)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def _team(session: Session, team_id: int) -> Team:
    team = session.get(Team, team_id) if 1 <= team_id <= MAX_ID else None
    if team is None:
        raise NotFound(f"no team {team_id}")
    return team


def _team_names(
    session: Session, user_id: int | None = None
) -> dict[int, tuple[str, ...]]:
    query = (
        select(TeamMember.user_id, Team.name)
        .join(Team, Team.id == TeamMember.team_id)
        .order_by(Team.name)
    )
    if user_id is not None:
        query = query.where(TeamMember.user_id == user_id)
    names: dict[int, list[str]] = {}
    for member, name in session.execute(query):
        names.setdefault(member, []).append(name)
    return {member: tuple(found) for member, found in names.items()}


def _person(user: User, teams: tuple[str, ...]) -> PersonRow:
    return PersonRow(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        active=user.active,
        has_password=bool(user.password_hash),
        teams=teams,
    )
