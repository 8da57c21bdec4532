"""Running an incident's escalation policy: page a step, schedule the next."""

from __future__ import annotations

import logging

from sqlalchemy import Select, bindparam, delete, insert, select
from sqlalchemy.orm import Session

from tocsin.domain import escalation as rules
from tocsin.domain.incidents import IncidentStatus
from tocsin.services.context import Context
from tocsin.services.paging import IncidentBrief, page, recipients
from tocsin.services.records import add_timeline
from tocsin.store.db import table_of
from tocsin.store.models import (
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    Incident,
    Timer,
)

log = logging.getLogger(__name__)

ESCALATE = "escalate"

_TIMERS = table_of(Timer)


def _plan_query() -> Select[int, int | None, int | None, str | None, int | None]:
    policy = EscalationPolicy.__table__
    step = EscalationStep.__table__
    target = EscalationTarget.__table__
    return (
        select(
            policy.c.repeat,
            step.c.position,
            step.c.delay_minutes,
            target.c.target_type,
            target.c.user_id,
        )
        .select_from(policy)
        .outerjoin(step, step.c.policy_id == policy.c.id)
        .outerjoin(target, target.c.step_id == step.c.id)
        .where(policy.c.id == bindparam("policy_id"))
        .order_by(step.c.position, target.c.id)
    )


# Built once, in plain SQL terms: this runs for every new incident.
_PLAN = _plan_query()


def load_plan(session: Session, policy_id: int | None) -> rules.PolicyPlan | None:
    """The policy as plain rules, read in one query (this is on the intake path)."""
    if policy_id is None:
        return None

    rows = session.execute(_PLAN, {"policy_id": policy_id}).all()
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


def start(
    session: Session, ctx: Context, incident: IncidentBrief, policy_id: int | None
) -> None:
    """Page the first step of policy `policy_id` and schedule the second.

    `incident` is new: its escalation position is still step 1 of pass 1."""
    plan = load_plan(session, policy_id)
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

    incident.escalation_step = wanted.step
    incident.escalation_loop = wanted.loop
    _page_position(session, ctx, IncidentBrief.of(incident), plan, wanted)


def stop(session: Session, incident: Incident) -> None:
    """Cancel pending escalation steps (acknowledged or resolved)."""
    session.execute(
        delete(Timer).where(Timer.incident_id == incident.id, Timer.kind == ESCALATE)
    )


def _page_position(
    session: Session,
    ctx: Context,
    incident: IncidentBrief,
    plan: rules.PolicyPlan,
    position: rules.Position,
) -> None:
    """Page the users of `position` and set the timer for the next position.

    The incident's row must already say it is at `position`."""
    now = ctx.clock.now()
    label = rules.describe(position, plan)

    users = recipients(session, plan.steps[position.step].target_user_ids)
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
        if page(session, ctx, incident, user, reason=f"escalation {label}"):
            add_timeline(
                session,
                incident,
                at=now,
                kind="paged",
                message=f"Page queued for {user.name}",
                user_id=user.user_id,
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

    session.execute(
        insert(_TIMERS),
        {
            "kind": ESCALATE,
            "due_at": rules.next_due(plan, position, now),
            "incident_id": incident.id,
            "payload": {"step": following.step, "loop": following.loop},
            "created_at": now,
        },
    )
    ctx.work_queued.set()
