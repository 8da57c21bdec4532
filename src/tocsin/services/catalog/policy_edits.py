"""Changing an escalation policy step by step: add, edit, remove and reorder
steps, and set how often the policy repeats.

Who may: admins, and managers who belong to the policy's team (access.py:
managers run their teams' on-call set-up). Who may look: anyone who can see
the policy's team; another team's policy is "not found", as its schedules are.

Each change is one transaction that locks the policy row, so two editors
cannot interleave, and is audited. Steps keep their rows (and their
round-robin turn) when edited or moved. An incident escalating through the
policy goes on from where it stands: removing or moving a step renumbers
its position and pending step (escalation.step_removed, step_moved), so no
step it has not paged is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.domain.access import Actor, Role, can_see_team, holds
from tocsin.errors import Forbidden, InvalidInput, NotFound
from tocsin.schemas import UserRef
from tocsin.services import escalation
from tocsin.services.catalog.common import (
    MAX_ACK_TIMEOUT_MINUTES,
    MAX_DELAY_MINUTES,
    MAX_REPEAT,
    MAX_STEPS,
    MAX_TARGETS,
    StepInput,
    active_users,
    checked_email,
    checked_name,
    policies_query,
)
from tocsin.services.context import Context
from tocsin.services.records import audit
from tocsin.store.models import (
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    Schedule,
    Service,
    Team,
    User,
)


@dataclass(frozen=True)
class Named:
    id: int
    name: str


@dataclass(frozen=True)
class StepDetail:
    """A step with its row id, which stays the same when the step moves."""

    id: int
    number: int
    delay_minutes: int
    users: tuple[UserRef, ...]
    schedules: tuple[Named, ...]
    teams: tuple[Named, ...]
    round_robin: bool


@dataclass(frozen=True)
class PolicyDetail:
    id: int
    name: str
    team_id: int | None
    team: str | None
    repeat: int
    ack_timeout_minutes: int | None
    steps: tuple[StepDetail, ...]
    # The services paging through it that the reader may see.
    services: tuple[Named, ...]
    may_edit: bool


@dataclass(frozen=True)
class TargetChoices:
    """What a step may page: active users, the schedules the actor sees, teams."""

    users: tuple[UserRef, ...]
    schedules: tuple[Named, ...]
    teams: tuple[Named, ...]


def may_edit(actor: Actor, team_id: int | None) -> bool:
    """Admins, and managers of the owning team; a policy of no team: admins."""
    if holds(actor, Role.ADMIN):
        return True
    return holds(actor, Role.MANAGER) and team_id in actor.team_ids


def list_visible(ctx: Context, actor: Actor) -> list[PolicyDetail]:
    """The policies the actor may see, by name."""
    with ctx.db.read() as session:
        rows = session.scalars(
            policies_query().order_by(EscalationPolicy.name, EscalationPolicy.id)
        ).all()
        return [
            _detail(session, actor, row)
            for row in rows
            if can_see_team(actor, row.team_id)
        ]


def get_visible(ctx: Context, actor: Actor, policy_id: int) -> PolicyDetail:
    """One policy with its steps. Raises NotFound for another team's."""
    with ctx.db.read() as session:
        return _detail(session, actor, _visible(session, actor, policy_id))


def paging_schedule(ctx: Context, actor: Actor, schedule_id: int) -> list[Named]:
    """The policies the actor may see with a step paging the schedule's
    on-call person, by name."""
    with ctx.db.read() as session:
        rows = session.execute(
            select(EscalationPolicy.id, EscalationPolicy.name, EscalationPolicy.team_id)
            .join(EscalationStep, EscalationStep.policy_id == EscalationPolicy.id)
            .join(EscalationTarget, EscalationTarget.step_id == EscalationStep.id)
            .where(EscalationTarget.schedule_id == schedule_id)
            .distinct()
            .order_by(EscalationPolicy.name, EscalationPolicy.id)
        ).all()
    return [Named(r.id, r.name) for r in rows if can_see_team(actor, r.team_id)]


