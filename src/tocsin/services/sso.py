"""Single sign-on through an OpenID Connect provider: starting a browser's
sign-in, finishing it, and finding the Tocsin account it logs into.

The authorization code flow with PKCE (RFC 7636, S256):

1. `begin` makes a fresh state, nonce and PKCE verifier and returns the
   provider's authorization URL with a `LoginFlow`. The web layer keeps the
   flow in a short-lived cookie, signed with `seal`, so only the browser that
   started a sign-in can finish it: a link to the callback with someone
   else's code fails the state check.
2. `finish` takes the provider's answer. The state must be the flow's, the
   code is exchanged with the verifier, and the ID token is verified with the
   flow's nonce (tocsin.services.oidc_client). Then the account:
   the user linked to the token's (issuer, subject); else, at the first
   sign-in, the user with the token's verified email, linked now; else a new
   user with TOCSIN_OIDC_NEW_USER_ROLE if TOCSIN_OIDC_CREATE_USERS is on.

An email outside TOCSIN_OIDC_ALLOWED_DOMAINS, a deactivated user, and an
account already linked to another person at the provider are refused. Every
failure is logged with its reason and raised as SignOnFailed (400) or
SignOnRefused (403); nothing is stored and nobody is logged in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import jwt
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.config import Settings
from tocsin.domain.access import Actor
from tocsin.errors import Forbidden, NotFound
from tocsin.services import oidc_client, users
from tocsin.services.context import Context
from tocsin.services.oidc_client import Identity, SignOnFailed
from tocsin.services.records import audit
from tocsin.store.models import User

log = logging.getLogger(__name__)

CALLBACK_PATH = "/login/oidc/callback"
FLOW_TTL = timedelta(minutes=10)
SCOPES = "openid email profile"
_FLOW_KEY_DOMAIN = b"tocsin.sign-on-flow.v1"
_PROVIDER_ERROR = re.compile(r"^[A-Za-z0-9_.-]{1,64}\Z")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")

# Who creates an account at its first sign-in, in the audit log.
SIGN_ON = Actor(kind="sso", label="single sign-on")

__all__ = [
    "LoginFlow",
    "SignOnFailed",
    "SignOnRefused",
    "begin",
    "button_label",
    "enabled",
    "finish",
    "seal",
    "unseal",
]


class SignOnRefused(Forbidden):
    """The provider vouched for the person, but Tocsin will not log them in."""

    title = "Sign-in refused"
    type_slug = "sign-on-refused"

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(detail, reason=reason)
        self.reason = reason


@dataclass(frozen=True)
class LoginFlow:
    """One browser's sign-in in progress; its secrets never leave that browser
    except to the provider (the state and nonce) and its token endpoint (the
    verifier)."""

    state: str
    nonce: str
    verifier: str
    next_url: str
    issuer: str
    expires_at: datetime


def enabled(settings: Settings) -> bool:
    """Whether single sign-on is configured."""
    return bool(settings.oidc_issuer)


def button_label(settings: Settings) -> str | None:
    """The login page's button text, or None when sign-on is off."""
    if not enabled(settings):
        return None
    return f"Sign in with {settings.oidc_provider_name}"


def redirect_uri(settings: Settings) -> str:
    """Where the provider sends the browser back; register this at the provider."""
    return settings.base_url.rstrip("/") + CALLBACK_PATH


# Starting ---------------------------------------------------------------------


def begin(ctx: Context, next_url: str) -> tuple[str, LoginFlow]:
    """The provider's authorization URL for a new sign-in, and its flow.

    `next_url` must already be a safe local path. Raises NotFound when
    sign-on is off and SignOnFailed when the provider cannot be reached.
    """
    settings = ctx.settings
    if not enabled(settings):
        raise NotFound("single sign-on is not configured")

    try:
        metadata = oidc_client.discover(settings)
    except SignOnFailed as error:
        log.warning("sign-on not started", extra={"reason": error.reason})
        raise

    flow = LoginFlow(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        # 64 characters of the unreserved set: within RFC 7636's 43 to 128.
        verifier=secrets.token_urlsafe(48),
        next_url=next_url,
        issuer=settings.oidc_issuer,
        expires_at=ctx.clock.now() + FLOW_TTL,
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.oidc_client_id,
            "redirect_uri": redirect_uri(settings),
            "scope": SCOPES,
            "state": flow.state,
            "nonce": flow.nonce,
            "code_challenge": _challenge(flow.verifier),
            "code_challenge_method": "S256",
        }
    )
    separator = "&" if "?" in metadata.authorization_endpoint else "?"
    return f"{metadata.authorization_endpoint}{separator}{query}", flow


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


