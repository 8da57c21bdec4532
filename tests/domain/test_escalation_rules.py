"""Escalation stepping as pure rules: order, repeats, delays, exhaustion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain.escalation import (
    PolicyPlan,
    Position,
    StepPlan,
    Target,
    TargetKind,
    describe,
    following,
    next_due,
)


def plan(*delays: int, repeat: int = 0) -> PolicyPlan:
    return PolicyPlan(
        steps=tuple(
            StepPlan(d, (Target(TargetKind.USER, i),)) for i, d in enumerate(delays)
        ),
        repeat=repeat,
    )


def walk(policy: PolicyPlan) -> list[Position]:
    positions = [Position(0, 0)]
    while (step := following(policy, positions[-1])) is not None:
        positions.append(step)
    return positions


def test_steps_follow_in_order_then_repeat_then_stop() -> None:
    assert walk(plan(5, 10, repeat=1)) == [
        Position(0, 0),
        Position(1, 0),
        Position(0, 1),
        Position(1, 1),
    ]


def test_an_empty_policy_has_nothing_next() -> None:
    assert following(PolicyPlan(steps=()), Position(0, 0)) is None


def test_the_next_step_is_due_after_the_current_steps_delay() -> None:
    paged = datetime(2026, 3, 29, 0, 58, tzinfo=UTC)
    assert next_due(plan(5, 10), Position(0, 0), paged) == paged + timedelta(minutes=5)
    assert next_due(plan(5, 10), Position(1, 0), paged) == paged + timedelta(minutes=10)


def test_labels_name_step_and_pass() -> None:
    assert describe(Position(1, 0), plan(1, 1)) == "step 2 of 2"
    assert describe(Position(0, 1), plan(1, 1, repeat=2)) == "step 1 of 2, pass 2 of 3"


@given(
    st.lists(st.integers(min_value=0, max_value=60), min_size=1, max_size=6),
    st.integers(min_value=0, max_value=5),
)
def test_every_step_pages_once_per_pass(delays: list[int], repeat: int) -> None:
    policy = plan(*delays, repeat=repeat)
    positions = walk(policy)

    assert len(positions) == len(delays) * (repeat + 1)
    assert len(set(positions)) == len(positions)
    assert all(0 <= p.step < len(delays) and 0 <= p.loop <= repeat for p in positions)
