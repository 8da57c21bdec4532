"""Who is on call when: rotations, layers and overrides rendered to a timeline.

Pure rules, no I/O. Every instant here is a timezone-aware UTC datetime except
where a name says `local`: a local time is a naive datetime read on the wall
clock of the schedule's IANA zone.

The handoff rule (see docs/schedules.md): a handoff happens at the first
instant the schedule's wall clock reads the handoff time or later.

- A repeated local time (clocks go back, the hour happens twice) means its first
  occurrence (`fold=0`).
- A nonexistent local time (clocks go forward over it) means the instant the
  clocks jump, which is when the wall clock first reads past it. A shift that
  lies wholly inside the skipped span lasts no time and is left out.

Shift lengths are counted on the wall clock: a daily shift from 09:00 to 09:00
is 23 or 25 hours long on the days the clocks change, and a 12-hour shift from
20:00 to 08:00 is 13 hours long on the night they go back, as the clock says.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo, available_timezones

from tocsin.digits import plain_digits
from tocsin.errors import InvalidInput

MAX_MEMBERS = 100
MAX_SHIFT_COUNT = 1000
MAX_RESTRICTIONS = 14
# A render longer than this would build tens of thousands of hourly shifts.
MAX_RENDER = timedelta(days=400)
# Instants outside these years are refused: they cannot be a real rota, and
# near the ends of datetime's range wall-clock arithmetic would overflow.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


class ShiftUnit(StrEnum):
    HOURS = "hours"
    DAYS = "days"
    WEEKS = "weeks"


@dataclass(frozen=True)
class Restriction:
    """A window of local time in which a layer may have someone on call.

    The window opens at `start` on each of `days` (Monday is 0) and closes at
    the next `end` on the wall clock: the same day when `end` is later than
    `start`, otherwise the day after (22:00-06:00 runs overnight, and
    00:00-00:00 is the whole day).
    """

    days: frozenset[int]
    start: time
    end: time


@dataclass(frozen=True)
class Rotation:
    """Members taking turns in shifts of `count` units, the first shift
    starting at `start_local` on the schedule's wall clock. The handoff time is
    the time of day of `start_local`."""

    members: tuple[int, ...]
    unit: ShiftUnit
    count: int
    start_local: datetime
    restrictions: tuple[Restriction, ...] = ()

    @property
    def length(self) -> timedelta:
        """The shift length on the wall clock."""
        if self.unit is ShiftUnit.HOURS:
            return timedelta(hours=self.count)
        if self.unit is ShiftUnit.DAYS:
            return timedelta(days=self.count)
        return timedelta(weeks=self.count)


@dataclass(frozen=True)
class RotationVersion:
    """A rotation as it stands from `effective_from` (None: from always) until
    the next version of its layer takes effect."""

    effective_from: datetime | None
    rotation: Rotation


@dataclass(frozen=True)
class Layer:
    """One rotation of a schedule with its history of versions, oldest first.
    After `removed_at` the layer has nobody on call."""

    id: int
    versions: tuple[RotationVersion, ...]
    removed_at: datetime | None = None


@dataclass(frozen=True)
class Override:
    """`user_id` takes over the schedule for [start, end). Where overrides
    overlap, the one with the higher id (the later one made) wins."""

    id: int
    user_id: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Span:
    """[start, end) with the user on call, or None for nobody (a gap)."""

    start: datetime
    end: datetime
    user_id: int | None


@dataclass(frozen=True)
class Schedule:
    """What a render needs: the zone and the layers, lowest first (the last
    layer wins where it has someone), and the overrides.

    `deactivated` maps a user to the instant they were deactivated: their
    shifts and overrides stand before it and count as nobody from it on, so a
    lower layer shows through them then and the past stays as it was."""

    zone: ZoneInfo
    layers: tuple[Layer, ...]
    overrides: tuple[Override, ...] = ()
    deactivated: Mapping[int, datetime] = field(default_factory=dict)


# Checks ------------------------------------------------------------------------


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone called `name`. Raises InvalidInput for anything else
    (including paths, which ZoneInfo itself would try to open)."""
    if name not in _zone_names():
        raise InvalidInput(f"{name!r} is not an IANA time zone, as Europe/London")

    return ZoneInfo(name)


