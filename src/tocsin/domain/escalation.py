"""Escalation stepping: which step comes after which, and when.

A policy is a list of steps, each with a delay. Step 0 pages as soon as the
incident triggers. While nobody acknowledges, the step after step i pages
`delay(i)` minutes after step i did. After the last step the whole policy runs
again, `repeat` more times; then escalation stops and the incident stays
triggered with everyone already paged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class StepPlan:
    delay_minutes: int
    target_user_ids: tuple[int, ...]


@dataclass(frozen=True)
class PolicyPlan:
    steps: tuple[StepPlan, ...]
    repeat: int = 0


@dataclass(frozen=True)
class Position:
    step: int
    loop: int


def following(plan: PolicyPlan, current: Position) -> Position | None:
    """The position after `current`, or None when the policy is exhausted."""
    if not plan.steps:
        return None

    if current.step + 1 < len(plan.steps):
        return Position(current.step + 1, current.loop)
    if current.loop < plan.repeat:
        return Position(0, current.loop + 1)

    return None


def next_due(plan: PolicyPlan, current: Position, paged_at: datetime) -> datetime:
    """When the step after `current` is due, given `current` paged at `paged_at`."""
    return paged_at + timedelta(minutes=plan.steps[current.step].delay_minutes)


def describe(position: Position, plan: PolicyPlan) -> str:
    """A short human label for a position, as the timeline shows it."""
    label = f"step {position.step + 1} of {len(plan.steps)}"
    if plan.repeat:
        label += f", pass {position.loop + 1} of {plan.repeat + 1}"
    return label
