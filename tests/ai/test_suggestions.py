"""Suggestions stored beside an incident: cold start, training, accepting,
overriding, the report, and a failing model that leaves the rules to answer."""

from __future__ import annotations

import pickle
import threading

import pytest
from sqlalchemy import event, select, text

from tests.builders import actor_of, make_integration, make_service, make_user, trigger
from tests.e2e.harness import wait_for
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM, Actor
from tocsin.engine.worker import Worker
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.services import alerts, incident_triage, incidents, suggestions, triage
from tocsin.services.context import Context
from tocsin.store.models import AiModel, AuditRecord, Incident, TimelineEntry, Timer
from tocsin.store.models.triage import IncidentType


@pytest.fixture
def ann(ctx: Context) -> Actor:
    return actor_of(ctx, make_user(ctx, "ann@example.com"))


@pytest.fixture
def admin(ctx: Context) -> Actor:
    return actor_of(ctx, make_user(ctx, "root@example.com", role="admin"))


def _open(ctx: Context, title: str, key: str, **labels: str) -> int:
    integration, _ = make_integration(ctx, "checkout", "alertmanager")
    [outcome] = alerts.ingest(
        ctx, integration, [trigger(key, title, severity="warning", **labels)]
    )
    assert outcome.incident_number is not None
    return outcome.incident_number


@pytest.fixture
def checkout(ctx: Context) -> None:
    make_service(ctx, "checkout")
    make_service(ctx, "search")
    for key in ("outage", "latency", "security"):
        triage.create_type(ctx, SYSTEM, key=key, name=key.title())


def test_cold_start_answers_from_the_rules_and_says_so(
    ctx: Context, ann: Actor, checkout: None
) -> None:
    """With no model, the rules suggest; the suggestion sits beside the
    current value, with its reasons, and is stored once."""
    number = _open(ctx, "Checkout is down, search latency too", "a")

    found = {s.field: s for s in suggestions.suggestions(ctx, ann, number)}

    assert found["severity"].value == "sev1"
    assert found["severity"].source == "rules"
    assert found["severity"].current == "sev3"
    assert found["severity"].reasons == ["mentions 'down'"]
    assert found["incident_type"].value == "outage"
    assert found["service"].value == "search"
    assert suggestions.suggestions(ctx, ann, number)[0] == found["severity"]


def test_a_trained_model_answers_and_names_its_source(
    ctx: Context, admin: Actor, ann: Actor, checkout: None
) -> None:
    """Below the threshold, training adds the synthetic set: the suggestion
    says "synthetic" and the owning service stays the rules'; a retraining is
    queued for the worker."""
    trained = suggestions.train(ctx, admin)
    # Read back from the stored artefact, as another process would.
    suggestions._loaded.clear()
    number = _open(ctx, "payment gateway rejects every card payment", "b")

    found = {s.field: s for s in suggestions.suggestions(ctx, ann, number)}

    assert trained.source == "synthetic"
    assert trained.fields == ["incident_type", "severity"]
    assert found["severity"].value == "sev1"
    assert found["severity"].source == "synthetic"
    assert found["incident_type"].value == "outage"
    with ctx.db.read() as session:
        assert session.scalar(select(Timer.due_at).where(Timer.kind == "ai_retrain"))
        assert "ai.train" in set(session.scalars(select(AuditRecord.action)))


def test_enough_history_switches_to_history(
    ctx: Context, admin: Actor, checkout: None
) -> None:
    """At the threshold of resolved incidents, the model learns from them
    alone and suggests the owning service too."""
    ctx.settings.ai_min_history = 6
    titles = [
        ("cart is down", "sev1"),
        ("cart is down again", "sev1"),
        ("cart is down for all", "sev1"),
        ("indexer slow", "sev4"),
        ("indexer slow again", "sev4"),
        ("indexer slow today", "sev4"),
    ]
    for i, (title, severity) in enumerate(titles):
        number = _open(ctx, title, f"h{i}")
        with ctx.db.write() as session:
            row = session.scalars(select(Incident).where(Incident.number == number))
            row.one().severity = severity
        incidents.resolve(ctx, SYSTEM, number)

    trained = suggestions.train(ctx, admin)

    assert trained.source == "history"
    assert trained.history == 6
    assert "severity" in trained.fields


