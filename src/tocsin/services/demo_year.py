"""A generated year of realistic incidents for the demo (`tocsin demo load
--year`), so the insights page and `tocsin report` have something to show and
their speed can be measured on a full year.

Built on the demo team (tocsin.services.demo): five responders in four time
zones on a weekly schedule, four services of different noisiness, and about
three incidents a day with lognormal acknowledgement and resolution times,
escalation re-pages, declared major incidents that pass through monitoring, a
few reopened incidents and a few acknowledged only after resolving, and
postmortems with action items for most declared incidents. The same
seed gives the same year. Rows go in with a few bulk inserts in one
transaction; loading twice adds nothing the second time.
"""

from __future__ import annotations

import bisect
import math
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from tocsin.domain import schedules as schedule_rules
from tocsin.domain.access import SYSTEM
from tocsin.services import demo, integrations, schedule_edits, schedules, users
from tocsin.services.context import Context
from tocsin.services.records import audit
from tocsin.store.db import table_of
from tocsin.store.models import (
    ActionItem,
    Alert,
    AuditRecord,
    Counter,
    Incident,
    Integration,
    OutboxMessage,
    Postmortem,
    PostmortemIncident,
    Schedule,
    Service,
    Team,
    TimelineEntry,
    User,
)

ACTION = "demo.year"
SCHEDULE = "Platform primary"
PEOPLE = (
    ("carol@example.com", "Carol Berlin", "Europe/Berlin"),
    ("dave@example.com", "Dave New York", "America/New_York"),
    ("erin@example.com", "Erin Tokyo", "Asia/Tokyo"),
)
# Service, weight (how noisy), alert summaries it raises.
SERVICES = (
    (demo.SERVICE, 5, ("Checkout error rate above 2%", "Checkout p99 over 2s")),
    ("search-api", 3, ("Search latency high", "Search index lagging")),
    ("payments-db", 2, ("Replication lag over 30s", "Disk 90% full on db-2")),
    ("auth-service", 1, ("Login failures spiking", "Token signer unreachable")),
)
SEVERITIES = (("sev1", 0.04), ("sev2", 0.12), ("sev3", 0.5), ("sev4", 0.34))


@dataclass(frozen=True)
class YearResult:
    incidents: int
    already: bool


def load_year(ctx: Context, *, seed: int = 6, per_day: float = 3.0) -> YearResult:
    """Generate the year ending now, unless one was generated before."""
    with ctx.db.read() as session:
        done = session.scalar(
            select(AuditRecord.id).where(AuditRecord.action == ACTION).limit(1)
        )
    if done is not None:
        return YearResult(0, already=True)

    demo.load(ctx)
    people = _people(ctx)
    _services(ctx)
    schedule_id = _schedule(ctx, people)
    now = ctx.clock.now()
    start = now - timedelta(days=365)
    with ctx.db.read() as session:
        rendered = schedule_rules.render(
            schedules.load(session, schedule_id, start, now), start, now
        )
        emails = dict(session.execute(select(User.id, User.email)).all())

    rng = random.Random(seed)  # noqa: S311 -- repeatable demo data, no secret
    plans = _plan(rng, start, now, per_day, rendered, people)
    _write(ctx, plans, emails)
    return YearResult(len(plans), already=False)


def _people(ctx: Context) -> list[int]:
    for email, name, zone in PEOPLE:
        with ctx.db.read() as session:
            known = session.scalar(select(User.id).where(User.email == email))
        if known is None:
            users.create_user(
                ctx,
                SYSTEM,
                email=email,
                name=name,
                role="responder",
                password=demo.PASSWORD,
                teams=(demo.TEAM,),
                create_teams=True,
            )
        with ctx.db.write() as session:
            session.execute(
                update(User).where(User.email == email).values(time_zone=zone)
            )
    wanted = [email for email, _, _ in demo.PEOPLE] + [p[0] for p in PEOPLE]
    with ctx.db.read() as session:
        by_email = dict(
            session.execute(
                select(User.email, User.id).where(User.email.in_(wanted))
            ).all()
        )
    return [by_email[email] for email in wanted]


