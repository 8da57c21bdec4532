"""Users, their contact methods, teams, and the credentials that stand for them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tocsin.store.models.base import Base, CreatedAt


class User(CreatedAt, Base):
    __tablename__ = "users"
    # One Tocsin account per identity at an OpenID Connect provider.
    __table_args__ = (UniqueConstraint("oidc_issuer", "oidc_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # admin | responder | viewer; see tocsin.domain.access.
    role: Mapped[str] = mapped_column(String(20), default="responder")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # IANA zone the pages show this user's times in.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    active: Mapped[bool] = mapped_column(default=True)
    # When the user was last deactivated; empty while active. Schedules show
    # a deactivated user on call before this instant and nobody from it on.
    # Empty on an inactive user: deactivated before migration 0013 with no
    # audit record saying when, counted as nobody at every instant.
    deactivated_at: Mapped[datetime | None]
    # The single sign-on identity linked at the first login through the
    # provider (tocsin.services.sso): its issuer URL and subject (`sub`).
    oidc_issuer: Mapped[str | None] = mapped_column(String(500))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))

    contact_methods: Mapped[list[ContactMethod]] = relationship(
        back_populates="user", order_by="ContactMethod.id"
    )
    memberships: Mapped[list[TeamMember]] = relationship(back_populates="user")


class ContactMethod(CreatedAt, Base):
    __tablename__ = "contact_methods"
    __table_args__ = (UniqueConstraint("user_id", "kind", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # email, sms, voice, slack, teams, webhook: see tocsin.services.contacts.
    kind: Mapped[str] = mapped_column(String(20))
    # Long enough for a Teams workflow URL, which carries its signature.
    address: Mapped[str] = mapped_column(String(1000))
    label: Mapped[str] = mapped_column(String(100), default="")
    # The whsec_ secret a webhook contact's pages are signed with (Standard
    # Webhooks); empty for other kinds.
    signing_secret: Mapped[str] = mapped_column(String(100), default="")
    # Throttling (tocsin.services.paging): pages sent in the window that began
    # at throttle_started_at, and pages folded into one later summary.
    throttle_started_at: Mapped[datetime | None]
    throttle_sent: Mapped[int] = mapped_column(default=0)
    throttle_folded: Mapped[int] = mapped_column(default=0)

    user: Mapped[User] = relationship(back_populates="contact_methods")


class Team(CreatedAt, Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)

    members: Mapped[list[TeamMember]] = relationship(back_populates="team")


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )

    team: Mapped[Team] = relationship(back_populates="members")
    user: Mapped[User] = relationship(back_populates="memberships")


class ApiToken(CreatedAt, Base):
    """A bearer token. Only its SHA-256 is kept; the secret is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class WebSession(CreatedAt, Base):
    """A browser login. Kept in the database so it can be revoked."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
