"""status page

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tocsin.store.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(
        name, tocsin.store.types.UTCDateTime(timezone=True), nullable=nullable
    )


def upgrade() -> None:
    op.create_table(
        "status_component_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_component_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_status_component_groups_name")),
    )
    op.create_table(
        "status_components",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("manual_state", sa.String(length=20), nullable=True),
        _when("updated_at"),
        _when("created_at"),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["status_component_groups.id"],
            name=op.f("fk_status_components_group_id_status_component_groups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_status_components_service_id_services"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_components")),
        sa.UniqueConstraint("name", name=op.f("uq_status_components_name")),
    )
    op.create_table(
        "status_component_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("component_id", sa.Integer(), nullable=False),
        _when("at"),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["status_components.id"],
            name=op.f("fk_status_component_changes_component_id_status_components"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_component_changes")),
    )
    with op.batch_alter_table("status_component_changes") as batch_op:
        batch_op.create_index(
            "ix_status_component_changes_component_at", ["component_id", "at"]
        )

    op.create_table(
        "status_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("impact", sa.String(length=20), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        _when("updated_at"),
        _when("resolved_at", nullable=True),
        _when("created_at"),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_status_incidents_incident_id_incidents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_incidents")),
        sa.UniqueConstraint(
            "incident_id", name=op.f("uq_status_incidents_incident_id")
        ),
    )
    with op.batch_alter_table("status_incidents") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_status_incidents_resolved_at"), ["resolved_at"]
        )

    op.create_table(
        "status_incident_components",
        sa.Column("status_incident_id", sa.Integer(), nullable=False),
        sa.Column("component_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["status_components.id"],
            name=op.f("fk_status_incident_components_component_id_status_components"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["status_incident_id"],
            ["status_incidents.id"],
            name=op.f(
                "fk_status_incident_components_status_incident_id_status_incidents"
            ),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "status_incident_id",
            "component_id",
            name=op.f("pk_status_incident_components"),
        ),
    )
    op.create_table(
        "status_incident_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status_incident_id", sa.Integer(), nullable=False),
        _when("at"),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["status_incident_id"],
            ["status_incidents.id"],
            name=op.f("fk_status_incident_updates_status_incident_id_status_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_incident_updates")),
    )
    with op.batch_alter_table("status_incident_updates") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_status_incident_updates_status_incident_id"),
            ["status_incident_id"],
        )

    op.create_table(
        "status_maintenances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        _when("starts_at"),
        _when("ends_at"),
        _when("cancelled_at", nullable=True),
        _when("updated_at"),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_maintenances")),
    )
    with op.batch_alter_table("status_maintenances") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_status_maintenances_starts_at"), ["starts_at"]
        )

    op.create_table(
        "status_maintenance_components",
        sa.Column("maintenance_id", sa.Integer(), nullable=False),
        sa.Column("component_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["status_components.id"],
            name=op.f(
                "fk_status_maintenance_components_component_id_status_components"
            ),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["maintenance_id"],
            ["status_maintenances.id"],
            name=op.f(
                "fk_status_maintenance_components_maintenance_id_status_maintenances"
            ),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "maintenance_id",
            "component_id",
            name=op.f("pk_status_maintenance_components"),
        ),
    )
    op.create_table(
        "status_subscribers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        _when("confirmation_sent_at"),
        _when("confirmed_at", nullable=True),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_subscribers")),
        sa.UniqueConstraint("email", name=op.f("uq_status_subscribers_email")),
    )
    op.create_table(
        "status_subscribe_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        _when("at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_subscribe_attempts")),
    )
    with op.batch_alter_table("status_subscribe_attempts") as batch_op:
        batch_op.create_index(batch_op.f("ix_status_subscribe_attempts_at"), ["at"])
        batch_op.create_index(
            "ix_status_subscribe_attempts_client_at", ["client", "at"]
        )


def downgrade() -> None:
    op.drop_table("status_subscribe_attempts")
    op.drop_table("status_subscribers")
    op.drop_table("status_maintenance_components")
    op.drop_table("status_maintenances")
    op.drop_table("status_incident_updates")
    op.drop_table("status_incident_components")
    op.drop_table("status_incidents")
    op.drop_table("status_component_changes")
    op.drop_table("status_components")
    op.drop_table("status_component_groups")
