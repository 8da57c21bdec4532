"""The misconfiguration check: everything that would make a page reach nobody.

Four kinds of problem, each naming what to fix:
- `service_without_policy`: a service with no escalation policy, or one with
  no steps: its incidents page nobody;
- `policy_reaches_nobody`: a policy none of whose targets can be paged (users
  inactive or without contact methods, teams without responders, schedules
  with nobody on call in the next 14 days);
- `user_without_contact`: an active user who may respond but has no contact
  method, so every page to them is skipped;
- `schedule_gap`: a span in the next 14 days when a schedule has nobody on
  call; a step naming it moves on at once then.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from tocsin.domain.access import Actor, Role, can_see_team, require_role
from tocsin.services.context import Context
from tocsin.store.models import (
    ContactMethod,
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    Schedule,
    Service,
    TeamMember,
    User,
)

KINDS = (
    "service_without_policy",
    "policy_reaches_nobody",
    "user_without_contact",
    "schedule_gap",
)
LOOKAHEAD = timedelta(days=14)


class Misconfiguration(BaseModel):
    kind: str
    # What it is about: "service", "escalation_policy", "user" or "schedule".
    subject: str
    subject_id: int
    name: str
    detail: str


class MisconfigurationReport(BaseModel):
    checked_at: datetime
    problems: list[Misconfiguration]
    # Problems by kind, every kind present (0 when none).
    counts: dict[str, int]


def check(ctx: Context, actor: Actor) -> MisconfigurationReport:
    """Every problem the actor may see: admins all, others those of their
    teams' services, policies and schedules, and their teams' members."""
    require_role(actor, Role.RESPONDER)
    now = ctx.clock.now()
    with ctx.db.read() as session:
        schedule_gaps = _schedule_gaps(session, now)
        problems = [
            *_services_without_policy(session),
            *_policies_reaching_nobody(session, schedule_gaps),
            *_users_without_contact(session),
            *(
                Misconfiguration(
                    kind="schedule_gap",
                    subject="schedule",
                    subject_id=schedule.id,
                    name=schedule.name,
                    detail=_gap_detail(gaps),
                )
                for schedule, gaps in schedule_gaps.items()
                if gaps
            ),
        ]
        visible = _visible_filter(session, actor)
        problems = [p for p in problems if visible(p)]

    counts = Counter(p.kind for p in problems)
    return MisconfigurationReport(
        checked_at=now,
        problems=problems,
        counts={kind: counts.get(kind, 0) for kind in KINDS},
    )


def _services_without_policy(session: Session) -> list[Misconfiguration]:
    has_steps = exists().where(EscalationStep.policy_id == Service.escalation_policy_id)
    rows = session.scalars(
        select(Service)
        .where(Service.escalation_policy_id.is_(None) | ~has_steps)
        .order_by(Service.name)
    )
    return [
        Misconfiguration(
            kind="service_without_policy",
            subject="service",
            subject_id=service.id,
            name=service.name,
            detail="no escalation policy with steps: its incidents page nobody",
        )
        for service in rows
    ]


def _policies_reaching_nobody(
    session: Session, schedule_gaps: dict[Schedule, list[tuple[datetime, datetime]]]
) -> list[Misconfiguration]:
    """Policies none of whose targets could be paged. A schedule counts as
    reaching someone when anyone is on call in it within the next 14 days."""
    reachable_users = set(
        session.scalars(
            select(User.id).where(
                User.active.is_(True),
                exists().where(ContactMethod.user_id == User.id),
            )
        )
    )
    teams_with_responders = set(
        session.scalars(
            select(TeamMember.team_id)
            .join(User, User.id == TeamMember.user_id)
            .where(
                User.active.is_(True),
                User.role != Role.VIEWER,
                TeamMember.user_id.in_(reachable_users or {0}),
            )
        )
    )
    full_gap = {
        schedule.id
        for schedule, gaps in schedule_gaps.items()
        if gaps and gaps[0][1] - gaps[0][0] >= LOOKAHEAD
    }

    def reaches(target: EscalationTarget) -> bool:
        if target.user_id is not None:
            return target.user_id in reachable_users
        if target.team_id is not None:
            return target.team_id in teams_with_responders
        if target.schedule_id is not None:
            return target.schedule_id not in full_gap
        return False

    problems = []
    policies = session.scalars(select(EscalationPolicy).order_by(EscalationPolicy.name))
    for policy in policies:
        targets = [t for step in policy.steps for t in step.targets]
        if any(reaches(t) for t in targets):
            continue
        problems.append(
            Misconfiguration(
                kind="policy_reaches_nobody",
                subject="escalation_policy",
                subject_id=policy.id,
                name=policy.name,
                detail="no step names anyone who can be paged"
                if targets
                else "the policy has no targets",
            )
        )
    return problems


def _users_without_contact(session: Session) -> list[Misconfiguration]:
    rows = session.scalars(
        select(User)
        .where(
            User.active.is_(True),
            User.role != Role.VIEWER,
            ~exists().where(ContactMethod.user_id == User.id),
        )
        .order_by(User.email)
    )
    return [
        Misconfiguration(
            kind="user_without_contact",
            subject="user",
            subject_id=user.id,
            name=user.email,
            detail="no contact method: pages to them are skipped",
        )
        for user in rows
    ]


def _schedule_gaps(
    session: Session, now: datetime
) -> dict[Schedule, list[tuple[datetime, datetime]]]:
    from tocsin.services.schedules import gaps

    return {
        schedule: gaps(session, schedule.id, now, now + LOOKAHEAD)
        for schedule in session.scalars(select(Schedule).order_by(Schedule.name))
    }


def _gap_detail(gaps: list[tuple[datetime, datetime]]) -> str:
    start, end = gaps[0]
    more = f" and {len(gaps) - 1} more" if len(gaps) > 1 else ""
    return (
        f"nobody on call from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} "
        f"UTC{more} in the next 14 days"
    )


def _team_of(session: Session, problem: Misconfiguration) -> set[int | None]:
    """The teams that own a problem's subject (a user: the teams they are in)."""
    subject_id = problem.subject_id
    if problem.subject == "service":
        return {session.scalar(select(Service.team_id).where(Service.id == subject_id))}
    if problem.subject == "escalation_policy":
        owner = select(EscalationPolicy.team_id).where(
            EscalationPolicy.id == subject_id
        )
        return {session.scalar(owner)}
    if problem.subject == "schedule":
        return {
            session.scalar(select(Schedule.team_id).where(Schedule.id == subject_id))
        }

    return set(
        session.scalars(
            select(TeamMember.team_id).where(TeamMember.user_id == subject_id)
        )
    )


def _visible_filter(
    session: Session, actor: Actor
) -> Callable[[Misconfiguration], bool]:
    """Whether the actor may see a problem: one of its owning teams is theirs
    (a user's problem is seen by the teams they belong to)."""
    if can_see_team(actor, -1):
        return lambda problem: True

    def visible(problem: Misconfiguration) -> bool:
        owners = _team_of(session, problem)
        return any(can_see_team(actor, team) for team in owners)

    return visible