def _services(ctx: Context) -> dict[str, tuple[int, int]]:
    """Each service's id and one integration's id, made when missing."""
    found: dict[str, tuple[int, int]] = {}
    for name, _, _ in SERVICES:
        with ctx.db.write() as session:
            service = session.scalar(select(Service).where(Service.name == name))
            if service is None:
                base = session.scalar(
                    select(Service).where(Service.name == demo.SERVICE)
                )
                service = Service(
                    name=name,
                    description="Demo service with a generated year of incidents.",
                    team_id=base.team_id if base else None,
                    escalation_policy_id=base.escalation_policy_id if base else None,
                    created_at=ctx.clock.now(),
                )
                session.add(service)
                session.flush()
            service_id = service.id
            integration_id = session.scalar(
                select(Integration.id).where(Integration.service_id == service_id)
            )
        if integration_id is None:
            ref, _ = integrations.create(
                ctx, name, "generic", name="demo year", key=secrets.token_hex(16)
            )
            integration_id = ref.id
        found[name] = (service_id, integration_id)
    return found


def _schedule(ctx: Context, people: list[int]) -> int:
    with ctx.db.read() as session:
        known = session.scalar(select(Schedule.id).where(Schedule.name == SCHEDULE))
    if known is not None:
        return known
    created = schedule_edits.create_schedule(
        ctx, SYSTEM, name=SCHEDULE, team=demo.TEAM, time_zone="Europe/London"
    )
    first = (ctx.clock.now() - timedelta(days=400)).replace(tzinfo=None)
    schedule_edits.add_layer(
        ctx,
        SYSTEM,
        created.id,
        schedule_edits.LayerInput(
            name="Weekly",
            members=tuple(people),
            shift_unit="weeks",
            shift_count=1,
            start_local=first.replace(hour=9, minute=0, second=0, microsecond=0),
        ),
    )
    return created.id


@dataclass
class _Plan:
    opened: datetime
    service: str
    summary: str
    severity: str
    person: int
    backup: int
    events: list[tuple[str, datetime, int | None, dict[str, Any]]]
    pages: list[tuple[datetime, int]]
    acknowledged: datetime | None
    resolved: datetime
    declared: datetime | None
    monitoring: datetime | None
    repeats: int


def _lognormal(rng: random.Random, median_minutes: float, sigma: float) -> timedelta:
    return timedelta(minutes=median_minutes * math.exp(rng.gauss(0, sigma)))


def _plan(
    rng: random.Random,
    start: datetime,
    end: datetime,
    per_day: float,
    rendered: list[schedule_rules.Span],
    people: list[int],
) -> list[_Plan]:
    starts = [span.start for span in rendered]
    names = [name for name, _, _ in SERVICES]
    weights = [weight for _, weight, _ in SERVICES]
    summaries: dict[str, tuple[str, ...]] = {name: texts for name, _, texts in SERVICES}
    plans: list[_Plan] = []
    day = start
    while day < end:
        busy = 1.3 if day.weekday() < 5 else 0.5
        for _ in range(_poisson(rng, per_day * busy)):
            opened = day + timedelta(seconds=rng.randrange(86400))
            plan = _one(
                rng, opened, names, weights, summaries, starts, rendered, people
            )
            if plan is not None and plan.resolved < end:
                plans.append(plan)
        day += timedelta(days=1)
    plans.sort(key=lambda p: p.opened)
    return plans


def _poisson(rng: random.Random, mean: float) -> int:
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _one(
    rng: random.Random,
    opened: datetime,
    names: list[str],
    weights: list[int],
    summaries: dict[str, tuple[str, ...]],
    starts: list[datetime],
    rendered: list[schedule_rules.Span],
    people: list[int],
) -> _Plan | None:
    service = rng.choices(names, weights)[0]
    severity = rng.choices([s for s, _ in SEVERITIES], [w for _, w in SEVERITIES])[0]
    at = bisect.bisect_right(starts, opened) - 1
    person = rendered[at].user_id if at >= 0 else None
    if person is None:
        return None
    backup = people[(people.index(person) + 1) % len(people)]
    major = severity in ("sev1", "sev2")
    events: list[tuple[str, datetime, int | None, dict[str, Any]]] = []
    pages = [(opened, person)]
    events.append(("paged", opened, None, {"user_id": person}))

    acknowledged: datetime | None = None
    if rng.random() > 0.07:
        acknowledged = opened + _lognormal(rng, 4, 0.9)
    if acknowledged is None or acknowledged - opened > timedelta(minutes=5):
        repage = opened + timedelta(minutes=5)
        pages.append((repage, backup))
        events.append(("paged", repage, None, {"user_id": backup}))

    resolved = opened + _lognormal(rng, 120 if major else 45, 0.8)
    if acknowledged is not None and acknowledged >= resolved:
        resolved = acknowledged + timedelta(minutes=rng.randrange(5, 60))
    if acknowledged is not None:
        events.append(("acknowledged", acknowledged, person, {}))

    declared = monitoring = None
    if major:
        declared = (acknowledged or opened) + timedelta(minutes=rng.randrange(1, 10))
        declared = min(declared, resolved)
        monitoring = declared + (resolved - declared) * 0.6
        events.append(("stage_changed", declared, person, {"stage": "investigating"}))
        events.append(("stage_changed", monitoring, person, {"stage": "monitoring"}))

    final = resolved
    events.append(("resolved", resolved, person, {}))
    if rng.random() < 0.03:
        back = resolved + timedelta(minutes=rng.randrange(10, 120))
        final = back + _lognormal(rng, 30, 0.6)
        events.append(("reopened", back, None, {}))
        events.append(("resolved", final, person, {}))
    elif acknowledged is None and rng.random() < 0.3:
        late = resolved + timedelta(minutes=rng.randrange(1, 30))
        events.append(("acknowledged", late, person, {}))

    return _Plan(
        opened=opened,
        service=service,
        summary=rng.choice(summaries[service]),
        severity=severity,
        person=person,
        backup=backup,
        events=events,
        pages=pages,
        acknowledged=acknowledged,
        resolved=final,
        declared=declared,
        monitoring=monitoring,
        repeats=1 + int(rng.expovariate(0.3)),
    )