def test_reading_the_history_takes_a_few_statements_not_a_few_per_incident(
    ctx: Context, checkout: None
) -> None:
    """Training reads up to 20,000 incidents: their first alerts and types are
    read in bulk, and each answer is the one stored."""
    with ctx.db.write() as session:
        outage_id = session.scalars(
            select(IncidentType.id).where(IncidentType.key == "outage")
        ).one()
    for i in range(12):
        number = _open(ctx, f"cart is down {i}", f"bulk{i}", region=f"eu-{i}")
        with ctx.db.write() as session:
            row = session.scalars(select(Incident).where(Incident.number == number))
            row.one().incident_type_id = outage_id if i % 2 else None
        incidents.resolve(ctx, SYSTEM, number)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(ctx.db.engine, "before_cursor_execute", count)
    try:
        with ctx.db.read() as session:
            past = suggestions.history(session)
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", count)

    assert len(past) == 12
    # A fixed few (incidents, their services, types, first alerts, their
    # integrations), where one per incident made it 29 here.
    assert len(statements) <= 8
    newest = past[0]
    assert newest.facts.title == "cart is down 11"
    assert newest.facts.labels["region"] == "eu-11"
    assert newest.facts.source == "alertmanager"
    assert (newest.incident_type, past[1].incident_type) == ("outage", None)
    assert newest.service == "checkout"


def test_accepting_sets_the_severity_and_is_recorded(
    ctx: Context, ann: Actor, checkout: None
) -> None:
    """Accepting the severity suggestion sets it on the incident, adds a
    timeline entry and an audit record; deciding twice is a conflict."""
    number = _open(ctx, "Checkout is down", "c")
    suggestions.suggestions(ctx, ann, number)

    view = suggestions.decide(ctx, ann, number, "severity")

    assert (view.outcome, view.chosen, view.current) == ("accepted", "sev1", "sev1")
    with ctx.db.read() as session:
        kinds = set(session.scalars(select(TimelineEntry.kind)))
        actions = set(session.scalars(select(AuditRecord.action)))
    assert {"suggestion_accepted", "severity_changed"} <= kinds
    assert "ai.suggestion.accepted" in actions
    with pytest.raises(Conflict):
        suggestions.decide(ctx, ann, number, "severity")


def test_overriding_records_the_choice_and_feeds_the_report(
    ctx: Context, ann: Actor, checkout: None
) -> None:
    """An override keeps what was chosen; the report counts the accept rate
    and, once resolved, the accuracy against the final value."""
    first = _open(ctx, "Checkout is down", "d")
    second = _open(ctx, "Checkout is down again", "e")
    suggestions.suggestions(ctx, ann, first)
    suggestions.suggestions(ctx, ann, second)

    suggestions.decide(ctx, ann, first, "severity")
    view = suggestions.decide(ctx, ann, second, "severity", value="sev2")
    incidents.resolve(ctx, ann, first)
    incidents.resolve(ctx, ann, second)

    assert (view.outcome, view.chosen, view.current) == ("overridden", "sev2", "sev2")
    [severity] = [r for r in suggestions.report(ctx, ann) if r.field == "severity"]
    assert (severity.suggested, severity.decided, severity.accepted) == (2, 2, 1)
    assert severity.accept_rate == 0.5
    assert severity.accuracy == 0.5


