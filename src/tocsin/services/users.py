"""Users, teams and the credentials that stand for a user: tokens and sessions."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from pwdlib import PasswordHash
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.domain.access import Actor, Role, require_role
from tocsin.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
)
from tocsin.schemas import MeRead, TeamRef, TokenRef, UserRef
from tocsin.services.context import Context
from tocsin.services.incidents import team_ids_of
from tocsin.services.records import audit
from tocsin.store.models import (
    ApiToken,
    ContactMethod,
    Team,
    TeamMember,
    User,
    WebSession,
)

TOKEN_PREFIX = "tcs_"  # noqa: S105 -- a public prefix, not a secret
SESSION_TTL = timedelta(hours=12)
LAST_USED_STEP = timedelta(minutes=5)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\Z")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_passwords = PasswordHash.recommended()


@dataclass(frozen=True)
class NewSession:
    token: str
    csrf_token: str
    expires_at: datetime


def _digest(secret: str) -> str:
    # Tokens are 256-bit random strings: a plain SHA-256 is enough to make a
    # stolen database useless, without a slow password hash on every request.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_user(
    ctx: Context,
    actor: Actor,
    *,
    email: str,
    name: str,
    role: str = "responder",
    password: str | None = None,
    teams: tuple[str, ...] = (),
    create_teams: bool = False,
) -> User:
    """Create a user with an email contact method and team memberships.

    Only an admin (or Tocsin itself) creates users: Forbidden otherwise.
    Raises NotFound for a team that does not exist, unless `create_teams`
    (the demo and test builders); InvalidInput for a bad email, name or role;
    Conflict for an email already in use.
    """
    require_role(actor, Role.ADMIN)
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 320 or _CONTROL.search(email):
        # PostgreSQL refuses NUL in text; no address holds a control character.
        raise InvalidInput(f"{email!r} is not an email address")
    if not name.strip() or len(name) > 200:
        raise InvalidInput("a name of 1 to 200 characters is required")
    if _CONTROL.search(name):
        # A name reaches terminals and mail subjects: no escape sequences.
        raise InvalidInput("a name cannot contain control characters")
    if role not in {r.value for r in Role}:
        raise InvalidInput(f"role must be one of {', '.join(r.value for r in Role)}")
    if password is not None and len(password) < 8:
        raise InvalidInput("a password needs at least 8 characters")

    now = ctx.clock.now()
    password_hash = _passwords.hash(password) if password else None
    try:
        with ctx.db.write() as session:
            user = insert_user(
                session,
                actor,
                email=email,
                name=name.strip(),
                role=role,
                password_hash=password_hash,
                now=now,
            )
            for team_name in teams:
                if create_teams:
                    team = ensure_team(session, team_name, now)
                else:
                    found = session.scalar(select(Team).where(Team.name == team_name))
                    if found is None:
                        raise NotFound(
                            f"no team named {team_name!r}; create it with "
                            "`tocsin team add`"
                        )
                    team = found
                session.add(TeamMember(team_id=team.id, user_id=user.id))
            return user
    except IntegrityError as error:
        raise Conflict(f"a user with email {email} already exists") from error


def insert_user(
    session: Session,
    actor: Actor,
    *,
    email: str,
    name: str,
    role: str,
    password_hash: str | None,
    now: datetime,
    **audited: object,
) -> User:
    """Add a user and their email contact method inside the caller's
    transaction, and audit it. The caller has checked every value; a taken
    email raises IntegrityError at the flush."""
    user = User(
        email=email,
        name=name,
        role=role,
        password_hash=password_hash,
        created_at=now,
    )
    session.add(user)
    session.flush()
    session.add(
        ContactMethod(
            user_id=user.id,
            kind="email",
            address=email,
            label="work email",
            created_at=now,
        )
    )
    audit(
        session,
        actor,
        at=now,
        action="user.create",
        object_type="user",
        object_id=user.id,
        email=email,
        role=role,
        **audited,
    )
    return user


def ensure_team(session: Session, name: str, now: datetime) -> Team:
    team = session.scalar(select(Team).where(Team.name == name))
    if team is None:
        team = Team(name=name, created_at=now)
        session.add(team)
        session.flush()
    return team


def actor_for(
    session: Session, user: User, *, kind: str, token_id: int | None = None
) -> Actor:
    return Actor(
        kind=kind,
        label=user.email,
        user_id=user.id,
        role=Role(user.role),
        team_ids=team_ids_of(session, user.id),
        token_id=token_id,
    )


def create_token(
    ctx: Context, actor: Actor, *, email: str, name: str, days: int | None = None
) -> str:
    """A new API token for the user; returns the secret, which is shown only now."""
    if not name.strip() or len(name) > 100:
        raise InvalidInput("a token name of 1 to 100 characters is required")
    if days is not None and not 1 <= days <= 3650:
        raise InvalidInput("days must be between 1 and 3650")

    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = ctx.clock.now()
    with ctx.db.write() as session:
        user = session.scalar(select(User).where(User.email == email.lower()))
        if user is None:
            raise NotFound(f"no user with email {email}")
        token = ApiToken(
            user_id=user.id,
            name=name.strip(),
            token_hash=_digest(secret),
            prefix=secret[:10],
            expires_at=now + timedelta(days=days) if days else None,
            created_at=now,
        )
        session.add(token)
        session.flush()
        audit(
            session,
            actor,
            at=now,
            action="token.create",
            object_type="api_token",
            object_id=token.id,
            user_id=user.id,
            name=token.name,
        )
    return secret


def authenticate_token(ctx: Context, secret: str) -> Actor:
    """The actor a bearer token stands for. Raises Unauthenticated otherwise."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        raise Unauthenticated("invalid API token")

    now = ctx.clock.now()
    with ctx.db.read() as session:
        token = session.scalar(
            select(ApiToken).where(ApiToken.token_hash == _digest(secret))
        )
        if token is None or token.revoked_at is not None:
            raise Unauthenticated("invalid API token")
        if token.expires_at is not None and token.expires_at <= now:
            raise Unauthenticated("this API token has expired")
        if not token.user.active:
            raise Unauthenticated("this user is deactivated")
        actor = actor_for(session, token.user, kind="token", token_id=token.id)
        stale = token.last_used_at is None or now - token.last_used_at > LAST_USED_STEP

    if stale:
        # Coarse on purpose: one write per token every few minutes tells an
        # administrator which tokens are alive without a write per request.
        with ctx.db.write() as session:
            session.execute(
                update(ApiToken)
                .where(ApiToken.id == actor.token_id)
                .values(last_used_at=now)
            )
    return actor


