"""Insights: incident metrics across incidents, filtered by team, service,
severity and period, for the insights page, `tocsin report` and the API.

Read-only. The rules for each figure are in tocsin.domain.metrics (and
docs/metrics.md); this module loads what they need in a handful of queries
whatever the number of incidents: the incidents, their timeline entries of the
kinds the rules read, alert events grouped in SQL, pages from the outbox, and
the schedules rendered over the period.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from tocsin.domain import metrics as rules
from tocsin.domain import schedules as schedule_rules
from tocsin.domain.access import Actor, Role, can_see_team, require_role
from tocsin.domain.postmortems import ActionStatus, PostmortemStatus
from tocsin.errors import InvalidInput, NotFound
from tocsin.services import schedules, triage
from tocsin.services.context import Context
from tocsin.store.models import (
    ActionItem,
    Alert,
    FeedbackAnswer,
    Incident,
    OutboxMessage,
    Postmortem,
    PostmortemIncident,
    Schedule,
    Service,
    Team,
    TimelineEntry,
    User,
)

# Any select, whatever its columns.
AnySelect = Select[*tuple[Any, ...]]

MAX_DAYS = 731
TOP = 10

_SINCE = re.compile(r"^(\d{1,4})([dw])\Z")


def parse_since(text: str, now: datetime) -> datetime:
    """`30d`, `12w` or a date (2026-01-31, midnight UTC) into an instant.
    Raises InvalidInput for anything else or a period over MAX_DAYS."""
    text = text.strip()
    match = _SINCE.match(text)
    if match:
        count, unit = int(match[1]), match[2]
        start = now - timedelta(days=count * (7 if unit == "w" else 1))
    else:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(
                f"--since is a number of days or weeks (30d, 12w) or a date "
                f"(2026-01-31), not {text[:40]!r}"
            ) from None
        start = datetime(day.year, day.month, day.day, tzinfo=now.tzinfo)
    if start >= now:
        raise InvalidInput("the period must start in the past")
    if now - start > timedelta(days=MAX_DAYS):
        raise InvalidInput(f"the period is at most {MAX_DAYS} days")
    return start


@dataclass(frozen=True)
class InsightFilter:
    since: datetime
    until: datetime
    team_id: int | None = None
    service_id: int | None = None
    severity: tuple[str, ...] = ()


class SummaryRead(BaseModel):
    """Minutes; None when no incident has the figure."""

    count: int
    mean_minutes: float | None
    median_minutes: float | None
    p90_minutes: float | None


class IncidentMetricsRead(BaseModel):
    number: int
    title: str
    service: str
    severity: str
    opened_at: datetime
    minutes_to_acknowledge: float | None
    minutes_to_mitigate: float | None
    minutes_to_resolve: float | None
    minutes_to_declare: float | None
    reopens: int
    pages: int
    people: int


class WeekRead(BaseModel):
    week: date
    incidents: int
    by_severity: dict[str, int]


class NoisyRead(BaseModel):
    name: str
    service: str
    count: int


class LoadRead(BaseModel):
    user_id: int
    name: str
    time_zone: str
    pages: int
    night_pages: int
    hours_on_call: float


class CompletionRead(BaseModel):
    done: int
    total: int
    rate: float | None


class FeedbackAggregateRead(BaseModel):
    """Participants' survey answers over the chosen incidents: mean ratings,
    1 (bad) to 5 (good); None when nobody answered."""

    answers: int
    mean_overall: float | None
    mean_tools: float | None
    mean_communication: float | None


class Insights(BaseModel):
    since: datetime
    until: datetime
    team_id: int | None
    service_id: int | None
    severity: list[str]
    # Every severity the figures break down by: the configured levels worst
    # first, then any key incidents still carry from an earlier configuration.
    severities: list[str]
    incidents: int
    declared: int
    reopened: int
    acknowledge: SummaryRead
    mitigate: SummaryRead
    resolve: SummaryRead
    weeks: list[WeekRead]
    noisy_services: list[NoisyRead]
    noisy_alerts: list[NoisyRead]
    on_call: list[LoadRead]
    postmortems: CompletionRead
    action_items: CompletionRead
    feedback: FeedbackAggregateRead
    rows: list[IncidentMetricsRead]


def _summary(values: list[timedelta | None]) -> SummaryRead:
    found = rules.summarize(values)
    return SummaryRead(
        count=found.count,
        mean_minutes=_round(rules.minutes(found.mean)),
        median_minutes=_round(rules.minutes(found.median)),
        p90_minutes=_round(rules.minutes(found.p90)),
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def compute(ctx: Context, actor: Actor, where: InsightFilter) -> Insights:
    """Every figure for the incidents that opened in [since, until) and match
    the filter, among those the actor may see. Raises NotFound for an unknown
    team or service and InvalidInput for an unknown severity or a bad period."""
    require_role(actor, Role.VIEWER)
    # The weeks of the period and the schedules rendered over it are wall-clock
    # arithmetic that overflows near year 1 or 9999: keep to the years a
    # schedule can be rendered in.
    where = replace(
        where,
        since=schedule_rules.check_instant(where.since, "the period's start"),
        until=schedule_rules.check_instant(where.until, "the period's end"),
    )
    if where.until <= where.since:
        raise InvalidInput("the period must end after it starts")
    if where.until - where.since > timedelta(days=MAX_DAYS):
        raise InvalidInput(f"the period is at most {MAX_DAYS} days")
    with ctx.db.read() as session:
        configured = list(triage.severity_ranks(session))
        if set(where.severity) - set(configured):
            raise InvalidInput(f"severity is one of {', '.join(configured)}")
        _check_scope(session, actor, where)
        chosen = _chosen(actor, where)
        ids = chosen.with_only_columns(Incident.id)
        rows = session.execute(chosen).all()
        events = _events(session, ids)
        times = {
            row.id: rules.incident_times(
                row.created_at, events.get(row.id, []), declared_at=row.declared_at
            )
            for row in rows
        }
        seen = {row.severity for row in rows} - set(configured)
        severities = configured + sorted(seen)
        return Insights(
            since=where.since,
            until=where.until,
            team_id=where.team_id,
            service_id=where.service_id,
            severity=list(where.severity),
            severities=severities,
            incidents=len(rows),
            declared=sum(1 for row in rows if row.declared_at is not None),
            reopened=sum(1 for t in times.values() if t.reopens),
            acknowledge=_summary([t.to_acknowledge for t in times.values()]),
            mitigate=_summary([t.to_mitigate for t in times.values()]),
            resolve=_summary([t.to_resolve for t in times.values()]),
            weeks=_weeks(where, rows, severities),
            noisy_services=_noisy_services(rows),
            noisy_alerts=_noisy_alerts(session, ids),
            on_call=_on_call(session, actor, where, ids),
            postmortems=_postmortems(session, ids),
            action_items=_action_items(session, ids),
            feedback=_feedback(session, ids),
            rows=[_row(row, times[row.id]) for row in rows],
        )


def _check_scope(session: Session, actor: Actor, where: InsightFilter) -> None:
    if where.team_id is not None and (
        session.get(Team, where.team_id) is None
        or not can_see_team(actor, where.team_id)
    ):
        raise NotFound(f"no team {where.team_id}")
    if where.service_id is not None:
        service = session.get(Service, where.service_id)
        if service is None or not can_see_team(actor, service.team_id):
            raise NotFound(f"no service {where.service_id}")


def _chosen(actor: Actor, where: InsightFilter) -> AnySelect:
    query = (
        select(
            Incident.id,
            Incident.number,
            Incident.title,
            Incident.severity,
            Incident.created_at,
            Incident.declared_at,
            Service.id.label("service_id"),
            Service.name.label("service_name"),
        )
        .join(Service, Service.id == Incident.service_id)
        .where(Incident.created_at >= where.since, Incident.created_at < where.until)
        .order_by(Incident.created_at, Incident.id)
    )
    if not can_see_team(actor, -1):
        query = query.where(
            Service.team_id.is_(None) | Service.team_id.in_(actor.team_ids)
        )
    if where.team_id is not None:
        query = query.where(Service.team_id == where.team_id)
    if where.service_id is not None:
        query = query.where(Service.id == where.service_id)
    if where.severity:
        query = query.where(Incident.severity.in_(where.severity))
    return query


def _events(session: Session, ids: AnySelect) -> dict[int, list[rules.Event]]:
    """The timeline entries the rules read, by incident: one query."""
    found: dict[int, list[rules.Event]] = defaultdict(list)
    result = session.execute(
        select(
            TimelineEntry.incident_id,
            TimelineEntry.kind,
            TimelineEntry.at,
            TimelineEntry.actor_user_id,
            TimelineEntry.data,
        )
        .where(
            TimelineEntry.incident_id.in_(ids.scalar_subquery()),
            TimelineEntry.kind.in_(rules.KINDS),
        )
        .order_by(TimelineEntry.id)
    )
    for incident_id, kind, at, actor_user_id, data in result:
        named = data.get("user_id") if isinstance(data, dict) else None
        user_id = actor_user_id or (named if isinstance(named, int) else None)
        stage = data.get("stage") if isinstance(data, dict) else None
        found[incident_id].append(
            rules.Event(kind, at, user_id, stage if isinstance(stage, str) else None)
        )
    return found


def _weeks(
    where: InsightFilter, rows: Sequence[Any], severities: list[str]
) -> list[WeekRead]:
    counts: dict[date, Counter[str]] = {
        week: Counter() for week in rules.weeks_between(where.since, where.until)
    }
    for row in rows:
        counts.setdefault(rules.week_of(row.created_at), Counter())[row.severity] += 1
    return [
        WeekRead(
            week=week,
            incidents=sum(counter.values()),
            by_severity={s: counter[s] for s in severities},
        )
        for week, counter in sorted(counts.items())
    ]


def _noisy_services(rows: Sequence[Any]) -> list[NoisyRead]:
    counts = Counter(row.service_name for row in rows)
    return [
        NoisyRead(name=name, service=name, count=count)
        for name, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    ]


def _noisy_alerts(session: Session, ids: AnySelect) -> list[NoisyRead]:
    """Alerts by summary, counting every event including deduplicated repeats:
    grouped in SQL."""
    events = func.sum(Alert.event_count).label("events")
    result = session.execute(
        select(Alert.summary, Service.name, events)
        .join(Service, Service.id == Alert.service_id)
        .where(Alert.incident_id.in_(ids.scalar_subquery()))
        .group_by(Alert.summary, Service.name)
        .order_by(events.desc(), Alert.summary)
        .limit(TOP)
    )
    return [
        NoisyRead(name=summary, service=service, count=int(count))
        for summary, service, count in result
    ]


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _on_call(
    session: Session, actor: Actor, where: InsightFilter, ids: AnySelect
) -> list[LoadRead]:
    """Pages (outbox messages to a person for the chosen incidents), night
    pages by the person's own zone, and hours on call over the period from
    every schedule of the chosen (or visible) teams."""
    pages: Counter[int] = Counter()
    nights: Counter[int] = Counter()
    # Only pages: notices about an incident (a survey link, a role or a task)
    # are queued to the same people but ask nobody to get up.
    sent = session.execute(
        select(OutboxMessage.user_id, OutboxMessage.created_at, User.time_zone)
        .join(User, User.id == OutboxMessage.user_id)
        .where(
            OutboxMessage.incident_id.in_(ids.scalar_subquery()),
            OutboxMessage.payload["kind"].as_string() == "page",
        )
    )
    for user_id, created_at, zone in sent:
        if user_id is None:  # the join already leaves these out
            continue
        pages[user_id] += 1
        if rules.is_night(created_at, _zone(zone)):
            nights[user_id] += 1

    on_call: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    query = select(Schedule.id, Schedule.team_id).order_by(Schedule.id)
    if where.team_id is not None:
        query = query.where(Schedule.team_id == where.team_id)
    for schedule_id, team_id in session.execute(query).all():
        if not can_see_team(actor, team_id):
            continue
        rendered = schedules.load(session, schedule_id, where.since, where.until)
        for span in schedule_rules.render(rendered, where.since, where.until):
            if span.user_id is not None:
                on_call[span.user_id].append((span.start, span.end))

    people = sorted(set(pages) | set(on_call))
    if not people:
        return []
    named = {
        user.id: user
        for user in session.scalars(select(User).where(User.id.in_(people)))
    }
    loads = [
        LoadRead(
            user_id=user_id,
            name=named[user_id].name,
            time_zone=named[user_id].time_zone,
            pages=pages[user_id],
            night_pages=nights[user_id],
            hours_on_call=round(
                rules.overlap(on_call[user_id], where.since, where.until)
                / timedelta(hours=1),
                1,
            ),
        )
        for user_id in people
        if user_id in named
    ]
    return sorted(loads, key=lambda load: (-load.pages, -load.hours_on_call))


def _postmortems(session: Session, ids: AnySelect) -> CompletionRead:
    """Incidents with a published postmortem, of those with any postmortem."""
    linked = (
        select(PostmortemIncident.incident_id, Postmortem.status)
        .join(Postmortem, Postmortem.id == PostmortemIncident.postmortem_id)
        .where(PostmortemIncident.incident_id.in_(ids.scalar_subquery()))
    )
    status_of: dict[int, bool] = {}
    for incident_id, status in session.execute(linked):
        published = status == PostmortemStatus.PUBLISHED
        status_of[incident_id] = status_of.get(incident_id, False) or published
    done = sum(status_of.values())
    return CompletionRead(
        done=done, total=len(status_of), rate=rules.rate(done, len(status_of))
    )


def _action_items(session: Session, ids: AnySelect) -> CompletionRead:
    """Done action items of all but cancelled ones, from the chosen incidents'
    postmortems: counted in SQL."""
    postmortem_ids = select(PostmortemIncident.postmortem_id).where(
        PostmortemIncident.incident_id.in_(ids.scalar_subquery())
    )
    counts = dict(
        session.execute(
            select(ActionItem.status, func.count())
            .where(
                ActionItem.postmortem_id.in_(postmortem_ids.scalar_subquery()),
                ActionItem.status != ActionStatus.CANCELLED,
            )
            .group_by(ActionItem.status)
        ).all()
    )
    total = sum(int(count) for count in counts.values())
    done = int(counts.get(ActionStatus.DONE.value, 0))
    return CompletionRead(done=done, total=total, rate=rules.rate(done, total))


def incident_metrics(
    session: Session, incident_ids: Sequence[int]
) -> list[IncidentMetricsRead]:
    """The per-incident figures for chosen incidents (a postmortem's), read by
    the same rules as the report; the caller has already checked access."""
    chosen = (
        select(
            Incident.id,
            Incident.number,
            Incident.title,
            Incident.severity,
            Incident.created_at,
            Incident.declared_at,
            Service.id.label("service_id"),
            Service.name.label("service_name"),
        )
        .join(Service, Service.id == Incident.service_id)
        .where(Incident.id.in_(list(incident_ids)))
        .order_by(Incident.created_at, Incident.id)
    )
    rows = session.execute(chosen).all()
    events = _events(session, chosen.with_only_columns(Incident.id))
    return [
        _row(
            row,
            rules.incident_times(
                row.created_at, events.get(row.id, []), declared_at=row.declared_at
            ),
        )
        for row in rows
    ]


def incident_times(session: Session, incident: Incident) -> rules.IncidentTimes:
    """One incident's times by the same rules (a postmortem draft's summary),
    so the draft and the figures beside it agree."""
    events = _events(session, select(Incident.id).where(Incident.id == incident.id))
    return rules.incident_times(
        incident.created_at,
        events.get(incident.id, []),
        declared_at=incident.declared_at,
    )


def _feedback(session: Session, ids: AnySelect) -> FeedbackAggregateRead:
    """The survey answers about the chosen incidents, averaged in SQL."""
    answers, overall, tools, communication = session.execute(
        select(
            func.count(FeedbackAnswer.id),
            func.avg(FeedbackAnswer.rating_overall),
            func.avg(FeedbackAnswer.rating_tools),
            func.avg(FeedbackAnswer.rating_communication),
        ).where(FeedbackAnswer.incident_id.in_(ids.scalar_subquery()))
    ).one()
    return FeedbackAggregateRead(
        answers=int(answers),
        mean_overall=_mean(overall),
        mean_tools=_mean(tools),
        mean_communication=_mean(communication),
    )


def _mean(value: object) -> float | None:
    # PostgreSQL averages integers to a Decimal, SQLite to a float.
    return None if value is None else round(float(str(value)), 2)


def _row(row: Any, times: rules.IncidentTimes) -> IncidentMetricsRead:
    return IncidentMetricsRead(
        number=row.number,
        title=row.title,
        service=row.service_name,
        severity=row.severity,
        opened_at=row.created_at,
        minutes_to_acknowledge=_round(rules.minutes(times.to_acknowledge)),
        minutes_to_mitigate=_round(rules.minutes(times.to_mitigate)),
        minutes_to_resolve=_round(rules.minutes(times.to_resolve)),
        minutes_to_declare=_round(rules.minutes(times.to_declare)),
        reopens=times.reopens,
        pages=times.pages,
        people=len(times.people),
    )


# Export -------------------------------------------------------------------------

# A spreadsheet reads a cell starting with one of these as a formula (or, for
# tab and carriage return, as the start of one once trimmed).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell's text that a spreadsheet shows as text: one starting like a
    formula gets a leading apostrophe. Numbers we format ourselves pass as
    they are."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


CSV_COLUMNS = tuple(IncidentMetricsRead.model_fields)


def to_csv(found: Insights) -> str:
    """One line per incident, every cell safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in found.rows:
        values = row.model_dump()
        writer.writerow([safe_cell(values[column]) for column in CSV_COLUMNS])
    return out.getvalue()


def to_json(found: Insights) -> str:
    """The whole report as JSON, with strings neutralised as in the CSV, so the
    JSON too can be turned into a sheet by a tool that does not know better."""
    return json.dumps(_neutralised(found.model_dump(mode="json")), indent=2)


def _neutralised(value: Any) -> Any:
    if isinstance(value, str):
        return safe_cell(value)
    if isinstance(value, list):
        return [_neutralised(item) for item in value]
    if isinstance(value, dict):
        return {key: _neutralised(item) for key, item in value.items()}
    return value


def scope_ids(
    ctx: Context, team: str | None, service: str | None
) -> tuple[int | None, int | None]:
    """The ids of a team and a service given by name (as the CLI and the web
    form take them). Raises NotFound for a name that matches nothing."""
    with ctx.db.read() as session:
        team_id = service_id = None
        if team is not None:
            team_id = session.scalar(select(Team.id).where(Team.name == team))
            if team_id is None:
                raise NotFound(f"no team named {team[:200]!r}")
        if service is not None:
            service_id = session.scalar(
                select(Service.id).where(Service.name == service)
            )
            if service_id is None:
                raise NotFound(f"no service named {service[:200]!r}")
        return team_id, service_id
