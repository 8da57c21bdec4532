"""Escalation stepping: which step comes after which, when, and whom it names.

A policy is a list of steps, each with a delay and targets. Step 0 pages as
soon as the incident triggers. While nobody acknowledges, the step after step
i pages `delay(i)` minutes after step i did. After the last step the whole
policy runs again, `repeat` more times; then escalation stops and the incident
stays triggered with everyone already paged.

Delays are elapsed time, not wall-clock time: a 60-minute step over a daylight
saving change still waits 60 minutes. Who a schedule target names is decided
when the step fires, never when the incident opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class TargetKind(StrEnum):
    USER = "user"
    # Whoever is on call in the schedule when the step fires.
    SCHEDULE = "schedule"
    # Every active member of the team who may act on incidents.
    TEAM = "team"


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    id: int


@dataclass(frozen=True)
class StepPlan:
    delay_minutes: int
    targets: tuple[Target, ...]
    # Page one target per firing, the next in turn each time.
    round_robin: bool = False
    step_id: int = 0


@dataclass(frozen=True)
class PolicyPlan:
    steps: tuple[StepPlan, ...]
    repeat: int = 0
    ack_timeout_minutes: int | None = None


@dataclass(frozen=True)
class Position:
    step: int
    loop: int


START = Position(0, 0)


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


def chosen_targets(step: StepPlan, turn: int) -> tuple[Target, ...]:
    """The targets a firing pages: all of them, or in round-robin the one whose
    turn it is (`turn` counts the step's earlier firings)."""
    if not step.round_robin or not step.targets:
        return step.targets

    return (step.targets[turn % len(step.targets)],)


def positions(plan: PolicyPlan) -> int:
    """How many positions a policy walks through before it is exhausted."""
    return len(plan.steps) * (plan.repeat + 1)


def describe(position: Position, plan: PolicyPlan) -> str:
    """A short human label for a position, as the timeline shows it."""
    label = f"step {position.step + 1} of {len(plan.steps)}"
    if plan.repeat:
        label += f", pass {position.loop + 1} of {plan.repeat + 1}"
    return label
