"""Triage suggestions: training the model, suggesting for an incident,
recording what people did with a suggestion, and how often it was right.

Suggestions never stand in intake's way: an incident is stored first, and its
suggestions are computed when first read (the API, the incident page, the
CLI) in a transaction of their own. Whatever goes wrong with the model is
logged and the rule set answers instead.

Cold start: below `ai_min_history` resolved incidents, training adds the
bundled synthetic history and learns severity and incident type only (the
synthetic services are not the organisation's); the owning service is then the
rules'. At or above it, the model learns all three from history alone. With no
model trained at all, the rules answer. Each suggestion names its source.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, selectinload

from tocsin.ai import model as learned
from tocsin.ai import rules, synthetic
from tocsin.ai.features import FIELDS, Example, IncidentFacts
from tocsin.ai.model import Evaluation, ModelError, Progress, TriageModel
from tocsin.ai.rules import Suggestion
from tocsin.domain.access import SYSTEM, Actor, Role, can_see_team, require_role
from tocsin.domain.triage import Scale
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.services import incident_triage
from tocsin.services.context import Context
from tocsin.services.records import add_timeline, audit
from tocsin.services.triage import load_scales
from tocsin.store.models import (
    AiModel,
    AiSuggestion,
    Alert,
    Incident,
    Service,
    Timer,
)
from tocsin.store.models.triage import IncidentType

log = logging.getLogger(__name__)

RETRAIN = "ai_retrain"
# How many synthetic incidents join a small history, and the most recent
# resolved incidents read for training.
SYNTHETIC_EXAMPLES = 2000
MAX_HISTORY = 20_000
HISTORY_BATCH = 900
MAX_NUMBER = 2**31 - 1

# The newest model per database, unpickled once per process and replaced when
# a newer one is stored (by this process or another).
_loaded: dict[tuple[str, int], TriageModel] = {}


def _key(session: Session, model_id: int) -> tuple[str, int]:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return str(engine.url), model_id


def _remember(key: tuple[str, int], model: TriageModel) -> None:
    # Older models of the same database are no longer used.
    for old in [k for k in _loaded if k[0] == key[0]]:
        del _loaded[old]
    _loaded[key] = model


@dataclass(frozen=True)
class TrainedModel:
    id: int
    source: str
    examples: int
    history: int
    fields: list[str]
    created_at: datetime


@dataclass(frozen=True)
class SuggestionView:
    """A suggestion beside the field's current value."""

    field: str
    value: str
    current: str | None
    confidence: float
    reasons: list[str]
    source: str
    outcome: str
    chosen: str | None


@dataclass(frozen=True)
class FieldReport:
    """For one field and week: how suggestions fared."""

    week: str
    field: str
    suggested: int
    decided: int
    accepted: int
    accept_rate: float | None
    # Among incidents resolved with a final value (see `_final`), the share
    # whose final value was suggested.
    judged: int
    accuracy: float | None


# --- what the model reads ---------------------------------------------------


def facts_of(session: Session, incident: Incident) -> IncidentFacts:
    """The incident's text, its first alert's labels and its source."""
    alert = session.scalar(
        select(Alert)
        .where(Alert.incident_id == incident.id)
        .options(selectinload(Alert.integration))
        .order_by(Alert.id)
        .limit(1)
    )
    return _facts(incident, alert)


def _facts(incident: Incident, alert: Alert | None) -> IncidentFacts:
    labels = {str(k): str(v) for k, v in (alert.labels if alert else {}).items()}
    source = alert.integration.kind if alert else "manual"
    return IncidentFacts(
        title=incident.title,
        description=incident.description,
        labels=labels,
        service=incident.service.name,
        source=source,
    )


def history(session: Session) -> list[Example]:
    """The most recent resolved incidents with the answers people settled on.

    Their first alerts are read in batches: one query per incident made
    reading 10,000 of them take several times as long as training on them."""
    rows = session.scalars(
        select(Incident)
        .where(Incident.status == "resolved")
        .options(selectinload(Incident.service), selectinload(Incident.incident_type))
        .order_by(Incident.id.desc())
        .limit(MAX_HISTORY)
    ).all()
    alerts = _first_alerts(session, [row.id for row in rows])
    return [
        Example(
            facts=_facts(row, alerts.get(row.id)),
            severity=row.severity,
            incident_type=row.incident_type.key if row.incident_type else None,
            service=row.service.name,
        )
        for row in rows
    ]


