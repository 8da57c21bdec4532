"""postmortems: templates, postmortems and their incidents, reviewers,
comments, action items, and participants' feedback

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tocsin.store.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "postmortem_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "sections",
            sa.JSON().with_variant(
                postgresql.JSONB(astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column(
            "updated_at", tocsin.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "created_at", tocsin.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postmortem_templates")),
        sa.UniqueConstraint("name", name=op.f("uq_postmortem_templates_name")),
    )
    op.create_table(
        "postmortems",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("template_name", sa.String(length=100), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column(
            "sections",
            sa.JSON().with_variant(
                postgresql.JSONB(astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column(
            "five_whys",
            sa.JSON().with_variant(
                postgresql.JSONB(astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column(
            "due_at", tocsin.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "reminded_at", tocsin.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_label", sa.String(length=200), nullable=False),
        sa.Column(
            "updated_at", tocsin.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "submitted_at", tocsin.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "published_at", tocsin.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "created_at", tocsin.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_postmortems_created_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_postmortems_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postmortems")),
    )
    op.create_table(
        "action_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("postmortem_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column(
            "due_at", tocsin.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("tracker_url", sa.String(length=2000), nullable=True),
        sa.Column("runbook_id", sa.Integer(), nullable=True),
        sa.Column(
            "runbook_seen_at",
            tocsin.store.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "reminded_at", tocsin.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("created_by_label", sa.String(length=200), nullable=False),
        sa.Column(
            "updated_at", tocsin.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "closed_at", tocsin.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "created_at", tocsin.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_action_items_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["postmortem_id"],
            ["postmortems.id"],
            name=op.f("fk_action_items_postmortem_id_postmortems"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["runbook_id"],
            ["runbooks.id"],
            name=op.f("fk_action_items_runbook_id_runbooks"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_items")),
    )
    op.create_index(
        op.f("ix_action_items_postmortem_id"),
        "action_items",
        ["postmortem_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_action_items_runbook_id"), "action_items", ["runbook_id"], unique=False
    )
    op.create_index(
        op.f("ix_action_items_status"), "action_items", ["status"], unique=False
    )
    op.create_table(
        "postmortem_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("postmortem_id", sa.Integer(), nullable=False),
        sa.Column("author_user_id", sa.Integer(), nullable=True),
        sa.Column("author_label", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "created_at", tocsin.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["users.id"],
            name=op.f("fk_postmortem_comments_author_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["postmortem_id"],
            ["postmortems.id"],
            name=op.f("fk_postmortem_comments_postmortem_id_postmortems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postmortem_comments")),
    )
    op.create_index(
        op.f("ix_postmortem_comments_postmortem_id"),
        "postmortem_comments",
        ["postmortem_id"],
        unique=False,
    )
    op.create_table(
        "postmortem_reviewers",
        sa.Column("postmortem_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "added_at", tocsin.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "approved_at", tocsin.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["postmortem_id"],
            ["postmortems.id"],
            name=op.f("fk_postmortem_reviewers_postmortem_id_postmortems"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_postmortem_reviewers_user_id_users"),
        ),
        sa.PrimaryKeyConstraint(
            "postmortem_id", "user_id", name=op.f("pk_postmortem_reviewers")
        ),
    )
    op.create_table(
        "feedback_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("respondent", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("went_well", sa.Text(), nullable=False),
        sa.Column("hindered", sa.Text(), nullable=False),
        sa.Column("rating_overall", sa.Integer(), nullable=False),
        sa.Column("rating_tools", sa.Integer(), nullable=False),
        sa.Column("rating_communication", sa.Integer(), nullable=False),
        sa.Column(
            "answered_at", tocsin.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_feedback_answers_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_feedback_answers_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_answers")),
        sa.UniqueConstraint(
            "incident_id", "respondent", name=op.f("uq_feedback_answers_incident_id")
        ),
    )
    op.create_index(
        op.f("ix_feedback_answers_incident_id"),
        "feedback_answers",
        ["incident_id"],
        unique=False,
    )
    op.create_table(
        "postmortem_incidents",
        sa.Column("postmortem_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_postmortem_incidents_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["postmortem_id"],
            ["postmortems.id"],
            name=op.f("fk_postmortem_incidents_postmortem_id_postmortems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "postmortem_id", "incident_id", name=op.f("pk_postmortem_incidents")
        ),
        sa.UniqueConstraint(
            "incident_id", name=op.f("uq_postmortem_incidents_incident_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("postmortem_incidents")
    op.drop_index(
        op.f("ix_feedback_answers_incident_id"), table_name="feedback_answers"
    )
    op.drop_table("feedback_answers")
    op.drop_table("postmortem_reviewers")
    op.drop_index(
        op.f("ix_postmortem_comments_postmortem_id"), table_name="postmortem_comments"
    )
    op.drop_table("postmortem_comments")
    op.drop_index(op.f("ix_action_items_status"), table_name="action_items")
    op.drop_index(op.f("ix_action_items_runbook_id"), table_name="action_items")
    op.drop_index(op.f("ix_action_items_postmortem_id"), table_name="action_items")
    op.drop_table("action_items")
    op.drop_table("postmortems")
    op.drop_table("postmortem_templates")
