"""The audit log page: who changed what, when, newest first, filtered by actor,
action, kind of object and time range, a page at a time.

Admins only, as services.audit_log requires (there is no audit API to match).
Pages follow a keyset cursor, so records written while someone reads never
shift or repeat rows. Details are shown as stored, escaped like every value.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tocsin.api.deps import CtxDep
from tocsin.domain.access import Role
from tocsin.errors import InvalidInput
from tocsin.services import audit_log
from tocsin.services.audit_log import AuditCursor, AuditQuery
from tocsin.web.auth import UserDep
from tocsin.web.settings import SECTIONS, SettingsSection
from tocsin.web.templating import render

router = APIRouter()
SECTIONS.append(
    SettingsSection(
        "Audit log",
        "/settings/audit",
        "Who changed what, and when: every write, by person, token or Tocsin.",
        Role.ADMIN,
    )
)

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditParams:
    """The page's query string as typed; `url` rebuilds it with changes."""

    actor: str = ""
    action: str = ""
    kind: str = ""
    since: str = ""
    until: str = ""

    def url(self, **changes: str) -> str:
        values = {**asdict(self), **changes}
        query = [(name, value) for name, value in values.items() if value]
        return "/settings/audit" + ("?" + urlencode(query) if query else "")


@router.get("/settings/audit")
def audit_page(
    request: Request,
    ctx: CtxDep,
    user: UserDep,
    actor: str = "",
    action: str = "",
    kind: str = "",
    since: str = "",
    until: str = "",
    after: str = "",
) -> Response:
    """One page of the audit trail; `after` is the cursor the page before
    ended on. A bad filter shows the empty page with the message and a 400."""
    params = AuditParams(
        actor=actor.strip(),
        action=action.strip(),
        kind=kind.strip(),
        since=since.strip(),
        until=until.strip(),
    )
    actions, kinds = audit_log.choices(ctx, user.actor)

    error = None
    page = audit_log.AuditPage(entries=[], next_cursor=None)
    try:
        query = AuditQuery(
            actor=params.actor,
            action=params.action,
            kind=params.kind,
            since=_day(params.since, "from"),
            until=_day(params.until, "to", end=True),
            after=AuditCursor.decode(after) if after else None,
            limit=PAGE_SIZE,
        )
        page = audit_log.search(ctx, user.actor, query)
    except InvalidInput as error_:
        error = error_.detail[:1].upper() + error_.detail[1:] + "."

    next_url = None
    if page.next_cursor is not None:
        next_url = params.url(after=page.next_cursor.encode())
    context: dict[str, Any] = {
        "user": user,
        "params": params,
        "entries": page.entries,
        "actions": actions,
        "kinds": kinds,
        "error": error,
        "first_url": params.url() if after else None,
        "next_url": next_url,
        "shown": shown,
        # The filter box starts open when a filter in it is in use.
        "filtered": any(asdict(params).values()),
    }
    status = 400 if error else 200
    return render(request, "settings/audit_log.html", context, status_code=status)


def shown(value: object) -> str:
    """A detail value as text: strings as they are, anything else as compact
    JSON. The template escapes the result like any other text."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _day(value: str, name: str, *, end: bool = False) -> datetime | None:
    """A YYYY-MM-DD date as the UTC instant it starts; with `end`, the instant
    the next day starts, so that "to" includes the whole day."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a date as YYYY-MM-DD") from None
    if end:
        if day == date.max:
            return None
        day += timedelta(days=1)
    return datetime.combine(day, time.min, tzinfo=UTC)
