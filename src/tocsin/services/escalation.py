"""Running an incident's escalation policy: page a step, schedule the next."""

from __future__ import annotations

import logging

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from tocsin.domain import escalation as rules
from tocsin.domain.incidents import IncidentStatus
from tocsin.services.context import Context
from tocsin.services.paging import page_user
from tocsin.services.records import add_timeline
from tocsin.store.models import (
    EscalationPolicy,
    EscalationStep,
    Incident,
    Timer,
    User,
)

log = logging.getLogger(__name__)

ESCALATE = "escalate"


def load_plan(session: Session, policy_id: int | None) -> rules.PolicyPlan | None:
    if policy_id is None:
        return None

    policy = session.scalar(
        select(EscalationPolicy)
        .where(EscalationPolicy.id == policy_id)
        .options(
            selectinload(EscalationPolicy.steps).selectinload(EscalationStep.targets)
        )
    )
    if policy is None:
        return None

    steps = tuple(
        rules.StepPlan(
            delay_minutes=step.delay_minutes,
            target_user_ids=tuple(
                target.user_id
                for target in step.targets
                if target.target_type == "user" and target.user_id is not None
            ),
        )
        for step in policy.steps
    )
    return rules.PolicyPlan(steps=steps, repeat=policy.repeat)


def start(session: Session, ctx: Context, incident: Incident) -> None:
    """Page the first step of the incident's policy and schedule the second."""
    incident.escalation_policy_id = incident.service.escalation_policy_id
    plan = load_plan(session, incident.escalation_policy_id)
    if plan is None or not plan.steps:
        add_timeline(
            session,
            incident,
            at=ctx.clock.now(),
            kind="escalation_missing",
            message="The service has no escalation policy with steps: nobody paged",
        )
        return

    _page_position(session, ctx, incident, plan, rules.Position(0, 0))


def fire(session: Session, ctx: Context, incident: Incident, timer: Timer) -> None:
    """Carry out a due escalation timer. Stale timers change nothing."""
    if incident.status != IncidentStatus.TRIGGERED:
        return

    plan = load_plan(session, incident.escalation_policy_id)
    if plan is None:
        return

    current = rules.Position(incident.escalation_step, incident.escalation_loop)
    wanted = rules.Position(int(timer.payload["step"]), int(timer.payload["loop"]))
    if rules.following(plan, current) != wanted:
        # A reassignment or an edit moved the incident on since this was set.
        log.info("stale escalation timer", extra={"timer_id": timer.id})
        return

    _page_position(session, ctx, incident, plan, wanted)


def stop(session: Session, incident: Incident) -> None:
    """Cancel pending escalation steps (acknowledged or resolved)."""
    session.execute(
        delete(Timer).where(Timer.incident_id == incident.id, Timer.kind == ESCALATE)
    )


def _page_position(
    session: Session,
    ctx: Context,
    incident: Incident,
    plan: rules.PolicyPlan,
    position: rules.Position,
) -> None:
    now = ctx.clock.now()
    incident.escalation_step = position.step
    incident.escalation_loop = position.loop
    label = rules.describe(position, plan)

    users = _step_users(session, plan.steps[position.step])
    names = ", ".join(user.name for user in users) or "nobody"
    add_timeline(
        session,
        incident,
        at=now,
        kind="escalated",
        message=f"Escalation {label}: paging {names}",
        step=position.step,
        loop=position.loop,
    )
    for user in users:
        if page_user(session, ctx, incident, user, reason=f"escalation {label}"):
            add_timeline(
                session,
                incident,
                at=now,
                kind="paged",
                message=f"Paged {user.name}",
                user_id=user.id,
            )

    following = rules.following(plan, position)
    if following is None:
        add_timeline(
            session,
            incident,
            at=now,
            kind="escalation_exhausted",
            message="Escalation policy exhausted; waiting for an acknowledgement",
        )
        return

    session.add(
        Timer(
            kind=ESCALATE,
            due_at=rules.next_due(plan, position, now),
            incident_id=incident.id,
            payload={"step": following.step, "loop": following.loop},
            created_at=now,
        )
    )
    ctx.work_queued.set()


def _step_users(session: Session, step: rules.StepPlan) -> list[User]:
    if not step.target_user_ids:
        return []
    users = session.scalars(select(User).where(User.id.in_(step.target_user_ids))).all()
    by_id = {user.id: user for user in users}
    return [by_id[i] for i in step.target_user_ids if i in by_id]
