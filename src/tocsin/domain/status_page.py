"""Rules of the public status page: component states, maintenance phases, uptime.

A component's effective state, in order of precedence:

1. the state an operator set by hand, while it is set (an operator who knows
   better than the incidents, say for a known outage nobody has declared);
2. otherwise the worst of: the impact of each open public incident that names
   the component, and `maintenance` while a maintenance window covering it runs;
3. otherwise `operational`.

States are ordered operational < maintenance < degraded < partial outage <
major outage, so an incident during planned work shows as the incident.

Uptime is computed from the recorded history of effective states, per UTC day:
a major outage counts as down in full, a partial outage as half down, and every
other state as up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum


class ComponentState(StrEnum):
    OPERATIONAL = "operational"
    MAINTENANCE = "maintenance"
    DEGRADED = "degraded"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"

    @property
    def label(self) -> str:
        """How the page names the state."""
        return _LABELS[self]


_LABELS = {
    ComponentState.OPERATIONAL: "Operational",
    ComponentState.MAINTENANCE: "Under maintenance",
    ComponentState.DEGRADED: "Degraded performance",
    ComponentState.PARTIAL_OUTAGE: "Partial outage",
    ComponentState.MAJOR_OUTAGE: "Major outage",
}
_RANK = {state: rank for rank, state in enumerate(ComponentState)}

# What a public incident can do to its components while it is open.
IMPACTS = (
    ComponentState.DEGRADED,
    ComponentState.PARTIAL_OUTAGE,
    ComponentState.MAJOR_OUTAGE,
)

# Share of a span counted as down, by state; states not named count as up.
DOWNTIME_WEIGHT = {
    ComponentState.PARTIAL_OUTAGE: 0.5,
    ComponentState.MAJOR_OUTAGE: 1.0,
}

UPTIME_DAYS = 90


class Stage(StrEnum):
    """Where a public incident stands, as its updates tell the public."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class MaintenancePhase(StrEnum):
    UPCOMING = "upcoming"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


def worst(states: Iterable[ComponentState | str]) -> ComponentState:
    """The worst of `states`; operational when there are none."""
    found = ComponentState.OPERATIONAL
    for state in states:
        state = ComponentState(state)
        if _RANK[state] > _RANK[found]:
            found = state
    return found


def effective_state(
    *,
    manual: ComponentState | str | None,
    incident_impacts: Iterable[ComponentState | str],
    in_maintenance: bool,
) -> ComponentState:
    """The state a component shows; see the module's precedence rules."""
    if manual is not None:
        return ComponentState(manual)

    found = worst(incident_impacts)
    if in_maintenance:
        found = worst([found, ComponentState.MAINTENANCE])
    return found


def impact_for_severity(severity: str) -> ComponentState:
    """The impact a public incident gets by default from its Tocsin incident's
    severity: SEV1 a major outage, SEV2 a partial one, anything milder degraded."""
    if severity == "sev1":
        return ComponentState.MAJOR_OUTAGE
    if severity == "sev2":
        return ComponentState.PARTIAL_OUTAGE
    return ComponentState.DEGRADED


def maintenance_phase(
    *,
    starts_at: datetime,
    ends_at: datetime,
    cancelled_at: datetime | None,
    now: datetime,
) -> MaintenancePhase:
    """Where a maintenance window stands at `now`; the start is inclusive and the
    end exclusive."""
    if cancelled_at is not None:
        return MaintenancePhase.CANCELLED
    if now < starts_at:
        return MaintenancePhase.UPCOMING
    if now < ends_at:
        return MaintenancePhase.IN_PROGRESS
    return MaintenancePhase.COMPLETED


@dataclass(frozen=True)
class StateChange:
    """A component's effective state from `at` on."""

    at: datetime
    state: ComponentState


@dataclass(frozen=True)
class DayBar:
    """One UTC day of a component's uptime history.

    `uptime` is None for a day the component did not exist yet (or a day still
    to come); `worst` is the worst state seen during the measured part of it.
    """

    day: date
    uptime: float | None
    worst: ComponentState | None
    measured_seconds: float
    down_seconds: float


def daily_uptime(
    changes: Sequence[StateChange], *, now: datetime, days: int = UPTIME_DAYS
) -> list[DayBar]:
    """The last `days` UTC days, oldest first, today (measured up to `now`) last.

    `changes` is the component's history in time order; the first change is
    when its history begins (the component was made). A change before the first
    day carries its state into it.
    """
    now = now.astimezone(UTC)
    today = now.date()
    first_day = today - timedelta(days=days - 1)
    day_starts = [
        datetime.combine(first_day + timedelta(days=i), time(), UTC)
        for i in range(days + 1)
    ]
    measured = [0.0] * days
    down = [0.0] * days
    worst_seen: list[ComponentState | None] = [None] * days

    for index, change in enumerate(changes):
        start = max(change.at.astimezone(UTC), day_starts[0])
        end = now
        if index + 1 < len(changes):
            end = min(changes[index + 1].at.astimezone(UTC), now)
        if end <= start:
            continue

        weight = DOWNTIME_WEIGHT.get(change.state, 0.0)
        day = (start.date() - first_day).days
        while day < days and day_starts[day] < end:
            span_start = max(start, day_starts[day])
            span_end = min(end, day_starts[day + 1])
            if span_end > span_start:
                seconds = (span_end - span_start).total_seconds()
                measured[day] += seconds
                down[day] += seconds * weight
                worst_seen[day] = worst(
                    [change.state, worst_seen[day] or ComponentState.OPERATIONAL]
                )
            day += 1

    return [
        DayBar(
            day=first_day + timedelta(days=i),
            uptime=(1 - down[i] / measured[i]) if measured[i] else None,
            worst=worst_seen[i],
            measured_seconds=measured[i],
            down_seconds=down[i],
        )
        for i in range(days)
    ]


def overall_uptime(bars: Sequence[DayBar]) -> float | None:
    """Uptime over every measured second of `bars`; None when none was measured."""
    measured = sum(bar.measured_seconds for bar in bars)
    if not measured:
        return None
    return 1 - sum(bar.down_seconds for bar in bars) / measured
