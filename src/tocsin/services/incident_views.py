"""Reads the incident pages need beyond the API's: a searchable, sortable list
with keyset pagination, the home page's summary, whom an incident can be handed
to, and the timeline entries added since a point (for live updates).

Visibility is the same rule as everywhere: domain.access.can_see_team, applied
in SQL the way services.incidents.list_incidents applies it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session, selectinload

from tocsin.digits import plain_digits
from tocsin.domain.access import Actor, Role, can_see_team
from tocsin.domain.incidents import IncidentStatus
from tocsin.errors import InvalidInput, NotFound
from tocsin.schemas import IncidentRead, TimelineEntryRead
from tocsin.services import triage
from tocsin.services.context import Context
from tocsin.store.models import (
    Incident,
    Service,
    Team,
    TeamMember,
    TimelineEntry,
    User,
)

MAX_ID = 2**31 - 1
MAX_SEARCH = 200
MAX_PAGE = 100
OPEN = (IncidentStatus.TRIGGERED.value, IncidentStatus.ACKNOWLEDGED.value)
MAX_NEW_ENTRIES = 200


class Sort(StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"
    SEVERITY = "severity"
    UPDATED = "updated"


@dataclass(frozen=True)
class Cursor:
    """Where the previous page ended: the sort key of its last incident, with
    the incident number to break ties. Pages follow it, not an offset, so new
    incidents arriving while someone pages never shift or repeat rows."""

    sort: Sort
    number: int
    severity: str = ""
    updated_at: datetime | None = None

    def encode(self) -> str:
        data: dict[str, Any] = {"s": self.sort.value, "n": self.number}
        if self.sort is Sort.SEVERITY:
            data["v"] = self.severity
        if self.sort is Sort.UPDATED and self.updated_at is not None:
            data["u"] = self.updated_at.astimezone(UTC).isoformat()
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    @classmethod
    def decode(cls, text: str, sort: Sort) -> Cursor:
        """The cursor in `text`; InvalidInput if it was not made for `sort`."""
        bad = InvalidInput("this page link is broken; start from the first page")
        if len(text) > 400:
            raise bad
        try:
            data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            cursor = cls(
                sort=Sort(data["s"]),
                number=int(data["n"]),
                severity=str(data.get("v", "")),
                updated_at=(datetime.fromisoformat(data["u"]) if "u" in data else None),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise bad from error
        if cursor.sort is not sort or not 0 <= cursor.number <= MAX_ID:
            raise bad
        if cursor.sort is Sort.UPDATED and (
            cursor.updated_at is None or cursor.updated_at.tzinfo is None
        ):
            raise bad
        return cursor


@dataclass(frozen=True)
class IncidentQuery:
    status: tuple[str, ...] = ()
    severity: tuple[str, ...] = ()
    service_id: int | None = None
    team_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str = ""
    sort: Sort = Sort.NEWEST
    after: Cursor | None = None
    limit: int = 25


@dataclass(frozen=True)
class IncidentListPage:
    items: list[IncidentRead]
    total: int
    next_cursor: Cursor | None


@dataclass(frozen=True)
class Choice:
    id: int
    name: str


@dataclass(frozen=True)
class HomeSummary:
    open_by_severity: dict[str, int]
    open_incidents: list[IncidentRead]
    mine: list[IncidentRead]
    open_total: int


@dataclass(frozen=True)
class TimelineSince:
    status: str
    updated_at: datetime
    entries: list[TimelineEntryRead] = field(default_factory=list)


# Any select, whatever its columns: filtering keeps the query's row type.
Q = TypeVar("Q", bound="Select[*tuple[Any, ...]]")


def _visible(query: Q, actor: Actor) -> Q:
    """Only incidents of services the actor's teams own, or no team owns."""
    if can_see_team(actor, -1):
        return query
    return query.where(Service.team_id.is_(None) | Service.team_id.in_(actor.team_ids))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(ctx: Context, actor: Actor, where: IncidentQuery) -> IncidentListPage:
    """One page of the incidents the actor may see that match `where`."""
    if not 1 <= where.limit <= MAX_PAGE:
        raise InvalidInput(f"a page holds 1 to {MAX_PAGE} incidents")
    text = where.text.strip()
    if len(text) > MAX_SEARCH or "\x00" in text:
        raise InvalidInput(f"search for at most {MAX_SEARCH} characters")

    query = _visible(
        select(Incident).join(Service, Incident.service_id == Service.id), actor
    )
    if where.status:
        query = query.where(Incident.status.in_(where.status))
    if where.severity:
        query = query.where(Incident.severity.in_(where.severity))
    if where.service_id is not None:
        query = query.where(Incident.service_id == where.service_id)
    if where.team_id is not None:
        query = query.where(Service.team_id == where.team_id)
    if where.since is not None:
        query = query.where(Incident.created_at >= where.since)
    if where.until is not None:
        query = query.where(Incident.created_at < where.until)
    if text:
        matches: ColumnElement[bool] = Incident.title.ilike(
            f"%{_escape_like(text)}%", escape="\\"
        )
        number = text.removeprefix("#")
        if plain_digits(number) and int(number) <= MAX_ID:
            matches = matches | (Incident.number == int(number))
        query = query.where(matches)

    with ctx.db.read() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        ordered = _ordered(query, where.sort, where.after, _worst_first(session))
        rows = session.scalars(
            ordered.options(
                selectinload(Incident.service),
                selectinload(Incident.assignee),
                selectinload(Incident.acknowledged_by),
                selectinload(Incident.resolved_by),
            ).limit(where.limit + 1)
        ).all()

        more = len(rows) > where.limit
        rows = rows[: where.limit]
        items = [IncidentRead.model_validate(row) for row in rows]

    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = Cursor(
            sort=where.sort,
            number=last.number,
            severity=last.severity,
            updated_at=last.updated_at,
        )
    return IncidentListPage(items=items, total=total or 0, next_cursor=next_cursor)


