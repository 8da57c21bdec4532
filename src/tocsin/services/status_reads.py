"""What the status page shows, read from the store: the public page, its JSON
summary and feed, and the records the admin API returns.

Public models carry nothing internal: no Tocsin incident numbers, services,
people or manual overrides. Those appear only in the admin models.
"""

from __future__ import annotations

import threading
import weakref
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, selectinload

from tocsin.domain.access import Actor, can_see_team
from tocsin.domain.status_page import (
    UPTIME_DAYS,
    ComponentState,
    DayBar,
    MaintenancePhase,
    StateChange,
    daily_uptime,
    maintenance_phase,
    overall_uptime,
    worst,
)
from tocsin.errors import NotFound
from tocsin.services.context import Context
from tocsin.store.db import Database
from tocsin.store.models import (
    Incident,
    Service,
    StatusComponent,
    StatusComponentChange,
    StatusComponentGroup,
    StatusIncident,
    StatusMaintenance,
)

MAX_ID = 2**31 - 1
# Upcoming maintenance further ahead than this is left off the page.
MAINTENANCE_HORIZON = timedelta(days=30)
# Resolved incidents stay on the front page this long.
RECENT = timedelta(days=7)
HISTORY_LIMIT = 50


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class StatusGroupRead(_Read):
    id: int
    name: str
    position: int


class StatusComponentRead(_Read):
    """A component as its operators see it."""

    id: int
    name: str
    description: str
    group: str | None = Field(description="The group it is shown under.")
    service: str | None = Field(
        description="The Tocsin service whose published incidents affect it."
    )
    position: int
    state: ComponentState = Field(description="The state the page shows.")
    manual_state: ComponentState | None = Field(
        description="The operator's state, which wins while set."
    )
    updated_at: datetime


class PublicComponentRead(_Read):
    id: int
    name: str
    description: str
    group: str | None
    state: ComponentState
    updated_at: datetime


class StatusUpdateRead(_Read):
    at: datetime
    stage: str
    message: str


class PublicIncidentRead(_Read):
    id: int
    title: str
    impact: ComponentState
    stage: str
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    components: list[str]
    updates: list[StatusUpdateRead] = Field(description="Oldest first.")


class StatusIncidentRead(PublicIncidentRead):
    """A public incident as its operators see it."""

    incident_number: int | None = Field(
        description="The Tocsin incident it reports on, if any."
    )


class PublicMaintenanceRead(_Read):
    id: int
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    phase: MaintenancePhase
    components: list[str]


class StatusMaintenanceRead(PublicMaintenanceRead):
    cancelled_at: datetime | None
    created_at: datetime


class SummaryComponentRead(PublicComponentRead):
    uptime_90d: float | None = Field(
        description="Share of the last 90 days up (1.0 is all), to four places; "
        "null before any time was measured."
    )


class StatusSummaryRead(BaseModel):
    """The page in one document, for other tools to poll."""

    title: str
    url: str
    generated_at: datetime
    state: ComponentState = Field(description="The worst component state.")
    components: list[SummaryComponentRead]
    incidents: list[PublicIncidentRead] = Field(description="Open incidents.")
    maintenance: list[PublicMaintenanceRead] = Field(
        description="Upcoming and in-progress maintenance."
    )


class ComponentView(BaseModel):
    """A component on the page, with its uptime bars."""

    component: PublicComponentRead
    bars: list[DayBar]
    uptime: float | None


class GroupView(BaseModel):
    name: str | None
    components: list[ComponentView]

    @property
    def state(self) -> ComponentState:
        return worst(view.component.state for view in self.components)


class PageView(BaseModel):
    state: ComponentState
    groups: list[GroupView]
    incidents: list[PublicIncidentRead]
    recent: list[PublicIncidentRead]
    maintenance: list[PublicMaintenanceRead]
    generated_at: datetime


def page(ctx: Context) -> PageView:
    """Everything the front page shows, with 90 days of uptime per component."""
    now = ctx.clock.now()
    with ctx.db.read() as session:
        components = _components(session)
        uptime = _uptime_bars(ctx.db, session, [c.id for c in components], now)
        groups: dict[str | None, list[ComponentView]] = defaultdict(list)
        for component in components:
            bars = uptime[component.id]
            groups[component.group].append(
                ComponentView(
                    component=component, bars=bars, uptime=overall_uptime(bars)
                )
            )
        incidents = open_incidents(session)
        recent = _incidents(
            session,
            StatusIncident.resolved_at >= now - RECENT,
            limit=HISTORY_LIMIT,
        )
        maintenance = _maintenance_ahead(session, now)

    # Grouped components first, in the groups' order, then those in no group.
    ordered = [GroupView(name=name, components=views) for name, views in groups.items()]
    ordered.sort(key=lambda group: group.name is None)
    return PageView(
        state=worst(c.state for c in components),
        groups=ordered,
        incidents=incidents,
        recent=recent,
        maintenance=maintenance,
        generated_at=now,
    )


