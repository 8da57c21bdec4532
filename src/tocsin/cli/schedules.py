"""`schedule`: on-call schedules from the shell, acting as the operator.

Schedules are named by name (or number), people by email. Times given without
an offset are read on the schedule's wall clock, by the same handoff rule as
rotations; times shown are local to the schedule, with the UTC offset.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from rich.text import Text

from tocsin.cli.common import console, opened, plain, reported
from tocsin.cli.people import OPERATOR
from tocsin.domain import schedules as rules
from tocsin.errors import InvalidInput
from tocsin.services import ical, schedule_edits, schedules
from tocsin.services.context import Context
from tocsin.services.schedule_reads import ScheduleDetail

schedule_app = typer.Typer(help="On-call schedules.", no_args_is_help=True)

_SHIFT = re.compile(r"\s*([0-9]{1,4})\s*([hdw])\s*")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}
_SHIFT_HELP = "Shift length: 12h, 1d, 2w (hours, days, weeks on the wall clock)."
_START_HELP = (
    "First handoff on the schedule's wall clock, as 2026-03-02T09:00; its time "
    "of day is the handoff time."
)
_RESTRICT_HELP = (
    f"Only on call in this window, as {rules.RESTRICTION_SYNTAX} (repeatable)."
)
_TIME_HELP = "ISO 8601; without an offset it is the schedule's local time."


def register(app: typer.Typer) -> None:
    app.add_typer(schedule_app, name="schedule")


@schedule_app.command("add")
def schedule_add(
    name: str = typer.Argument(..., help="The schedule's name."),
    team: str = typer.Option(..., help="The team that owns it."),
    zone: str = typer.Option(..., help="IANA time zone, as Europe/London."),
    description: str = typer.Option("", help="What the schedule covers."),
) -> None:
    """Add a schedule. It has nobody on call until `schedule layer-add`."""
    with reported(), opened() as ctx:
        schedule = schedule_edits.create_schedule(
            ctx,
            OPERATOR,
            name=name,
            team=team,
            time_zone=zone,
            description=description,
        )

    console.print(
        plain(f"schedule {schedule.id} {schedule.name} ({schedule.time_zone})")
    )


@schedule_app.command("list")
def schedule_list() -> None:
    """List schedules with who is on call now."""
    with reported(), opened() as ctx:
        found = schedules.list_schedules(ctx, OPERATOR)

    if not found:
        console.print("no schedules")
        return

    table = Table("schedule", "team", "zone", "on call now")
    for schedule in found:
        table.add_row(
            plain(schedule.name),
            plain(schedule.team),
            schedule.time_zone,
            plain(", ".join(u.email for u in schedule.on_call_now) or "nobody"),
        )
    console.print(table)


@schedule_app.command("show")
def schedule_show(
    name: str = typer.Argument(..., help="Schedule name or number."),
) -> None:
    """Show a schedule: its layers (top wins), their rotations and overrides."""
    with reported(), opened() as ctx:
        schedule = schedules.get_schedule(ctx, OPERATOR, _find(ctx, name))

    _print_schedule(schedule)


@schedule_app.command("layer-add")
def layer_add(
    schedule: str = typer.Argument(..., help="Schedule name or number."),
    member: list[str] = typer.Option(
        ..., "--member", help="A member's email, in turn order (repeatable)."
    ),
    shift: str = typer.Option("1w", help=_SHIFT_HELP),
    start: str = typer.Option(..., help=_START_HELP),
    restrict: list[str] = typer.Option([], "--restrict", help=_RESTRICT_HELP),
    name: str = typer.Option("Layer", help="The layer's name."),
) -> None:
    """Add a layer on top of the schedule's others."""
    with reported(), opened() as ctx:
        layer = _layer_input(ctx, name, member, shift, start, restrict)
        detail = schedule_edits.add_layer(ctx, OPERATOR, _find(ctx, schedule), layer)

    _print_schedule(detail)


