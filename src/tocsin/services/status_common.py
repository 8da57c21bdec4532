"""What the status page use cases share: the managing role, limits, input
checks, lookups, and keeping component states in line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tocsin.domain.access import Actor, Role, can_see_team
from tocsin.domain.status_page import IMPACTS, ComponentState, Stage, effective_state
from tocsin.errors import InvalidInput, NotFound
from tocsin.services.context import Context
from tocsin.services.status_reads import MAX_ID
from tocsin.store.models import (
    Incident,
    Service,
    StatusComponent,
    StatusComponentChange,
    StatusComponentGroup,
    StatusIncident,
    StatusMaintenance,
)
from tocsin.store.models.status_page import (
    status_incident_components,
    status_maintenance_components,
)

# Managers run the page. Stakeholder updates of an incident reach it through
# publish_update with the responder role.
MANAGE = Role.MANAGER

MAX_NAME = 100
MAX_TITLE = 200
MAX_MESSAGE = 10_000
MAX_DESCRIPTION = 5_000
MAX_POSITION = 10_000
MAX_COMPONENTS = 100
# How far ahead maintenance may be scheduled, and how long it may last.
MAX_AHEAD = timedelta(days=366)
MAX_LENGTH = timedelta(days=14)

AUTO = "auto"

_BIDI = "\u200e\u200f\u202a-\u202e\u2066-\u2069"
# What XML 1.0 cannot carry at all (the Atom feed would not parse): lone
# surrogates, which a CLI argument that is not UTF-8 turns into, and the
# noncharacters U+FFFE and U+FFFF.
_NOT_XML = "\ud800-\udfff\ufffe\uffff"
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}{_NOT_XML}]")
_CONTROL_IN_TEXT = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}{_NOT_XML}]")


def refresh_components(
    session: Session, ctx: Context, component_ids: Sequence[int]
) -> None:
    """Bring each component's state in line with its manual state, open public
    incidents and running maintenance, recording every change for uptime."""
    if not component_ids:
        return

    now = ctx.clock.now()
    components = session.scalars(
        select(StatusComponent)
        .where(StatusComponent.id.in_(set(component_ids)))
        .order_by(StatusComponent.id)
        .with_for_update()
    ).all()
    for component in components:
        impacts = session.scalars(
            select(StatusIncident.impact)
            .join(
                status_incident_components,
                status_incident_components.c.status_incident_id == StatusIncident.id,
            )
            .where(
                status_incident_components.c.component_id == component.id,
                StatusIncident.resolved_at.is_(None),
            )
        ).all()
        in_maintenance = session.scalar(
            select(StatusMaintenance.id)
            .join(
                status_maintenance_components,
                status_maintenance_components.c.maintenance_id == StatusMaintenance.id,
            )
            .where(
                status_maintenance_components.c.component_id == component.id,
                StatusMaintenance.cancelled_at.is_(None),
                StatusMaintenance.starts_at <= now,
                StatusMaintenance.ends_at > now,
            )
            .limit(1)
        )
        state = effective_state(
            manual=component.manual_state,
            incident_impacts=impacts,
            in_maintenance=in_maintenance is not None,
        )
        if state != component.state:
            component.state = state
            component.updated_at = now
            session.add(
                StatusComponentChange(component_id=component.id, at=now, state=state)
            )
    session.flush()


# Lookups and checks ----------------------------------------------------------


def find_component(
    session: Session, ref: int | str, *, lock: bool = False
) -> StatusComponent:
    query = select(StatusComponent).options(selectinload(StatusComponent.group))
    if isinstance(ref, int):
        if not 1 <= ref <= MAX_ID:
            raise NotFound(f"no component {ref}")
        query = query.where(StatusComponent.id == ref)
    else:
        query = query.where(StatusComponent.name == ref.strip())
    if lock:
        query = query.with_for_update()
    found = session.scalar(query)
    if found is None:
        raise NotFound(
            f"no component {ref!r}" if isinstance(ref, str) else f"no component {ref}"
        )
    return found


def find_group(session: Session, ref: int | str) -> StatusComponentGroup:
    if isinstance(ref, int):
        found = session.get(StatusComponentGroup, ref) if 1 <= ref <= MAX_ID else None
    else:
        found = session.scalar(
            select(StatusComponentGroup).where(StatusComponentGroup.name == ref.strip())
        )
    if found is None:
        raise NotFound(f"no group {ref!r}")
    return found


def find_service(session: Session, ref: int | str) -> int:
    if isinstance(ref, int):
        found = session.get(Service, ref) if 1 <= ref <= MAX_ID else None
    else:
        found = session.scalar(select(Service).where(Service.name == ref.strip()))
    if found is None:
        raise NotFound(f"no service {ref!r}")
    return found.id


def find_status_incident(session: Session, status_incident_id: int) -> StatusIncident:
    if not 1 <= status_incident_id <= MAX_ID:
        raise NotFound(f"no status page incident {status_incident_id}")
    found = session.scalar(
        select(StatusIncident)
        .where(StatusIncident.id == status_incident_id)
        .options(selectinload(StatusIncident.components))
        .with_for_update()
    )
    if found is None:
        raise NotFound(f"no status page incident {status_incident_id}")
    return found


def find_maintenance(session: Session, maintenance_id: int) -> StatusMaintenance:
    found = None
    if 1 <= maintenance_id <= MAX_ID:
        found = session.scalar(
            select(StatusMaintenance)
            .where(StatusMaintenance.id == maintenance_id)
            .with_for_update()
        )
    if found is None:
        raise NotFound(f"no maintenance {maintenance_id}")
    return found


def find_tocsin_incident(
    session: Session,
    actor: Actor,
    *,
    incident_id: int | None = None,
    number: int | None = None,
) -> Incident:
    """The Tocsin incident, locked: posts about one incident queue up behind each
    other instead of both opening a public incident."""
    query = select(Incident).with_for_update()
    if incident_id is not None:
        wanted = f"incident id {incident_id}"
        query = query.where(Incident.id == incident_id)
        value = incident_id
    else:
        wanted = f"incident #{number}"
        query = query.where(Incident.number == number)
        value = number or 0
    found = session.scalar(query) if 1 <= value <= MAX_ID else None
    if found is None or not can_see_team(actor, found.service.team_id):
        raise NotFound(f"no {wanted}")
    return found


def check_refs(components: Sequence[int | str]) -> list[int | str]:
    unique = list(dict.fromkeys(components))
    if len(unique) > MAX_COMPONENTS:
        raise InvalidInput(f"name at most {MAX_COMPONENTS} components")
    return unique


def check_name(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput(f"a {what} cannot be empty")
    if len(value) > MAX_NAME:
        raise InvalidInput(f"a {what} is at most {MAX_NAME} characters")
    if _CONTROL.search(value):
        raise InvalidInput(f"a {what} cannot contain control characters")
    return value


def check_text(value: str, what: str, limit: int, *, empty: bool = False) -> str:
    value = value.strip()
    if not value and not empty:
        raise InvalidInput(f"the {what} cannot be empty")
    if len(value) > limit:
        raise InvalidInput(f"the {what} is at most {limit} characters")
    if _CONTROL_IN_TEXT.search(value) or (what == "title" and "\n" in value):
        raise InvalidInput(f"the {what} cannot contain control characters")
    return value


def check_position(value: int) -> int:
    if not -MAX_POSITION <= value <= MAX_POSITION:
        raise InvalidInput(
            f"position must be between {-MAX_POSITION} and {MAX_POSITION}"
        )
    return value


def check_state(value: str) -> ComponentState:
    try:
        return ComponentState(value)
    except ValueError:
        known = ", ".join([*ComponentState, AUTO])
        raise InvalidInput(f"state must be one of {known}") from None


def check_impact(value: str) -> ComponentState:
    if value not in IMPACTS:
        raise InvalidInput(f"impact must be one of {', '.join(IMPACTS)}")
    return ComponentState(value)


def check_stage(value: str) -> Stage:
    try:
        return Stage(value)
    except ValueError:
        raise InvalidInput(f"stage must be one of {', '.join(Stage)}") from None


def check_instant(value: datetime, what: str) -> datetime:
    if value.tzinfo is None:
        raise InvalidInput(f"the {what} needs a time zone offset")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(f"the {what} is out of range") from None


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
