"""A person's own account: password resets by email, changing a password, and
the API tokens they hold.

Reset links carry a random 256-bit token; only its SHA-256 is stored, so the
link is the credential and a copy of the database is not. A link works once,
for RESET_TTL, and using it ends every browser session of the account: whoever
had the old password is logged out. Asking for a reset answers the same for
every address, so the form cannot tell who has an account.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import available_timezones

from pwdlib import PasswordHash
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from tocsin.domain.access import Actor
from tocsin.errors import Forbidden, InvalidInput, NotFound
from tocsin.services import users
from tocsin.services.context import Context
from tocsin.services.records import audit
from tocsin.store.db import table_of
from tocsin.store.models import ApiToken, OutboxMessage, PasswordReset, User, WebSession

RESET_TTL = timedelta(hours=1)
# One reset mail per account per this long: the form is open to anyone, and
# must not become a way to flood someone's inbox.
RESET_INTERVAL = timedelta(minutes=2)
MIN_PASSWORD = 8
# Argon2 hashes any length, but a megabyte password is only a way to burn CPU.
MAX_PASSWORD = 1024
MAX_EMAIL = 320

_OUTBOX = table_of(OutboxMessage)
_passwords = PasswordHash.recommended()
# Who asks for a reset is not known: anyone can fill in the form.
RESET_FORM = Actor(kind="anonymous", label="password reset form")


@dataclass(frozen=True)
class TokenRow:
    """An API token as its owner sees it on the profile page: never the secret."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    def active(self, now: datetime) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now


@dataclass(frozen=True)
class SessionRow:
    """A browser logged in to the account."""

    created_at: datetime
    expires_at: datetime
    current: bool