def target_choices(ctx: Context, actor: Actor) -> TargetChoices:
    """The users, schedules and teams a step form offers, each by name."""
    with ctx.db.read() as session:
        people = session.scalars(
            select(User).where(User.active).order_by(User.name, User.id)
        ).all()
        schedules = session.execute(
            select(Schedule.id, Schedule.name, Schedule.team_id).order_by(Schedule.name)
        ).all()
        teams = session.execute(select(Team.id, Team.name).order_by(Team.name)).all()
    return TargetChoices(
        users=tuple(UserRef.model_validate(user) for user in people),
        schedules=tuple(
            Named(row.id, row.name)
            for row in schedules
            if can_see_team(actor, row.team_id)
        ),
        teams=tuple(Named(row.id, row.name) for row in teams),
    )


def add_step(
    ctx: Context, actor: Actor, policy_id: int, step: StepInput
) -> PolicyDetail:
    """Append a step to the policy. Raises InvalidInput (bad delay, no or too
    many targets, a deactivated user, the policy is full), NotFound (the
    policy, or a user, schedule or team named) or Forbidden."""
    _check_step(step)
    with ctx.db.write() as session:
        policy = _editable(session, actor, policy_id)
        if len(policy.steps) >= MAX_STEPS:
            raise InvalidInput(f"a policy has at most {MAX_STEPS} steps")
        added = EscalationStep(
            position=len(policy.steps),
            delay_minutes=step.delay_minutes,
            round_robin=step.round_robin,
            targets=_targets(session, actor, step),
        )
        policy.steps.append(added)
        session.flush()
        _audit(session, ctx, actor, policy, "add_step", step=_described(step))
        return _reread(session, actor, policy)


def edit_step(
    ctx: Context, actor: Actor, policy_id: int, step_id: int, step: StepInput
) -> PolicyDetail:
    """Give a step new targets, delay and round-robin, in place."""
    _check_step(step)
    with ctx.db.write() as session:
        policy = _editable(session, actor, policy_id)
        found = _step(policy, step_id)
        found.delay_minutes = step.delay_minutes
        if found.round_robin != step.round_robin:
            found.round_robin_turn = 0
        found.round_robin = step.round_robin
        kept = {t.schedule_id for t in found.targets if t.schedule_id is not None}
        found.targets = _targets(session, actor, step, kept)
        session.flush()
        _audit(
            session,
            ctx,
            actor,
            policy,
            "edit_step",
            step_id=step_id,
            step=_described(step),
        )
        return _reread(session, actor, policy)


def remove_step(
    ctx: Context, actor: Actor, policy_id: int, step_id: int
) -> PolicyDetail:
    """Take a step out; the ones after it move up. The last step stays: a
    policy without steps pages nobody (InvalidInput)."""
    with ctx.db.write() as session:
        policy = _editable(session, actor, policy_id)
        found = _step(policy, step_id)
        if len(policy.steps) == 1:
            raise InvalidInput("a policy keeps at least one step")
        removed = policy.steps.index(found)
        remaining = [s for s in policy.steps if s.id != found.id]
        policy.steps.remove(found)
        session.flush()
        _renumber(session, remaining)
        escalation.step_removed(
            session, policy.id, removed, len(remaining), policy.repeat
        )
        _audit(session, ctx, actor, policy, "remove_step", step_id=step_id)
        return _reread(session, actor, policy)