_MESSAGES = {
    "paged": "Page queued",
    "acknowledged": "Acknowledged",
    "resolved": "Resolved",
    "reopened": "Reopened: the alert fired again",
    "stage_changed": "Stage changed",
}


def _write(ctx: Context, plans: list[_Plan], emails: dict[int, str]) -> None:
    service_ids = _services_ids(ctx)
    with ctx.db.write() as session:
        first = session.scalar(
            update(table_of(Counter))
            .where(table_of(Counter).c.name == "incident_number")
            .values(value=table_of(Counter).c.value + len(plans))
            .returning(table_of(Counter).c.value)
        )
        if first is None:
            raise RuntimeError("the incident_number counter is missing")
        base = int(first) - len(plans) + 1
        rows = [
            {
                "number": base + i,
                "title": plan.summary,
                "description": "",
                "status": "resolved",
                "severity": plan.severity,
                "service_id": service_ids[plan.service][0],
                "assignee_id": plan.person,
                "escalation_step": 0,
                "escalation_loop": 0,
                "acknowledged_at": plan.acknowledged,
                "acknowledged_by_id": plan.person if plan.acknowledged else None,
                "resolved_at": plan.resolved,
                "resolved_by_id": plan.person,
                "declared": plan.declared is not None,
                "declared_at": plan.declared,
                "declared_by_label": "demo" if plan.declared else "",
                "stage": "resolved" if plan.declared else None,
                "monitoring_at": plan.monitoring,
                "created_at": plan.opened,
                "updated_at": plan.resolved,
            }
            for i, plan in enumerate(plans)
        ]
        ids: dict[int, int] = (
            dict(
                session.execute(
                    insert(table_of(Incident)).returning(
                        table_of(Incident).c.number, table_of(Incident).c.id
                    ),
                    rows,
                ).all()
            )
            if rows
            else {}
        )
        alerts: list[dict[str, Any]] = []
        entries: list[dict[str, Any]] = []
        outbox: list[dict[str, Any]] = []
        for i, plan in enumerate(plans):
            number = base + i
            incident_id = ids[number]
            service_id, integration_id = service_ids[plan.service]
            alerts.append(
                {
                    "integration_id": integration_id,
                    "service_id": service_id,
                    "incident_id": incident_id,
                    "dedup_key": f"demo-year-{number}",
                    "status": "resolved",
                    "summary": plan.summary,
                    "source": "demo",
                    "severity": "critical" if plan.severity == "sev1" else "error",
                    "labels": {},
                    "raw": {},
                    "content_hash": "0" * 64,
                    "event_count": plan.repeats,
                    "first_seen_at": plan.opened,
                    "last_seen_at": plan.opened,
                    "resolved_at": plan.resolved,
                }
            )
            for kind, at, user_id, data in plan.events:
                entries.append(
                    {
                        "incident_id": incident_id,
                        "at": at,
                        "kind": kind,
                        "actor_user_id": user_id,
                        "actor_label": emails.get(user_id, "tocsin")
                        if user_id
                        else "tocsin",
                        "message": _MESSAGES.get(kind, kind),
                        "data": data,
                    }
                )
            for n, (at, user_id) in enumerate(plan.pages):
                outbox.append(
                    {
                        "channel": "email",
                        "recipient": emails.get(user_id, ""),
                        "subject": f"[#{number}] {plan.summary}",
                        "body": "",
                        "payload": {"kind": "page"},
                        "idempotency_key": f"demo-year-{number}-{n}",
                        "incident_id": incident_id,
                        "user_id": user_id,
                        "status": "sent",
                        "attempts": 1,
                        "next_attempt_at": at,
                        "last_error": "",
                        "sent_at": at,
                        "created_at": at,
                    }
                )
        for table, values in (
            (Alert, alerts),
            (TimelineEntry, entries),
            (OutboxMessage, outbox),
        ):
            if values:
                session.execute(insert(table_of(table)), values)
        _follow_up(session, plans, base, ids, ctx.clock.now())
        audit(
            session,
            SYSTEM,
            at=ctx.clock.now(),
            action=ACTION,
            object_type="demo",
            object_id=None,
            incidents=len(plans),
        )


