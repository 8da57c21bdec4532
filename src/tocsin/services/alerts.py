"""Alert intake: deduplicate events, open or join incidents, resolve on clear.

Rules (the PagerDuty Events v2 model, which the other formats map onto):
- a trigger for a dedup key with an open (firing) alert updates that alert;
  an identical repeat changes nothing at all and writes nothing;
- a trigger for a key with no open alert opens a new alert, and a new incident
  unless an open incident of the same group exists;
- acknowledge and resolve apply only to the open alert with that key; for a
  closed or unknown key they change nothing;
- when the last firing alert of an incident resolves, the incident resolves
  (if the service auto-resolves).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Row, Select, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.domain.access import Actor, Role
from tocsin.domain.alerts import SEVERITY_TO_INCIDENT, AlertAction, AlertEvent
from tocsin.domain.incidents import IncidentStatus
from tocsin.services import declaration_triggers, incidents
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef
from tocsin.services.records import add_timeline
from tocsin.services.triage import severity_ranks
from tocsin.store.db import table_of
from tocsin.store.models import Alert, Incident, Service

log = logging.getLogger(__name__)

# Outcomes, as the API reports them per event.
CREATED = "created"
UPDATED = "updated"
DUPLICATE = "duplicate"
ACKNOWLEDGED = "acknowledged"
RESOLVED = "resolved"
IGNORED = "ignored"

_RACE_RETRIES = 5

_ALERTS = table_of(Alert)
_INCIDENTS = table_of(Incident)
_SERVICES = table_of(Service)

# The statements of the trigger path, built once.
_OPEN_ALERT = (
    select(_ALERTS.c.id, _ALERTS.c.content_hash, _INCIDENTS.c.number)
    .outerjoin(_INCIDENTS, _ALERTS.c.incident_id == _INCIDENTS.c.id)
    .where(
        _ALERTS.c.integration_id == bindparam("integration_id"),
        _ALERTS.c.dedup_key == bindparam("key"),
        _ALERTS.c.status == "firing",
    )
    .with_for_update(of=_ALERTS)
)
_SERVICE = select(
    _SERVICES.c.id, _SERVICES.c.name, _SERVICES.c.escalation_policy_id
).where(_SERVICES.c.id == bindparam("service_id"))
_OPEN_GROUP = (
    select(_INCIDENTS.c.id, _INCIDENTS.c.number, _INCIDENTS.c.severity)
    .where(
        _INCIDENTS.c.service_id == bindparam("service_id"),
        _INCIDENTS.c.group_key == bindparam("group_key"),
        _INCIDENTS.c.status != IncidentStatus.RESOLVED,
    )
    .with_for_update()
)


class _IncidentKey(NamedTuple):
    id: int
    number: int


@dataclass(frozen=True)
class Outcome:
    dedup_key: str
    result: str
    incident_number: int | None = None


def integration_actor(integration: IntegrationRef) -> Actor:
    return Actor(
        kind="integration",
        label=f"integration {integration.name}",
        role=Role.RESPONDER,
    )


def ingest(
    ctx: Context, integration: IntegrationRef, events: list[AlertEvent]
) -> list[Outcome]:
    """Apply `events` in order, in one transaction. Race-free and idempotent."""
    known = known_outcomes(ctx, integration, events)
    if known is not None:
        return known

    return record(ctx, integration, events)


def record(
    ctx: Context, integration: IntegrationRef, events: list[AlertEvent]
) -> list[Outcome]:
    """`ingest` without the read that answers repeats: one write transaction,
    run again when it loses a race."""
    for attempt in range(_RACE_RETRIES):
        try:
            with ctx.db.write() as session:
                return apply(session, ctx, integration, events)
        except IntegrityError:
            # Another transaction opened the same alert or group first (only on
            # PostgreSQL; SQLite writers are serialised). Its row is committed
            # now, so the retry finds it and joins it.
            log.info("intake race lost, retrying", extra={"attempt": attempt})
    raise RuntimeError("intake kept losing races; giving up")


def apply(
    session: Session,
    ctx: Context,
    integration: IntegrationRef,
    events: list[AlertEvent],
) -> list[Outcome]:
    """Apply `events` in order in the caller's write transaction.

    Raises IntegrityError when a concurrent transaction opened the same alert or
    group first (PostgreSQL only); the caller rolls back and applies again.
    """
    return [_apply(session, ctx, integration, event) for event in events]


def _known_query(*, one_key: bool) -> Select[str, str, int]:
    alert, incident = Alert.__table__, Incident.__table__
    keys = (
        alert.c.dedup_key == bindparam("key")
        if one_key
        else alert.c.dedup_key.in_(bindparam("keys", expanding=True))
    )
    return (
        select(alert.c.dedup_key, alert.c.content_hash, incident.c.number)
        .join(incident, alert.c.incident_id == incident.c.id)
        .where(
            alert.c.integration_id == bindparam("integration_id"),
            keys,
            alert.c.status == "firing",
        )
    )


# Built once: building a statement costs more than SQLite takes to run it. Most
# requests carry one event, and `=` is cheaper to execute than an expanding IN.
_KNOWN_ONE = _known_query(one_key=True)
_KNOWN_MANY = _known_query(one_key=False)


def known_outcomes(
    ctx: Context, integration: IntegrationRef, events: list[AlertEvent]
) -> list[Outcome] | None:
    """Outcomes when every event is an identical repeat, else None.

    Repeats are most of an alert storm; answering them from one read with plain
    SQL keeps the single SQLite writer, and the ORM, out of the way. On SQLite
    the read never waits for a writer (WAL), so it may run on the event loop.
    """
    if any(event.action is not AlertAction.TRIGGER for event in events):
        return None

    keys = sorted({event.dedup_key for event in events})
    parameters: dict[str, Any] = {"integration_id": integration.id}
    if len(keys) == 1:
        query, parameters["key"] = _KNOWN_ONE, keys[0]
    else:
        query, parameters["keys"] = _KNOWN_MANY, keys
    rows = ctx.db.read_once(query, parameters)
    known = {key: (digest, number) for key, digest, number in rows}

    outcomes = []
    for event in events:
        digest, number = known.get(event.dedup_key, ("", 0))
        if digest != event.content_hash():
            return None
        outcomes.append(Outcome(event.dedup_key, DUPLICATE, number))
    return outcomes


def _apply(
    session: Session, ctx: Context, integration: IntegrationRef, event: AlertEvent
) -> Outcome:
    # Triggers read with plain SQL, which does not flush the session: an earlier
    # event's ORM changes (a resolve) must be in the database first.
    session.flush()
    if event.action is AlertAction.TRIGGER:
        return _trigger(session, ctx, integration, event)

    alert = session.scalar(
        select(Alert)
        .where(
            Alert.integration_id == integration.id,
            Alert.dedup_key == event.dedup_key,
            Alert.status == "firing",
        )
        .with_for_update()
        # A trigger before it in the transaction may have changed the row.
        .execution_options(populate_existing=True)
    )
    if alert is None or alert.incident_id is None:
        return Outcome(event.dedup_key, IGNORED)

    incident = session.scalar(
        select(Incident).where(Incident.id == alert.incident_id).with_for_update()
    )
    if incident is None:
        return Outcome(event.dedup_key, IGNORED)

    actor = integration_actor(integration)
    if event.action is AlertAction.ACKNOWLEDGE:
        incidents.acknowledge_locked(session, ctx, incident, actor)
        return Outcome(event.dedup_key, ACKNOWLEDGED, incident.number)

    _resolve_alert(session, ctx, incident, alert, event, actor)
    return Outcome(event.dedup_key, RESOLVED, incident.number)


def _trigger(
    session: Session, ctx: Context, integration: IntegrationRef, event: AlertEvent
) -> Outcome:
    """A trigger, in plain SQL: in a storm, every new alert comes this way."""
    now = ctx.clock.now()
    digest = event.content_hash()
    known = session.execute(
        _OPEN_ALERT, {"integration_id": integration.id, "key": event.dedup_key}
    ).first()
    if known is not None:
        if known.content_hash == digest:
            return Outcome(event.dedup_key, DUPLICATE, known.number)
        session.execute(
            update(_ALERTS)
            .where(_ALERTS.c.id == known.id)
            .values(
                summary=event.summary[:1024],
                source=event.source[:255],
                severity=event.severity,
                labels=dict(event.labels),
                raw=event.raw,
                content_hash=digest,
                event_count=_ALERTS.c.event_count + 1,
                last_seen_at=now,
                ends_at=event.ends_at,
            )
        )
        return Outcome(event.dedup_key, UPDATED, known.number)

    service = session.execute(
        _SERVICE, {"service_id": integration.service_id}
    ).one_or_none()
    if service is None:
        raise RuntimeError("integration without a service")
    incident = _open_incident_for(session, ctx, service, integration, event)
    session.execute(
        insert(_ALERTS),
        {
            "integration_id": integration.id,
            "service_id": service.id,
            "incident_id": incident.id,
            "dedup_key": event.dedup_key,
            "status": "firing",
            "summary": event.summary[:1024],
            "source": event.source[:255],
            "severity": event.severity,
            "labels": dict(event.labels),
            "raw": event.raw,
            "content_hash": digest,
            "first_seen_at": now,
            "last_seen_at": now,
            "starts_at": event.starts_at,
            "ends_at": event.ends_at,
        },
    )
    # Declaration triggers: with no rules this is one cached lookup.
    declaration_triggers.after_alert(
        session,
        ctx,
        incident_id=incident.id,
        service_id=service.id,
        severity=event.severity,
        labels=dict(event.labels),
    )
    return Outcome(event.dedup_key, CREATED, incident.number)


def _raise_severity(
    session: Session,
    ctx: Context,
    incident: _IncidentKey,
    current: str,
    event: AlertEvent,
    actor: Actor,
) -> None:
    """A worse alert joining a group makes its incident worse; a milder one
    never lowers it (people may have set it on purpose)."""
    severity = SEVERITY_TO_INCIDENT.get(event.severity, "sev3")
    # By the configured ranks (1 worst), not the keys' text: an added level
    # such as "zero" or "low" sorts anywhere among "sev1".."sev4".
    if severity == current:
        return
    ranks = severity_ranks(session)
    if current not in ranks or ranks[severity] >= ranks[current]:
        return

    session.execute(
        update(_INCIDENTS)
        .where(_INCIDENTS.c.id == incident.id)
        .values(severity=severity, updated_at=ctx.clock.now())
    )
    add_timeline(
        session,
        incident,
        at=ctx.clock.now(),
        kind="severity_changed",
        message=f"Severity raised from {current.upper()} to {severity.upper()}: "
        f"a {event.severity} alert joined",
        actor=actor,
        previous=current,
        severity=severity,
    )


def _open_incident_for(
    session: Session,
    ctx: Context,
    service: Row[int, str, int | None],
    integration: IntegrationRef,
    event: AlertEvent,
) -> _IncidentKey:
    """The open incident of the event's group, or a new one."""
    actor = integration_actor(integration)
    group_key = f"{integration.id}:{event.group_key}" if event.group_key else None
    if group_key is not None:
        row = session.execute(
            _OPEN_GROUP, {"service_id": service.id, "group_key": group_key}
        ).first()
        if row is not None:
            joined = _IncidentKey(row.id, row.number)
            add_timeline(
                session,
                joined,
                at=ctx.clock.now(),
                kind="alert_attached",
                message=f"Alert joined: {event.summary[:200]}",
                actor=actor,
                dedup_key=event.dedup_key,
            )
            _raise_severity(session, ctx, joined, row.severity, event, actor)
            return joined

    opened = incidents.open_incident(
        session,
        ctx,
        service_id=service.id,
        service_name=service.name,
        escalation_policy_id=service.escalation_policy_id,
        title=event.summary,
        severity=SEVERITY_TO_INCIDENT.get(event.severity, "sev3"),
        actor=actor,
        group_key=group_key,
        description=event.details,
    )
    return _IncidentKey(opened.id, opened.number)


def _resolve_alert(
    session: Session,
    ctx: Context,
    incident: Incident,
    alert: Alert,
    event: AlertEvent,
    actor: Actor,
) -> None:
    now = ctx.clock.now()
    alert.status = "resolved"
    alert.resolved_at = now
    alert.last_seen_at = now
    alert.raw = event.raw or alert.raw
    # Monitors that know when the condition ended (Alertmanager's endsAt) say so.
    if event.ends_at is not None:
        alert.ends_at = event.ends_at
    add_timeline(
        session,
        incident,
        at=now,
        kind="alert_resolved",
        message=f"Alert cleared: {alert.summary[:200]}",
        actor=actor,
        dedup_key=alert.dedup_key,
    )
    session.flush()

    still_firing = session.scalar(
        select(func.count())
        .select_from(Alert)
        .where(Alert.incident_id == incident.id, Alert.status == "firing")
    )
    if still_firing == 0 and incident.service.auto_resolve:
        incidents.resolve_locked(session, ctx, incident, actor)
