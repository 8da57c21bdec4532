"""escalation: schedule and team targets, round-robin, acknowledgement
timeouts, maintenance windows

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tocsin.store.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = tocsin.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("escalation_policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ack_timeout_minutes", sa.Integer()))

    with op.batch_alter_table("escalation_steps", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "round_robin", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column(
                "round_robin_turn", sa.Integer(), nullable=False, server_default="0"
            )
        )
    # The defaults filled existing rows; the models give every new row its own.
    with op.batch_alter_table("escalation_steps", schema=None) as batch_op:
        batch_op.alter_column("round_robin", server_default=None)
        batch_op.alter_column("round_robin_turn", server_default=None)

    with op.batch_alter_table("escalation_targets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("schedule_id", sa.Integer()))
        batch_op.add_column(sa.Column("team_id", sa.Integer()))
        batch_op.create_foreign_key(
            batch_op.f("fk_escalation_targets_schedule_id_schedules"),
            "schedules",
            ["schedule_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_escalation_targets_team_id_teams"),
            "teams",
            ["team_id"],
            ["id"],
            ondelete="CASCADE",
        )

    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("starts_at", _UTC, nullable=False),
        sa.Column("ends_at", _UTC, nullable=False),
        sa.Column("recurrence", sa.String(length=10), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("repeat_until", _UTC, nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_maintenance_windows_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_maintenance_windows_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_windows")),
    )
    with op.batch_alter_table("maintenance_windows", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_maintenance_windows_service_id"),
            ["service_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("maintenance_windows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_maintenance_windows_service_id"))
    op.drop_table("maintenance_windows")

    with op.batch_alter_table("escalation_targets", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_escalation_targets_team_id_teams"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_escalation_targets_schedule_id_schedules"),
            type_="foreignkey",
        )
        batch_op.drop_column("team_id")
        batch_op.drop_column("schedule_id")

    with op.batch_alter_table("escalation_steps", schema=None) as batch_op:
        batch_op.drop_column("round_robin_turn")
        batch_op.drop_column("round_robin")

    with op.batch_alter_table("escalation_policies", schema=None) as batch_op:
        batch_op.drop_column("ack_timeout_minutes")
