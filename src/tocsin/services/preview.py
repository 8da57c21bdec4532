"""Escalation preview: if this service alerted at T and nobody acknowledged,
who would be paged, and when.

The preview walks the service's policy the way the worker would: steps at
their delays, schedules resolved at the instant each step would fire, empty
steps skipped at once, round-robin turns continuing from where they stand,
and maintenance windows holding steps until they end. It writes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.domain import escalation as rules
from tocsin.domain.access import Actor, can_see_team
from tocsin.errors import InvalidInput, NotFound
from tocsin.schemas import UserRef
from tocsin.services import maintenance
from tocsin.services.context import Context
from tocsin.services.escalation import load_plan, reach
from tocsin.store.models import (
    ContactMethod,
    EscalationPolicy,
    EscalationStep,
    Service,
    User,
)

# A preview looks at most this far ahead of now, or behind it.
HORIZON = timedelta(days=366)


class PreviewPage(BaseModel):
    """One step's firing: when, which step, and whom it pages."""

    at: datetime
    step: int
    repeat_pass: int
    label: str
    users: list[UserRef]
    # Targets that named nobody, users who cannot be reached, held steps.
    notes: list[str]


class EscalationPreview(BaseModel):
    service: str
    policy: str | None
    at: datetime
    pages: list[PreviewPage]
    # About the whole policy: no policy, exhausted, nobody reachable.
    notes: list[str]


def preview(
    ctx: Context, actor: Actor, service_id: int, at: datetime | None = None
) -> EscalationPreview:
    """Who a new incident of the service, opened at `at` (default: now), would
    page at each step if nobody acknowledged. Raises NotFound or InvalidInput."""
    now = ctx.clock.now()
    at = _checked_instant(at or now, now)

    with ctx.db.read() as session:
        service = session.get(Service, service_id) if 0 < service_id < 2**31 else None
        if service is None or not can_see_team(actor, service.team_id):
            raise NotFound(f"no service with id {service_id}")

        policy = session.get(EscalationPolicy, service.escalation_policy_id or 0)
        plan = load_plan(session, policy.id) if policy else None
        result = EscalationPreview(
            service=service.name,
            policy=policy.name if policy else None,
            at=at,
            pages=[],
            notes=[],
        )
        if policy is None or plan is None or not plan.steps:
            result.notes.append("the service has no escalation policy with steps")
            return result

        turns = dict(
            session.execute(
                select(EscalationStep.id, EscalationStep.round_robin_turn).where(
                    EscalationStep.policy_id == policy.id
                )
            ).all()
        )
        moment = at
        position: rules.Position | None = rules.START
        while position is not None:
            notes: list[str] = []
            held = maintenance.service_held_until(session, service.id, moment)
            if held is not None:
                notes.append(
                    f"held by a maintenance window from {moment:%Y-%m-%d %H:%M} UTC"
                )
                moment = held

            step = plan.steps[position.step]
            turn = turns.get(step.step_id, 0)
            if step.round_robin:
                turns[step.step_id] = turn + 1
            reached = reach(session, step, moment, turn=turn)
            notes.extend(reached.notes)
            users = _users(session, reached.user_ids)
            notes.extend(
                f"{user.name} has no contact method"
                for user, reachable in users
                if not reachable
            )
            if not reached.user_ids:
                notes.append("reaches nobody: the next step pages at once")
            result.pages.append(
                PreviewPage(
                    at=moment,
                    step=position.step + 1,
                    repeat_pass=position.loop + 1,
                    label=rules.describe(position, plan),
                    users=[user for user, _ in users],
                    notes=notes,
                )
            )

            if reached.user_ids:
                moment = rules.next_due(plan, position, moment)
            position = rules.following(plan, position)

        if not any(page.users for page in result.pages):
            result.notes.append("no step reaches anyone: nobody would be paged")
        result.notes.append(
            "after the last step Tocsin waits for an acknowledgement; an "
            "acknowledgement at any point stops the steps that follow"
        )
        return result


def _users(session: Session, user_ids: tuple[int, ...]) -> list[tuple[UserRef, bool]]:
    """The users, in order, each with whether they have a contact method."""
    if not user_ids:
        return []

    found = {
        user.id: user
        for user in session.scalars(select(User).where(User.id.in_(user_ids)))
    }
    reachable = set(
        session.scalars(
            select(ContactMethod.user_id).where(ContactMethod.user_id.in_(user_ids))
        )
    )
    return [
        (UserRef.model_validate(found[i]), i in reachable and found[i].active)
        for i in user_ids
        if i in found
    ]


def _checked_instant(at: datetime, now: datetime) -> datetime:
    if at.tzinfo is None:
        raise InvalidInput("the instant needs a time zone offset")
    try:
        at = at.astimezone(UTC)
    except OverflowError as error:
        raise InvalidInput("the instant is out of range") from error
    if abs(at - now) > HORIZON:
        raise InvalidInput("a preview looks at most a year from now")
    return at
