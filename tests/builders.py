"""Builders for the objects tests need, written straight to the store.

They take the fewest arguments that make a valid object and return plain ids or
refs, so tests read as "given a service paging Ann then Bob".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from tocsin.domain.access import SYSTEM, Actor, Role
from tocsin.domain.alerts import AlertAction, AlertEvent
from tocsin.services import integrations, users
from tocsin.services.context import Context
from tocsin.services.incidents import team_ids_of
from tocsin.services.integrations import IntegrationRef
from tocsin.store.models import (
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    Service,
    Team,
    User,
)


def make_user(
    ctx: Context,
    email: str = "ann@example.com",
    *,
    name: str | None = None,
    role: str = "responder",
    teams: tuple[str, ...] = ("Ops",),
    password: str | None = "correct horse battery",
) -> User:
    return users.create_user(
        ctx,
        SYSTEM,
        email=email,
        name=name or email.split("@")[0].title(),
        role=role,
        password=password,
        teams=teams,
        create_teams=True,
    )


def user_by_email(ctx: Context, email: str) -> User:
    with ctx.db.read() as session:
        return session.scalars(select(User).where(User.email == email)).one()


def actor_of(ctx: Context, user: User, kind: str = "token") -> Actor:
    with ctx.db.read() as session:
        return Actor(
            kind=kind,
            label=user.email,
            user_id=user.id,
            role=Role(user.role),
            team_ids=team_ids_of(session, user.id),
        )


def make_service(
    ctx: Context,
    name: str = "checkout",
    *,
    steps: Sequence[tuple[int, Sequence[User]]] = (),
    repeat: int = 0,
    team: str | None = "Ops",
    auto_resolve: bool = True,
) -> int:
    """A service whose policy has `steps`, each (delay minutes, users to page)."""
    now = ctx.clock.now()
    with ctx.db.write() as session:
        team_row = None
        if team is not None:
            team_row = users.ensure_team(session, team, now)
        policy = None
        if steps:
            policy = EscalationPolicy(
                name=f"{name} policy",
                team_id=team_row.id if team_row else None,
                repeat=repeat,
                created_at=now,
            )
            policy.steps = [
                EscalationStep(
                    position=i,
                    delay_minutes=delay,
                    targets=[EscalationTarget(user_id=user.id) for user in people],
                )
                for i, (delay, people) in enumerate(steps)
            ]
            session.add(policy)
            session.flush()
        service = Service(
            name=name,
            team_id=team_row.id if team_row else None,
            escalation_policy_id=policy.id if policy else None,
            auto_resolve=auto_resolve,
            created_at=now,
        )
        session.add(service)
        session.flush()
        return service.id


def make_integration(
    ctx: Context, service: str = "checkout", kind: str = "events_v2"
) -> tuple[IntegrationRef, str]:
    return integrations.create(ctx, service, kind)


def trigger(
    dedup_key: str = "disk-full",
    summary: str = "Disk full on db-1",
    *,
    severity: str = "critical",
    group_key: str | None = None,
    **labels: str,
) -> AlertEvent:
    return AlertEvent(
        action=AlertAction.TRIGGER,
        dedup_key=dedup_key,
        summary=summary,
        severity=severity,
        labels=dict(labels),
        group_key=group_key,
    )


def resolve(dedup_key: str = "disk-full") -> AlertEvent:
    return AlertEvent(action=AlertAction.RESOLVE, dedup_key=dedup_key, summary="")


def acknowledge(dedup_key: str = "disk-full") -> AlertEvent:
    return AlertEvent(action=AlertAction.ACKNOWLEDGE, dedup_key=dedup_key, summary="")


def team_id(ctx: Context, name: str) -> int:
    with ctx.db.read() as session:
        found = session.scalar(select(Team.id).where(Team.name == name))
        if found is None:
            raise LookupError(name)
        return found


def make_schedule(
    ctx: Context,
    name: str = "Ops primary",
    *,
    members: Sequence[User] = (),
    team: str = "Ops",
    time_zone: str = "UTC",
    shift_unit: str = "days",
    shift_count: int = 1,
    start_local: datetime | None = None,
) -> int:
    """A schedule with one layer rotating through `members` (none: no layer),
    its first handoff at `start_local` (default 2026-03-01 09:00 local)."""
    from tocsin.services import schedule_edits

    with ctx.db.write() as session:
        users.ensure_team(session, team, ctx.clock.now())
    schedule = schedule_edits.create_schedule(
        ctx, SYSTEM, name=name, team=team, time_zone=time_zone
    )
    if members:
        schedule_edits.add_layer(
            ctx,
            SYSTEM,
            schedule.id,
            schedule_edits.LayerInput(
                name="Primary",
                members=tuple(user.id for user in members),
                shift_unit=shift_unit,
                shift_count=shift_count,
                start_local=start_local or datetime(2026, 3, 1, 9, 0),  # noqa: DTZ001
            ),
        )
    return schedule.id
