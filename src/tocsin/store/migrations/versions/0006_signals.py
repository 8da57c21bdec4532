"""signals: inbound mail, heartbeats, HTTP checks, change events

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tocsin.store.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(
        name, tocsin.store.types.UTCDateTime(timezone=True), nullable=nullable
    )


def _fk(column: str, table: str, source: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{table}.id"],
        name=op.f(f"fk_{source}_{column}_{table}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "mail_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("local_part", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("integration_id", sa.Integer(), nullable=True),
        _utc("created_at"),
        _fk("service_id", "services", "mail_addresses", "CASCADE"),
        _fk("integration_id", "integrations", "mail_addresses", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_addresses")),
        sa.UniqueConstraint("local_part", name=op.f("uq_mail_addresses_local_part")),
    )
    op.create_table(
        "inbound_mails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        _utc("received_at"),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        _fk("address_id", "mail_addresses", "inbound_mails", "CASCADE"),
        _fk("incident_id", "incidents", "inbound_mails", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_mails")),
        sa.UniqueConstraint(
            "address_id", "message_id", name=op.f("uq_inbound_mails_address_id")
        ),
    )
    with op.batch_alter_table("inbound_mails", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbound_mails_message_id"), ["message_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inbound_mails_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "heartbeats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("token_prefix", sa.String(length=16), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("grace_seconds", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        _utc("last_ping_at", nullable=True),
        _utc("expires_at"),
        _utc("created_at"),
        _fk("service_id", "services", "heartbeats", "CASCADE"),
        _fk("integration_id", "integrations", "heartbeats", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_heartbeats")),
        sa.UniqueConstraint(
            "service_id", "name", name=op.f("uq_heartbeats_service_id")
        ),
        sa.UniqueConstraint("token_hash", name=op.f("uq_heartbeats_token_hash")),
    )
    op.create_table(
        "http_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("expected_status", sa.Integer(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("timeout_seconds", sa.Integer(), nullable=False),
        sa.Column("latency_threshold_ms", sa.Integer(), nullable=True),
        sa.Column("failures_before_alert", sa.Integer(), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        _utc("last_checked_at", nullable=True),
        _utc("created_at"),
        _fk("service_id", "services", "http_checks", "CASCADE"),
        _fk("integration_id", "integrations", "http_checks", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_http_checks")),
        sa.UniqueConstraint(
            "service_id", "name", name=op.f("uq_http_checks_service_id")
        ),
    )
    op.create_table(
        "http_check_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_id", sa.Integer(), nullable=False),
        _utc("at"),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=False),
        _fk("check_id", "http_checks", "http_check_results", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_http_check_results")),
    )
    with op.batch_alter_table("http_check_results", schema=None) as batch_op:
        batch_op.create_index(
            "ix_http_check_results_check_at", ["check_id", "at"], unique=False
        )

    op.create_table(
        "change_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("link", sa.String(length=2000), nullable=False),
        sa.Column("version", sa.String(length=200), nullable=False),
        _utc("at"),
        sa.Column("source", sa.String(length=200), nullable=False),
        _utc("created_at"),
        _fk("service_id", "services", "change_events", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_events")),
    )
    with op.batch_alter_table("change_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_change_events_service_at", ["service_id", "at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("change_events", schema=None) as batch_op:
        batch_op.drop_index("ix_change_events_service_at")
    op.drop_table("change_events")

    with op.batch_alter_table("http_check_results", schema=None) as batch_op:
        batch_op.drop_index("ix_http_check_results_check_at")
    op.drop_table("http_check_results")
    op.drop_table("http_checks")
    op.drop_table("heartbeats")

    with op.batch_alter_table("inbound_mails", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_mails_incident_id"))
        batch_op.drop_index(batch_op.f("ix_inbound_mails_message_id"))
    op.drop_table("inbound_mails")
    op.drop_table("mail_addresses")