@schedule_app.command("layer-edit")
def layer_edit(
    schedule: str = typer.Argument(..., help="Schedule name or number."),
    layer_id: int = typer.Argument(..., help="The layer's number (schedule show)."),
    member: list[str] = typer.Option(
        ..., "--member", help="A member's email, in turn order (repeatable)."
    ),
    shift: str = typer.Option("1w", help=_SHIFT_HELP),
    start: str = typer.Option(..., help=_START_HELP),
    restrict: list[str] = typer.Option([], "--restrict", help=_RESTRICT_HELP),
    name: str = typer.Option("Layer", help="The layer's name."),
    effective: str | None = typer.Option(
        None, "--from", help=f"When the change takes over (default now). {_TIME_HELP}"
    ),
) -> None:
    """Give a layer a new rotation from an instant on; the past stays."""
    with reported(), opened() as ctx:
        schedule_id = _find(ctx, schedule)
        layer = _layer_input(ctx, name, member, shift, start, restrict)
        when = _instant(ctx, schedule_id, effective) if effective else None
        detail = schedule_edits.edit_layer(
            ctx, OPERATOR, schedule_id, layer_id, layer, effective_from=when
        )

    _print_schedule(detail)


@schedule_app.command("layer-remove")
def layer_remove(
    schedule: str = typer.Argument(..., help="Schedule name or number."),
    layer_id: int = typer.Argument(..., help="The layer's number (schedule show)."),
) -> None:
    """Remove a layer from now on; renders of the past still show it."""
    with reported(), opened() as ctx:
        detail = schedule_edits.remove_layer(
            ctx, OPERATOR, _find(ctx, schedule), layer_id
        )

    _print_schedule(detail)


@schedule_app.command("override-add")
def override_add(
    schedule: str = typer.Argument(..., help="Schedule name or number."),
    email: str = typer.Argument(..., help="Who takes over."),
    start: str = typer.Option(..., help=f"From. {_TIME_HELP}"),
    end: str = typer.Option(..., help=f"Until. {_TIME_HELP}"),
) -> None:
    """Let someone take over a span, above every layer."""
    with reported(), opened() as ctx:
        schedule_id = _find(ctx, schedule)
        [user_id] = schedule_edits.user_ids(ctx, [email])
        detail = schedule_edits.add_override(
            ctx,
            OPERATOR,
            schedule_id,
            user_id=user_id,
            start=_instant(ctx, schedule_id, start),
            end=_instant(ctx, schedule_id, end),
        )

    _print_schedule(detail)


@schedule_app.command("override-remove")
def override_remove(
    schedule: str = typer.Argument(..., help="Schedule name or number."),
    override_id: int = typer.Argument(..., help="The override's number."),
) -> None:
    """Cancel an override; one under way ends now."""
    with reported(), opened() as ctx:
        detail = schedule_edits.remove_override(
            ctx, OPERATOR, _find(ctx, schedule), override_id
        )

    _print_schedule(detail)


@schedule_app.command("oncall")
def oncall(
    schedule: str = typer.Argument(..., help="Schedule name or number."),
    at: str | None = typer.Option(None, help=f"When (default now). {_TIME_HELP}"),
) -> None:
    """Who is on call now, or at --at, and until when."""
    with reported(), opened() as ctx:
        schedule_id = _find(ctx, schedule)
        when = _instant(ctx, schedule_id, at) if at else None
        found = schedules.who_is_on_call(ctx, OPERATOR, schedule_id, when)
        zone = rules.zone_named(
            schedules.get_schedule(ctx, OPERATOR, schedule_id).time_zone
        )

    who = ", ".join(f"{u.name} <{u.email}>" for u in found.users) or "nobody"
    until = f" until {_shown(found.until, zone)}" if found.until else ""
    console.print(plain(f"{who}{until}"), soft_wrap=True)


@schedule_app.command("timeline")
def timeline(
    schedule: str = typer.Argument(..., help="Schedule name or number."),
    start: str | None = typer.Option(None, help=f"From (default now). {_TIME_HELP}"),
    end: str | None = typer.Option(
        None, help=f"Until (default a week on). {_TIME_HELP}"
    ),
) -> None:
    """The final timeline of a range: who is on call when, and the gaps."""
    with reported(), opened() as ctx:
        schedule_id = _find(ctx, schedule)
        begin = _instant(ctx, schedule_id, start) if start else ctx.clock.now()
        finish = _instant(ctx, schedule_id, end) if end else begin + timedelta(days=7)
        read = schedules.timeline(ctx, OPERATOR, schedule_id, begin, finish)

    zone = rules.zone_named(read.time_zone)
    table = Table("from", "until", "on call")
    for span in read.spans:
        table.add_row(
            _shown(span.start, zone),
            _shown(span.end, zone),
            plain(span.user.email if span.user else "GAP: nobody"),
        )
    console.print(table)
    console.print(f"{len(read.gaps)} gap(s)")


