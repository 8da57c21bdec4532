"""Alert intake rules at the service level: dedup, grouping, follow-ups, resolve."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.builders import (
    acknowledge,
    make_integration,
    make_service,
    make_user,
    resolve,
    trigger,
)
from tocsin.domain.access import SYSTEM
from tocsin.services import alerts, incidents
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef
from tocsin.store.models import Alert, Incident, OutboxMessage


def count(ctx: Context, model: type[Alert] | type[Incident]) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def setup(ctx: Context, **service: bool) -> IntegrationRef:
    ann = make_user(ctx)
    make_service(ctx, steps=[(5, [ann])], **service)
    integration, _ = make_integration(ctx)
    return integration


def test_identical_repeat_is_a_duplicate_and_writes_nothing(ctx: Context) -> None:
    integration = setup(ctx)
    alerts.ingest(ctx, integration, [trigger()])
    with ctx.db.read() as session:
        pages_before = session.scalar(select(func.count(OutboxMessage.id)))

    [again] = alerts.ingest(ctx, integration, [trigger()])

    assert again.result == alerts.DUPLICATE
    assert again.incident_number == 1
    with ctx.db.read() as session:
        alert = session.scalars(select(Alert)).one()
        assert alert.event_count == 1
        assert session.scalar(select(func.count(OutboxMessage.id))) == pages_before


def test_changed_repeat_updates_the_open_alert(ctx: Context) -> None:
    integration = setup(ctx)
    alerts.ingest(ctx, integration, [trigger()])

    [outcome] = alerts.ingest(
        ctx,
        integration,
        [trigger(summary="Disk full on db-1 (99%)")],
    )

    assert outcome.result == alerts.UPDATED
    assert count(ctx, Incident) == 1
    with ctx.db.read() as session:
        alert = session.scalars(select(Alert)).one()
        assert (alert.summary, alert.event_count) == ("Disk full on db-1 (99%)", 2)


def test_alerts_of_one_group_share_an_incident_until_it_resolves(
    ctx: Context,
) -> None:
    integration = setup(ctx)
    events = [trigger("a", group_key="g"), trigger("b", group_key="g")]
    first, second = alerts.ingest(ctx, integration, events)
    assert first.incident_number == second.incident_number == 1

    alerts.ingest(ctx, integration, [resolve("a")])
    assert incidents.get(ctx, SYSTEM, 1).status == "triggered"
    alerts.ingest(ctx, integration, [resolve("b")])
    assert incidents.get(ctx, SYSTEM, 1).status == "resolved"

    [third] = alerts.ingest(
        ctx,
        integration,
        [trigger("c", group_key="g")],
    )
    assert third.incident_number == 2


def test_in_one_transaction_a_group_trigger_after_its_incident_resolved_opens_another(
    ctx: Context,
) -> None:
    integration = setup(ctx)
    events = [trigger("a", group_key="g"), resolve("a"), trigger("b", group_key="g")]

    first, cleared, again = alerts.ingest(ctx, integration, events)

    assert (first.result, cleared.result, again.result) == (
        alerts.CREATED,
        alerts.RESOLVED,
        alerts.CREATED,
    )
    assert again.incident_number != first.incident_number
    assert incidents.get(ctx, SYSTEM, first.incident_number or 0).status == "resolved"


def test_in_one_transaction_a_follow_up_sees_the_update_before_it(
    ctx: Context,
) -> None:
    integration = setup(ctx, auto_resolve=False)
    changed = trigger(summary="Disk full on db-1 (99%)")
    events = [trigger(), acknowledge(), changed, resolve()]

    outcomes = alerts.ingest(ctx, integration, events)

    assert [o.result for o in outcomes] == [
        alerts.CREATED,
        alerts.ACKNOWLEDGED,
        alerts.UPDATED,
        alerts.RESOLVED,
    ]
    detail = incidents.get(ctx, SYSTEM, 1)
    [alert] = detail.alerts
    assert (alert.summary, alert.status) == ("Disk full on db-1 (99%)", "resolved")
    assert detail.timeline[-1].message == "Alert cleared: Disk full on db-1 (99%)"


def test_follow_ups_for_a_closed_key_change_nothing(ctx: Context) -> None:
    integration = setup(ctx)
    alerts.ingest(ctx, integration, [trigger(), resolve()])

    outcomes = alerts.ingest(
        ctx,
        integration,
        [acknowledge(), resolve(), acknowledge("never-seen")],
    )

    assert [o.result for o in outcomes] == [alerts.IGNORED] * 3
    assert incidents.get(ctx, SYSTEM, 1).acknowledged_at is None


def test_trigger_after_resolve_opens_a_new_incident(ctx: Context) -> None:
    integration = setup(ctx)
    alerts.ingest(ctx, integration, [trigger(), resolve()])

    [outcome] = alerts.ingest(ctx, integration, [trigger()])

    assert (outcome.result, outcome.incident_number) == (alerts.CREATED, 2)
    assert count(ctx, Alert) == 2


def test_manual_resolve_closes_firing_alerts_so_the_next_trigger_is_new(
    ctx: Context,
) -> None:
    integration = setup(ctx)
    alerts.ingest(ctx, integration, [trigger()])
    incidents.resolve(ctx, SYSTEM, 1)

    [outcome] = alerts.ingest(ctx, integration, [trigger()])

    assert outcome.incident_number == 2


def test_acknowledge_event_acknowledges_the_incident(ctx: Context) -> None:
    integration = setup(ctx)
    alerts.ingest(ctx, integration, [trigger()])

    [outcome] = alerts.ingest(ctx, integration, [acknowledge()])

    assert outcome.result == alerts.ACKNOWLEDGED
    assert incidents.get(ctx, SYSTEM, 1).status == "acknowledged"


def test_without_auto_resolve_a_cleared_alert_leaves_the_incident_open(
    ctx: Context,
) -> None:
    integration = setup(ctx, auto_resolve=False)
    alerts.ingest(ctx, integration, [trigger(), resolve()])

    detail = incidents.get(ctx, SYSTEM, 1)
    assert detail.status == "triggered"
    assert [a.status for a in detail.alerts] == ["resolved"]


def test_known_outcomes_answer_only_requests_made_entirely_of_repeats(
    ctx: Context,
) -> None:
    integration = setup(ctx)
    first = alerts.ingest(ctx, integration, [trigger("a"), trigger("b")])
    number = {outcome.dedup_key: outcome.incident_number for outcome in first}

    repeat = alerts.known_outcomes(ctx, integration, [trigger("b"), trigger("a")])
    changed = [trigger("a"), trigger("b", "Disk full on db-2")]
    unknown = [trigger("a"), trigger("c")]
    follow_up = [trigger("a"), resolve("b")]

    assert repeat == [
        alerts.Outcome("b", alerts.DUPLICATE, number["b"]),
        alerts.Outcome("a", alerts.DUPLICATE, number["a"]),
    ]
    assert alerts.known_outcomes(ctx, integration, [trigger("a")]) == repeat[1:]
    for events in (changed, unknown, follow_up):
        assert alerts.known_outcomes(ctx, integration, events) is None


def test_known_outcomes_see_only_open_alerts_of_the_same_integration(
    ctx: Context,
) -> None:
    integration = setup(ctx)
    other, _ = make_integration(ctx)
    alerts.ingest(ctx, integration, [trigger("a"), trigger("b"), resolve("b")])

    assert alerts.known_outcomes(ctx, other, [trigger("a")]) is None
    assert alerts.known_outcomes(ctx, integration, [trigger("b")]) is None


def test_a_worse_alert_joining_a_group_raises_the_incident_severity(
    ctx: Context,
) -> None:
    integration = setup(ctx)
    alerts.ingest(ctx, integration, [trigger("a", severity="warning", group_key="g")])
    alerts.ingest(ctx, integration, [trigger("b", severity="critical", group_key="g")])
    alerts.ingest(ctx, integration, [trigger("c", severity="info", group_key="g")])

    detail = incidents.get(ctx, SYSTEM, 1)
    assert detail.severity == "sev1"
    changes = [e for e in detail.timeline if e.kind == "severity_changed"]
    assert [e.message for e in changes] == [
        "Severity raised from SEV3 to SEV1: a critical alert joined"
    ]
