"""user deactivation: when a user was deactivated, so schedules keep their past

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05

Users deactivated before this migration get the instant of their latest
`user.deactivate` audit record. Where the audit log has none, the stamp stays
empty and schedules count the user as nobody at every instant, which is what
they showed before this migration (see docs/schedules.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tocsin.store.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "deactivated_at",
                tocsin.store.types.UTCDateTime(timezone=True),
                nullable=True,
            )
        )

    # Plain SQL tables: the models may have moved on by the time this runs.
    # The audit column is copied as stored, so no backend converts it.
    users = sa.table(
        "users",
        sa.column("id", sa.Integer),
        sa.column("active", sa.Boolean),
        sa.column("deactivated_at"),
    )
    audit = sa.table(
        "audit_records",
        sa.column("at"),
        sa.column("action", sa.String),
        sa.column("object_type", sa.String),
        sa.column("object_id", sa.Integer),
    )
    latest = (
        sa.select(sa.func.max(audit.c.at))
        .where(
            audit.c.action == "user.deactivate",
            audit.c.object_type == "user",
            audit.c.object_id == users.c.id,
        )
        .scalar_subquery()
    )
    op.execute(
        users.update().where(users.c.active.is_(False)).values(deactivated_at=latest)
    )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("deactivated_at")