def test_bad_decisions_change_nothing(ctx: Context, ann: Actor, checkout: None) -> None:
    """An unknown field, a severity that is no level, or no suggestion yet are
    refused, and the suggestion stays pending."""
    number = _open(ctx, "Checkout is down", "f")
    with pytest.raises(NotFound):
        suggestions.decide(ctx, ann, number, "severity")
    suggestions.suggestions(ctx, ann, number)

    with pytest.raises(InvalidInput):
        suggestions.decide(ctx, ann, number, "colour")
    with pytest.raises(InvalidInput):
        suggestions.decide(ctx, ann, number, "severity", value="sev9")
    with pytest.raises(InvalidInput):
        suggestions.decide(ctx, ann, number, "incident_type", value="no-such-type")

    found = {s.field: s for s in suggestions.suggestions(ctx, ann, number)}
    assert found["severity"].outcome == "pending"
    assert found["severity"].current == "sev3"
    assert found["incident_type"].outcome == "pending"


def test_a_service_override_names_a_service_that_exists(
    ctx: Context, ann: Actor, checkout: None
) -> None:
    number = _open(ctx, "search is down too", "s")
    [service] = [
        s for s in suggestions.suggestions(ctx, ann, number) if s.field == "service"
    ]
    assert service.value == "search"

    with pytest.raises(InvalidInput):
        suggestions.decide(ctx, ann, number, "service", value="nowhere\x00")
    decided = suggestions.decide(ctx, ann, number, "service", value="checkout")

    assert (decided.outcome, decided.chosen) == ("overridden", "checkout")


def test_other_teams_and_viewers_are_refused(
    ctx: Context, ann: Actor, admin: Actor, checkout: None
) -> None:
    """Someone outside the service's team cannot see its suggestions; a viewer
    cannot decide; only admins train."""
    number = _open(ctx, "Checkout is down", "g")
    bob = actor_of(ctx, make_user(ctx, "bob@example.com", teams=("Other",)))
    vic = actor_of(ctx, make_user(ctx, "vic@example.com", role="viewer"))

    with pytest.raises(NotFound):
        suggestions.suggestions(ctx, bob, number)
    suggestions.suggestions(ctx, vic, number)
    with pytest.raises(Forbidden):
        suggestions.decide(ctx, vic, number, "severity")
    with pytest.raises(Forbidden):
        suggestions.train(ctx, ann)


def test_a_broken_model_leaves_the_rules_to_answer(
    ctx: Context, admin: Actor, ann: Actor, checkout: None
) -> None:
    """A stored model that cannot be read is logged; the rules answer."""
    suggestions.train(ctx, admin)
    with ctx.db.write() as session:
        session.scalars(select(AiModel)).one().artefact = b"garbage"
    suggestions._loaded.clear()
    number = _open(ctx, "Checkout is down", "h")

    found = {s.field: s for s in suggestions.suggestions(ctx, ann, number)}

    assert found["severity"].source == "rules"


RAN: list[str] = []


def _ran() -> None:
    RAN.append("code in a planted artefact")


class _Planted:
    """Unpickling this calls `_ran`, as a hostile artefact would run a shell."""

    def __reduce__(self) -> tuple[object, tuple[()]]:
        return _ran, ()


def test_a_planted_artefact_is_never_unpickled(
    ctx: Context, admin: Actor, ann: Actor, checkout: None
) -> None:
    """Someone who can write to the database but lacks the secret key plants
    a pickle: it is refused before it is read, and the rules answer."""
    RAN.clear()
    suggestions.train(ctx, admin)
    with ctx.db.write() as session:
        row = session.scalars(select(AiModel)).one()
        row.artefact = pickle.dumps(_Planted())
    suggestions._loaded.clear()
    number = _open(ctx, "Checkout is down", "planted")

    found = {s.field: s for s in suggestions.suggestions(ctx, ann, number)}

    assert RAN == []
    assert found["severity"].source == "rules"


def test_a_model_signed_with_another_key_is_refused(
    ctx: Context, admin: Actor, ann: Actor, checkout: None
) -> None:
    suggestions.train(ctx, admin)
    suggestions._loaded.clear()
    ctx.settings.secret_key = "another installation's key"
    number = _open(ctx, "Checkout is down", "other-key")

    found = {s.field: s for s in suggestions.suggestions(ctx, ann, number)}

    assert found["severity"].source == "rules"


