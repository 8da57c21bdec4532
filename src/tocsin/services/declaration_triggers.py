"""Declaration triggers: rules over alerts that declare an incident.

A rule names label matchers, a lowest alert severity, optionally a service,
and how many matching alerts within a window it takes. Intake calls
`after_alert` for every new alert; when the alert makes a rule's count, its
incident is declared with the rule's type and severity, and the timeline says
which rule and which alerts.

Intake is the hot path: the enabled rules are kept for CACHE_SECONDS per
database, so an alert storm reads them once, and with no rules `after_alert`
costs one dictionary lookup. Changes made in this process apply at once;
other processes see them within CACHE_SECONDS.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.domain import triage as rules
from tocsin.domain.access import Actor, Role, require_role
from tocsin.domain.triage import ALERT_SEVERITIES, Scale, TriggerRule
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.services.context import Context
from tocsin.services.declaration import mark_declared
from tocsin.services.incident_triage import change_severity
from tocsin.services.records import audit
from tocsin.services.triage import find_type, load_scales
from tocsin.store.db import Database
from tocsin.store.models import Alert, Incident, Service
from tocsin.store.models.triage import DeclarationTrigger, IncidentType
from tocsin.triage_schemas import TriggerRead

log = logging.getLogger(__name__)

CACHE_SECONDS = 5.0
MAX_ID = 2**31 - 1
MAX_NAME = 200
MAX_COUNT = 1000
MAX_WINDOW_MINUTES = 7 * 24 * 60
# Alerts looked at when counting a rule's window; a storm beyond this has
# made any sensible count long before.
MAX_SCANNED = 2000
MAX_ALERTS_RECORDED = 20

_cache: weakref.WeakKeyDictionary[Database, tuple[float, tuple[TriggerRule, ...]]]
_cache = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class TriggerSpec:
    name: str
    severity: str
    matchers: tuple[str, ...] = ()
    service_id: int | None = None
    min_alert_severity: str = "error"
    alert_count: int = 1
    window_minutes: int = 10
    incident_type: str | None = None
    enabled: bool = True


def list_triggers(ctx: Context, actor: Actor) -> list[TriggerRead]:
    require_role(actor, Role.RESPONDER)
    with ctx.db.read() as session:
        rows = session.scalars(
            select(DeclarationTrigger).order_by(DeclarationTrigger.name)
        )
        return [TriggerRead.model_validate(row) for row in rows]


def create_trigger(ctx: Context, actor: Actor, spec: TriggerSpec) -> TriggerRead:
    """Add a rule. Admins only; InvalidInput for a rule that cannot work,
    Conflict when the name is taken."""
    require_role(actor, Role.ADMIN)
    name, matchers = _checked(spec)

    with ctx.db.write() as session:
        values = _resolved(session, spec)
        if session.scalar(
            select(DeclarationTrigger.id).where(DeclarationTrigger.name == name)
        ):
            raise Conflict(f"a declaration trigger named {name!r} exists already")

        now = ctx.clock.now()
        row = DeclarationTrigger(
            name=name,
            matchers=matchers,
            created_at=now,
            updated_at=now,
            **values,
        )
        session.add(row)
        session.flush()
        audit(
            session,
            actor,
            at=now,
            action="declaration_trigger.create",
            object_type="declaration_trigger",
            object_id=row.id,
            name=name,
        )
        read = TriggerRead.model_validate(row)
    forget_cached_rules(ctx)
    return read


def replace_trigger(
    ctx: Context, actor: Actor, trigger_id: int, spec: TriggerSpec
) -> TriggerRead:
    """Replace every setting of a rule. Admins only."""
    require_role(actor, Role.ADMIN)
    name, matchers = _checked(spec)

    with ctx.db.write() as session:
        row = _locked(session, trigger_id)
        values = _resolved(session, spec)
        clash = session.scalar(
            select(DeclarationTrigger.id).where(
                DeclarationTrigger.name == name, DeclarationTrigger.id != row.id
            )
        )
        if clash is not None:
            raise Conflict(f"a declaration trigger named {name!r} exists already")

        now = ctx.clock.now()
        row.name, row.matchers, row.updated_at = name, matchers, now
        for field, value in values.items():
            setattr(row, field, value)
        audit(
            session,
            actor,
            at=now,
            action="declaration_trigger.update",
            object_type="declaration_trigger",
            object_id=row.id,
            name=name,
            enabled=row.enabled,
        )
        session.flush()
        session.refresh(row)
        read = TriggerRead.model_validate(row)
    forget_cached_rules(ctx)
    return read


def set_enabled(
    ctx: Context, actor: Actor, trigger_id: int, enabled: bool
) -> TriggerRead:
    """Turn a rule on or off, keeping its settings. Admins only."""
    require_role(actor, Role.ADMIN)
    with ctx.db.write() as session:
        row = _locked(session, trigger_id)
        if row.enabled != enabled:
            row.enabled = enabled
            row.updated_at = ctx.clock.now()
            audit(
                session,
                actor,
                at=row.updated_at,
                action="declaration_trigger.update",
                object_type="declaration_trigger",
                object_id=row.id,
                name=row.name,
                enabled=enabled,
            )
        session.flush()
        read = TriggerRead.model_validate(row)
    forget_cached_rules(ctx)
    return read


def delete_trigger(ctx: Context, actor: Actor, trigger_id: int) -> None:
    require_role(actor, Role.ADMIN)
    with ctx.db.write() as session:
        row = _locked(session, trigger_id)
        audit(
            session,
            actor,
            at=ctx.clock.now(),
            action="declaration_trigger.delete",
            object_type="declaration_trigger",
            object_id=row.id,
            name=row.name,
        )
        session.delete(row)
    forget_cached_rules(ctx)


def find_trigger(ctx: Context, name: str) -> TriggerRead:
    with ctx.db.read() as session:
        row = session.scalar(
            select(DeclarationTrigger).where(DeclarationTrigger.name == name)
        )
        if row is None:
            raise NotFound(f"no declaration trigger named {name!r}")
        return TriggerRead.model_validate(row)


def forget_cached_rules(ctx: Context) -> None:
    with _cache_lock:
        _cache.pop(ctx.db, None)


def after_alert(
    session: Session,
    ctx: Context,
    *,
    incident_id: int,
    service_id: int,
    severity: str,
    labels: dict[str, str],
) -> None:
    """Called by intake after a new alert is stored in `session`: declare its
    incident when the alert completes a rule's count. An incident declared
    already is left as it is."""
    enabled = _rules(session, ctx)
    if not enabled:
        return
    admitting = [rule for rule in enabled if rule.admits(service_id, severity, labels)]
    if not admitting:
        return

    incident = session.scalars(
        select(Incident).where(Incident.id == incident_id).with_for_update()
    ).one()
    if incident.declared:
        return

    now = ctx.clock.now()
    for rule in admitting:
        matching = _matching(session, rule, now)
        if len(matching) >= rule.alert_count:
            _declare(session, ctx, incident, rule, matching)
            return


def _matching(session: Session, rule: TriggerRule, now: Any) -> list[str]:
    """Dedup keys of the alerts that count towards `rule` in its window,
    newest first."""
    allowed = [
        name
        for name in ALERT_SEVERITIES
        if rules.alert_severity_at_least(name, rule.min_alert_severity)
    ]
    query = (
        select(Alert.dedup_key, Alert.service_id, Alert.severity, Alert.labels)
        .where(
            Alert.first_seen_at >= now - timedelta(minutes=rule.window_minutes),
            Alert.severity.in_(allowed),
        )
        .order_by(Alert.id.desc())
        .limit(MAX_SCANNED)
    )
    if rule.service_id is not None:
        query = query.where(Alert.service_id == rule.service_id)
    return [
        key
        for key, service_id, severity, labels in session.execute(query)
        if rule.admits(service_id, severity, labels or {})
    ]


def _declare(
    session: Session,
    ctx: Context,
    incident: Incident,
    rule: TriggerRule,
    matching: list[str],
) -> None:
    actor = Actor(kind="system", label=f"trigger {rule.name}", role=Role.ADMIN)
    incident_type = (
        session.get(IncidentType, rule.incident_type_id)
        if rule.incident_type_id
        else None
    )
    conditions = [str(matcher) for matcher in rule.matchers]
    conditions.append(f"severity {rule.min_alert_severity} or worse")
    reason = (
        f"{len(matching)} alert(s) matched declaration trigger {rule.name!r} "
        f"({', '.join(conditions)}) within {rule.window_minutes} minutes"
    )
    mark_declared(
        session,
        ctx,
        incident,
        actor,
        reason,
        incident_type,
        label=f"declaration trigger {rule.name}",
        trigger_id=rule.id,
        alerts=matching[:MAX_ALERTS_RECORDED],
    )

    # The rule's severity where it is worse: a trigger never calms an incident
    # down that someone (or a worse alert) made more severe.
    scales = load_scales(session)
    rank = {level.key: level.rank for level in scales.levels[Scale.SEVERITY]}
    if rank.get(rule.severity, 99) < rank.get(incident.severity, 99):
        change_severity(
            session,
            ctx,
            incident,
            actor,
            rule.severity,
            f"set by declaration trigger {rule.name!r}",
            trigger_id=rule.id,
        )


def _rules(session: Session, ctx: Context) -> tuple[TriggerRule, ...]:
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(ctx.db)
    if cached is not None and cached[0] > now:
        return cached[1]

    loaded = []
    for row in session.scalars(
        select(DeclarationTrigger)
        .where(DeclarationTrigger.enabled)
        .order_by(DeclarationTrigger.id)
    ):
        try:
            matchers = tuple(rules.parse_matcher(text) for text in row.matchers)
        except InvalidInput:
            # Rules are checked when written; one broken by hand in the
            # database must not fail the intake of every alert.
            log.error("declaration trigger skipped", extra={"trigger_id": row.id})
            continue
        loaded.append(
            TriggerRule(
                id=row.id,
                name=row.name,
                service_id=row.service_id,
                matchers=matchers,
                min_alert_severity=row.min_alert_severity,
                alert_count=row.alert_count,
                window_minutes=row.window_minutes,
                severity=row.severity,
                incident_type_id=row.incident_type_id,
            )
        )
    with _cache_lock:
        _cache[ctx.db] = (now + CACHE_SECONDS, tuple(loaded))
    return tuple(loaded)


def _checked(spec: TriggerSpec) -> tuple[str, list[str]]:
    name = rules.check_text(spec.name, "a trigger's name", MAX_NAME, required=True)
    if "\n" in name:
        raise InvalidInput("a trigger's name is one line")
    if len(spec.matchers) > rules.MAX_MATCHERS:
        raise InvalidInput(f"a trigger has at most {rules.MAX_MATCHERS} matchers")
    matchers = [str(rules.parse_matcher(text)) for text in spec.matchers]
    if spec.min_alert_severity not in ALERT_SEVERITIES:
        raise InvalidInput(
            f"min_alert_severity is one of {', '.join(ALERT_SEVERITIES)}"
        )
    if not 1 <= spec.alert_count <= MAX_COUNT:
        raise InvalidInput(f"alert_count is 1 to {MAX_COUNT}")
    if not 1 <= spec.window_minutes <= MAX_WINDOW_MINUTES:
        raise InvalidInput(f"window_minutes is 1 to {MAX_WINDOW_MINUTES}")
    return name, matchers


def _resolved(session: Session, spec: TriggerSpec) -> dict[str, Any]:
    """The columns of a rule, its severity, service and type checked."""
    load_scales(session).level(Scale.SEVERITY, spec.severity)
    if spec.service_id is not None and (
        not 1 <= spec.service_id <= MAX_ID
        or session.get(Service, spec.service_id) is None
    ):
        raise InvalidInput(f"no service with id {spec.service_id}")
    type_id = find_type(session, spec.incident_type).id if spec.incident_type else None
    return {
        "enabled": spec.enabled,
        "service_id": spec.service_id,
        "min_alert_severity": spec.min_alert_severity,
        "alert_count": spec.alert_count,
        "window_minutes": spec.window_minutes,
        "severity": spec.severity,
        "incident_type_id": type_id,
    }


def _locked(session: Session, trigger_id: int) -> DeclarationTrigger:
    row = (
        session.scalar(
            select(DeclarationTrigger)
            .where(DeclarationTrigger.id == trigger_id)
            .with_for_update()
        )
        if 1 <= trigger_id <= MAX_ID
        else None
    )
    if row is None:
        raise NotFound(f"no declaration trigger with id {trigger_id}")
    return row