def _first_alerts(session: Session, incident_ids: list[int]) -> dict[int, Alert]:
    """Each incident's first alert, by incident id, in batches under the
    999 bound parameters older SQLite builds allow."""
    found: dict[int, Alert] = {}
    for start in range(0, len(incident_ids), HISTORY_BATCH):
        batch = incident_ids[start : start + HISTORY_BATCH]
        first_ids = (
            select(func.min(Alert.id))
            .where(Alert.incident_id.in_(batch))
            .group_by(Alert.incident_id)
        )
        for alert in session.scalars(
            select(Alert)
            .where(Alert.id.in_(first_ids))
            .options(selectinload(Alert.integration))
        ):
            if alert.incident_id is not None:
                found[alert.incident_id] = alert
    return found


# --- training ---------------------------------------------------------------


def train(ctx: Context, actor: Actor, progress: Progress | None = None) -> TrainedModel:
    """Train on the history (and the synthetic set below the threshold), store
    the model and make it the one in use. Admins only; audited."""
    require_role(actor, Role.ADMIN)
    with ctx.db.read() as session:
        past = history(session)

    # Fitted outside the write transaction: on SQLite it would hold the one
    # writer for the whole training.
    fitted = _fit(ctx, past, progress)
    with ctx.db.write() as session:
        trained = _store(session, ctx, actor, fitted, len(past))
        schedule_retrain(session, ctx)
        return trained


def _fit(ctx: Context, past: list[Example], progress: Progress | None) -> TriageModel:
    if len(past) >= ctx.settings.ai_min_history:
        return learned.train(past, "history", progress=progress)

    examples = synthetic.generate(SYNTHETIC_EXAMPLES) + past
    return learned.train(
        examples,
        "synthetic",
        fields=("severity", "incident_type"),
        progress=progress,
    )