def test_the_worker_retrains_on_its_timer(
    ctx: Context, clock: ManualClock, admin: Actor, checkout: None
) -> None:
    """The retraining timer stores a new model and queues the next one."""
    suggestions.train(ctx, admin)
    clock.advance(hours=ctx.settings.ai_retrain_hours + 1)

    Worker(ctx).run_once()

    with ctx.db.read() as session:
        assert len(session.scalars(select(AiModel)).all()) == 2
        [due] = session.scalars(select(Timer.due_at).where(Timer.kind == "ai_retrain"))
    assert due > clock.now()


def test_intake_goes_on_while_the_worker_retrains(
    ctx: Context, clock: ManualClock, admin: Actor, checkout: None
) -> None:
    """The worker trains outside any write transaction: on SQLite one would
    hold the only writer, and an alert arriving meanwhile would wait for the
    whole training."""
    suggestions.train(ctx, admin)
    clock.advance(hours=ctx.settings.ai_retrain_hours + 1)
    fit = suggestions._fit
    stored: list[int] = []

    def fit_while_an_alert_arrives(*args: object) -> object:
        alert = threading.Thread(
            target=lambda: stored.append(_open(ctx, "Checkout is down", "during"))
        )
        alert.start()
        alert.join(timeout=5)
        return fit(*args)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(suggestions, "_fit", fit_while_an_alert_arrives)
        Worker(ctx).run_once()

    assert len(stored) == 1
    with ctx.db.read() as session:
        assert len(session.scalars(select(AiModel)).all()) == 2


