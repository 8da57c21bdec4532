"""Running an incident's escalation policy: page a step, schedule the next.

Timers of four kinds drive it, each carried out by the worker with the
incident's row locked:
- `escalate`: the next step is due (payload: its step and pass);
- `escalation_held`: a step held back by a maintenance window, due when the
  window ends (see tocsin.services.maintenance);
- `ack_timeout`: an acknowledgement has held for the policy's timeout;
- `snooze_over`: a snooze has run out.
The last two trigger the incident again and restart its policy at step 1.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from tocsin.domain import escalation as rules
from tocsin.domain.access import Role
from tocsin.domain.incidents import IncidentStatus
from tocsin.services import maintenance
from tocsin.services.context import Context
from tocsin.services.paging import NOTIFY, IncidentBrief, page, recipients
from tocsin.services.records import add_timeline
from tocsin.store.db import table_of
from tocsin.store.models import (
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    Incident,
    TeamMember,
    Timer,
    User,
)

log = logging.getLogger(__name__)

ESCALATE = "escalate"
HELD = maintenance.HELD
ACK_TIMEOUT = "ack_timeout"
SNOOZE_OVER = "snooze_over"
KINDS = (ESCALATE, HELD, ACK_TIMEOUT, SNOOZE_OVER)

_TIMERS = table_of(Timer)
_INCIDENTS = table_of(Incident)
_STEPS = table_of(EscalationStep)


def _plan_query() -> Select[
    int, int | None, int | None, int | None, bool | None, str | None, int | None
]:
    policy = EscalationPolicy.__table__
    step = EscalationStep.__table__
    target = EscalationTarget.__table__
    return (
        select(
            policy.c.repeat,
            policy.c.ack_timeout_minutes,
            step.c.id.label("step_id"),
            step.c.position,
            step.c.delay_minutes,
            step.c.round_robin,
            target.c.target_type,
            target.c.user_id,
            target.c.schedule_id,
            target.c.team_id,
        )
        .select_from(policy)
        .outerjoin(step, step.c.policy_id == policy.c.id)
        .outerjoin(target, target.c.step_id == step.c.id)
        .where(policy.c.id == bindparam("policy_id"))
        .order_by(step.c.position, target.c.id)
    )


# Built once, in plain SQL terms: this runs for every new incident.
_PLAN = _plan_query()

_TEAM_RESPONDERS = (
    select(User.id)
    .join(TeamMember, TeamMember.user_id == User.id)
    .where(
        TeamMember.team_id == bindparam("team_id"),
        User.active.is_(True),
        User.role != Role.VIEWER,
    )
    .order_by(User.id)
)


def load_plan(session: Session, policy_id: int | None) -> rules.PolicyPlan | None:
    """The policy as plain rules, read in one query (this is on the intake path)."""
    if policy_id is None:
        return None

    rows = session.execute(_PLAN, {"policy_id": policy_id}).all()
    if not rows:
        return None

    steps: dict[int, tuple[int, int, bool]] = {}
    targets: dict[int, list[rules.Target]] = {}
    for row in rows:
        if row.position is None:
            continue
        steps[row.position] = (row.step_id, row.delay_minutes, row.round_robin)
        found = targets.setdefault(row.position, [])
        target_id = {
            "user": row.user_id,
            "schedule": row.schedule_id,
            "team": row.team_id,
        }.get(row.target_type or "")
        if target_id is not None:
            found.append(rules.Target(rules.TargetKind(row.target_type), target_id))

    return rules.PolicyPlan(
        steps=tuple(
            rules.StepPlan(
                delay_minutes=steps[p][1],
                targets=tuple(targets[p]),
                round_robin=steps[p][2],
                step_id=steps[p][0],
            )
            for p in sorted(steps)
        ),
        repeat=rows[0].repeat,
        ack_timeout_minutes=rows[0].ack_timeout_minutes,
    )


@dataclass(frozen=True)
class Reach:
    """Whom a step's firing reaches: user ids in order, and what the timeline
    should say about targets that named nobody."""

    user_ids: tuple[int, ...]
    notes: tuple[str, ...]


def reach(
    session: Session, step: rules.StepPlan, at: datetime, *, turn: int = 0
) -> Reach:
    """Resolve a step's targets (or, in round-robin, the one whose `turn` it is)
    to users at instant `at`."""
    user_ids: list[int] = []
    notes: list[str] = []
    for target in rules.chosen_targets(step, turn):
        if target.kind is rules.TargetKind.USER:
            user_ids.append(target.id)
        elif target.kind is rules.TargetKind.SCHEDULE:
            on_call = _on_call(session, target.id, at)
            if not on_call:
                notes.append(f"nobody is on call in {_schedule_name(session, target)}")
            user_ids.extend(on_call)
        else:
            members = list(session.scalars(_TEAM_RESPONDERS, {"team_id": target.id}))
            if not members:
                notes.append(f"team {_team_name(session, target)} has no responders")
            user_ids.extend(members)

    return Reach(tuple(dict.fromkeys(user_ids)), tuple(notes))


def _on_call(session: Session, schedule_id: int, at: datetime) -> list[int]:
    # Imported here: schedules are a layer beside escalation, and this keeps
    # the intake path free of the import when no policy names a schedule.
    from tocsin.services.schedules import on_call_at

    return on_call_at(session, schedule_id, at)


def _schedule_name(session: Session, target: rules.Target) -> str:
    from tocsin.store.models import Schedule

    name = session.scalar(select(Schedule.name).where(Schedule.id == target.id))
    return f"schedule {name}" if name else f"schedule {target.id} (deleted)"


def _team_name(session: Session, target: rules.Target) -> str:
    from tocsin.store.models import Team

    return session.scalar(select(Team.name).where(Team.id == target.id)) or "?"


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

    reached = _page_position(session, ctx, incident, plan, rules.START)
    if reached != rules.START:
        _store_position(session, incident.id, reached)


def fire(session: Session, ctx: Context, incident: Incident, timer: Timer) -> None:
    """Carry out a due `escalate` or `escalation_held` timer. Stale timers
    change nothing, so firing one twice pages once."""
    if incident.status != IncidentStatus.TRIGGERED:
        return

    plan = load_plan(session, incident.escalation_policy_id)
    if plan is None or not plan.steps:
        return

    current = rules.Position(incident.escalation_step, incident.escalation_loop)
    wanted = rules.Position(int(timer.payload["step"]), int(timer.payload["loop"]))
    # A held step is the one the incident is at; a due step is the one after.
    expected = current if timer.kind == HELD else rules.following(plan, current)
    if expected != wanted or wanted.step >= len(plan.steps):
        # A reassignment or an edit moved the incident on since this was set.
        log.info("stale escalation timer", extra={"timer_id": timer.id})
        return

    reached = _page_position(session, ctx, IncidentBrief.of(incident), plan, wanted)
    incident.escalation_step = reached.step
    incident.escalation_loop = reached.loop


def stop(session: Session, incident: Incident, *, firing: int | None = None) -> None:
    """Cancel everything pending for the incident's escalation (acknowledged,
    resolved or reassigned): steps, held steps, snoozes and ack timeouts.

    `firing` is the timer being carried out, if any: the worker deletes that
    one itself when the handler returns."""
    pending = delete(Timer).where(
        Timer.incident_id == incident.id, Timer.kind.in_(KINDS)
    )
    if firing is not None:
        pending = pending.where(Timer.id != firing)
    session.execute(pending)


def step_removed(
    session: Session, policy_id: int, removed: int, steps_left: int, repeat: int
) -> None:
    """Keep the incidents escalating through a policy on course after its step
    at `removed` (0-based) was taken out and the later ones moved up.

    Positions are numbers, so without this an incident past the removed step
    would skip the step that moved into its next number, and a pending step
    naming a number past the new end would never fire. An incident at the
    removed step now stands just before the step that followed it (-1 when
    that is the first), so that step pages when its turn was due; a step held
    by maintenance holds the step that took its number instead."""
    for incident, timers in _escalating(session, policy_id):
        held = any(timer.kind == HELD for timer in timers)
        step = incident.escalation_step
        if step > removed or (step == removed and not held):
            incident.escalation_step = step - 1
        for timer in timers:
            _renumber_timer(session, incident, timer, removed, steps_left, repeat)
    session.flush()


def step_moved(session: Session, policy_id: int, upper: int) -> None:
    """Keep the incidents escalating through a policy on course after its
    steps at `upper` and `upper + 1` (0-based) changed places.

    An incident that had paged the step at `upper` and waited for the next
    one would otherwise page that same step again at `upper + 1`, and never
    the step that moved above it: it now stands just before `upper`, so the
    step that moved up pages when the next was due. A step held by
    maintenance at `upper + 1` follows the held step to `upper`."""
    for incident, timers in _escalating(session, policy_id):
        for timer in timers:
            step = int(timer.payload["step"])
            if timer.kind == ESCALATE and incident.escalation_step == upper:
                incident.escalation_step = upper - 1
                timer.payload = {**timer.payload, "step": step - 1}
            elif timer.kind == HELD and incident.escalation_step == upper + 1:
                incident.escalation_step = upper
                timer.payload = {**timer.payload, "step": upper}
    session.flush()


def _escalating(session: Session, policy_id: int) -> list[tuple[Incident, list[Timer]]]:
    """The unresolved incidents of a policy, locked, each with its pending
    step timers (`escalate` and `escalation_held`)."""
    incidents = session.scalars(
        select(Incident)
        .where(
            Incident.escalation_policy_id == policy_id,
            Incident.status != IncidentStatus.RESOLVED,
        )
        .order_by(Incident.id)
        .with_for_update()
    ).all()
    return [
        (
            incident,
            list(
                session.scalars(
                    select(Timer)
                    .where(
                        Timer.incident_id == incident.id,
                        Timer.kind.in_((ESCALATE, HELD)),
                    )
                    .order_by(Timer.id)
                )
            ),
        )
        for incident in incidents
    ]


def _renumber_timer(
    session: Session,
    incident: Incident,
    timer: Timer,
    removed: int,
    steps_left: int,
    repeat: int,
) -> None:
    step, loop = int(timer.payload["step"]), int(timer.payload["loop"])
    if step > removed:
        step -= 1
    if step >= steps_left:
        # The removed step was the last: what comes next is the next pass.
        if loop >= repeat:
            session.delete(timer)
            return
        step, loop = 0, loop + 1
        if timer.kind == HELD:
            incident.escalation_step, incident.escalation_loop = step, loop
    timer.payload = {**timer.payload, "step": step, "loop": loop}


def acknowledged(session: Session, ctx: Context, incident: Incident) -> None:
    """After an acknowledgement: drop the delayed notification rules of the
    pages it answers, and when the policy has an acknowledgement timeout, set
    the timer that triggers the incident again if it is still not resolved."""
    # Were they kept, a re-trigger (a snooze running out, a timeout, a
    # reassignment) would let them page for a page already answered, on top
    # of the fresh page and its own rules.
    session.execute(
        delete(Timer).where(
            Timer.incident_id == incident.id,
            Timer.kind.in_((NOTIFY, maintenance.NOTIFY_HELD)),
        )
    )
    policy = session.get(EscalationPolicy, incident.escalation_policy_id or 0)
    if policy is None or not policy.ack_timeout_minutes:
        return

    now = ctx.clock.now()
    _set_timer(
        session,
        ctx,
        ACK_TIMEOUT,
        incident.id,
        now + timedelta(minutes=policy.ack_timeout_minutes),
        now,
    )


def snooze(session: Session, ctx: Context, incident: Incident, until: datetime) -> None:
    """Replace any acknowledgement timeout by a snooze that ends at `until`.
    The incident must be acknowledged already."""
    session.execute(
        delete(Timer).where(
            Timer.incident_id == incident.id,
            Timer.kind.in_((ACK_TIMEOUT, SNOOZE_OVER)),
        )
    )
    _set_timer(session, ctx, SNOOZE_OVER, incident.id, until, ctx.clock.now())


def retrigger(
    session: Session,
    ctx: Context,
    incident: Incident,
    why: str,
    *,
    firing: int | None = None,
) -> None:
    """Trigger an acknowledged incident again and restart its policy at step 1.
    Does nothing to a triggered or resolved one (a timer that lost a race)."""
    if incident.status != IncidentStatus.ACKNOWLEDGED:
        return

    now = ctx.clock.now()
    incident.status = IncidentStatus.TRIGGERED
    incident.acknowledged_at = None
    incident.acknowledged_by_id = None
    incident.updated_at = now
    add_timeline(session, incident, at=now, kind="retriggered", message=why)
    restart(session, ctx, incident, firing=firing)


def restart(
    session: Session, ctx: Context, incident: Incident, *, firing: int | None = None
) -> None:
    """Run the incident's policy again from step 1 of pass 1, now."""
    stop(session, incident, firing=firing)
    incident.escalation_step = 0
    incident.escalation_loop = 0
    # `start` writes in plain SQL, which does not flush the ORM's changes, and
    # may move past steps that reach nobody: flush first, read back after.
    session.flush()
    start(session, ctx, IncidentBrief.of(incident), incident.escalation_policy_id)
    session.refresh(incident, ["escalation_step", "escalation_loop"])