def check_rotation(rotation: Rotation) -> None:
    """Raises InvalidInput unless the rotation can be rendered."""
    if not 1 <= len(rotation.members) <= MAX_MEMBERS:
        raise InvalidInput(f"a rotation has 1 to {MAX_MEMBERS} members")
    if not 1 <= rotation.count <= MAX_SHIFT_COUNT:
        raise InvalidInput(
            f"a shift lasts 1 to {MAX_SHIFT_COUNT} {rotation.unit}, "
            f"not {rotation.count}"
        )
    if rotation.start_local.tzinfo is not None:
        raise InvalidInput("a rotation starts at a local time, without an offset")
    if not EARLIEST.replace(tzinfo=None) <= rotation.start_local < _LATEST_LOCAL:
        raise InvalidInput("a rotation starts between 1970 and 2199")
    if rotation.start_local.second or rotation.start_local.microsecond:
        raise InvalidInput("a rotation starts on a whole minute")
    if len(rotation.restrictions) > MAX_RESTRICTIONS:
        raise InvalidInput(f"a layer has at most {MAX_RESTRICTIONS} restrictions")
    for restriction in rotation.restrictions:
        if not restriction.days or not restriction.days <= set(range(7)):
            raise InvalidInput("a restriction names days from 0 (Monday) to 6")
        for moment in (restriction.start, restriction.end):
            if moment.second or moment.microsecond or moment.tzinfo is not None:
                raise InvalidInput("a restriction opens and closes on whole minutes")


def check_instant(value: datetime, what: str) -> datetime:
    """`value` in UTC. Raises InvalidInput when it is naive or out of range."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{what} needs a UTC offset, as 2026-03-02T09:00:00Z")
    try:
        instant = value.astimezone(UTC)
    except OverflowError:
        # Year 1 at +14:00 or year 9999 at -14:00 is no instant in datetime's range.
        raise InvalidInput(f"{what} must be between 1970 and 2199") from None
    if not EARLIEST <= instant < LATEST:
        raise InvalidInput(f"{what} must be between 1970 and 2199")

    return instant


def check_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The range in UTC. Raises InvalidInput when it is empty or too long."""
    start = check_instant(start, "the start")
    end = check_instant(end, "the end")
    if end <= start:
        raise InvalidInput("the end must be after the start")
    if end - start > MAX_RENDER:
        raise InvalidInput(f"a range spans at most {MAX_RENDER.days} days")

    return start, end


_LATEST_LOCAL = datetime(2199, 1, 1)  # noqa: DTZ001 - a wall-clock reading


# Local time to instants ----------------------------------------------------------


def resolve_local(local: datetime, zone: ZoneInfo) -> datetime:
    """The first instant at which the wall clock in `zone` reads `local` or
    later (see the module's handoff rule)."""
    first = local.replace(tzinfo=zone, fold=0)
    instant = first.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local:
        return instant

    # `local` was skipped. fold=0 reads it with the offset from before the jump
    # and fold=1 with the offset after it, so the jump lies between the two.
    return _jump_before(local, zone, local.replace(tzinfo=zone, fold=1))


def _jump_before(local: datetime, zone: ZoneInfo, after: datetime) -> datetime:
    low = after.astimezone(UTC)
    high = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if high < low:
        low, high = high, low

    # The wall clock reads earlier than `local` at `low` and later at `high`;
    # narrow down to the second at which it first reads `local` or later.
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle <= low:
            middle = low + timedelta(seconds=1)
        if middle.astimezone(zone).replace(tzinfo=None) >= local:
            high = middle
        else:
            low = middle

    return high


def to_local(instant: datetime, zone: ZoneInfo) -> datetime:
    """What the wall clock in `zone` reads at `instant`."""
    return instant.astimezone(zone).replace(tzinfo=None)


# Rendering ----------------------------------------------------------------------


