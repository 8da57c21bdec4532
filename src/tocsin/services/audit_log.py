"""Reading the audit trail: who changed what, when, newest first.

Only admins read it: it names every user's actions across every team. Pages
follow a keyset cursor (the instant and id of the last record shown), never
an offset, so records written while someone pages through never shift or
repeat the rows that follow.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select

from tocsin.domain.access import Actor, Role, require_role
from tocsin.errors import InvalidInput
from tocsin.services.context import Context
from tocsin.store.models import AuditRecord

MAX_ID = 2**31 - 1
MAX_FILTER = 200
MAX_PAGE = 200


@dataclass(frozen=True)
class AuditCursor:
    """Where the previous page ended: its last record's instant and id."""

    at: datetime
    id: int

    def encode(self) -> str:
        data = {"a": self.at.astimezone(UTC).isoformat(), "i": self.id}
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    @classmethod
    def decode(cls, text: str) -> AuditCursor:
        """The cursor in `text`; InvalidInput for anything this did not make."""
        bad = InvalidInput("this page link is broken; start from the first page")
        if len(text) > 200:
            raise bad
        try:
            data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            at, record_id = datetime.fromisoformat(data["a"]), int(data["i"])
            # A UTC instant, as the database compares them: an offset that
            # pushes the instant past year 1 or 9999 overflows here, not there.
            cursor = cls(at=at.astimezone(UTC), id=record_id)
        except (ValueError, KeyError, TypeError, OverflowError) as error:
            # OverflowError: an id of Infinity, which JSON lets through.
            raise bad from error
        if at.tzinfo is None or not 0 <= cursor.id <= MAX_ID:
            raise bad
        return cursor


@dataclass(frozen=True)
class AuditQuery:
    """Filters, all optional: `actor` matches part of the actor's label
    (an email, "cli", an integration) in any case; `action` is one action
    exactly; `kind` is the type of object changed; `since` is inclusive and
    `until` exclusive."""

    actor: str = ""
    action: str = ""
    kind: str = ""
    since: datetime | None = None
    until: datetime | None = None
    after: AuditCursor | None = None
    limit: int = 50


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor_type: str
    actor_label: str
    action: str
    object_type: str
    object_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    detail: dict[str, Any]

    @property
    def changes(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) for each field the record says changed."""
        if self.before is None or self.after is None:
            return []
        keys = list(dict.fromkeys([*self.before, *self.after]))
        return [(key, self.before.get(key), self.after.get(key)) for key in keys]


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_cursor: AuditCursor | None


def search(ctx: Context, actor: Actor, query: AuditQuery) -> AuditPage:
    """One page of audit records matching `query`, newest first (ties by id).

    Admins only (Forbidden otherwise); InvalidInput for an over-long filter,
    a page size out of range, or a time range that ends before it starts.
    """
    require_role(actor, Role.ADMIN)
    _check(query)

    statement = select(AuditRecord)
    if query.actor:
        pattern = query.actor.lower()
        statement = statement.where(
            func.lower(AuditRecord.actor_label).contains(pattern, autoescape=True)
        )
    if query.action:
        statement = statement.where(AuditRecord.action == query.action)
    if query.kind:
        statement = statement.where(AuditRecord.object_type == query.kind)
    if query.since is not None:
        statement = statement.where(AuditRecord.at >= query.since)
    if query.until is not None:
        statement = statement.where(AuditRecord.at < query.until)
    if query.after is not None:
        statement = statement.where(
            or_(
                AuditRecord.at < query.after.at,
                and_(AuditRecord.at == query.after.at, AuditRecord.id < query.after.id),
            )
        )
    statement = statement.order_by(AuditRecord.at.desc(), AuditRecord.id.desc())

    with ctx.db.read() as session:
        rows = session.scalars(statement.limit(query.limit + 1)).all()
        entries = [_entry(row) for row in rows[: query.limit]]

    next_cursor = None
    if len(rows) > query.limit and entries:
        last = entries[-1]
        next_cursor = AuditCursor(at=last.at, id=last.id)
    return AuditPage(entries=entries, next_cursor=next_cursor)


def choices(ctx: Context, actor: Actor) -> tuple[list[str], list[str]]:
    """The actions and the object kinds the trail holds, for filter lists."""
    require_role(actor, Role.ADMIN)
    with ctx.db.read() as session:
        actions = session.scalars(
            select(AuditRecord.action).distinct().order_by(AuditRecord.action)
        ).all()
        kinds = session.scalars(
            select(AuditRecord.object_type).distinct().order_by(AuditRecord.object_type)
        ).all()
    return list(actions), list(kinds)


def _check(query: AuditQuery) -> None:
    for name in ("actor", "action", "kind"):
        value = getattr(query, name)
        if len(value) > MAX_FILTER or "\x00" in value:
            raise InvalidInput(f"the {name} filter is too long or not text")
    if not 1 <= query.limit <= MAX_PAGE:
        raise InvalidInput(f"a page holds 1 to {MAX_PAGE} records")
    if (
        query.since is not None
        and query.until is not None
        and query.until <= query.since
    ):
        raise InvalidInput("the time range ends before it starts")


def _entry(row: AuditRecord) -> AuditEntry:
    # Changes are recorded as `before` and `after` mappings where a service
    # knows both; the rest of the detail is shown as it was written.
    detail = dict(row.detail or {})
    before, after = detail.get("before"), detail.get("after")
    if isinstance(before, dict) and isinstance(after, dict):
        del detail["before"], detail["after"]
    else:
        before = after = None
    return AuditEntry(
        id=row.id,
        at=row.at,
        actor_type=row.actor_type,
        actor_label=row.actor_label,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        before=before,
        after=after,
        detail=detail,
    )
