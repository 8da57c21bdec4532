"""triage

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

Scales (severity, impact, urgency, priority) and the priority matrix, seeded
with the defaults of tocsin.domain.triage; incident types; reports; triage
owners; declaration triggers; and the triage columns of incidents.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tocsin.store.types
from tocsin.domain.triage import DEFAULT_MATRIX, DEFAULT_SCALES

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(
        name, tocsin.store.types.UTCDateTime(timezone=True), nullable=nullable
    )


def upgrade() -> None:
    levels = op.create_table(
        "triage_levels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scale", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("examples", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_levels")),
        sa.UniqueConstraint("scale", "key", name=op.f("uq_triage_levels_scale")),
    )
    matrix = op.create_table(
        "priority_matrix",
        sa.Column("impact", sa.String(length=10), nullable=False),
        sa.Column("urgency", sa.String(length=10), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("impact", "urgency", name=op.f("pk_priority_matrix")),
    )
    op.create_table(
        "incident_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("default_severity", sa.String(length=10), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_types")),
        sa.UniqueConstraint("key", name=op.f("uq_incident_types_key")),
        sa.UniqueConstraint("name", name=op.f("uq_incident_types_name")),
    )
    op.create_table(
        "incident_services",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_services_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_incident_services_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "incident_id", "service_id", name=op.f("pk_incident_services")
        ),
    )
    with op.batch_alter_table("incident_services", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_services_service_id"), ["service_id"], unique=False
        )

    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("reporter_user_id", sa.Integer(), nullable=True),
        sa.Column("reporter_name", sa.String(length=200), nullable=False),
        sa.Column("reporter_email", sa.String(length=320), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("details", _JSON, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        _when("triaged_at", nullable=True),
        sa.Column("triaged_by_id", sa.Integer(), nullable=True),
        sa.Column("triaged_by_label", sa.String(length=200), nullable=False),
        sa.Column("triage_reason", sa.Text(), nullable=False),
        _when("owner_notified_at", nullable=True),
        _when("created_at"),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_reports_incident_id_incidents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reporter_user_id"],
            ["users.id"],
            name=op.f("fk_reports_reporter_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_reports_service_id_services"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["triaged_by_id"],
            ["users.id"],
            name=op.f("fk_reports_triaged_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reports_status_created", ["status", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_reports_client_created", ["client_key", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_reports_service_id"), ["service_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_reports_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "triage_owners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        _when("created_at"),
        sa.CheckConstraint(
            "service_id IS NULL OR team_id IS NULL",
            name=op.f("ck_triage_owners_one_scope"),
        ),
        sa.CheckConstraint(
            "(schedule_id IS NULL) <> (user_id IS NULL)",
            name=op.f("ck_triage_owners_one_owner"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_triage_owners_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_triage_owners_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_triage_owners_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_owners")),
        sa.UniqueConstraint("service_id", name=op.f("uq_triage_owners_service_id")),
        sa.UniqueConstraint("team_id", name=op.f("uq_triage_owners_team_id")),
    )
    op.create_table(
        "declaration_triggers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("matchers", _JSON, nullable=False),
        sa.Column("min_alert_severity", sa.String(length=20), nullable=False),
        sa.Column("alert_count", sa.Integer(), nullable=False),
        sa.Column("window_minutes", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("incident_type_id", sa.Integer(), nullable=True),
        _when("updated_at"),
        _when("created_at"),
        sa.ForeignKeyConstraint(
            ["incident_type_id"],
            ["incident_types.id"],
            name=op.f("fk_declaration_triggers_incident_type_id_incident_types"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_declaration_triggers_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_declaration_triggers")),
        sa.UniqueConstraint("name", name=op.f("uq_declaration_triggers_name")),
    )

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("impact", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("urgency", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("incident_type_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("stage", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("customers_affected", sa.Integer(), nullable=True)
        )
        for flag in (
            "customers_affected_estimated",
            "impact_financial",
            "impact_reputational",
            "impact_legal",
            "declared",
        ):
            batch_op.add_column(
                sa.Column(flag, sa.Boolean(), server_default=sa.false(), nullable=False)
            )
        batch_op.add_column(
            sa.Column("business_impact", sa.Text(), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("declared_reason", sa.Text(), server_default="", nullable=False)
        )
        batch_op.add_column(_when("declared_at", nullable=True))
        batch_op.add_column(sa.Column("declared_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "declared_by_label",
                sa.String(length=200),
                server_default="",
                nullable=False,
            )
        )
        batch_op.add_column(_when("identified_at", nullable=True))
        batch_op.add_column(_when("monitoring_at", nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_incidents_incident_type_id_incident_types"),
            "incident_types",
            ["incident_type_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_incidents_declared_by_id_users"),
            "users",
            ["declared_by_id"],
            ["id"],
        )

    op.bulk_insert(
        levels,
        [
            {
                "scale": scale.value,
                "key": level.key,
                "name": level.name,
                "rank": level.rank,
                "description": level.description,
                "examples": level.examples,
            }
            for scale, scale_levels in DEFAULT_SCALES.items()
            for level in scale_levels
        ],
    )
    op.bulk_insert(
        matrix,
        [
            {"impact": impact, "urgency": urgency, "priority": priority}
            for (impact, urgency), priority in DEFAULT_MATRIX.items()
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_incidents_declared_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_incidents_incident_type_id_incident_types"),
            type_="foreignkey",
        )
        for column in (
            "monitoring_at",
            "identified_at",
            "declared_by_label",
            "declared_by_id",
            "declared_at",
            "declared_reason",
            "business_impact",
            "declared",
            "impact_legal",
            "impact_reputational",
            "impact_financial",
            "customers_affected_estimated",
            "customers_affected",
            "stage",
            "incident_type_id",
            "urgency",
            "impact",
            "priority",
        ):
            batch_op.drop_column(column)

    op.drop_table("declaration_triggers")
    op.drop_table("triage_owners")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reports_incident_id"))
        batch_op.drop_index(batch_op.f("ix_reports_service_id"))
        batch_op.drop_index("ix_reports_client_created")
        batch_op.drop_index("ix_reports_status_created")
    op.drop_table("reports")
    with op.batch_alter_table("incident_services", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_services_service_id"))
    op.drop_table("incident_services")
    op.drop_table("incident_types")
    op.drop_table("priority_matrix")
    op.drop_table("triage_levels")