def escalate_now(session: Session, ctx: Context, incident: Incident) -> bool:
    """Page the step after the incident's current one now, instead of when its
    delay runs out, and time the steps after it from now. False, with nothing
    changed, when there is no policy or no step left to move to."""
    plan = load_plan(session, incident.escalation_policy_id)
    if plan is None or not plan.steps:
        return False
    current = rules.Position(incident.escalation_step, incident.escalation_loop)
    wanted = rules.following(plan, current)
    if wanted is None:
        return False

    # The pending timer of the step being skipped to would page it twice.
    stop(session, incident)
    session.flush()
    reached = _page_position(session, ctx, IncidentBrief.of(incident), plan, wanted)
    incident.escalation_step = reached.step
    incident.escalation_loop = reached.loop
    return True


def on_ack_timeout(
    session: Session, ctx: Context, incident: Incident, timer: Timer
) -> None:
    policy = session.get(EscalationPolicy, incident.escalation_policy_id or 0)
    minutes = policy.ack_timeout_minutes if policy else None
    retrigger(
        session,
        ctx,
        incident,
        f"Acknowledgement timed out after {minutes} minutes: triggered again",
        firing=timer.id,
    )


def on_snooze_over(
    session: Session, ctx: Context, incident: Incident, timer: Timer
) -> None:
    retrigger(session, ctx, incident, "Snooze over: triggered again", firing=timer.id)