def test_a_failed_retraining_is_logged_and_the_next_one_queued(
    ctx: Context,
    clock: ManualClock,
    admin: Actor,
    checkout: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    suggestions.train(ctx, admin)
    clock.advance(hours=ctx.settings.ai_retrain_hours + 1)

    def broken(*args: object) -> object:
        raise ValueError("the fit failed")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(suggestions, "_fit", broken)
        Worker(ctx).run_once()

    assert "scheduled retraining failed" in caplog.text
    with ctx.db.read() as session:
        assert len(session.scalars(select(AiModel)).all()) == 1
        [due] = session.scalars(select(Timer.due_at).where(Timer.kind == "ai_retrain"))
    assert due > clock.now()


def test_two_queued_retrainings_become_one(
    ctx: Context, clock: ManualClock, admin: Actor, checkout: None
) -> None:
    """Two first reads at once on PostgreSQL can each queue a retraining; the
    next round queues only one again, instead of training twice for ever."""
    suggestions.train(ctx, admin)
    with ctx.db.write() as session:
        now = clock.now()
        session.add(Timer(kind="ai_retrain", due_at=now, created_at=now))
    clock.advance(hours=ctx.settings.ai_retrain_hours + 1)

    Worker(ctx).run_once()

    with ctx.db.read() as session:
        queued = session.scalars(select(Timer).where(Timer.kind == "ai_retrain"))
        assert len(queued.all()) == 1


def test_evaluate_uses_the_synthetic_set_until_history_suffices(
    ctx: Context, ann: Actor, checkout: None
) -> None:
    """With little history, evaluation is on the synthetic set, where the
    model beats the rules."""
    result, source = suggestions.evaluate(ctx, ann, "severity")

    assert source == "synthetic"
    assert result.model.accuracy > result.rules.accuracy
    assert result.model.count == suggestions.SYNTHETIC_EXAMPLES // 4


def test_two_first_reads_at_once_store_one_set(
    ctx: Context, ann: Actor, checkout: None
) -> None:
    """While one first read is storing the suggestions (not yet committed),
    a second waits for it and returns the same ones, not a 500 from the
    unique (incident, field) pair."""
    if ctx.db.is_sqlite:
        pytest.skip("SQLite runs one write transaction at a time")
    number = _open(ctx, "Checkout is down", "race")
    outcome: list[object] = []

    def read_too() -> None:
        try:
            outcome.append(suggestions.suggestions(ctx, ann, number))
        except Exception as error:
            outcome.append(error)

    # The first read, as suggestions() makes it: the incident's row locked.
    with ctx.db.write() as session:
        incident = incident_triage.locked(session, ann, number)
        first = suggestions._views(
            incident, suggestions._compute(session, ctx, incident)
        )
        other = threading.Thread(target=read_too)
        other.start()
        wait_for(lambda: _lock_waiters(ctx), what="the second read to wait")
    other.join(timeout=30)

    assert outcome == [first]


def _lock_waiters(ctx: Context) -> int:
    with ctx.db.read() as session:
        query = text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return int(session.scalar(query) or 0)


def _incident(ctx: Context, number: int) -> Incident:
    with ctx.db.read() as session:
        row = session.scalars(select(Incident).where(Incident.number == number)).one()
        session.expunge(row)
        return row


def _timeline(ctx: Context, number: int, kind: str) -> list[TimelineEntry]:
    with ctx.db.read() as session:
        rows = session.scalars(
            select(TimelineEntry)
            .join(Incident, TimelineEntry.incident_id == Incident.id)
            .where(Incident.number == number, TimelineEntry.kind == kind)
        ).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def test_accepting_a_severity_says_who_and_why_on_the_timeline(
    ctx: Context, ann: Actor, checkout: None
) -> None:
    """The severity change itself names the person and that they accepted a
    suggestion, so the timeline reads without the suggestion entry beside it."""
    number = _open(ctx, "Checkout is down", "sev-why")
    suggestions.suggestions(ctx, ann, number)

    suggestions.decide(ctx, ann, number, "severity")

    [entry] = _timeline(ctx, number, "severity_changed")
    assert "by ann@example.com" in entry.message
    assert entry.message.endswith("accepted suggestion")


def test_accepting_a_type_sets_it_on_the_incident(
    ctx: Context, ann: Actor, checkout: None
) -> None:
    """The incident takes the suggested type through the impact change, on
    the timeline with who and why; the view shows it as the current value."""
    number = _open(ctx, "Checkout is down", "type-accept")
    suggestions.suggestions(ctx, ann, number)

    view = suggestions.decide(ctx, ann, number, "incident_type")

    assert (view.outcome, view.chosen, view.current) == ("accepted", "outage", "outage")
    with ctx.db.read() as session:
        key = session.scalar(
            select(IncidentType.key)
            .join(Incident, Incident.incident_type_id == IncidentType.id)
            .where(Incident.number == number)
        )
        actions = list(session.scalars(select(AuditRecord.action)))
    assert key == "outage"
    [entry] = _timeline(ctx, number, "impact_updated")
    assert "type Outage" in entry.message
    assert entry.message.endswith("accepted suggestion")
    assert entry.data["reason"] == "accepted suggestion"
    assert "incident.impact" in actions


def test_overriding_a_type_sets_the_chosen_type(
    ctx: Context, ann: Actor, checkout: None
) -> None:
    number = _open(ctx, "Checkout is down", "type-override")
    suggestions.suggestions(ctx, ann, number)

    view = suggestions.decide(ctx, ann, number, "incident_type", value="security")

    assert (view.outcome, view.current) == ("overridden", "security")
    [entry] = _timeline(ctx, number, "impact_updated")
    assert "type Security" in entry.message
    assert entry.message.endswith("overrode suggestion outage")


def test_a_service_decision_moves_nothing_and_says_so(
    ctx: Context, ann: Actor, checkout: None
) -> None:
    """Tocsin has no way to move an incident to another service: accepting a
    service suggestion records agreement only, and the timeline says the
    incident stays where it is."""
    number = _open(ctx, "search is down too", "svc-stay")
    suggestions.suggestions(ctx, ann, number)

    view = suggestions.decide(ctx, ann, number, "service")

    assert (view.outcome, view.chosen, view.current) == (
        "accepted",
        "search",
        "checkout",
    )
    [entry] = _timeline(ctx, number, "suggestion_accepted")
    assert "stays on service checkout" in entry.message


def test_accuracy_is_judged_against_what_was_decided(
    ctx: Context, ann: Actor, checkout: None
) -> None:
    """A type is judged only once the incident has one. A service suggestion
    moves nothing, so the incident's service says nothing about it: it is
    judged against the person's decision, and not at all without one."""
    agreed = _open(ctx, "search is down too", "acc-a")
    overridden = _open(ctx, "search is down again", "acc-b")
    untouched = _open(ctx, "search is down once more", "acc-c")
    for number in (agreed, overridden, untouched):
        suggestions.suggestions(ctx, ann, number)
    suggestions.decide(ctx, ann, agreed, "service")
    suggestions.decide(ctx, ann, overridden, "service", value="checkout")
    suggestions.decide(ctx, ann, agreed, "incident_type")
    for number in (agreed, overridden, untouched):
        incidents.resolve(ctx, ann, number)

    rows = {r.field: r for r in suggestions.report(ctx, ann)}

    # agreed: search == search (right); overridden: checkout != search
    # (wrong); untouched: not judged, though it stayed on checkout.
    assert (rows["service"].judged, rows["service"].accuracy) == (2, 0.5)
    # Only the typed incident is judged, and its type was the suggestion.
    assert (rows["incident_type"].judged, rows["incident_type"].accuracy) == (1, 1.0)


def test_current_names_the_model_in_use(
    ctx: Context, admin: Actor, checkout: None
) -> None:
    assert suggestions.current(ctx) is None

    trained = suggestions.train(ctx, admin)

    found = suggestions.current(ctx)
    assert found is not None
    assert (found.id, found.source, found.examples) == (
        trained.id,
        "synthetic",
        trained.examples,
    )
    assert suggestions.describe(found) == (
        f"the synthetic set (and 0 resolved incidents), trained "
        f"{found.created_at:%Y-%m-%d %H:%M} UTC on {found.examples} examples; "
        "the rules suggest the owning service"
    )
    assert suggestions.describe(None) == "the rules (no model trained yet)"


def test_a_retired_type_is_neither_suggested_nor_chosen(
    ctx: Context, ann: Actor, checkout: None
) -> None:
    """A retired type is offered no more: no new suggestion names it, and one
    made before it was retired can no longer be accepted; the incident stays
    untyped and the suggestion pending."""
    before = _open(ctx, "Checkout is down", "retired-a")
    suggestions.suggestions(ctx, ann, before)
    triage.update_type(ctx, SYSTEM, "outage", active=False)
    after = _open(ctx, "Checkout is down again", "retired-b")

    found = {s.field: s for s in suggestions.suggestions(ctx, ann, after)}
    with pytest.raises(InvalidInput):
        suggestions.decide(ctx, ann, before, "incident_type")

    assert "incident_type" not in found
    assert _incident(ctx, before).incident_type_id is None
    [kept] = [
        s
        for s in suggestions.suggestions(ctx, ann, before)
        if s.field == "incident_type"
    ]
    assert kept.outcome == "pending"


def test_the_suggestion_entry_reads_as_a_sentence(
    ctx: Context, ann: Actor, checkout: None
) -> None:
    """The suggestion's own timeline entry says what the person did, in the
    past tense: "overrode", not the participle."""
    number = _open(ctx, "Checkout is down", "type-words")
    suggestions.suggestions(ctx, ann, number)

    suggestions.decide(ctx, ann, number, "incident_type", value="security")

    [entry] = _timeline(ctx, number, "suggestion_overridden")
    assert entry.message.startswith(
        "ann@example.com overrode the suggested incident type 'outage'"
    )