def move_step(
    ctx: Context, actor: Actor, policy_id: int, step_id: int, offset: int
) -> PolicyDetail:
    """Move a step `offset` places (-1 earlier, +1 later), within the policy."""
    if offset not in (-1, 1):
        raise InvalidInput("a step moves one place up or down")
    with ctx.db.write() as session:
        policy = _editable(session, actor, policy_id)
        found = _step(policy, step_id)
        order = list(policy.steps)
        here = order.index(found)
        there = here + offset
        if not 0 <= there < len(order):
            raise InvalidInput("the step cannot move past the end of the policy")
        order[here], order[there] = order[there], order[here]
        _renumber(session, order)
        escalation.step_moved(session, policy.id, min(here, there))
        _audit(
            session,
            ctx,
            actor,
            policy,
            "move_step",
            step_id=step_id,
            to=there + 1,
        )
        return _reread(session, actor, policy)


def set_repeat(
    ctx: Context,
    actor: Actor,
    policy_id: int,
    *,
    repeat: int,
    ack_timeout_minutes: int | None,
) -> PolicyDetail:
    """How many more times the steps run after the first pass, and how long an
    acknowledgement holds (None: until resolved)."""
    if not 0 <= repeat <= MAX_REPEAT:
        raise InvalidInput(f"repeat must be between 0 and {MAX_REPEAT}")
    if ack_timeout_minutes is not None and not (
        1 <= ack_timeout_minutes <= MAX_ACK_TIMEOUT_MINUTES
    ):
        raise InvalidInput(
            f"the acknowledgement timeout is 1 to {MAX_ACK_TIMEOUT_MINUTES} minutes"
        )
    with ctx.db.write() as session:
        policy = _editable(session, actor, policy_id)
        policy.repeat = repeat
        policy.ack_timeout_minutes = ack_timeout_minutes
        session.flush()
        _audit(
            session,
            ctx,
            actor,
            policy,
            "set_repeat",
            repeat=repeat,
            ack_timeout_minutes=ack_timeout_minutes,
        )
        return _reread(session, actor, policy)


# Helpers ------------------------------------------------------------------------


def _visible(session: Session, actor: Actor, policy_id: int) -> EscalationPolicy:
    row = session.scalar(policies_query().where(EscalationPolicy.id == policy_id))
    if row is None or not can_see_team(actor, row.team_id):
        raise NotFound(f"no escalation policy with id {policy_id}")
    return row


def _editable(session: Session, actor: Actor, policy_id: int) -> EscalationPolicy:
    """The policy, locked. NotFound when the actor cannot see it, Forbidden
    when they may see but not change it."""
    locked = session.scalar(
        select(EscalationPolicy.id)
        .where(EscalationPolicy.id == policy_id)
        .with_for_update()
    )
    row = _visible(session, actor, locked or 0) if locked else None
    if row is None:
        raise NotFound(f"no escalation policy with id {policy_id}")
    if not may_edit(actor, row.team_id):
        raise Forbidden("only admins and the team's managers may change its policies")
    return row


def _step(policy: EscalationPolicy, step_id: int) -> EscalationStep:
    for step in policy.steps:
        if step.id == step_id:
            return step
    raise NotFound(f"policy {policy.id} has no step {step_id}")


def _renumber(session: Session, order: Sequence[EscalationStep]) -> None:
    # (policy, position) is unique: park every step out of the way first, so
    # no intermediate state holds two steps at one position.
    for parked, step in enumerate(order):
        step.position = -1 - parked
    session.flush()
    for position, step in enumerate(order):
        step.position = position
    session.flush()


def _check_step(step: StepInput) -> None:
    if not 0 <= step.delay_minutes <= MAX_DELAY_MINUTES:
        raise InvalidInput(f"the delay must be 0 to {MAX_DELAY_MINUTES} minutes")
    if not 1 <= step.target_count <= MAX_TARGETS:
        raise InvalidInput(f"a step pages 1 to {MAX_TARGETS} users, schedules or teams")
    emails = [checked_email(e) for e in step.emails]
    schedules = [name.strip() for name in step.schedules]
    teams = [name.strip() for name in step.teams]
    for names in (emails, schedules, teams):
        if len(set(names)) != len(names):
            raise InvalidInput("the step names a target twice")


