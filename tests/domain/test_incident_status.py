"""Incident status transitions: the allowed moves, the no-ops and the refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain.incidents import (
    IncidentAction,
    IncidentStatus,
    is_open,
    next_status,
)
from tocsin.errors import Conflict

T, A, R = IncidentStatus.TRIGGERED, IncidentStatus.ACKNOWLEDGED, IncidentStatus.RESOLVED


@pytest.mark.parametrize(
    ("current", "action", "expected"),
    [
        (T, IncidentAction.ACKNOWLEDGE, A),
        (T, IncidentAction.RESOLVE, R),
        (A, IncidentAction.RESOLVE, R),
        (A, IncidentAction.UNACKNOWLEDGE, T),
        (R, IncidentAction.REOPEN, T),
    ],
)
def test_allowed_transitions(
    current: IncidentStatus, action: IncidentAction, expected: IncidentStatus
) -> None:
    assert next_status(current, action) is expected


@pytest.mark.parametrize(
    ("current", "action"),
    [
        (A, IncidentAction.ACKNOWLEDGE),
        (T, IncidentAction.UNACKNOWLEDGE),
        (R, IncidentAction.RESOLVE),
    ],
)
def test_repeating_the_current_state_is_a_no_op(
    current: IncidentStatus, action: IncidentAction
) -> None:
    assert next_status(current, action) is None


@pytest.mark.parametrize(
    "action", [IncidentAction.ACKNOWLEDGE, IncidentAction.UNACKNOWLEDGE]
)
def test_a_resolved_incident_cannot_be_acknowledged_again(
    action: IncidentAction,
) -> None:
    with pytest.raises(Conflict, match="resolved"):
        next_status(R, action)


@given(st.lists(st.sampled_from(list(IncidentAction)), max_size=30))
def test_only_a_reopen_leaves_resolved(actions: list[IncidentAction]) -> None:
    """Alerts and timers never bring a resolved incident back: of every
    action, only a person's reopen moves it, and only to triggered."""
    status = T
    for action in actions:
        before = status
        try:
            status = next_status(status, action) or status
        except Conflict:
            assert before is R or action is IncidentAction.REOPEN
        if before is R and status is not R:
            assert action is IncidentAction.REOPEN
            assert status is T
        assert is_open(status) is (status is not R)


@pytest.mark.parametrize("current", [T, A])
def test_reopening_an_open_incident_is_a_conflict(current: IncidentStatus) -> None:
    """Not a no-op: of two people reopening at once, the second is told."""
    with pytest.raises(Conflict, match=current.value):
        next_status(current, IncidentAction.REOPEN)
