"""What heartbeats, HTTP checks, inbound mail and change events share: finding a
service the actor may use, the hidden integration a signal raises alerts
through, durations and bounds.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tocsin.domain.access import Actor, Role, can_see_team, require_role
from tocsin.errors import Forbidden, InvalidInput, NotFound
from tocsin.services import integrations
from tocsin.services.catalog.common import checked_name
from tocsin.services.integrations import IntegrationRef
from tocsin.store.models import Integration, Service
from tocsin.store.models.signals import Heartbeat, HttpCheck

# Integration kinds of the signals Tocsin raises itself. No intake endpoint
# takes them, so their (random, never shown) keys open nothing.
HEARTBEAT = "heartbeat"
HTTP_CHECK = "http_check"
EMAIL = "email"

Watched = TypeVar("Watched", Heartbeat, HttpCheck)

_DURATION = re.compile(r"\s*([0-9]{1,9})\s*([smhd]?)\s*", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, what: str) -> int:
    """Seconds in `text`: `90`, `90s`, `15m`, `2h` or `1d`. Raises InvalidInput."""
    found = _DURATION.fullmatch(text)
    if found is None:
        raise InvalidInput(
            f"{what} must be a number of seconds or a duration such as 90s, 15m, "
            f"2h or 1d, not {text[:40]!r}"
        )

    return int(found[1]) * _UNIT_SECONDS[found[2].lower()]


def check_bounds(value: int, what: str, low: int, high: int) -> int:
    if not low <= value <= high:
        raise InvalidInput(f"{what} must be between {low} and {high}")
    return value


def visible_service(
    session: Session, actor: Actor, name: str, *, lock: bool = False
) -> Service:
    """The service named `name` if the actor may see it; NotFound otherwise,
    so that a name in another team reads the same as a name nobody uses."""
    name = checked_name(name, "service")
    query = select(Service).where(Service.name == name)
    service = session.scalar(query.with_for_update() if lock else query)
    if service is None or not can_see_team(actor, service.team_id):
        raise NotFound(f"no service named {name!r}")
    return service


def visible_of_service(
    session: Session, actor: Actor, model: type[Watched], service: str | None
) -> list[Watched]:
    """The heartbeats or checks of `service` (or of every service the actor may
    see), by service and name."""
    query = (
        select(model)
        .join(Service, model.service_id == Service.id)
        .options(selectinload(model.service))
        .order_by(Service.name, model.name)
    )
    if service is not None:
        owner = visible_service(session, actor, service)
        query = query.where(model.service_id == owner.id)
    rows = session.scalars(query).all()
    return [row for row in rows if can_see_team(actor, row.service.team_id)]


def require_manager(actor: Actor) -> None:
    """Setting up what watches a service is catalog work: administrators only,
    as for services and integrations."""
    require_role(actor, Role.ADMIN)


def require_responder_of(actor: Actor, service: Service) -> None:
    """Acting on a service's signals takes a responder of its team."""
    require_role(actor, Role.RESPONDER)
    if not can_see_team(actor, service.team_id):
        raise Forbidden(f"you are not in the team of service {service.name!r}")


def add_own_integration(
    session: Session, service: Service, kind: str, name: str, now: datetime
) -> Integration:
    """An integration for a signal Tocsin raises itself, with a random key
    that nobody is given."""
    return integrations.add(
        session, service.id, kind, f"{kind}:{name}"[:200], integrations.new_key(), now
    )


def integration_ref(session: Session, integration_id: int) -> IntegrationRef:
    integration = session.get(Integration, integration_id)
    if integration is None:
        raise NotFound(f"no integration {integration_id}")
    return IntegrationRef(
        id=integration.id,
        service_id=integration.service_id,
        kind=integration.kind,
        name=integration.name,
    )


def retire_own_integration(session: Session, integration_id: int) -> None:
    """Disable a removed signal's integration rather than delete it: deleting
    would take its alerts with it, and incidents keep their alerts."""
    integration = session.get(Integration, integration_id)
    if integration is not None:
        integration.disabled = True


def utc(value: datetime, what: str) -> datetime:
    """`value` in UTC. Raises InvalidInput when it has no offset or overflows."""
    if value.tzinfo is None:
        raise InvalidInput(f"{what} needs a time zone offset, as 2026-03-02T09:00Z")
    try:
        return value.astimezone(UTC)
    except OverflowError as error:
        raise InvalidInput(f"{what} is out of range") from error