def describe(ctx: Context, actor: Actor) -> MeRead:
    """The user an actor stands for, with their teams and the token in use.

    Raises NotFound for an actor that is no user (an integration, Tocsin itself).
    """
    if actor.user_id is None:
        raise NotFound(f"{actor.label} is not a user")

    with ctx.db.read() as session:
        user = session.get(User, actor.user_id)
        if user is None:
            raise NotFound(f"no user with id {actor.user_id}")
        teams = session.scalars(
            select(Team)
            .join(TeamMember, TeamMember.team_id == Team.id)
            .where(TeamMember.user_id == user.id)
            .order_by(Team.name)
        ).all()
        token = session.get(ApiToken, actor.token_id) if actor.token_id else None

        return MeRead(
            user=UserRef.model_validate(user),
            role=actor.role,
            teams=[TeamRef.model_validate(team) for team in teams],
            token=TokenRef.model_validate(token) if token else None,
        )


def act_as(ctx: Context, email: str) -> Actor:
    """The actor for an operator acting as a user (the CLI's `--as`): that user's
    own role and teams, so the operator can do no more than the user could.

    Raises NotFound for an unknown email and Forbidden for a deactivated user.
    """
    with ctx.db.read() as session:
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise NotFound(f"no user with email {email}")
        if not user.active:
            raise Forbidden(f"{user.email} is deactivated")
        actor = actor_for(session, user, kind="cli")
        # The audit trail says the operator's shell did it on the user's behalf.
        return replace(actor, label=f"{user.email} (cli)")