def _store(
    session: Session,
    ctx: Context,
    actor: Actor,
    trained: TriageModel,
    history_size: int,
) -> TrainedModel:
    now = ctx.clock.now()
    row = AiModel(
        source=trained.source,
        examples=trained.examples,
        history=history_size,
        fields=sorted(trained.fields),
        artefact=trained.dump(artefact_key(ctx)),
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit(
        session,
        actor,
        at=now,
        action="ai.train",
        object_type="ai_model",
        object_id=row.id,
        source=row.source,
        examples=row.examples,
        history=row.history,
    )
    _remember(_key(session, row.id), trained)
    return _trained(row)


def _trained(row: AiModel) -> TrainedModel:
    return TrainedModel(
        id=row.id,
        source=row.source,
        examples=row.examples,
        history=row.history,
        fields=list(row.fields),
        created_at=row.created_at,
    )


def current(ctx: Context) -> TrainedModel | None:
    """The model in use, if one was ever trained."""
    with ctx.db.read() as session:
        row = session.scalar(select(AiModel).order_by(AiModel.id.desc()).limit(1))
        return _trained(row) if row else None


def model_in_use(ctx: Context, actor: Actor) -> tuple[TrainedModel | None, str]:
    """The model in use (None: the rules answer) and `describe`'s words for
    it. Anyone signed in may read it."""
    require_role(actor, Role.VIEWER)
    model = current(ctx)
    return model, describe(model)


def describe(model: TrainedModel | None) -> str:
    """Where suggestions come from, in words for the panel and the report:
    the rules, the synthetic set or the organisation's history, with when
    the model was trained and on how many examples."""
    if model is None:
        return "the rules (no model trained yet)"

    trained = (
        f"trained {model.created_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        f" on {model.examples} examples"
    )
    if model.source == "synthetic":
        said = f"the synthetic set (and {model.history} resolved incidents), {trained}"
    else:
        said = f"the organisation's history, {trained}"
    if "service" not in model.fields:
        said += "; the rules suggest the owning service"
    return said


def evaluate(
    ctx: Context, actor: Actor, field: str = "severity", *, seed: int = 11
) -> tuple[Evaluation, str]:
    """Score a model and the rules on a held-out quarter of the history, or of
    the synthetic set while the history is too small; says which it used."""
    require_role(actor, Role.RESPONDER)
    if field not in FIELDS:
        raise InvalidInput(f"field must be one of {', '.join(FIELDS)}")
    if seed < 0:
        # NumPy's generator takes no negative seed.
        raise InvalidInput("seed must be 0 or more")

    with ctx.db.read() as session:
        past = history(session)
        services = list(session.scalars(select(Service.name)))
    examples, source = past, "history"
    if len(past) < ctx.settings.ai_min_history:
        examples, source = synthetic.generate(SYNTHETIC_EXAMPLES), "synthetic"
        services = sorted(synthetic.SERVICES)

    try:
        result = learned.evaluate(
            examples, field, services=services, source=source, seed=seed
        )
    except ModelError as error:
        raise Conflict(str(error)) from error
    return result, source


def artefact_key(ctx: Context) -> bytes:
    """Signs stored models: derived from the secret key, so a model row is
    trusted only when it was written by a process holding that key."""
    secret = ctx.settings.effective_secret_key().encode()
    return hmac.new(secret, b"tocsin.ai.model", hashlib.sha256).digest()


def _model(session: Session, signing: bytes) -> tuple[int, TriageModel] | None:
    row_id = session.scalar(select(func.max(AiModel.id)))
    if row_id is None:
        return None
    key = _key(session, row_id)
    if key not in _loaded:
        artefact = session.scalar(select(AiModel.artefact).where(AiModel.id == row_id))
        _remember(key, TriageModel.load(bytes(artefact or b""), signing))
    return row_id, _loaded[key]


# --- suggesting -------------------------------------------------------------


def suggest(
    ctx: Context, session: Session, facts: IncidentFacts
) -> tuple[dict[str, Suggestion], int | None]:
    """Suggestions for `facts` and the model id they came from (None: rules).

    The model's answers win where it has a model for the field; the rules fill
    in the rest. A model that fails to load or answer is logged, and the rules
    answer alone.
    """
    services = list(session.scalars(select(Service.name).order_by(Service.name)))
    found = rules.suggest(facts, services)
    model_id = None
    try:
        loaded = _model(session, artefact_key(ctx))
        if loaded is not None:
            model_id, model = loaded
            found.update(model.suggest(facts))
    except Exception:
        log.exception("triage model failed; the rules answer instead")
        model_id = None

    return _known(session, found), model_id


def _known(session: Session, found: dict[str, Suggestion]) -> dict[str, Suggestion]:
    """Only values that exist here: a severity level, an active incident type,
    a service."""
    allowed = {name: _values(session, name) for name in found}
    return {
        name: suggestion
        for name, suggestion in found.items()
        if suggestion.value in allowed[name]
    }


def _values(session: Session, field: str) -> set[str]:
    """What `field` may hold here: severity levels, active incident type keys
    or service names."""
    if field == "severity":
        return set(load_scales(session).keys(Scale.SEVERITY))
    if field == "incident_type":
        # A retired type stays on the incidents that have it but is offered
        # to no other, as a suggestion or as a choice.
        active = select(IncidentType.key).where(IncidentType.active)
        return set(session.scalars(active))
    return set(session.scalars(select(Service.name)))


def suggestions(ctx: Context, actor: Actor, number: int) -> list[SuggestionView]:
    """The incident's suggestions, computed and stored on first read."""
    with ctx.db.read() as session:
        incident = visible_incident(session, actor, number)
        stored = _stored(session, incident.id)
        if stored:
            return _views(incident, stored)

    # The incident's row lock makes a second first read wait for this one and
    # then find its rows, instead of failing on the unique (incident, field).
    with ctx.db.write() as session:
        incident = incident_triage.locked(session, actor, number)
        stored = _stored(session, incident.id)
        if not stored:
            stored = _compute(session, ctx, incident)
        return _views(incident, stored)


def _compute(session: Session, ctx: Context, incident: Incident) -> list[AiSuggestion]:
    found, model_id = suggest(ctx, session, facts_of(session, incident))
    schedule_retrain(session, ctx)
    now = ctx.clock.now()
    rows = [
        AiSuggestion(
            incident_id=incident.id,
            field=s.field,
            value=s.value,
            confidence=s.confidence,
            reasons=list(s.reasons),
            source=s.source,
            model_id=model_id if s.source != "rules" else None,
            outcome="pending",
            created_at=now,
        )
        for s in found.values()
    ]
    session.add_all(rows)
    session.flush()
    return sorted(rows, key=lambda row: FIELDS.index(row.field))


def _stored(session: Session, incident_id: int) -> list[AiSuggestion]:
    rows = session.scalars(
        select(AiSuggestion).where(AiSuggestion.incident_id == incident_id)
    ).all()
    return sorted(rows, key=lambda row: FIELDS.index(row.field))


def _current(incident: Incident, field: str) -> str | None:
    if field == "severity":
        return incident.severity
    if field == "incident_type":
        return incident.incident_type.key if incident.incident_type else None
    return incident.service.name


def _views(incident: Incident, rows: Iterable[AiSuggestion]) -> list[SuggestionView]:
    return [
        SuggestionView(
            field=row.field,
            value=row.value,
            current=_current(incident, row.field),
            confidence=row.confidence,
            reasons=[str(reason) for reason in row.reasons],
            source=row.source,
            outcome=row.outcome,
            chosen=row.chosen,
        )
        for row in rows
    ]


def visible_incident(session: Session, actor: Actor, number: int) -> Incident:
    if not 1 <= number <= MAX_NUMBER:
        raise NotFound(f"no incident #{number}")
    incident = session.scalar(select(Incident).where(Incident.number == number))
    if incident is None or not can_see_team(actor, incident.service.team_id):
        raise NotFound(f"no incident #{number}")
    return incident


# --- accepting and overriding -----------------------------------------------


def decide(
    ctx: Context,
    actor: Actor,
    number: int,
    field: str,
    *,
    value: str | None = None,
) -> SuggestionView:
    """Accept the suggestion for `field` (no `value`) or override it with
    `value`, and apply what was chosen where Tocsin can: a severity or an
    incident type is set on the incident through incident triage, its
    timeline entry naming who and that a suggestion was accepted or
    overridden. An owning service is recorded only: an incident cannot move
    to another service (its team's visibility and escalation policy come with
    its service), so the choice is advice to reassign, and the timeline says
    the incident stays where it is. Responders within their teams; on the
    timeline and audited; a refusal changes nothing."""
    require_role(actor, Role.RESPONDER)
    if field not in FIELDS:
        raise InvalidInput(f"field must be one of {', '.join(FIELDS)}")

    with ctx.db.write() as session:
        incident = incident_triage.locked(session, actor, number)
        row = session.scalar(
            select(AiSuggestion).where(
                AiSuggestion.incident_id == incident.id, AiSuggestion.field == field
            )
        )
        if row is None:
            raise NotFound(f"no {field} suggestion for incident #{number}")
        if row.outcome != "pending":
            raise Conflict(f"the {field} suggestion was already {row.outcome}")

        chosen = row.value if value is None else value.strip()
        if not chosen:
            raise InvalidInput("an override needs a value")
        if field != "severity" and chosen not in _values(session, field):
            # A severity is checked as it is set. A type must be one offered
            # to new incidents; a service one that exists, to be judged.
            name = field.replace("_", " ")
            raise InvalidInput(f"there is no {name} {chosen!r} to choose")
        outcome = "accepted" if chosen == row.value else "overridden"
        _apply(session, ctx, incident, actor, row, chosen)

        now = ctx.clock.now()
        row.outcome, row.chosen = outcome, chosen
        row.decided_at, row.decided_by_id = now, actor.user_id
        add_timeline(
            session,
            incident,
            at=now,
            kind=f"suggestion_{outcome}",
            message=(
                f"{actor.label} {_DID[outcome]} the suggested {field.replace('_', ' ')}"
                f" {row.value!r}"
                + (f" for {chosen!r}" if chosen != row.value else "")
                + _stays(incident, field, chosen)
            ),
            actor=actor,
            field=field,
            suggested=row.value,
            chosen=chosen,
            source=row.source,
        )
        audit(
            session,
            actor,
            at=now,
            action=f"ai.suggestion.{outcome}",
            object_type="incident",
            object_id=incident.id,
            number=incident.number,
            field=field,
            suggested=row.value,
            chosen=chosen,
        )
        session.flush()
        return _views(incident, [row])[0]


# The timeline says what the person did; the outcome names the state.
_DID = {"accepted": "accepted", "overridden": "overrode"}


def _apply(
    session: Session,
    ctx: Context,
    incident: Incident,
    actor: Actor,
    row: AiSuggestion,
    chosen: str,
) -> None:
    """Set a decided severity or incident type on the locked incident; the
    change's own timeline entry says why. The same value again changes
    nothing. Raises InvalidInput for a severity that is no level."""
    reason = (
        "accepted suggestion"
        if chosen == row.value
        else f"overrode suggestion {row.value}"
    )
    if row.field == "severity":
        level = load_scales(session).level(Scale.SEVERITY, chosen)
        if incident.severity != level.key:
            incident_triage.change_severity(
                session, ctx, incident, actor, level.key, reason
            )
    elif row.field == "incident_type":
        changes = {"incident_type": chosen}
        if incident_triage.change_impact(
            session, ctx, incident, actor, changes, reason
        ):
            # The key was set; the relationship read by the view is stale.
            session.flush()
            session.expire(incident, ["incident_type"])


def _stays(incident: Incident, field: str, chosen: str) -> str:
    """For a service decided other than the incident's: it stays put."""
    if field != "service" or chosen == incident.service.name:
        return ""
    return (
        f"; the incident stays on service {incident.service.name} (reassign its"
        " escalation policy to hand it over)"
    )


# --- how suggestions fare ---------------------------------------------------


def report(ctx: Context, actor: Actor, *, weeks: int = 12) -> list[FieldReport]:
    """Per ISO week (of the suggestion) and field: the accept rate among
    decided suggestions, and the accuracy against the final value of resolved
    incidents (see `_final`; an incident with none is not judged). Admins see
    every team; others their own teams'."""
    require_role(actor, Role.VIEWER)
    if not 1 <= weeks <= 520:
        raise InvalidInput("weeks must be between 1 and 520")

    since = ctx.clock.now() - timedelta(weeks=weeks)
    with ctx.db.read() as session:
        rows = session.execute(
            select(AiSuggestion, Incident)
            .join(Incident, AiSuggestion.incident_id == Incident.id)
            .where(AiSuggestion.created_at >= since)
            .options(
                selectinload(Incident.service), selectinload(Incident.incident_type)
            )
        ).all()
        tallies: dict[tuple[str, str], list[int]] = {}
        for suggestion, incident in rows:
            if not can_see_team(actor, incident.service.team_id):
                continue
            year, week, _ = suggestion.created_at.isocalendar()
            tally = tallies.setdefault(
                (f"{year}-W{week:02d}", suggestion.field), [0] * 5
            )
            tally[0] += 1
            if suggestion.outcome != "pending":
                tally[1] += 1
                tally[2] += suggestion.outcome == "accepted"
            final = _final(incident, suggestion)
            if incident.status == "resolved" and final is not None:
                tally[3] += 1
                tally[4] += final == suggestion.value

    return [
        FieldReport(
            week=week,
            field=field,
            suggested=t[0],
            decided=t[1],
            accepted=t[2],
            accept_rate=_rate(t[2], t[1]),
            judged=t[3],
            accuracy=_rate(t[4], t[3]),
        )
        for (week, field), t in sorted(tallies.items())
    ]


def _final(incident: Incident, suggestion: AiSuggestion) -> str | None:
    """The answer a suggestion is judged against (None: not judged): the
    incident's severity or type as it ended, None while untyped (nobody said
    what it was). An incident never changes service, so staying on one says
    nothing about a service suggestion: the person's decision is the answer,
    None without one."""
    if suggestion.field == "service":
        return suggestion.chosen if suggestion.outcome != "pending" else None
    return _current(incident, suggestion.field)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# --- retraining in the worker -----------------------------------------------


def schedule_retrain(session: Session, ctx: Context) -> None:
    """Queue the next retraining, unless one is queued or retraining is off."""
    hours = ctx.settings.ai_retrain_hours
    if hours == 0:
        return
    queued = session.scalar(select(Timer.id).where(Timer.kind == RETRAIN).limit(1))
    if queued is None:
        now = ctx.clock.now()
        session.add(
            Timer(kind=RETRAIN, due_at=now + timedelta(hours=hours), created_at=now)
        )


def on_retrain(
    session: Session, ctx: Context, timer: Timer, incident: Incident | None
) -> None:
    """The worker's retraining: queue the next one (the worker deletes this
    timer), then train once this transaction has committed. Training inside it
    would hold SQLite's one writer, and intake with it, for the whole fit."""
    hours = ctx.settings.ai_retrain_hours
    # Another retraining already queued (two first reads at once can each
    # queue one on PostgreSQL) stands for the next: the two become one.
    others = session.scalar(
        select(Timer.id).where(Timer.kind == RETRAIN, Timer.id != timer.id).limit(1)
    )
    if hours and others is None:
        now = ctx.clock.now()
        session.add(
            Timer(kind=RETRAIN, due_at=now + timedelta(hours=hours), created_at=now)
        )
    event.listen(session, "after_commit", lambda _: retrain(ctx), once=True)


def retrain(ctx: Context) -> None:
    """Train and store a model as the worker, outside any write transaction
    but the short one that stores it. A failure is logged and the model in use
    stays; the next retraining is already queued. Safe to run twice: a second
    run stores one more, equally good, model."""
    try:
        with ctx.db.read() as session:
            past = history(session)
        fitted = _fit(ctx, past, None)
        with ctx.db.write() as session:
            _store(session, ctx, SYSTEM, fitted, len(past))
    except Exception:
        log.exception("scheduled retraining failed; the model in use stays")