def rotation_shifts(
    rotation: Rotation, zone: ZoneInfo, start: datetime, end: datetime
) -> list[Span]:
    """The rotation's shifts that overlap [start, end), clipped to it and to its
    restrictions, in order. Before its first shift a rotation has nobody."""
    length = rotation.length
    first_local = to_local(start, zone)
    # Wall-clock arithmetic: the k-th handoff is at start_local + k * length,
    # read by the handoff rule. One shift back covers a repeated hour.
    k = max(0, (first_local - rotation.start_local) // length - 1)
    members = rotation.members

    shifts: list[Span] = []
    begin = resolve_local(rotation.start_local + k * length, zone)
    while begin < end:
        finish = resolve_local(rotation.start_local + (k + 1) * length, zone)
        if finish > start and finish > begin:
            shifts.append(
                Span(max(begin, start), min(finish, end), members[k % len(members)])
            )
        k += 1
        begin = finish

    if not rotation.restrictions:
        return shifts

    windows = restriction_windows(rotation.restrictions, zone, start, end)
    return _intersect(shifts, windows)


def restriction_windows(
    restrictions: Sequence[Restriction],
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
) -> list[tuple[datetime, datetime]]:
    """The union of the restrictions' windows overlapping [start, end), merged,
    in order and clipped to the range."""
    first_day = to_local(start, zone).date() - timedelta(days=1)
    last_day = to_local(end, zone).date()
    windows: list[tuple[datetime, datetime]] = []
    day = first_day
    while day <= last_day:
        for restriction in restrictions:
            if day.weekday() in restriction.days:
                opens, closes = _window(day, restriction, zone)
                if closes > start and opens < end and closes > opens:
                    windows.append((max(opens, start), min(closes, end)))
        day += timedelta(days=1)

    return _merge(sorted(windows))


def _window(
    day: date, restriction: Restriction, zone: ZoneInfo
) -> tuple[datetime, datetime]:
    opens_local = datetime.combine(day, restriction.start)
    closes_day = day if restriction.end > restriction.start else day + timedelta(1)
    closes_local = datetime.combine(closes_day, restriction.end)
    return resolve_local(opens_local, zone), resolve_local(closes_local, zone)


def _merge(windows: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for opens, closes in windows:
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return merged


def _intersect(
    shifts: list[Span], windows: list[tuple[datetime, datetime]]
) -> list[Span]:
    # Both lists are sorted and disjoint: walk them side by side.
    kept: list[Span] = []
    first = 0
    for shift in shifts:
        while first < len(windows) and windows[first][1] <= shift.start:
            first += 1
        index = first
        while index < len(windows) and windows[index][0] < shift.end:
            opens, closes = windows[index]
            begin, finish = max(shift.start, opens), min(shift.end, closes)
            if begin < finish:
                kept.append(Span(begin, finish, shift.user_id))
            index += 1
    return kept


def layer_spans(
    layer: Layer, zone: ZoneInfo, start: datetime, end: datetime
) -> list[Span]:
    """The layer's shifts in [start, end): each version of its rotation renders
    only from its own `effective_from` to the next version's, so an edit never
    changes who was on call before it took effect."""
    if layer.removed_at is not None:
        end = min(end, layer.removed_at)

    spans: list[Span] = []
    versions = layer.versions
    for index, version in enumerate(versions):
        begin = version.effective_from or start
        following = versions[index + 1] if index + 1 < len(versions) else None
        finish = following.effective_from if following else None
        begin, finish = max(begin, start), min(finish or end, end)
        if begin < finish:
            spans.extend(rotation_shifts(version.rotation, zone, begin, finish))
    return spans


def render(schedule: Schedule, start: datetime, end: datetime) -> list[Span]:
    """The final timeline of [start, end): contiguous, non-overlapping spans
    covering the whole range, each with the one user on call or None (a gap).
    Overrides win over every layer; among layers the last (highest) one with
    someone on call wins. Neighbouring spans never share a user."""
    # Sources in order of precedence; each is a sorted list of disjoint spans.
    away = schedule.deactivated
    sources: list[list[Span]] = [
        _before_deactivation(
            [Span(max(o.start, start), min(o.end, end), o.user_id)], away
        )
        for o in sorted(schedule.overrides, key=lambda o: o.id, reverse=True)
        if o.start < end and o.end > start
    ]
    for layer in reversed(schedule.layers):
        spans = layer_spans(layer, schedule.zone, start, end)
        sources.append(_before_deactivation(spans, away))

    cuts = sorted({start, end, *_edges(sources)})
    starts_of = [[span.start for span in source] for source in sources]
    timeline: list[Span] = []
    for begin, finish in pairwise(cuts):
        user = _winner(sources, starts_of, begin)
        if timeline and timeline[-1].user_id == user:
            timeline[-1] = Span(timeline[-1].start, finish, user)
        else:
            timeline.append(Span(begin, finish, user))
    return timeline


def _before_deactivation(
    spans: list[Span], deactivated: Mapping[int, datetime]
) -> list[Span]:
    # Each span cut off where its user was deactivated: the part before stays.
    kept: list[Span] = []
    for span in spans:
        since = None if span.user_id is None else deactivated.get(span.user_id)
        if since is None:
            kept.append(span)
        elif span.start < since:
            kept.append(Span(span.start, min(span.end, since), span.user_id))
    return kept


def _edges(sources: Iterable[list[Span]]) -> Iterable[datetime]:
    for source in sources:
        for span in source:
            yield span.start
            yield span.end


def _winner(
    sources: list[list[Span]], starts_of: list[list[datetime]], at: datetime
) -> int | None:
    for source, starts in zip(sources, starts_of, strict=True):
        index = bisect.bisect_right(starts, at) - 1
        if index >= 0 and source[index].end > at:
            return source[index].user_id
    return None


def on_call(schedule: Schedule, at: datetime) -> list[int]:
    """Who is on call at `at` after layers and overrides: one user, or nobody."""
    span = render(schedule, at, at + timedelta(seconds=1))[0]
    return [] if span.user_id is None else [span.user_id]


def gaps(schedule: Schedule, start: datetime, end: datetime) -> list[Span]:
    """The spans of [start, end) in which nobody is on call."""
    return [span for span in render(schedule, start, end) if span.user_id is None]


# Restrictions as text ------------------------------------------------------------

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RESTRICTION_SYNTAX = "DAYS HH:MM-HH:MM, as mon-fri 09:00-17:00 or sat,sun 00:00-00:00"


def parse_days(text: str) -> frozenset[int]:
    """Days written as `mon-fri`, `sat,sun`, `mon,wed-fri` or `daily`.
    Raises InvalidInput on anything else."""
    text = text.strip().lower()
    if text == "daily":
        return frozenset(range(7))

    days: set[int] = set()
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        if first not in DAY_NAMES or (last and last not in DAY_NAMES):
            raise InvalidInput(f"days are mon to sun, as mon-fri, not {text!r}")
        begin = DAY_NAMES.index(first)
        finish = DAY_NAMES.index(last) if last else begin
        # A range may wrap the week: fri-mon is Friday to Monday.
        span = (finish - begin) % 7
        days.update((begin + offset) % 7 for offset in range(span + 1))
    return frozenset(days)


def parse_time(text: str) -> time:
    """A wall-clock time written HH:MM (24:00 is not a time: use 00:00)."""
    hours, colon, minutes = text.strip().partition(":")
    if (
        not (colon and plain_digits(hours) and plain_digits(minutes))
        or len(minutes) != 2
    ):
        raise InvalidInput(f"a time is HH:MM, not {text!r}")
    if int(hours) > 23 or int(minutes) > 59:
        raise InvalidInput(f"{text!r} is not a time of day")

    return time(int(hours), int(minutes))


def parse_restriction(text: str) -> Restriction:
    """A restriction written as RESTRICTION_SYNTAX. Raises InvalidInput."""
    days, _, hours = text.strip().partition(" ")
    start, dash, end = hours.strip().partition("-")
    if not days or not dash:
        raise InvalidInput(f"a restriction is {RESTRICTION_SYNTAX}, not {text!r}")

    return Restriction(parse_days(days), parse_time(start), parse_time(end))


def format_days(days: frozenset[int]) -> str:
    """The days as parse_days reads them, in week order."""
    if days == frozenset(range(7)):
        return "daily"
    return ",".join(DAY_NAMES[day] for day in sorted(days))


def format_restriction(restriction: Restriction) -> str:
    start = restriction.start.strftime("%H:%M")
    end = restriction.end.strftime("%H:%M")
    return f"{format_days(restriction.days)} {start}-{end}"
