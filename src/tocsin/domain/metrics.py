"""Incident metrics: the rules that turn an incident's timeline into durations,
and durations into mean, median and p90. Pure: no I/O.

The incident row keeps only the latest state (an acknowledgement is cleared when
the incident triggers again), so the figures come from the timeline, which is
append-only. The rules, also in docs/metrics.md:

- Opened: the incident's `created_at`. Every duration counts from there, in
  UTC, so a daylight-saving change during an incident neither adds nor takes an
  hour.
- Acknowledged: the first `acknowledged` entry before the first resolution. An
  acknowledgement made after the incident was resolved (a late link, a replay)
  does not count: nobody was answering the page. Triggering again after an
  acknowledgement does not reset it: time to acknowledge is the time to the
  first human answer.
- Mitigated: the first move to stage `monitoring`; an incident resolved without
  one was mitigated when it was first resolved.
- Resolved: the last resolution, provided nothing reopened the incident after
  it; an incident reopened and not resolved again has no time to resolve yet.
  A resolution is a `resolved` entry or a move to stage `resolved`; a reopen is
  a `reopened` entry or a move to any other stage after a resolution. A
  reopened incident is still one incident in every count, with `reopens` > 0.
- Declared: `declared_at` when the incident was declared (zero when it was
  declared as it opened).
- A duration never goes below zero (clocks of different hosts can disagree by a
  little).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ACKNOWLEDGED = "acknowledged"
RESOLVED = "resolved"
REOPENED = "reopened"
STAGE_CHANGED = "stage_changed"
PAGED = "paged"
MONITORING = "monitoring"

# Timeline kinds the rules read; the service loads only these.
KINDS = (ACKNOWLEDGED, RESOLVED, REOPENED, STAGE_CHANGED, PAGED)

# A page at or after 22:00 and before 07:00 in the person's own time zone wakes
# them up (or keeps them from sleeping): a night page.
NIGHT_STARTS = time(22, 0)
NIGHT_ENDS = time(7, 0)


@dataclass(frozen=True)
class Event:
    """One timeline entry, as far as the metrics care: what, when, by whom, and
    for a stage change the stage moved to."""

    kind: str
    at: datetime
    user_id: int | None = None
    stage: str | None = None


@dataclass(frozen=True)
class IncidentTimes:
    opened_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    declared_at: datetime | None
    reopens: int
    pages: int
    people: frozenset[int]

    @property
    def to_acknowledge(self) -> timedelta | None:
        return _since(self.opened_at, self.acknowledged_at)

    @property
    def to_mitigate(self) -> timedelta | None:
        return _since(self.opened_at, self.mitigated_at)

    @property
    def to_resolve(self) -> timedelta | None:
        return _since(self.opened_at, self.resolved_at)

    @property
    def to_declare(self) -> timedelta | None:
        return _since(self.opened_at, self.declared_at)


def _since(start: datetime, end: datetime | None) -> timedelta | None:
    if end is None:
        return None
    return max(end.astimezone(UTC) - start.astimezone(UTC), timedelta(0))


def _is_resolution(event: Event) -> bool:
    return event.kind == RESOLVED or (
        event.kind == STAGE_CHANGED and event.stage == RESOLVED
    )


def _is_reopen(event: Event) -> bool:
    return event.kind == REOPENED or (
        event.kind == STAGE_CHANGED and event.stage not in (None, RESOLVED)
    )


def incident_times(
    opened_at: datetime,
    events: Iterable[Event],
    *,
    declared_at: datetime | None = None,
) -> IncidentTimes:
    """Apply the rules in this module's docstring to one incident's timeline.
    `events` may come in any order; entries at the same instant keep theirs."""
    ordered = sorted(events, key=lambda e: e.at.astimezone(UTC))
    acknowledged: datetime | None = None
    monitoring: datetime | None = None
    first_resolved: datetime | None = None
    resolved: datetime | None = None
    reopens = 0
    pages = 0
    people: set[int] = set()

    for event in ordered:
        if event.user_id is not None:
            people.add(event.user_id)
        if event.kind == PAGED:
            pages += 1
        elif event.kind == ACKNOWLEDGED:
            if acknowledged is None and first_resolved is None:
                acknowledged = event.at
        elif _is_resolution(event):
            first_resolved = first_resolved or event.at
            resolved = event.at
        elif _is_reopen(event) and resolved is not None:
            reopens += 1
            resolved = None
        if (
            event.kind == STAGE_CHANGED
            and event.stage == MONITORING
            and monitoring is None
        ):
            monitoring = event.at

    return IncidentTimes(
        opened_at=opened_at,
        acknowledged_at=acknowledged,
        mitigated_at=monitoring or first_resolved,
        resolved_at=resolved,
        declared_at=declared_at,
        reopens=reopens,
        pages=pages,
        people=frozenset(people),
    )


@dataclass(frozen=True)
class Summary:
    """Count, mean, median and 90th percentile of some durations; the figures
    are None when there is nothing to summarise."""

    count: int
    mean: timedelta | None
    median: timedelta | None
    p90: timedelta | None


def summarize(durations: Iterable[timedelta | None]) -> Summary:
    """Mean, median (the mean of the middle two for an even count) and p90 by
    nearest rank: the smallest value with at least 90% of the values at or
    below it, so it is always one of the durations. Missing values (None: not
    acknowledged, not resolved yet) are left out."""
    values = sorted(d for d in durations if d is not None)
    if not values:
        return Summary(0, None, None, None)

    count = len(values)
    mean = sum(values, timedelta(0)) / count
    middle = count // 2
    median = values[middle] if count % 2 else (values[middle - 1] + values[middle]) / 2
    p90 = values[math.ceil(0.9 * count) - 1]
    return Summary(count, mean, median, p90)


def is_night(at: datetime, zone: ZoneInfo) -> bool:
    """Whether `at` falls in the night (NIGHT_STARTS to NIGHT_ENDS) where the
    person lives, by their wall clock, whatever the offset that day."""
    local = at.astimezone(zone).time()
    return local >= NIGHT_STARTS or local < NIGHT_ENDS


def week_of(at: datetime) -> date:
    """The Monday (UTC) starting the ISO week `at` falls in: trends are by
    week, and every installation agrees where a week starts."""
    day = at.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def weeks_between(start: datetime, end: datetime) -> list[date]:
    """Every week from the one holding `start` to the one holding `end`, so a
    week with no incidents shows as zero rather than vanishing from a trend."""
    first, last = week_of(start), week_of(end)
    weeks: list[date] = []
    while first <= last:
        weeks.append(first)
        first += timedelta(days=7)
    return weeks


def hours(duration: timedelta | None) -> float | None:
    return None if duration is None else duration.total_seconds() / 3600


def minutes(duration: timedelta | None) -> float | None:
    return None if duration is None else duration.total_seconds() / 60


def rate(done: int, total: int) -> float | None:
    """A share from 0 to 1, or None when there is nothing to count."""
    return None if total == 0 else done / total


def overlap(
    spans: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime
) -> timedelta:
    """How much of [start, end) the spans cover, counting an overlap once."""
    covered = timedelta(0)
    reach = start
    for begin, finish in sorted(spans):
        begin, finish = max(begin, reach), min(finish, end)
        if finish > begin:
            covered += finish - begin
            reach = finish
    return covered