# The flow cookie --------------------------------------------------------------


def _flow_key(settings: Settings) -> bytes:
    # A key of its own, derived from the instance secret, so a flow cookie
    # can never pass for anything else the secret signs.
    secret = settings.effective_secret_key().encode()
    return hmac.new(secret, _FLOW_KEY_DOMAIN, hashlib.sha256).digest()


def seal(settings: Settings, flow: LoginFlow) -> str:
    """The flow as a signed token for the browser's cookie."""
    claims = {
        "st": flow.state,
        "nn": flow.nonce,
        "cv": flow.verifier,
        "nx": flow.next_url,
        "is": flow.issuer,
        "ex": int(flow.expires_at.timestamp()),
    }
    return jwt.encode(claims, _flow_key(settings), algorithm="HS256")


def unseal(ctx: Context, sealed: str) -> LoginFlow:
    """The flow a cookie holds. Raises SignOnFailed when it is missing, forged,
    expired, or was started for another provider."""
    stale = SignOnFailed(
        "This sign-in was not started in this browser, or took longer than "
        f"{int(FLOW_TTL.total_seconds() // 60)} minutes. Please sign in again.",
        reason="no valid sign-in cookie",
    )
    if not sealed or len(sealed) > 4096:
        raise stale

    try:
        claims: dict[str, Any] = jwt.decode(
            sealed, _flow_key(ctx.settings), algorithms=["HS256"]
        )
        flow = LoginFlow(
            state=str(claims["st"]),
            nonce=str(claims["nn"]),
            verifier=str(claims["cv"]),
            next_url=str(claims["nx"]),
            issuer=str(claims["is"]),
            expires_at=datetime.fromtimestamp(int(claims["ex"]), tz=UTC),
        )
    except (jwt.PyJWTError, KeyError, TypeError, ValueError, OverflowError):
        log.warning("sign-on cookie refused", extra={"reason": "forged or garbled"})
        raise stale from None

    if flow.expires_at <= ctx.clock.now() or flow.issuer != ctx.settings.oidc_issuer:
        log.warning("sign-on cookie refused", extra={"reason": "expired"})
        raise stale
    return flow


# Finishing --------------------------------------------------------------------


def finish(
    ctx: Context,
    flow: LoginFlow,
    *,
    state: str,
    code: str,
    provider_error: str = "",
) -> users.NewSession:
    """Complete a sign-in from the provider's redirect: a new browser session.

    Raises SignOnFailed (the exchange failed, a check failed, the provider
    is down) or SignOnRefused (the person may not log in), after logging why.
    """
    try:
        identity = _verified_identity(ctx, flow, state, code, provider_error)
        new_session, how = _log_in(ctx, identity)
    except (SignOnFailed, SignOnRefused) as error:
        log.warning(
            "sign-on failed",
            extra={"reason": error.reason, "issuer": ctx.settings.oidc_issuer},
        )
        raise

    log.info(
        "sign-on succeeded",
        extra={"subject": identity.subject, "email": identity.email, "account": how},
    )
    return new_session


def _verified_identity(
    ctx: Context, flow: LoginFlow, state: str, code: str, provider_error: str
) -> Identity:
    settings = ctx.settings
    if provider_error:
        shown = provider_error if _PROVIDER_ERROR.match(provider_error) else "error"
        raise SignOnFailed(
            f"The provider did not sign you in ({shown}). Please try again.",
            reason=f"the provider answered {shown}",
        )
    if not state or not hmac.compare_digest(state.encode(), flow.state.encode()):
        raise SignOnFailed(
            "This answer from the provider does not belong to the sign-in this "
            "browser started. Please sign in again.",
            reason="state does not match the browser's sign-in",
        )
    if not code or len(code) > 2048:
        raise SignOnFailed(
            "The provider's answer held no sign-in code. Please sign in again.",
            reason="no authorization code",
        )

    metadata = oidc_client.discover(settings)
    id_token = oidc_client.exchange_code(
        settings,
        metadata,
        code=code,
        verifier=flow.verifier,
        redirect_uri=redirect_uri(settings),
    )
    identity = oidc_client.verify_id_token(
        settings, metadata, id_token, nonce=flow.nonce, now=ctx.clock.now()
    )

    domain = identity.email.rsplit("@", 1)[1]
    allowed = settings.oidc_allowed_domains
    if allowed and domain not in allowed:
        raise SignOnRefused(
            f"Accounts of {domain} may not sign in to this Tocsin.",
            reason=f"email domain {domain} is not allowed",
        )
    return identity