@dataclass(frozen=True)
class Profile:
    user_id: int
    email: str
    name: str
    role: str
    teams: tuple[str, ...]
    has_password: bool
    tokens: tuple[TokenRow, ...]
    sessions: tuple[SessionRow, ...]
    time_zone: str = "UTC"
    # Whether the account is linked to a single sign-on identity.
    signs_on: bool = False


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_password(password: str) -> None:
    """InvalidInput unless `password` is one Tocsin accepts as a new password."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"a password has at most {MAX_PASSWORD} characters")
    if "\x00" in password:
        raise InvalidInput("a password cannot contain NUL characters")


# Password reset ---------------------------------------------------------------


def request_reset(ctx: Context, email: str, requested_by: Actor = RESET_FORM) -> None:
    """Email a reset link to the active account with this address, if any.

    Returns nothing and raises nothing for an unknown address: the caller shows
    the same answer either way. `requested_by` is who the audit names: the
    anonymous form, or an admin who invited the user.
    """
    address = email.strip().lower()
    if not address or len(address) > MAX_EMAIL or "\x00" in address:
        return

    now = ctx.clock.now()
    with ctx.db.write() as session:
        user = session.scalar(select(User).where(User.email == address))
        if user is None or not user.active:
            return
        latest = session.scalar(
            select(PasswordReset.created_at)
            .where(PasswordReset.user_id == user.id)
            .order_by(PasswordReset.created_at.desc())
            .limit(1)
        )
        if latest is not None and now - latest < RESET_INTERVAL:
            return

        token = secrets.token_urlsafe(32)
        reset = PasswordReset(
            user_id=user.id,
            token_hash=_digest(token),
            expires_at=now + RESET_TTL,
            created_at=now,
        )
        session.add(reset)
        session.flush()
        _queue_reset_mail(session, ctx, user, token, now)
        audit(
            session,
            requested_by,
            at=now,
            action="password.reset_requested",
            object_type="user",
            object_id=user.id,
        )


def _queue_reset_mail(
    session: Session, ctx: Context, user: User, token: str, now: datetime
) -> None:
    """The reset mail goes to the address the account logs in with, never to
    other contact methods: that address is what the account is."""
    link = f"{ctx.settings.base_url.rstrip('/')}/password/reset/{token}"
    minutes = int(RESET_TTL.total_seconds() // 60)
    body = (
        f"Someone asked to reset the Tocsin password of {user.email}.\n\n"
        f"To choose a new password, open this link within {minutes} minutes:\n\n"
        f"Reset: {link}\n\n"
        "The link works once. If you did not ask for this, ignore this mail: "
        "your password stays as it is.\n"
    )
    session.execute(
        insert(_OUTBOX),
        {
            "channel": "email",
            "recipient": user.email,
            "subject": "Reset your Tocsin password",
            "body": body,
            "payload": {"kind": "notice", "topic": "password_reset"},
            "idempotency_key": uuid.uuid4().hex,
            "incident_id": None,
            "user_id": user.id,
            "next_attempt_at": now,
            "created_at": now,
        },
    )
    ctx.work_queued.set()


def reset_email(ctx: Context, token: str) -> str:
    """The address a live reset link is for. Forbidden when the link is not
    valid (unknown, used, expired, or its account deactivated)."""
    with ctx.db.read() as session:
        reset = _live_reset(session, ctx, token)
        return reset.user.email


def reset_password(ctx: Context, token: str, password: str) -> str:
    """Set a new password with a reset link; returns the account's email.

    The link is used up, every other open link of the account too, and every
    browser session of the account ends.
    """
    check_password(password)
    new_hash = _passwords.hash(password)

    now = ctx.clock.now()
    with ctx.db.write() as session:
        reset = _live_reset(session, ctx, token, lock=True)
        user = reset.user
        user.password_hash = new_hash
        session.execute(
            update(PasswordReset)
            .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
            .values(used_at=now)
        )
        ended = _end_sessions(session, user.id, now, keep=None)
        audit(
            session,
            users.actor_for(session, user, kind="user"),
            at=now,
            action="password.reset",
            object_type="user",
            object_id=user.id,
            sessions_ended=ended,
        )
        return user.email


def _live_reset(
    session: Session, ctx: Context, token: str, *, lock: bool = False
) -> PasswordReset:
    refused = Forbidden(
        "this reset link is not valid: it has been used, has expired, or was "
        "mistyped. Ask for a new one."
    )
    if not token or len(token) > 200:
        raise refused

    query = select(PasswordReset).where(PasswordReset.token_hash == _digest(token))
    if lock:
        # Two tabs submitting one link: the second waits, then finds it used.
        query = query.with_for_update()
    reset = session.scalar(query)
    if (
        reset is None
        or reset.used_at is not None
        or reset.expires_at <= ctx.clock.now()
        or not reset.user.active
    ):
        raise refused
    return reset


# Accounts made by an admin ----------------------------------------------------


def create_account(
    ctx: Context,
    actor: Actor,
    *,
    email: str,
    name: str,
    role: str,
    teams: tuple[str, ...] = (),
    password: str | None = None,
    mail_reset: bool = False,
) -> User:
    """Create a user, who logs in first with `password` or, with `mail_reset`,
    through a reset link mailed to them now (the forgotten-password flow).

    Neither (single sign-on only) is allowed; both is InvalidInput. Admins
    only (Forbidden); InvalidInput, NotFound and Conflict as
    `users.create_user` raises them, before anything is stored.
    """
    if password is not None and mail_reset:
        raise InvalidInput("set a password or mail a reset link, not both")
    if password is not None:
        check_password(password)

    user = users.create_user(
        ctx, actor, email=email, name=name, role=role, password=password, teams=teams
    )
    if mail_reset:
        request_reset(ctx, user.email, requested_by=actor)
    return user


# Own password -----------------------------------------------------------------


def change_password(
    ctx: Context, actor: Actor, *, current: str, new: str, session_token: str
) -> None:
    """Change the actor's own password, after checking the current one.

    Every other browser session of the account ends; the one making the change
    (by `session_token`) stays logged in.
    """
    user_id = _own_user_id(actor)
    check_password(new)
    if len(current) > MAX_PASSWORD:
        raise InvalidInput("the current password is wrong")
    new_hash = _passwords.hash(new)

    now = ctx.clock.now()
    with ctx.db.write() as session:
        user = session.scalar(select(User).where(User.id == user_id).with_for_update())
        if user is None or not user.active:
            raise NotFound("your account no longer exists")
        if not user.password_hash or not _passwords.verify(current, user.password_hash):
            raise InvalidInput("the current password is wrong")
        user.password_hash = new_hash
        ended = _end_sessions(session, user.id, now, keep=_digest(session_token))
        audit(
            session,
            actor,
            at=now,
            action="password.change",
            object_type="user",
            object_id=user.id,
            sessions_ended=ended,
        )


def _end_sessions(
    session: Session, user_id: int, now: datetime, *, keep: str | None
) -> int:
    query = update(WebSession).where(
        WebSession.user_id == user_id, WebSession.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(WebSession.token_hash != keep)
    result = session.execute(query.values(revoked_at=now))
    return int(getattr(result, "rowcount", 0) or 0)


# Profile and API tokens -------------------------------------------------------


def profile(ctx: Context, actor: Actor, session_token: str = "") -> Profile:
    """The actor's own account, with every API token they have had and the
    browsers logged in now (the one holding `session_token` marked current)."""
    user_id = _own_user_id(actor)
    now = ctx.clock.now()
    current = _digest(session_token) if session_token else ""
    me = users.describe(ctx, actor)
    with ctx.db.read() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("your account no longer exists")
        rows = session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user_id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        ).all()
        tokens = tuple(
            TokenRow(
                id=row.id,
                name=row.name,
                prefix=row.prefix,
                created_at=row.created_at,
                last_used_at=row.last_used_at,
                expires_at=row.expires_at,
                revoked_at=row.revoked_at,
            )
            for row in rows
        )
        live = session.scalars(
            select(WebSession)
            .where(
                WebSession.user_id == user_id,
                WebSession.revoked_at.is_(None),
                WebSession.expires_at > now,
            )
            .order_by(WebSession.created_at.desc(), WebSession.id.desc())
        ).all()
        sessions = tuple(
            SessionRow(
                created_at=row.created_at,
                expires_at=row.expires_at,
                current=row.token_hash == current,
            )
            for row in live
        )
        return Profile(
            user_id=user.id,
            email=user.email,
            name=user.name,
            role=user.role,
            teams=tuple(team.name for team in me.teams),
            has_password=bool(user.password_hash),
            tokens=tokens,
            sessions=sessions,
            time_zone=user.time_zone,
            signs_on=user.oidc_subject is not None,
        )


# Time zone --------------------------------------------------------------------


@lru_cache(maxsize=1)
def time_zones() -> tuple[str, ...]:
    """Every IANA zone name this installation knows (from tzdata), sorted."""
    return tuple(sorted(available_timezones()))


@lru_cache(maxsize=1)
def _zones_by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in time_zones()}


def set_time_zone(ctx: Context, actor: Actor, name: str) -> str:
    """Set the IANA zone the actor's pages show times in; returns its exact
    name ("america/new_york" is taken as "America/New_York").

    Raises InvalidInput for a name that is no zone.
    """
    user_id = _own_user_id(actor)
    typed = name.strip()
    zone = _zones_by_folded_name().get(typed.casefold()) if len(typed) <= 64 else None
    if zone is None:
        shown = typed if len(typed) <= 64 else typed[:64] + "…"
        raise InvalidInput(
            f"{shown!r} is not a time zone; use an IANA name such as "
            "Europe/Berlin or America/New_York"
        )

    now = ctx.clock.now()
    with ctx.db.write() as session:
        user = session.scalar(select(User).where(User.id == user_id).with_for_update())
        if user is None or not user.active:
            raise NotFound("your account no longer exists")
        if user.time_zone == zone:
            return zone
        before = user.time_zone
        user.time_zone = zone
        audit(
            session,
            actor,
            at=now,
            action="user.time_zone",
            object_type="user",
            object_id=user.id,
            before=before,
            after=zone,
        )
    return zone


def end_other_sessions(ctx: Context, actor: Actor, session_token: str) -> int:
    """Log the account out of every browser but the one holding
    `session_token`; returns how many sessions ended."""
    user_id = _own_user_id(actor)
    now = ctx.clock.now()
    with ctx.db.write() as session:
        ended = _end_sessions(session, user_id, now, keep=_digest(session_token))
        audit(
            session,
            actor,
            at=now,
            action="session.end_others",
            object_type="user",
            object_id=user_id,
            sessions_ended=ended,
        )
        return ended


def create_own_token(ctx: Context, actor: Actor, name: str, days: int | None) -> str:
    """A new API token for the actor; the secret is returned now and never again.

    The token acts with the user's own role and teams, whatever they are when
    it is used, so it can never do more than its owner.
    """
    user_id = _own_user_id(actor)
    with ctx.db.read() as session:
        email = session.scalar(select(User.email).where(User.id == user_id))
    if email is None:
        raise NotFound("your account no longer exists")
    return users.create_token(ctx, actor, email=email, name=name, days=days)


def revoke_own_token(ctx: Context, actor: Actor, token_id: int) -> None:
    """Revoke one of the actor's own tokens. Revoking twice changes nothing;
    someone else's token is NotFound, as if it did not exist."""
    user_id = _own_user_id(actor)
    now = ctx.clock.now()
    with ctx.db.write() as session:
        token = session.scalar(
            select(ApiToken)
            .where(ApiToken.id == token_id, ApiToken.user_id == user_id)
            .with_for_update()
        )
        if token is None:
            raise NotFound(f"you have no API token {token_id}")
        if token.revoked_at is not None:
            return
        token.revoked_at = now
        audit(
            session,
            actor,
            at=now,
            action="token.revoke",
            object_type="api_token",
            object_id=token.id,
            name=token.name,
        )


def _own_user_id(actor: Actor) -> int:
    # Only a person at the keyboard manages their own account: an API token
    # cannot mint or revoke tokens here, nor change the password.
    if actor.user_id is None or actor.kind != "user":
        raise Forbidden("only a logged-in user can change their own account")
    return actor.user_id
