"""channels: notification rules, longer contact addresses, webhook secrets,
per-contact throttling

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tocsin.store.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = tocsin.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("contact_methods") as batch:
        batch.alter_column(
            "address",
            existing_type=sa.String(length=320),
            type_=sa.String(length=1000),
            existing_nullable=False,
        )
        batch.add_column(
            sa.Column(
                "signing_secret",
                sa.String(length=100),
                nullable=False,
                server_default="",
            )
        )
        batch.add_column(sa.Column("throttle_started_at", _UTC, nullable=True))
        batch.add_column(
            sa.Column("throttle_sent", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column(
                "throttle_folded", sa.Integer(), nullable=False, server_default="0"
            )
        )
    # The defaults only filled existing rows; the models set every value.
    with op.batch_alter_table("contact_methods") as batch:
        batch.alter_column("signing_secret", server_default=None)
        batch.alter_column("throttle_sent", server_default=None)
        batch.alter_column("throttle_folded", server_default=None)

    op.create_table(
        "notification_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("contact_method_id", sa.Integer(), nullable=False),
        sa.Column("delay_minutes", sa.Integer(), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_rules_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_method_id"],
            ["contact_methods.id"],
            name=op.f("fk_notification_rules_contact_method_id_contact_methods"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_rules")),
        sa.UniqueConstraint(
            "contact_method_id",
            "delay_minutes",
            name=op.f("uq_notification_rules_contact_method_id"),
        ),
    )
    op.create_index(
        op.f("ix_notification_rules_user_id"), "notification_rules", ["user_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_notification_rules_user_id"), "notification_rules")
    op.drop_table("notification_rules")
    with op.batch_alter_table("contact_methods") as batch:
        batch.drop_column("throttle_folded")
        batch.drop_column("throttle_sent")
        batch.drop_column("throttle_started_at")
        batch.drop_column("signing_secret")
        batch.alter_column(
            "address",
            existing_type=sa.String(length=1000),
            type_=sa.String(length=320),
            existing_nullable=False,
        )