def summary(ctx: Context) -> StatusSummaryRead:
    now = ctx.clock.now()
    settings = ctx.settings
    with ctx.db.read() as session:
        components = _components(session)
        uptime = _uptime_bars(ctx.db, session, [c.id for c in components], now)
        measured = [
            SummaryComponentRead(
                **component.model_dump(),
                uptime_90d=_rounded(overall_uptime(uptime[component.id])),
            )
            for component in components
        ]
        return StatusSummaryRead(
            title=settings.status_page_title,
            url=settings.base_url.rstrip("/") + "/status",
            generated_at=now,
            state=worst(c.state for c in components),
            components=measured,
            incidents=open_incidents(session),
            maintenance=_maintenance_ahead(session, now),
        )


def _rounded(uptime: float | None) -> float | None:
    return None if uptime is None else round(uptime, 4)


def public_incident(ctx: Context, status_incident_id: int) -> PublicIncidentRead:
    if not 1 <= status_incident_id <= MAX_ID:
        raise NotFound(f"no status page incident {status_incident_id}")
    with ctx.db.read() as session:
        found = _incidents(session, StatusIncident.id == status_incident_id, limit=1)
    if not found:
        raise NotFound(f"no status page incident {status_incident_id}")
    return found[0]


def history(
    ctx: Context,
) -> tuple[list[PublicIncidentRead], list[PublicMaintenanceRead]]:
    """Resolved incidents and past maintenance, newest first."""
    now = ctx.clock.now()
    with ctx.db.read() as session:
        incidents = _incidents(
            session, StatusIncident.resolved_at.is_not(None), limit=HISTORY_LIMIT
        )
        rows = session.scalars(
            select(StatusMaintenance)
            .where(
                or_(
                    StatusMaintenance.ends_at <= now,
                    StatusMaintenance.cancelled_at.is_not(None),
                )
            )
            .options(selectinload(StatusMaintenance.components))
            .order_by(StatusMaintenance.starts_at.desc())
            .limit(HISTORY_LIMIT)
        ).all()
        return incidents, [maintenance_read(row, now) for row in rows]


def feed_entries(
    ctx: Context,
) -> tuple[list[PublicIncidentRead], list[StatusMaintenanceRead]]:
    """The latest incidents and maintenance, for the Atom feed."""
    now = ctx.clock.now()
    with ctx.db.read() as session:
        incidents = _incidents(session, None, limit=HISTORY_LIMIT)
        rows = session.scalars(
            select(StatusMaintenance)
            .options(selectinload(StatusMaintenance.components))
            .order_by(StatusMaintenance.updated_at.desc())
            .limit(HISTORY_LIMIT)
        ).all()
        return incidents, [maintenance_read(row, now) for row in rows]


def open_incidents(session: Session) -> list[PublicIncidentRead]:
    return _incidents(session, StatusIncident.resolved_at.is_(None), limit=None)


def incident_read(
    session: Session, row: StatusIncident, actor: Actor
) -> StatusIncidentRead:
    """The public incident as `actor` may see it: the number of the Tocsin
    incident it reports on only when the actor can see that incident."""
    number = None
    if row.incident_id is not None:
        linked = session.execute(
            select(Incident.number, Service.team_id)
            .join(Service, Service.id == Incident.service_id)
            .where(Incident.id == row.incident_id)
        ).first()
        if linked is not None and can_see_team(actor, linked.team_id):
            number = linked.number
    return StatusIncidentRead(
        **_public_incident(row).model_dump(), incident_number=number
    )


def component_read(session: Session, row: StatusComponent) -> StatusComponentRead:
    service = None
    if row.service_id is not None:
        service = session.scalar(
            select(Service.name).where(Service.id == row.service_id)
        )
    return StatusComponentRead(
        id=row.id,
        name=row.name,
        description=row.description,
        group=row.group.name if row.group else None,
        service=service,
        position=row.position,
        state=ComponentState(row.state),
        manual_state=row.manual_state,
        updated_at=row.updated_at,
    )


def maintenance_read(row: StatusMaintenance, now: datetime) -> StatusMaintenanceRead:
    return StatusMaintenanceRead(
        id=row.id,
        title=row.title,
        description=row.description,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        phase=maintenance_phase(
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            cancelled_at=row.cancelled_at,
            now=now,
        ),
        components=[component.name for component in row.components],
        cancelled_at=row.cancelled_at,
        created_at=row.created_at,
    )


