"""Running an incident's escalation policy: page a step, schedule the next."""

from __future__ import annotations

import logging

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tocsin.domain import escalation as rules
from tocsin.domain.incidents import IncidentStatus
from tocsin.services.context import Context
from tocsin.services.paging import page_user
from tocsin.services.records import add_timeline
from tocsin.store.models import (
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    Incident,
    Timer,
    User,
)

log = logging.getLogger(__name__)

ESCALATE = "escalate"


def load_plan(session: Session, policy_id: int | None) -> rules.PolicyPlan | None:
    """The policy as plain rules, read in one query (this is on the intake path)."""
    if policy_id is None:
        return None

    rows = session.execute(
        select(
            EscalationPolicy.repeat,
            EscalationStep.position,
            EscalationStep.delay_minutes,
            EscalationTarget.target_type,
            EscalationTarget.user_id,
        )
        .select_from(EscalationPolicy)
        .outerjoin(EscalationStep, EscalationStep.policy_id == EscalationPolicy.id)
        .outerjoin(EscalationTarget, EscalationTarget.step_id == EscalationStep.id)
        .where(EscalationPolicy.id == policy_id)
        .order_by(EscalationStep.position, EscalationTarget.id)
    ).all()
    if not rows:
        return None

    delays: dict[int, int] = {}
    targets: dict[int, list[int]] = {}
    for row in rows:
        if row.position is None:
            continue
        delays[row.position] = row.delay_minutes
        users = targets.setdefault(row.position, [])
        if row.target_type == "user" and row.user_id is not None:
            users.append(row.user_id)

    steps = tuple(
        rules.StepPlan(delay_minutes=delays[p], target_user_ids=tuple(targets[p]))
        for p in sorted(delays)
    )
    return rules.PolicyPlan(steps=steps, repeat=rows[0].repeat)


def start(session: Session, ctx: Context, incident: Incident) -> None:
    """Page the first step of the incident's policy and schedule the second.

    The incident must carry its policy (`escalation_policy_id`) already."""
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
    with session.no_autoflush:
        # Without autoflush the timeline, pages and timer go out as a few batched
        # INSERTs at commit instead of one flush before every query.
        _page_unflushed(session, ctx, incident, plan, position)


def _page_unflushed(
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