def _targets(
    session: Session, actor: Actor, step: StepInput, kept: Set[int] = frozenset()
) -> list[EscalationTarget]:
    """The step's targets. A schedule of a team the actor cannot see is "not
    found", word for word, unless the step already pages it (`kept`: an admin
    set it), so that its editor may still change the step's delay."""
    people = active_users(session, step.emails)
    schedules = _ids(session, Schedule, step.schedules)
    for name, schedule_id in schedules.items():
        if schedule_id in kept:
            continue
        owner = session.scalar(
            select(Schedule.team_id).where(Schedule.id == schedule_id)
        )
        if not can_see_team(actor, owner):
            raise NotFound(f"no schedule named {name.strip()!r}")
    teams = _ids(session, Team, step.teams)
    return [
        *(
            EscalationTarget(target_type="user", user_id=people[checked_email(e)].id)
            for e in step.emails
        ),
        *(
            EscalationTarget(target_type="schedule", schedule_id=schedules[n])
            for n in step.schedules
        ),
        *(EscalationTarget(target_type="team", team_id=teams[n]) for n in step.teams),
    ]


def _ids(
    session: Session, model: type[Schedule] | type[Team], names: Sequence[str]
) -> dict[str, int]:
    what = "schedule" if model is Schedule else "team"
    wanted = [checked_name(n, what) for n in names]
    found = dict(
        session.execute(
            select(model.name, model.id).where(model.name.in_(wanted))
        ).all()
    )
    for name in wanted:
        if name not in found:
            raise NotFound(f"no {what} named {name!r}")
    return {original: found[name] for original, name in zip(names, wanted, strict=True)}


def _reread(session: Session, actor: Actor, policy: EscalationPolicy) -> PolicyDetail:
    session.expire_all()
    return _detail(session, actor, _visible(session, actor, policy.id))


def _detail(session: Session, actor: Actor, row: EscalationPolicy) -> PolicyDetail:
    team = session.get(Team, row.team_id) if row.team_id else None
    services = session.execute(
        select(Service.id, Service.name, Service.team_id)
        .where(Service.escalation_policy_id == row.id)
        .order_by(Service.name)
    ).all()
    return PolicyDetail(
        id=row.id,
        name=row.name,
        team_id=row.team_id,
        team=team.name if team else None,
        repeat=row.repeat,
        ack_timeout_minutes=row.ack_timeout_minutes,
        steps=tuple(
            _step_detail(number, step) for number, step in enumerate(row.steps, start=1)
        ),
        services=tuple(
            Named(s.id, s.name) for s in services if can_see_team(actor, s.team_id)
        ),
        may_edit=may_edit(actor, row.team_id),
    )


def _step_detail(number: int, step: EscalationStep) -> StepDetail:
    return StepDetail(
        id=step.id,
        number=number,
        delay_minutes=step.delay_minutes,
        users=tuple(
            UserRef.model_validate(t.user) for t in step.targets if t.user is not None
        ),
        schedules=tuple(
            Named(t.schedule.id, t.schedule.name)
            for t in step.targets
            if t.schedule is not None
        ),
        teams=tuple(Named(t.team.id, t.team.name) for t in step.targets if t.team),
        round_robin=step.round_robin,
    )


def _described(step: StepInput) -> dict[str, object]:
    return {
        "delay_minutes": step.delay_minutes,
        "emails": [checked_email(e) for e in step.emails],
        "schedules": list(step.schedules),
        "teams": list(step.teams),
        "round_robin": step.round_robin,
    }


def _audit(
    session: Session,
    ctx: Context,
    actor: Actor,
    policy: EscalationPolicy,
    what: str,
    **detail: object,
) -> None:
    audit(
        session,
        actor,
        at=ctx.clock.now(),
        action=f"escalation_policy.{what}",
        object_type="escalation_policy",
        object_id=policy.id,
        name=policy.name,
        **detail,
    )