def _worst_first(session: Session) -> Callable[[str | None], ColumnElement[int]]:
    """An incident's severity as its configured rank (1 is the worst), and the
    same for a cursor's severity. A key no longer configured ranks after every
    configured one, so renaming levels never hides an incident."""
    ranks = triage.severity_ranks(session)
    unknown = max(ranks.values(), default=0) + 1

    def rank(severity: str | None) -> ColumnElement[int]:
        if severity is None:
            return case(ranks, value=Incident.severity, else_=unknown)
        return literal(ranks.get(severity, unknown))

    return rank


def _ordered(
    query: Q,
    sort: Sort,
    after: Cursor | None,
    rank: Callable[[str | None], ColumnElement[int]],
) -> Q:
    """`query` in the order of `sort`, from just past `after`. The number is the
    last key of every order, so the order is total and pages never overlap."""
    number = Incident.number
    if sort is Sort.OLDEST:
        if after is not None:
            query = query.where(number > after.number)
        return query.order_by(number.asc())
    if sort is Sort.SEVERITY:
        severity = rank(None)
        if after is not None:
            past = rank(after.severity)
            query = query.where(
                or_(severity > past, and_(severity == past, number < after.number))
            )
        return query.order_by(severity.asc(), number.desc())
    if sort is Sort.UPDATED:
        if after is not None and after.updated_at is not None:
            query = query.where(
                or_(
                    Incident.updated_at < after.updated_at,
                    and_(
                        Incident.updated_at == after.updated_at,
                        number < after.number,
                    ),
                )
            )
        return query.order_by(Incident.updated_at.desc(), number.desc())
    if after is not None:
        query = query.where(number < after.number)
    return query.order_by(number.desc())


