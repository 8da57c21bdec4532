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
def test_resolved_is_final_whatever_follows(actions: list[IncidentAction]) -> None:
    status = T
    resolved_seen = False
    for action in actions:
        try:
            status = next_status(status, action) or status
        except Conflict:
            assert status is R
        resolved_seen = resolved_seen or status is R
        if resolved_seen:
            assert status is R
            assert not is_open(status)
