"""Status page rules: state precedence, maintenance phases, and uptime per day
computed from the history of states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain.status_page import (
    ComponentState,
    MaintenancePhase,
    StateChange,
    daily_uptime,
    effective_state,
    maintenance_phase,
    overall_uptime,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
OK = ComponentState.OPERATIONAL
DEGRADED = ComponentState.DEGRADED
PARTIAL = ComponentState.PARTIAL_OUTAGE
MAJOR = ComponentState.MAJOR_OUTAGE
MAINTENANCE = ComponentState.MAINTENANCE


def test_worst_open_impact_wins_and_maintenance_ranks_below_incidents() -> None:
    """Two incidents show the worse; maintenance shows only without incidents."""
    assert (
        effective_state(
            manual=None, incident_impacts=[DEGRADED, PARTIAL], in_maintenance=False
        )
        == PARTIAL
    )
    assert (
        effective_state(manual=None, incident_impacts=[DEGRADED], in_maintenance=True)
        == DEGRADED
    )
    assert effective_state(manual=None, incident_impacts=[], in_maintenance=True) == (
        MAINTENANCE
    )
    assert effective_state(manual=None, incident_impacts=[], in_maintenance=False) == OK


def test_a_manual_state_beats_incidents_and_maintenance() -> None:
    """What the operator set is shown, even better than the incidents say."""
    assert (
        effective_state(
            manual="operational", incident_impacts=[MAJOR], in_maintenance=True
        )
        == OK
    )


def test_maintenance_phases_start_inclusive_and_end_exclusive() -> None:
    """At its start a window is in progress; at its end it is completed."""
    start, end = NOW, NOW + timedelta(hours=1)

    def phase(now: datetime, cancelled: datetime | None = None) -> MaintenancePhase:
        return maintenance_phase(
            starts_at=start, ends_at=end, cancelled_at=cancelled, now=now
        )

    assert phase(start - timedelta(seconds=1)) is MaintenancePhase.UPCOMING
    assert phase(start) is MaintenancePhase.IN_PROGRESS
    assert phase(end) is MaintenancePhase.COMPLETED
    assert phase(start, cancelled=start) is MaintenancePhase.CANCELLED


def test_days_before_the_component_existed_have_no_bar_value() -> None:
    """A component made this morning has 89 empty days and one measured day."""
    made = NOW.replace(hour=6)
    bars = daily_uptime([StateChange(made, OK)], now=NOW)

    assert len(bars) == 90
    assert bars[-1].day == NOW.date()
    assert all(bar.uptime is None for bar in bars[:-1])
    assert bars[-1].uptime == 1.0
    assert bars[-1].measured_seconds == 6 * 3600


def test_outages_count_by_weight_within_their_days() -> None:
    """Six hours of major outage yesterday is 75% up; twelve hours of partial
    outage today (to noon) counts half: 50% up over the measured twelve hours."""
    yesterday = NOW.replace(hour=0) - timedelta(days=1)
    changes = [
        StateChange(yesterday - timedelta(days=10), OK),
        StateChange(yesterday + timedelta(hours=18), MAJOR),
        StateChange(yesterday + timedelta(hours=24), PARTIAL),
    ]
    bars = daily_uptime(changes, now=NOW)

    assert bars[-2].uptime == 0.75
    assert bars[-2].worst is MAJOR
    assert bars[-1].uptime == 0.5
    assert bars[-1].worst is PARTIAL
    assert bars[-3].uptime == 1.0
    assert bars[-3].worst is OK


def test_a_state_from_before_the_window_carries_into_it() -> None:
    """A major outage that began 200 days ago fills every bar."""
    bars = daily_uptime([StateChange(NOW - timedelta(days=200), MAJOR)], now=NOW)

    assert all(bar.uptime == 0.0 for bar in bars)
    assert overall_uptime(bars) == 0.0


def test_degraded_and_maintenance_count_as_up() -> None:
    """Only outages lower uptime."""
    start = NOW - timedelta(days=3)
    changes = [
        StateChange(start, DEGRADED),
        StateChange(start + timedelta(days=1), MAINTENANCE),
    ]
    assert overall_uptime(daily_uptime(changes, now=NOW)) == 1.0


@given(
    st.lists(
        st.tuples(st.integers(0, 100 * 24 * 60), st.sampled_from(list(ComponentState))),
        min_size=1,
        max_size=30,
    )
)
def test_measured_time_is_the_time_since_the_history_began(
    steps: list[tuple[int, ComponentState]],
) -> None:
    """Whatever the history, bars measure exactly the time from its start (or
    the window's) to now, and uptime stays between 0 and 1."""
    changes = sorted(
        (
            StateChange(NOW - timedelta(minutes=minutes), state)
            for minutes, state in steps
        ),
        key=lambda change: change.at,
    )
    bars = daily_uptime(changes, now=NOW)

    window_start = datetime.combine(bars[0].day, datetime.min.time(), UTC)
    expected = (NOW - max(changes[0].at, window_start)).total_seconds()
    assert abs(sum(bar.measured_seconds for bar in bars) - expected) < 1e-6
    for bar in bars:
        assert bar.uptime is None or 0.0 <= bar.uptime <= 1.0
