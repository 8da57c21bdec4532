"""Services, their intake integrations, and escalation policies."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tocsin.store.models.base import Base, CreatedAt
from tocsin.store.models.people import Team, User

if TYPE_CHECKING:
    from tocsin.store.models.schedules import Schedule


class EscalationPolicy(CreatedAt, Base):
    __tablename__ = "escalation_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    # How many more times the whole policy runs after its first pass.
    repeat: Mapped[int] = mapped_column(default=0)
    # Minutes an acknowledgement holds before the incident triggers again and
    # the policy restarts; None: an acknowledgement holds until resolved.
    ack_timeout_minutes: Mapped[int | None]

    steps: Mapped[list[EscalationStep]] = relationship(
        back_populates="policy",
        order_by="EscalationStep.position",
        cascade="all, delete-orphan",
    )


class EscalationStep(Base):
    __tablename__ = "escalation_steps"
    __table_args__ = (UniqueConstraint("policy_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(
        ForeignKey("escalation_policies.id", ondelete="CASCADE")
    )
    position: Mapped[int]
    # Minutes to wait for an acknowledgement before the next step pages.
    delay_minutes: Mapped[int] = mapped_column(default=5)
    # Page one target per firing, each in turn, instead of all of them.
    round_robin: Mapped[bool] = mapped_column(default=False)
    # How many times the step has fired in round-robin: the next turn.
    round_robin_turn: Mapped[int] = mapped_column(default=0)

    policy: Mapped[EscalationPolicy] = relationship(back_populates="steps")
    targets: Mapped[list[EscalationTarget]] = relationship(
        back_populates="step",
        order_by="EscalationTarget.id",
        cascade="all, delete-orphan",
    )


class EscalationTarget(Base):
    """Who a step pages: a user, whoever is on call in a schedule when the step
    fires, or the members of a team. `target_type` says which id is set."""

    __tablename__ = "escalation_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[int] = mapped_column(
        ForeignKey("escalation_steps.id", ondelete="CASCADE")
    )
    # user | schedule | team
    target_type: Mapped[str] = mapped_column(String(20), default="user")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("schedules.id", ondelete="CASCADE")
    )
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE")
    )

    step: Mapped[EscalationStep] = relationship(back_populates="targets")
    user: Mapped[User | None] = relationship()
    schedule: Mapped[Schedule | None] = relationship()
    team: Mapped[Team | None] = relationship()


class Service(CreatedAt, Base):
    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(String(2000), default="")
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    escalation_policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("escalation_policies.id")
    )
    # Resolve an incident when the last of its alerts resolves.
    auto_resolve: Mapped[bool] = mapped_column(default=True)

    team: Mapped[Team | None] = relationship()
    escalation_policy: Mapped[EscalationPolicy | None] = relationship()
    integrations: Mapped[list[Integration]] = relationship(back_populates="service")


class Integration(CreatedAt, Base):
    """An intake for one service. The ingest key is kept only as a SHA-256."""

    __tablename__ = "integrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    # alertmanager | events_v2 | grafana | generic
    kind: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(default=False)

    service: Mapped[Service] = relationship(back_populates="integrations")
