"""Teams and escalation policies."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.domain.access import Actor, Role, require_role
from tocsin.errors import InvalidInput, NotFound
from tocsin.services.catalog.common import (
    _STEP,
    MAX_DELAY_MINUTES,
    POLICY_NAMES_LOCK,
    STEP_SYNTAX,
    PolicyRead,
    StepInput,
    TeamRead,
    active_users,
    check_steps,
    checked_email,
    checked_name,
    name_taken,
    policies_query,
    policy_named,
    policy_read,
    team_named,
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
    TeamMember,
)


def parse_step(text: str, *, round_robin: bool = False) -> StepInput:
    """Read a step written as `DELAY_MINUTES:EMAIL[,EMAIL...]`, where each
    email may be `schedule:NAME` or `team:NAME` instead; for example
    `5:ann@example.com,schedule:Primary`. Raises InvalidInput on other syntax;
    the values themselves are checked by `create_policy`."""
    match = _STEP.fullmatch(text)
    targets = tuple(t.strip() for t in match.group(2).split(",")) if match else ()
    if match is None or not all(targets):
        raise InvalidInput(f"a step is {STEP_SYNTAX}, not {text!r}")

    emails: list[str] = []
    kinds: dict[str, list[str]] = {"schedule": [], "team": []}
    for target in targets:
        kind, _, name = target.partition(":")
        if kind.strip().lower() in kinds and "@" not in kind:
            if not name.strip():
                raise InvalidInput(f"{target!r} names no {kind.strip().lower()}")
            kinds[kind.strip().lower()].append(name.strip())
        else:
            emails.append(target)

    digits = match.group(1).lstrip("0") or "0"
    # Anything this long is out of range; `create_policy` says so.
    delay = int(digits) if len(digits) <= 9 else MAX_DELAY_MINUTES + 1
    return StepInput(
        delay_minutes=delay,
        emails=tuple(emails),
        schedules=tuple(kinds["schedule"]),
        teams=tuple(kinds["team"]),
        round_robin=round_robin,
    )


def create_team(ctx: Context, actor: Actor, name: str) -> TeamRead:
    """Create a team. Raises Conflict when the name is taken."""
    require_role(actor, Role.ADMIN)
    name = checked_name(name, "team")

    now = ctx.clock.now()
    try:
        with ctx.db.write() as session:
            if session.scalar(select(Team.id).where(Team.name == name)) is not None:
                raise name_taken("team", name)
            team = Team(name=name, created_at=now)
            session.add(team)
            session.flush()
            audit(
                session,
                actor,
                at=now,
                action="team.create",
                object_type="team",
                object_id=team.id,
                name=name,
            )
            return TeamRead(id=team.id, name=name, members=0, services=0)
    except IntegrityError as error:
        raise name_taken("team", name) from error


def list_teams(ctx: Context) -> list[TeamRead]:
    """Every team by name, with how many members and services it has."""
    members = (
        select(TeamMember.team_id, func.count().label("members"))
        .group_by(TeamMember.team_id)
        .subquery()
    )
    services = (
        select(Service.team_id, func.count().label("services"))
        .group_by(Service.team_id)
        .subquery()
    )
    query = (
        select(Team.id, Team.name, members.c.members, services.c.services)
        .outerjoin(members, members.c.team_id == Team.id)
        .outerjoin(services, services.c.team_id == Team.id)
        .order_by(Team.name)
    )
    with ctx.db.read() as session:
        rows = session.execute(query).all()

    return [
        TeamRead(id=id_, name=name, members=m or 0, services=s or 0)
        for id_, name, m, s in rows
    ]


def create_policy(
    ctx: Context,
    actor: Actor,
    name: str,
    *,
    team: str,
    steps: Sequence[StepInput],
    repeat: int = 0,
    ack_timeout_minutes: int | None = None,
) -> PolicyRead:
    """Create an escalation policy owned by `team`.

    Step 1 pages as soon as an incident triggers; each step's delay is how long
    to wait for an acknowledgement before the next step pages; after the last
    step the whole policy runs `repeat` more times. With `ack_timeout_minutes`
    an acknowledged incident triggers again after that long unless resolved.
    Every email must belong to an active user, every schedule and team must
    exist. Raises InvalidInput, NotFound or Conflict (name taken).
    """
    require_role(actor, Role.ADMIN)
    name = checked_name(name, "policy")
    team = checked_name(team, "team")
    check_steps(steps, repeat, ack_timeout_minutes)

    now = ctx.clock.now()
    with ctx.db.write() as session:
        if not ctx.db.is_sqlite:
            session.execute(select(func.pg_advisory_xact_lock(POLICY_NAMES_LOCK)))
        taken = select(EscalationPolicy.id).where(EscalationPolicy.name == name)
        if session.scalar(taken) is not None:
            raise name_taken("escalation policy", name)
        owner = team_named(session, team)
        people = active_users(session, [e for step in steps for e in step.emails])

        schedules = _ids_by_name(
            session, Schedule, [n for step in steps for n in step.schedules]
        )
        teams = _ids_by_name(session, Team, [n for step in steps for n in step.teams])

        policy = EscalationPolicy(
            name=name,
            team_id=owner.id,
            repeat=repeat,
            ack_timeout_minutes=ack_timeout_minutes,
            created_at=now,
        )
        policy.steps = [
            EscalationStep(
                position=position,
                delay_minutes=step.delay_minutes,
                round_robin=step.round_robin,
                targets=[
                    *(
                        EscalationTarget(
                            target_type="user", user_id=people[checked_email(e)].id
                        )
                        for e in step.emails
                    ),
                    *(
                        EscalationTarget(
                            target_type="schedule", schedule_id=schedules[n]
                        )
                        for n in step.schedules
                    ),
                    *(
                        EscalationTarget(target_type="team", team_id=teams[n])
                        for n in step.teams
                    ),
                ],
            )
            for position, step in enumerate(steps)
        ]
        session.add(policy)
        session.flush()
        audit(
            session,
            actor,
            at=now,
            action="escalation_policy.create",
            object_type="escalation_policy",
            object_id=policy.id,
            name=name,
            team=team,
            repeat=repeat,
            ack_timeout_minutes=ack_timeout_minutes,
            steps=[_audited_step(step) for step in steps],
        )
        return policy_read(session, policy)


def _audited_step(step: StepInput) -> dict[str, object]:
    """A step as the audit record keeps it: schedules, teams and round-robin
    only where the step has them."""
    detail: dict[str, object] = {
        "delay_minutes": step.delay_minutes,
        "emails": [checked_email(e) for e in step.emails],
    }
    if step.schedules:
        detail["schedules"] = list(step.schedules)
    if step.teams:
        detail["teams"] = list(step.teams)
    if step.round_robin:
        detail["round_robin"] = True
    return detail


def _ids_by_name(
    session: Session, model: type[Schedule] | type[Team], names: Sequence[str]
) -> dict[str, int]:
    """The ids of the schedules or teams named, by name. Raises NotFound."""
    what = "schedule" if model is Schedule else "team"
    wanted = sorted({checked_name(n, what) for n in names})
    if not wanted:
        return {}

    # `.all()`: a Result has keys(), so dict() would take it for a mapping.
    found = dict(
        session.execute(
            select(model.name, model.id).where(model.name.in_(wanted))
        ).all()
    )
    for name in wanted:
        if name not in found:
            raise NotFound(f"no {what} named {name!r}")
    return found


def list_policies(ctx: Context) -> list[PolicyRead]:
    """Every escalation policy by name, with its steps and the services using it."""
    with ctx.db.read() as session:
        policies = session.scalars(
            policies_query().order_by(EscalationPolicy.name, EscalationPolicy.id)
        ).all()
        return [policy_read(session, policy) for policy in policies]


def get_policy(ctx: Context, name: str) -> PolicyRead:
    """One escalation policy by name. Raises NotFound."""
    name = checked_name(name, "policy")
    with ctx.db.read() as session:
        return policy_read(session, policy_named(session, name))