def _page_position(
    session: Session,
    ctx: Context,
    incident: IncidentBrief,
    plan: rules.PolicyPlan,
    position: rules.Position,
) -> rules.Position:
    """Page the users of `position` and set the timer for the next position.

    A step that reaches nobody (an empty schedule, a team without responders)
    does not wait its delay in silence: the timeline says so and the next step
    pages at once. During a maintenance window nothing pages; the step is held
    until the window ends. Returns the position the incident is at now; the
    caller stores it."""
    now = ctx.clock.now()
    until = maintenance.held_until(session, incident.id, now)
    if until is not None:
        _hold(session, ctx, incident, plan, position, until)
        return position

    # Every position at most once: a policy where nobody is reachable ends.
    for _ in range(rules.positions(plan)):
        step = plan.steps[position.step]
        turn = _take_turn(session, step) if step.round_robin else 0
        reached = reach(session, step, now, turn=turn)
        if reached.user_ids:
            break

        label = rules.describe(position, plan)
        why = "; ".join(reached.notes) or "it has no targets"
        following = rules.following(plan, position)
        add_timeline(
            session,
            incident,
            at=now,
            kind="escalation_skipped",
            message=f"Escalation {label} reaches nobody ({why}): "
            + ("moving on at once" if following else "no step is left"),
            step=position.step,
            loop=position.loop,
        )
        if following is None:
            _exhausted(session, incident, now)
            return position
        position = following

    _page_users(session, ctx, incident, plan, position, reached, now)

    following = rules.following(plan, position)
    if following is None:
        _exhausted(session, incident, now)
        return position

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
    return position


