"""Incident status and the transitions between statuses.

    triggered ──acknowledge──▶ acknowledged
        │  ▲                        │
        │  └──────unacknowledge─────┘   (a re-escalation or a reassignment)
        └──────────resolve──────────┴──▶ resolved
        ▲                                   │
        └───────────────reopen──────────────┘   (a person, never an alert)

A new alert for the same thing after resolution opens a new incident, so the
resolved incident's record stays as it was. Only a person who decides the
problem is back reopens one; the metrics then count it once, with a reopen.
"""

from __future__ import annotations

from enum import StrEnum

from tocsin.errors import Conflict


class IncidentStatus(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class IncidentAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    UNACKNOWLEDGE = "unacknowledge"
    RESOLVE = "resolve"
    REOPEN = "reopen"


_TRANSITIONS: dict[tuple[IncidentStatus, IncidentAction], IncidentStatus] = {
    (IncidentStatus.TRIGGERED, IncidentAction.ACKNOWLEDGE): IncidentStatus.ACKNOWLEDGED,
    (IncidentStatus.ACKNOWLEDGED, IncidentAction.UNACKNOWLEDGE): (
        IncidentStatus.TRIGGERED
    ),
    (IncidentStatus.TRIGGERED, IncidentAction.RESOLVE): IncidentStatus.RESOLVED,
    (IncidentStatus.ACKNOWLEDGED, IncidentAction.RESOLVE): IncidentStatus.RESOLVED,
    (IncidentStatus.RESOLVED, IncidentAction.REOPEN): IncidentStatus.TRIGGERED,
}

# Asking for the state one is already in changes nothing and is not an error: an
# acknowledge link clicked twice, or two responders acknowledging at once.
# Reopening is not here on purpose: reopening an open incident is a conflict,
# so that of two people reopening at once, the second learns it was done.
_ALREADY = {
    (IncidentStatus.ACKNOWLEDGED, IncidentAction.ACKNOWLEDGE),
    (IncidentStatus.TRIGGERED, IncidentAction.UNACKNOWLEDGE),
    (IncidentStatus.RESOLVED, IncidentAction.RESOLVE),
}


def next_status(
    current: IncidentStatus | str, action: IncidentAction
) -> IncidentStatus | None:
    """The status after `action`, or None when the incident is already there.

    Raises Conflict when the action makes no sense from `current`, such as
    acknowledging a resolved incident.
    """
    current = IncidentStatus(current)
    if (current, action) in _ALREADY:
        return None

    target = _TRANSITIONS.get((current, action))
    if target is None:
        raise Conflict(f"cannot {action} an incident that is {current}")

    return target


def is_open(status: IncidentStatus | str) -> bool:
    return IncidentStatus(status) is not IncidentStatus.RESOLVED