@schedule_app.command("calendar")
def calendar(
    email: str = typer.Option(..., "--for", help="The user who owns the feed."),
    schedule: str | None = typer.Option(
        None, help="One schedule's timeline; without it, the user's own shifts."
    ),
) -> None:
    """Make a secret iCal URL (printed once) to subscribe to in a calendar app."""
    with reported(), opened() as ctx:
        [user_id] = schedule_edits.user_ids(ctx, [email])
        schedule_id = _find(ctx, schedule) if schedule else None
        made = ical.create_feed(ctx, OPERATOR, user_id=user_id, schedule_id=schedule_id)

    console.print(plain(f"calendar feed {made.feed.id}"))
    console.print(made.url, highlight=False, soft_wrap=True)


@schedule_app.command("calendar-revoke")
def calendar_revoke(
    feed_id: int = typer.Argument(..., help="The feed's number."),
) -> None:
    """Stop a calendar feed's URL from working."""
    with reported(), opened() as ctx:
        feed = ical.revoke_feed(ctx, OPERATOR, feed_id)

    console.print(plain(f"calendar feed {feed.id} revoked"))


def _find(ctx: Context, name: str) -> int:
    return schedules.find(ctx, OPERATOR, name)


def _layer_input(
    ctx: Context,
    name: str,
    members: list[str],
    shift: str,
    start: str,
    restrict: list[str],
) -> schedule_edits.LayerInput:
    match = _SHIFT.fullmatch(shift)
    if match is None:
        raise InvalidInput(f"a shift length is as 12h, 1d or 2w, not {shift!r}")
    return schedule_edits.LayerInput(
        name=name,
        members=tuple(schedule_edits.user_ids(ctx, members)),
        shift_unit=_UNITS[match.group(2)],
        shift_count=int(match.group(1)),
        start_local=_local(start),
        restrictions=tuple(rules.parse_restriction(text) for text in restrict),
    )


def _parsed(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not a date and time, as 2026-03-02T09:00"
        ) from None


def _local(text: str) -> datetime:
    value = _parsed(text)
    if value.tzinfo is not None:
        raise InvalidInput("a rotation starts at a local time: leave the offset out")
    return value


def _instant(ctx: Context, schedule_id: int, text: str) -> datetime:
    value = _parsed(text)
    if value.tzinfo is not None:
        return value
    zone = schedules.get_schedule(ctx, OPERATOR, schedule_id).time_zone
    return rules.resolve_local(value, rules.zone_named(zone))


def _shown(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %z")


def _print_schedule(schedule: ScheduleDetail) -> None:
    _say(
        plain(
            f"schedule {schedule.id} {schedule.name} · team {schedule.team} · "
            f"{schedule.time_zone}"
        )
    )
    now = ", ".join(u.email for u in schedule.on_call_now) or "nobody"
    _say(plain(f"on call now: {now}"))
    for layer in reversed(schedule.layers):
        rotation = layer.rotation
        members = ", ".join(m.email for m in rotation.members)
        _say(
            plain(
                f"layer {layer.id} {layer.name}: {members}; every "
                f"{rotation.shift_count} {rotation.shift_unit} from "
                f"{rotation.start_local:%Y-%m-%d %H:%M}"
            )
        )
        for window in rotation.restrictions:
            _say(plain(f"  only {','.join(window.days)} {window.start}-{window.end}"))
        for later in layer.upcoming:
            _say(plain(f"  changes at {later.effective_from:%Y-%m-%d %H:%M %z}"))
    for override in schedule.overrides:
        _say(
            plain(
                f"override {override.id}: {override.user.email} from "
                f"{override.start:%Y-%m-%d %H:%M}Z until {override.end:%Y-%m-%d %H:%M}Z"
            )
        )


def _say(text: Text) -> None:
    # One line per fact, however narrow the terminal: easier to read and grep.
    console.print(text, soft_wrap=True)
