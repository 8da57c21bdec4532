"""The schedule calendar's layout: which days a week or month view shows,
where each day begins, and the rendered timeline cut into per-day pieces.

Pure presentation, no I/O: who is on call comes from the schedule service's
timeline (the same final rendering, overrides applied, that the API serves).
Days are read on the wall clock of the zone shown, so a day is 23 or 25 hours
long when the clocks change, and a piece's times are what that clock reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tocsin.domain import schedules as rules
from tocsin.errors import InvalidInput
from tocsin.schemas import UserRef
from tocsin.services.schedule_reads import SpanRead

WEEK = "week"
MONTH = "month"
VIEWS = (WEEK, MONTH)
# The form fields' format: what <input type="datetime-local"> sends.
LOCAL_INPUT = "%Y-%m-%dT%H:%M"


@dataclass(frozen=True)
class Piece:
    """The part of a timeline span that falls on one day."""

    start: datetime
    end: datetime
    span_start: datetime
    span_end: datetime
    who: UserRef | None
    start_label: str
    end_label: str
    # The span began before this day, or goes on after it.
    carried_in: bool
    carries_on: bool


@dataclass(frozen=True)
class Day:
    day: date
    start: datetime
    end: datetime
    # In a month view, whether the day belongs to the month (the grid pads
    # the first and last weeks with days of the months around it).
    in_period: bool
    today: bool
    pieces: tuple[Piece, ...]

    @property
    def has_gap(self) -> bool:
        return any(piece.who is None for piece in self.pieces)


@dataclass(frozen=True)
class Period:
    """What a view shows: its days, and the instants it runs between."""

    view: str
    anchor: date
    days: tuple[date, ...]
    start: datetime
    end: datetime
    edges: tuple[datetime, ...]

    @property
    def previous(self) -> date:
        if self.view == WEEK:
            return self.anchor - timedelta(days=7)
        return (self.anchor - timedelta(days=1)).replace(day=1)

    @property
    def following(self) -> date:
        if self.view == WEEK:
            return self.anchor + timedelta(days=7)
        return (self.anchor + timedelta(days=31)).replace(day=1)

    @property
    def title(self) -> str:
        if self.view == WEEK:
            last = self.days[-1]
            return f"{self.anchor:%d %b} to {last:%d %b %Y}"
        return f"{self.anchor:%B %Y}"


def parse_view(view: str | None) -> str:
    """`week` (the default) or `month`; InvalidInput for anything else."""
    if not view:
        return WEEK
    if view not in VIEWS:
        raise InvalidInput("the view is week or month")
    return view


def parse_day(value: str | None, today: date) -> date:
    """A date written YYYY-MM-DD, or `today` when none is given."""
    if not value:
        return today
    try:
        parsed = date.fromisoformat(value.strip())
    except ValueError as error:
        raise InvalidInput("give the date as YYYY-MM-DD") from error
    if not 1971 <= parsed.year <= 2198:
        raise InvalidInput("the date is out of range")
    return parsed


def period(view: str, around: date, zone: ZoneInfo) -> Period:
    """The week (Monday to Sunday) or the month grid (whole weeks) holding
    `around`, with each day's first instant on `zone`'s wall clock."""
    if view == WEEK:
        anchor = around - timedelta(days=around.weekday())
        first, count = anchor, 7
    else:
        anchor = around.replace(day=1)
        first = anchor - timedelta(days=anchor.weekday())
        after = (anchor + timedelta(days=31)).replace(day=1)
        last = after - timedelta(days=1)
        count = (last - first).days + 7 - last.weekday()
    days = tuple(first + timedelta(days=n) for n in range(count))
    edges = tuple(_day_start(first + timedelta(days=n), zone) for n in range(count + 1))
    return Period(view, anchor, days, edges[0], edges[-1], edges)


def lay_out(
    span_list: list[SpanRead], shown: Period, zone: ZoneInfo, today: date
) -> tuple[Day, ...]:
    """Cut the spans (contiguous, covering the period) into each day's pieces."""
    days = []
    for index, day in enumerate(shown.days):
        begin, finish = shown.edges[index], shown.edges[index + 1]
        pieces = tuple(
            _piece(span, begin, finish, zone)
            for span in span_list
            if span.start < finish and span.end > begin
        )
        in_period = shown.view == WEEK or day.month == shown.anchor.month
        days.append(Day(day, begin, finish, in_period, day == today, pieces))
    return tuple(days)


def weeks(days: tuple[Day, ...]) -> list[tuple[Day, ...]]:
    """The days in rows of seven, Monday first."""
    return [days[n : n + 7] for n in range(0, len(days), 7)]


def local_input(instant: datetime, zone: ZoneInfo) -> str:
    """An instant as a datetime-local field shows it on `zone`'s wall clock."""
    return rules.to_local(instant, zone).strftime(LOCAL_INPUT)


def parse_local_input(value: str, zone: ZoneInfo, what: str) -> datetime:
    """A datetime-local field read on `zone`'s wall clock, as a UTC instant.

    A time the clocks skip means the instant they jump; one they repeat, its
    first occurrence (the schedule rendering's own rule)."""
    try:
        local = datetime.strptime(value.strip(), LOCAL_INPUT)  # noqa: DTZ007
    except ValueError as error:
        raise InvalidInput(f"give the {what} as YYYY-MM-DDTHH:MM") from error
    if not 1971 <= local.year <= 2198:
        raise InvalidInput(f"the {what} is out of range")
    return rules.resolve_local(local, zone)


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    # Where midnight is skipped (some zones change at 00:00), the day begins
    # when the clocks jump.
    return rules.resolve_local(datetime.combine(day, time()), zone)


def _piece(span: SpanRead, begin: datetime, finish: datetime, zone: ZoneInfo) -> Piece:
    start = max(span.start, begin)
    end = min(span.end, finish)
    return Piece(
        start=start,
        end=end,
        span_start=span.start,
        span_end=span.end,
        who=span.user,
        start_label=_clock(start, zone),
        end_label="24:00" if end == finish else _clock(end, zone),
        carried_in=span.start < begin,
        carries_on=span.end > finish,
    )


def _clock(instant: datetime, zone: ZoneInfo) -> str:
    return rules.to_local(instant, zone).strftime("%H:%M")
