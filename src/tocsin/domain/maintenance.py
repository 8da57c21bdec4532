"""Maintenance windows as pure rules: which occurrence covers an instant.

A window is one span, or a span repeated every day or week at the same local
wall-clock time in its IANA zone. Occurrence k starts at the first start's
local time plus k days (or weeks), turned back into UTC, and lasts as long as
the first occurrence did, in elapsed time.

At a daylight saving change the local start may not exist (spring forward) or
exist twice (fall back). Tocsin reads it with `fold=0`, as zoneinfo does: a
nonexistent 02:30 becomes the instant 02:30 would be under the offset before
the change (03:30 after it), and a repeated 01:30 is the first one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class Recurrence(StrEnum):
    ONCE = "once"
    DAILY = "daily"
    WEEKLY = "weekly"


PERIODS = {Recurrence.DAILY: timedelta(days=1), Recurrence.WEEKLY: timedelta(weeks=1)}


@dataclass(frozen=True)
class WindowRule:
    starts_at: datetime
    ends_at: datetime
    recurrence: Recurrence = Recurrence.ONCE
    time_zone: str = "UTC"
    repeat_until: datetime | None = None


def occurrence(rule: WindowRule, k: int) -> tuple[datetime, datetime]:
    """Occurrence `k` (0 is the first) as a UTC (start, end)."""
    if rule.recurrence is Recurrence.ONCE:
        return rule.starts_at, rule.ends_at

    zone = ZoneInfo(rule.time_zone)
    local = rule.starts_at.astimezone(zone).replace(tzinfo=None)
    start = (local + k * PERIODS[rule.recurrence]).replace(tzinfo=zone, fold=0)
    start = start.astimezone(UTC)
    return start, start + (rule.ends_at - rule.starts_at)


def covering(rule: WindowRule, at: datetime) -> tuple[datetime, datetime] | None:
    """The occurrence whose span [start, end) holds `at`, if any."""
    if at < rule.starts_at:
        return None
    if rule.recurrence is Recurrence.ONCE:
        return (rule.starts_at, rule.ends_at) if at < rule.ends_at else None

    # Local days and weeks differ from elapsed ones by at most an hour or two
    # across a DST change; the neighbours of the estimate cover that.
    estimate = (at - rule.starts_at) // PERIODS[rule.recurrence]
    for k in (estimate + 1, estimate, estimate - 1):
        if k < 0:
            continue
        start, end = occurrence(rule, k)
        if rule.repeat_until is not None and start >= rule.repeat_until:
            continue
        if start <= at < end:
            return start, end
    return None


def held_until(rules: list[WindowRule], at: datetime) -> datetime | None:
    """When paging may go on, if windows cover `at`; None if none does.

    Windows that overlap or touch are followed to the end of the last one.
    """
    until = None
    moment = at
    # Each round moves past one occurrence; a chain this long is not a window.
    for _ in range(1000):
        ends = [found[1] for r in rules if (found := covering(r, moment)) is not None]
        if not ends:
            return until
        until = moment = max(ends)
    return until


def next_start(rule: WindowRule, after: datetime) -> datetime | None:
    """The start of the first occurrence that begins after `after`, if any."""
    if rule.recurrence is Recurrence.ONCE:
        return rule.starts_at if rule.starts_at > after else None

    first = max((after - rule.starts_at) // PERIODS[rule.recurrence] - 1, 0)
    for k in range(first, first + 4):
        start, _ = occurrence(rule, k)
        if rule.repeat_until is not None and start >= rule.repeat_until:
            return None
        if start > after:
            return start
    return None