ITEMS = (
    ("Alert on the cause, not the symptom", "detect"),
    ("Add a circuit breaker in front of the dependency", "prevent"),
    ("Write down the failover steps", "mitigate"),
    ("Load-test the new limits", "prevent"),
)


def _follow_up(
    session: Session,
    plans: list[_Plan],
    base: int,
    ids: dict[int, int],
    now: datetime,
) -> None:
    """Postmortems for most declared incidents (published when older than two
    weeks, mostly) with one to three action items, some done."""
    rng = random.Random(len(plans))  # noqa: S311 -- repeatable demo data
    team_id = session.scalar(select(Team.id).where(Team.name == demo.TEAM))
    chosen = [
        (base + i, plan)
        for i, plan in enumerate(plans)
        if plan.declared is not None and rng.random() < 0.85
    ]
    if not chosen:
        return
    rows: list[dict[str, Any]] = []
    for _, plan in chosen:
        old = now - plan.resolved > timedelta(days=14)
        published = old and rng.random() < 0.8
        rows.append(
            {
                "title": f"Postmortem: {plan.summary}",
                "status": "published" if published else "draft",
                "template_name": "Blameless",
                "team_id": team_id,
                "severity": plan.severity,
                "sections": {},
                "five_whys": [],
                "due_at": plan.resolved + timedelta(days=5),
                "created_by_label": "demo",
                "created_at": plan.resolved,
                "updated_at": plan.resolved,
                "published_at": plan.resolved + timedelta(days=3)
                if published
                else None,
            }
        )
    made = (
        session.execute(
            insert(table_of(Postmortem)).returning(
                table_of(Postmortem).c.id, sort_by_parameter_order=True
            ),
            rows,
        )
        .scalars()
        .all()
    )
    links, items = [], []
    for postmortem_id, (number, plan), row in zip(made, chosen, rows, strict=True):
        links.append({"postmortem_id": postmortem_id, "incident_id": ids[number]})
        published = row["status"] == "published"
        for title, kind in rng.sample(ITEMS, rng.randint(1, 3)):
            roll = rng.random()
            status = (
                "cancelled"
                if roll < 0.05
                else "done"
                if roll < (0.7 if published else 0.2)
                else "open"
            )
            items.append(
                {
                    "postmortem_id": postmortem_id,
                    "title": title,
                    "kind": kind,
                    "priority": "high" if plan.severity == "sev1" else "medium",
                    "status": status,
                    "owner_id": plan.person,
                    "due_at": plan.resolved + timedelta(days=30),
                    "created_by_label": "demo",
                    "created_at": plan.resolved,
                    "updated_at": plan.resolved,
                    "closed_at": plan.resolved + timedelta(days=20)
                    if status != "open"
                    else None,
                }
            )
    session.execute(insert(table_of(PostmortemIncident)), links)
    session.execute(insert(table_of(ActionItem)), items)


def _services_ids(ctx: Context) -> dict[str, tuple[int, int]]:
    with ctx.db.read() as session:
        found: dict[str, tuple[int, int]] = {}
        for name, _, _ in SERVICES:
            row = session.execute(
                select(Service.id, Integration.id)
                .join(Integration, Integration.service_id == Service.id)
                .where(Service.name == name)
                .order_by(Integration.id)
                .limit(1)
            ).one()
            found[name] = (row[0], row[1])
        return found
