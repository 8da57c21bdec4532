"""A test alert: prove an integration's whole path, from intake to the page on
someone's phone, without waiting for a real failure.

The alert goes through the same intake as one a sender posts, so it opens an
incident and pages by the service's escalation policy exactly as a real alert
would; it is labelled `tocsin_test=true` and named after who sent it, so the
people paged know it is a drill. Clicks within one minute join one alert
rather than opening an incident each.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from tocsin.domain.access import Actor, Role, can_see_team, require_role
from tocsin.domain.alerts import AlertAction, AlertEvent
from tocsin.errors import InvalidInput, NotFound
from tocsin.services import alerts, integrations, maintenance
from tocsin.services.alerts import Outcome
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef
from tocsin.services.records import audit
from tocsin.store.models import Integration, Service

TEST_LABEL = "tocsin_test"


def send(ctx: Context, actor: Actor, service_id: int, integration_id: int) -> Outcome:
    """Trigger a test alert through the service's integration; the outcome
    names the incident it opened or joined.

    Raises NotFound for a service the actor may not see or an integration of
    another service, InvalidInput for a disabled integration or one Tocsin
    keeps for its own signals or while a maintenance window holds the
    service's pages, Forbidden below the responder role."""
    require_role(actor, Role.RESPONDER)

    for attempt in (1, 2):
        try:
            return _send(ctx, actor, service_id, integration_id)
        except IntegrityError:
            # Two clicks in the same minute raced to open the same alert on
            # PostgreSQL; the second try joins what the first committed.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _send(ctx: Context, actor: Actor, service_id: int, integration_id: int) -> Outcome:
    now = ctx.clock.now()
    with ctx.db.write() as session:
        service = session.get(Service, service_id)
        if service is None or not can_see_team(actor, service.team_id):
            raise NotFound(f"no service with id {service_id}")
        integration = session.get(Integration, integration_id)
        if integration is None or integration.service_id != service.id:
            raise NotFound(
                f"service {service.name!r} has no integration {integration_id}"
            )
        if integration.kind not in integrations.KINDS:
            raise InvalidInput("Tocsin raises this integration's alerts itself")
        if integration.disabled:
            raise InvalidInput(f"integration {integration.name!r} is disabled")
        held = maintenance.service_held_until(session, service.id, now)
        if held is not None:
            # A window holds every page until it ends: the drill would prove
            # nothing now and page someone hours later, at the window's end.
            raise InvalidInput(
                f"{service.name} is in a maintenance window until "
                f"{held:%Y-%m-%d %H:%M} UTC: nobody would be paged, so no test "
                "alert was sent"
            )

        event = AlertEvent(
            action=AlertAction.TRIGGER,
            dedup_key=f"tocsin-test-{integration.id}-{now:%Y%m%d%H%M}",
            summary=f"Test alert from {actor.label} through {integration.name}",
            source="tocsin",
            labels={TEST_LABEL: "true"},
            details="Sent from the service page to check that paging works.",
        )
        ref = IntegrationRef(
            id=integration.id,
            service_id=service.id,
            kind=integration.kind,
            name=integration.name,
        )
        [outcome] = alerts.apply(session, ctx, ref, [event])
        audit(
            session,
            actor,
            at=now,
            action="integration.test_alert",
            object_type="integration",
            object_id=integration.id,
            service=service.name,
            incident=outcome.incident_number,
        )
        return outcome
