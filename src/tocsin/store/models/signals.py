"""Signals Tocsin watches for itself: inbound mail, heartbeats, HTTP checks and
change events.

Heartbeats, HTTP checks and alert mail addresses each own an integration of
their own kind ("heartbeat", "http_check", "email"), so the alerts they raise
go through the same intake as every monitoring tool's: deduplicated by key,
grouped, paged and resolved the same way. That integration's key is random and
never shown; no endpoint takes those kinds.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tocsin.store.models.base import Base, CreatedAt
from tocsin.store.models.services import Integration, Service


class MailAddress(CreatedAt, Base):
    """A local part Tocsin accepts mail for, and what such mail becomes."""

    __tablename__ = "mail_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Lower case; compared without the domain (see TOCSIN_INBOUND_MAIL_DOMAIN).
    local_part: Mapped[str] = mapped_column(String(64), unique=True)
    # alert | report | reply
    purpose: Mapped[str] = mapped_column(String(10))
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE")
    )
    # The integration alerts from this address belong to (alert addresses).
    integration_id: Mapped[int | None] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE")
    )

    service: Mapped[Service | None] = relationship()
    integration: Mapped[Integration | None] = relationship()


class InboundMail(Base):
    """One mail received on one address, and what Tocsin made of it.

    Kept so that a redelivered message (same Message-ID) changes nothing, and so
    that a reply to it threads into the incident it opened."""

    __tablename__ = "inbound_mails"
    __table_args__ = (UniqueConstraint("address_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address_id: Mapped[int] = mapped_column(
        ForeignKey("mail_addresses.id", ondelete="CASCADE")
    )
    # As sent, without angle brackets; a digest when longer than the column.
    message_id: Mapped[str] = mapped_column(String(255), index=True)
    received_at: Mapped[datetime]
    sender: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(500), default="")
    # alert | resolved | note | report | ignored | unthreaded
    outcome: Mapped[str] = mapped_column(String(20))
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), index=True
    )
    report_id: Mapped[int | None]


class Heartbeat(CreatedAt, Base):
    """A job that promises to ping every `interval_seconds`; silence past the
    interval and the grace raises an alert on the service."""

    __tablename__ = "heartbeats"
    __table_args__ = (UniqueConstraint("service_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE")
    )
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    # SHA-256 of the secret in the ping URL; the secret itself is not kept.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(16))
    interval_seconds: Mapped[int]
    grace_seconds: Mapped[int]
    # waiting (no ping yet) | up | down
    status: Mapped[str] = mapped_column(String(10), default="waiting")
    last_ping_at: Mapped[datetime | None]
    # When silence becomes an alert: the last ping (or creation) plus interval
    # and grace.
    expires_at: Mapped[datetime]

    service: Mapped[Service] = relationship()


class HttpCheck(CreatedAt, Base):
    """A URL the worker requests every `interval_seconds`."""

    __tablename__ = "http_checks"
    __table_args__ = (UniqueConstraint("service_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE")
    )
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000))
    method: Mapped[str] = mapped_column(String(10), default="GET")
    expected_status: Mapped[int] = mapped_column(default=200)
    interval_seconds: Mapped[int]
    timeout_seconds: Mapped[int]
    # A slower answer counts as a failure; None: any latency within the timeout.
    latency_threshold_ms: Mapped[int | None]
    failures_before_alert: Mapped[int] = mapped_column(default=1)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    # pending (never run) | up | down (alerting)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    last_checked_at: Mapped[datetime | None]

    service: Mapped[Service] = relationship()


class HttpCheckResult(Base):
    """One run of a check; the most recent few are kept for display."""

    __tablename__ = "http_check_results"
    __table_args__ = (Index("ix_http_check_results_check_at", "check_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    check_id: Mapped[int] = mapped_column(
        ForeignKey("http_checks.id", ondelete="CASCADE")
    )
    at: Mapped[datetime]
    ok: Mapped[bool]
    status_code: Mapped[int | None]
    latency_ms: Mapped[int | None]
    error: Mapped[str] = mapped_column(String(500), default="")


class ChangeEvent(CreatedAt, Base):
    """A deploy, configuration change or feature flag flip on a service."""

    __tablename__ = "change_events"
    __table_args__ = (Index("ix_change_events_service_at", "service_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE")
    )
    # deploy | config | feature_flag
    kind: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(String(500))
    link: Mapped[str] = mapped_column(String(2000), default="")
    version: Mapped[str] = mapped_column(String(200), default="")
    # When the change happened (the sender says), not when Tocsin heard of it.
    at: Mapped[datetime]
    # Who told Tocsin: a user's email or an integration's name.
    source: Mapped[str] = mapped_column(String(200), default="")

    service: Mapped[Service] = relationship()