def _components(session: Session) -> list[PublicComponentRead]:
    rows = session.execute(
        select(StatusComponent, StatusComponentGroup.name)
        .outerjoin(
            StatusComponentGroup, StatusComponent.group_id == StatusComponentGroup.id
        )
        .order_by(
            StatusComponentGroup.position.is_(None),
            StatusComponentGroup.position,
            StatusComponentGroup.name,
            StatusComponent.position,
            StatusComponent.name,
        )
    ).all()
    return [
        PublicComponentRead(
            id=row.id,
            name=row.name,
            description=row.description,
            group=group,
            state=ComponentState(row.state),
            updated_at=row.updated_at,
        )
        for row, group in rows
    ]


@dataclass(frozen=True)
class _UptimeKey:
    components: tuple[int, ...]
    last_change: int | None
    minute: datetime


# The public page and its JSON summary are unauthenticated and each needs 90
# days of state changes per component: recomputed on every request, a crowd
# of readers during an outage (when they come) would do the same work over and
# over. The bars change only with a new state change, a component added or
# removed, or the clock, so they are kept per database under that key; within
# one minute today's bar may lag by less than that minute.
_uptime_cache: weakref.WeakKeyDictionary[
    Database, tuple[_UptimeKey, dict[int, list[DayBar]]]
] = weakref.WeakKeyDictionary()
_uptime_lock = threading.Lock()


def _uptime_bars(
    db: Database, session: Session, component_ids: Sequence[int], now: datetime
) -> dict[int, list[DayBar]]:
    """Each component's daily uptime bars over the window ending `now`."""
    key = _UptimeKey(
        components=tuple(sorted(component_ids)),
        last_change=session.scalar(select(func.max(StatusComponentChange.id))),
        minute=now.replace(second=0, microsecond=0),
    )
    with _uptime_lock:
        cached = _uptime_cache.get(db)
    if cached is not None and cached[0] == key:
        return cached[1]

    history = _history(session, component_ids, now)
    bars = {id_: daily_uptime(changes, now=now) for id_, changes in history.items()}
    with _uptime_lock:
        _uptime_cache[db] = (key, bars)
    return bars


def _history(
    session: Session, component_ids: Sequence[int], now: datetime
) -> dict[int, list[StateChange]]:
    """Each component's state changes over the uptime window, led by the change
    in force when the window opens."""
    start = now - timedelta(days=UPTIME_DAYS + 1)
    history: dict[int, list[StateChange]] = {id_: [] for id_ in component_ids}
    if not component_ids:
        return history

    before = (
        select(
            StatusComponentChange.component_id,
            func.max(StatusComponentChange.at).label("at"),
        )
        .where(StatusComponentChange.at < start)
        .group_by(StatusComponentChange.component_id)
        .subquery()
    )
    leading = session.execute(
        select(
            StatusComponentChange.component_id, before.c.at, StatusComponentChange.state
        ).join(
            before,
            (StatusComponentChange.component_id == before.c.component_id)
            & (StatusComponentChange.at == before.c.at),
        )
    ).all()
    within = session.execute(
        select(
            StatusComponentChange.component_id,
            StatusComponentChange.at,
            StatusComponentChange.state,
        )
        .where(StatusComponentChange.at >= start)
        .order_by(StatusComponentChange.at, StatusComponentChange.id)
    ).all()

    seen: set[int] = set()
    for component_id, at, state in [*leading, *within]:
        if component_id not in history:
            continue
        if at < start and component_id in seen:
            continue
        if at < start:
            seen.add(component_id)
        history[component_id].append(StateChange(at, ComponentState(state)))
    return history


def _incidents(
    session: Session, where: ColumnElement[bool] | None, *, limit: int | None
) -> list[PublicIncidentRead]:
    query = select(StatusIncident).options(
        selectinload(StatusIncident.components), selectinload(StatusIncident.updates)
    )
    if where is not None:
        query = query.where(where)
    query = query.order_by(StatusIncident.created_at.desc(), StatusIncident.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [_public_incident(row) for row in session.scalars(query)]


def _public_incident(row: StatusIncident) -> PublicIncidentRead:
    return PublicIncidentRead(
        id=row.id,
        title=row.title,
        impact=ComponentState(row.impact),
        stage=row.stage,
        created_at=row.created_at,
        updated_at=row.updated_at,
        resolved_at=row.resolved_at,
        components=[component.name for component in row.components],
        updates=[StatusUpdateRead.model_validate(update) for update in row.updates],
    )


def _maintenance_ahead(session: Session, now: datetime) -> list[PublicMaintenanceRead]:
    rows = session.scalars(
        select(StatusMaintenance)
        .where(
            StatusMaintenance.cancelled_at.is_(None),
            StatusMaintenance.ends_at > now,
            StatusMaintenance.starts_at <= now + MAINTENANCE_HORIZON,
        )
        .options(selectinload(StatusMaintenance.components))
        .order_by(StatusMaintenance.starts_at)
    ).all()
    return [
        PublicMaintenanceRead.model_validate(maintenance_read(row, now).model_dump())
        for row in rows
    ]