def login(ctx: Context, email: str, password: str) -> NewSession:
    """Check a password and open a browser session. Same error for every failure."""
    failure = Unauthenticated("wrong email or password")
    if not _EMAIL.match(email.strip()) or len(email) > 320 or "\x00" in email:
        # PostgreSQL refuses NUL in text; no stored address has one anyway.
        _passwords.hash(password)
        raise failure

    now = ctx.clock.now()
    with ctx.db.write() as session:
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None or not user.password_hash or not user.active:
            # Hash anyway so a missing account takes as long as a wrong password.
            _passwords.hash(password)
            raise failure
        if not _passwords.verify(password, user.password_hash):
            raise failure

        return open_session(session, user, now)


def open_session(
    session: Session, user: User, now: datetime, **audited: object
) -> NewSession:
    """A new browser session for `user`, who has proved who they are, inside
    the caller's transaction; audited as a login with the `audited` fields."""
    token = secrets.token_urlsafe(32)
    web_session = WebSession(
        user_id=user.id,
        token_hash=_digest(token),
        csrf_token=secrets.token_urlsafe(32),
        expires_at=now + SESSION_TTL,
        created_at=now,
    )
    session.add(web_session)
    audit(
        session,
        actor_for(session, user, kind="user"),
        at=now,
        action="session.login",
        object_type="user",
        object_id=user.id,
        **audited,
    )
    return NewSession(token, web_session.csrf_token, web_session.expires_at)


@dataclass(frozen=True)
class SessionHolder:
    """Who holds a live browser session: the actor, the session's CSRF token,
    and the IANA zone their pages show times in."""

    actor: Actor
    csrf_token: str
    time_zone: str


def authenticate_session(ctx: Context, token: str) -> tuple[Actor, str]:
    """The actor and CSRF token of a live browser session."""
    holder = session_holder(ctx, token)
    return holder.actor, holder.csrf_token


def session_holder(ctx: Context, token: str) -> SessionHolder:
    """Who holds a live browser session. Raises Unauthenticated otherwise."""
    now = ctx.clock.now()
    with ctx.db.read() as session:
        web_session = session.scalar(
            select(WebSession).where(WebSession.token_hash == _digest(token))
        )
        if (
            web_session is None
            or web_session.revoked_at is not None
            or web_session.expires_at <= now
            or not web_session.user.active
        ):
            raise Unauthenticated("please log in")
        actor = actor_for(session, web_session.user, kind="user")
        return SessionHolder(
            actor=actor,
            csrf_token=web_session.csrf_token,
            time_zone=web_session.user.time_zone,
        )


def logout(ctx: Context, token: str) -> None:
    with ctx.db.write() as session:
        web_session = session.scalar(
            select(WebSession).where(WebSession.token_hash == _digest(token))
        )
        if web_session is not None and web_session.revoked_at is None:
            web_session.revoked_at = ctx.clock.now()


def link_actor(ctx: Context, user_id: int) -> Actor:
    """The actor behind a signed action link: the paged user, by email link."""
    with ctx.db.read() as session:
        user = session.get(User, user_id)
        if user is None or not user.active:
            raise Unauthenticated("the user this link was sent to no longer exists")
        actor = actor_for(session, user, kind="link")
        return Actor(
            kind="link",
            label=f"{user.email} (email link)",
            user_id=user.id,
            role=actor.role if actor.role is not Role.VIEWER else Role.RESPONDER,
            team_ids=actor.team_ids,
        )