# The account ------------------------------------------------------------------


def _log_in(ctx: Context, identity: Identity) -> tuple[users.NewSession, str]:
    """Open a session for the account the identity stands for, linking or
    creating it first when this is its first sign-in. Returns the session and
    how the account was found: linked, matched or created."""
    now = ctx.clock.now()
    try:
        with ctx.db.write() as session:
            user, how = _account(ctx, session, identity, now)
            if not user.active:
                raise SignOnRefused(
                    "This account is deactivated. Ask an administrator.",
                    reason=f"user {user.id} is deactivated",
                )
            opened = users.open_session(
                session, user, now, method="oidc", issuer=identity.issuer
            )
            return opened, how
    except IntegrityError:
        # Two first sign-ins of one person at the same moment, in two tabs.
        raise SignOnFailed(
            "Your account was being set up by another sign-in at the same "
            "moment. Please sign in again.",
            reason="lost a race linking or creating the account",
        ) from None


def _account(
    ctx: Context, session: Session, identity: Identity, now: datetime
) -> tuple[User, str]:
    linked = session.scalar(
        select(User)
        .where(
            User.oidc_issuer == identity.issuer,
            User.oidc_subject == identity.subject,
        )
        .with_for_update()
    )
    if linked is not None:
        return linked, "linked"

    matched = session.scalar(
        select(User).where(User.email == identity.email).with_for_update()
    )
    if matched is not None:
        _link(session, matched, identity, now)
        return matched, "matched"

    if not ctx.settings.oidc_create_users:
        raise SignOnRefused(
            f"There is no Tocsin account for {identity.email}. Ask an "
            "administrator to create one.",
            reason=f"no account for {identity.email} and creating users is off",
        )
    return _create(ctx, session, identity, now), "created"


def _link(session: Session, user: User, identity: Identity, now: datetime) -> None:
    # The same provider vouching for another subject with this email: the
    # address has passed to someone else there (a reused mailbox). Linking
    # would hand them this account.
    if user.oidc_issuer == identity.issuer and user.oidc_subject is not None:
        raise SignOnRefused(
            f"The account {user.email} is linked to another person at the "
            "provider. Ask an administrator.",
            reason=f"user {user.id} is linked to subject {user.oidc_subject}",
        )
    if not user.active:
        raise SignOnRefused(
            "This account is deactivated. Ask an administrator.",
            reason=f"user {user.id} is deactivated",
        )

    user.oidc_issuer = identity.issuer
    user.oidc_subject = identity.subject
    audit(
        session,
        users.actor_for(session, user, kind="user"),
        at=now,
        action="user.sso_link",
        object_type="user",
        object_id=user.id,
        issuer=identity.issuer,
        subject=identity.subject,
    )


def _create(ctx: Context, session: Session, identity: Identity, now: datetime) -> User:
    if len(identity.email) > 320:
        raise SignOnRefused(
            "Your email address is too long for a Tocsin account.",
            reason="email longer than 320 characters",
        )
    user = users.insert_user(
        session,
        SIGN_ON,
        email=identity.email,
        name=_display_name(identity),
        role=ctx.settings.oidc_new_user_role,
        password_hash=None,
        now=now,
        issuer=identity.issuer,
    )
    user.oidc_issuer = identity.issuer
    user.oidc_subject = identity.subject
    return user


def _display_name(identity: Identity) -> str:
    """The provider's name for the person, made safe for terminals and mail
    subjects; the email's local part when the provider gives none."""
    name = _CONTROL.sub("", identity.name).strip()[:200].strip()
    return name or identity.email.split("@", 1)[0][:200]