def home(ctx: Context, actor: Actor, *, limit: int = 10) -> HomeSummary:
    """Open incidents the actor may see, counted by severity, the worst first;
    and those assigned to or acknowledged by the actor."""
    base = _visible(
        select(Incident)
        .join(Service, Incident.service_id == Service.id)
        .where(Incident.status.in_(OPEN)),
        actor,
    )
    loads = (selectinload(Incident.service), selectinload(Incident.assignee))

    with ctx.db.read() as session:
        counted = session.execute(
            _visible(
                select(Incident.severity, func.count())
                .join(Service, Incident.service_id == Service.id)
                .where(Incident.status.in_(OPEN)),
                actor,
            ).group_by(Incident.severity)
        )
        by_severity = {row[0]: int(row[1]) for row in sorted(counted)}
        severity = _worst_first(session)(None)
        worst = session.scalars(
            base.options(*loads)
            .order_by(severity.asc(), Incident.number.desc())
            .limit(limit)
        ).all()
        mine: list[Incident] = []
        if actor.user_id is not None:
            mine = list(
                session.scalars(
                    base.where(
                        or_(
                            Incident.assignee_id == actor.user_id,
                            Incident.acknowledged_by_id == actor.user_id,
                        )
                    )
                    .options(*loads)
                    .order_by(severity.asc(), Incident.number.desc())
                    .limit(limit)
                ).all()
            )
        return HomeSummary(
            open_by_severity=by_severity,
            open_incidents=[IncidentRead.model_validate(row) for row in worst],
            mine=[IncidentRead.model_validate(row) for row in mine],
            open_total=sum(by_severity.values()),
        )


def visible_services(ctx: Context, actor: Actor) -> list[Choice]:
    query = select(Service.id, Service.name).order_by(Service.name)
    if not can_see_team(actor, -1):
        query = query.where(
            Service.team_id.is_(None) | Service.team_id.in_(actor.team_ids)
        )
    with ctx.db.read() as session:
        return [Choice(id, name) for id, name in session.execute(query)]


def visible_teams(ctx: Context, actor: Actor) -> list[Choice]:
    query = select(Team.id, Team.name).order_by(Team.name)
    if not can_see_team(actor, -1):
        query = query.where(Team.id.in_(actor.team_ids))
    with ctx.db.read() as session:
        return [Choice(id, name) for id, name in session.execute(query)]


def assignable_users(ctx: Context, actor: Actor, number: int) -> list[Choice]:
    """Who could take incident `number`: active responders (or above) of the
    service's team, and admins; the same people services.incidents.reassign
    accepts. NotFound when the actor cannot see the incident."""
    _check_number(number)
    with ctx.db.read() as session:
        row = session.execute(
            select(Service.team_id)
            .join(Incident, Incident.service_id == Service.id)
            .where(Incident.number == number)
        ).one_or_none()
        if row is None or not can_see_team(actor, row.team_id):
            raise NotFound(f"no incident #{number}")

        query = (
            select(User.id, User.name, User.email)
            .where(User.active, User.role != Role.VIEWER.value)
            .order_by(User.name, User.id)
        )
        if row.team_id is not None:
            members = select(TeamMember.user_id).where(
                TeamMember.team_id == row.team_id
            )
            query = query.where(
                or_(User.role == Role.ADMIN.value, User.id.in_(members))
            )
        return [
            Choice(user_id, f"{name} ({email})")
            for user_id, name, email in session.execute(query)
        ]


def timeline_since(
    ctx: Context, actor: Actor, number: int, after_id: int
) -> TimelineSince:
    """The incident's status and the timeline entries after entry `after_id`,
    oldest first, at most MAX_NEW_ENTRIES. NotFound when the actor cannot see
    the incident (any more: a user removed from the team stops receiving)."""
    _check_number(number)
    with ctx.db.read() as session:
        row = session.execute(
            select(Incident.id, Incident.status, Incident.updated_at, Service.team_id)
            .join(Service, Incident.service_id == Service.id)
            .where(Incident.number == number)
        ).one_or_none()
        if row is None or not can_see_team(actor, row.team_id):
            raise NotFound(f"no incident #{number}")

        entries = session.scalars(
            select(TimelineEntry)
            .where(
                TimelineEntry.incident_id == row.id,
                TimelineEntry.id > max(after_id, 0),
            )
            .order_by(TimelineEntry.id)
            .limit(MAX_NEW_ENTRIES)
        ).all()
        return TimelineSince(
            status=row.status,
            updated_at=row.updated_at,
            entries=[TimelineEntryRead.model_validate(entry) for entry in entries],
        )


def _check_number(number: int) -> None:
    if not 1 <= number <= MAX_ID:
        raise NotFound(f"no incident #{number}")