def _page_users(
    session: Session,
    ctx: Context,
    incident: IncidentBrief,
    plan: rules.PolicyPlan,
    position: rules.Position,
    reached: Reach,
    now: datetime,
) -> None:
    label = rules.describe(position, plan)
    users = recipients(session, reached.user_ids)
    names = ", ".join(user.name for user in users) or "nobody"
    notes = f" ({'; '.join(reached.notes)})" if reached.notes else ""
    add_timeline(
        session,
        incident,
        at=now,
        kind="escalated",
        message=f"Escalation {label}: paging {names}{notes}",
        step=position.step,
        loop=position.loop,
        user_ids=[user.user_id for user in users],
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


def _hold(
    session: Session,
    ctx: Context,
    incident: IncidentBrief,
    plan: rules.PolicyPlan,
    position: rules.Position,
    until: datetime,
) -> None:
    now = ctx.clock.now()
    add_timeline(
        session,
        incident,
        at=now,
        kind="escalation_held",
        message=f"Maintenance window: escalation {rules.describe(position, plan)} "
        f"held until {until:%Y-%m-%d %H:%M} UTC, nobody paged",
        until=until.isoformat(),
    )
    session.execute(
        insert(_TIMERS),
        {
            "kind": HELD,
            "due_at": until,
            "incident_id": incident.id,
            "payload": {"step": position.step, "loop": position.loop},
            "created_at": now,
        },
    )


def _exhausted(session: Session, incident: IncidentBrief, now: datetime) -> None:
    add_timeline(
        session,
        incident,
        at=now,
        kind="escalation_exhausted",
        message="Escalation policy exhausted; waiting for an acknowledgement",
    )


def _take_turn(session: Session, step: rules.StepPlan) -> int:
    """The step's round-robin turn, counted up in the same statement so that
    concurrent incidents of one policy take successive turns."""
    turn = session.scalar(
        update(_STEPS)
        .where(_STEPS.c.id == step.step_id)
        .values(round_robin_turn=_STEPS.c.round_robin_turn + 1)
        .returning(_STEPS.c.round_robin_turn)
    )
    return (turn or 1) - 1


def _store_position(
    session: Session, incident_id: int, position: rules.Position
) -> None:
    session.execute(
        update(_INCIDENTS)
        .where(_INCIDENTS.c.id == incident_id)
        .values(escalation_step=position.step, escalation_loop=position.loop)
    )


def _set_timer(
    session: Session,
    ctx: Context,
    kind: str,
    incident_id: int,
    due_at: datetime,
    now: datetime,
) -> None:
    session.execute(
        insert(_TIMERS),
        {
            "kind": kind,
            "due_at": due_at,
            "incident_id": incident_id,
            "payload": {},
            "created_at": now,
        },
    )
    ctx.work_queued.set()
