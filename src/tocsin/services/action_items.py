"""Action items: follow-up work from a postmortem, with an owner, a due date,
a priority, a status and perhaps a link to an outside tracker.

An open item past its due date reminds its owner once, by an
`action_item_overdue` timer armed for the due date (as tasks do). An item of
kind update_documentation names a runbook and closes itself when that runbook
is next changed: a flush hook below watches runbooks' `updated_at`, so the
runbook service need not know about action items.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import delete, event, inspect, select
from sqlalchemy.orm import Session, selectinload

from tocsin.domain import postmortems as rules
from tocsin.domain.access import SYSTEM, Actor, Role, can_see_team, require_role
from tocsin.errors import InvalidInput, NotFound
from tocsin.postmortem_schemas import ActionItemRead
from tocsin.schemas import UserRef
from tocsin.services import notices
from tocsin.services.context import Context
from tocsin.services.incident_scope import MAX_ID, checked_instant, checked_line
from tocsin.services.postmortems import incident_numbers, locked
from tocsin.services.records import add_timeline, audit
from tocsin.services.users import actor_for
from tocsin.store.models import (
    ActionItem,
    Incident,
    Postmortem,
    PostmortemIncident,
    Runbook,
    Timer,
    User,
)

ACTION_ITEM_OVERDUE = "action_item_overdue"
MAX_TITLE = 500
MAX_ITEMS = 200


class Keep(Enum):
    """ "Leave it as it is", told apart from None ("clear it") in update()."""

    KEEP = "keep"


KEEP = Keep.KEEP


def create(
    ctx: Context,
    actor: Actor,
    postmortem_id: int,
    *,
    title: str,
    kind: str,
    priority: str = "medium",
    owner_id: int | None = None,
    due_at: datetime | None = None,
    tracker_url: str | None = None,
    runbook_id: int | None = None,
) -> ActionItemRead:
    """Add an open action item. An update_documentation item needs a runbook;
    other kinds take none."""
    require_role(actor, Role.RESPONDER)
    title = checked_line(title, "an action item title", MAX_TITLE)
    item_kind = rules.choice(rules.ActionKind, kind, "an action item kind")
    item_priority = rules.choice(rules.ActionPriority, priority, "a priority")
    due = checked_instant(due_at, "due_at")
    link = rules.tracker_url(tracker_url) if tracker_url else None
    documents = item_kind == rules.ActionKind.UPDATE_DOCUMENTATION
    if documents != (runbook_id is not None):
        raise InvalidInput(
            "an update_documentation item names a runbook, and only it does"
        )

    with ctx.db.write() as session:
        postmortem = locked(session, actor, postmortem_id)
        count = len(
            session.scalars(
                select(ActionItem.id).where(ActionItem.postmortem_id == postmortem.id)
            ).all()
        )
        if count >= MAX_ITEMS:
            raise InvalidInput(f"a postmortem holds at most {MAX_ITEMS} action items")
        owner = _owner(session, owner_id, postmortem.team_id)
        runbook = _runbook(session, runbook_id)

        now = ctx.clock.now()
        item = ActionItem(
            postmortem_id=postmortem.id,
            title=title,
            kind=item_kind,
            priority=item_priority,
            status=rules.ActionStatus.OPEN,
            owner_id=owner.id if owner else None,
            due_at=due,
            tracker_url=link,
            runbook_id=runbook.id if runbook else None,
            runbook_seen_at=runbook.updated_at if runbook else None,
            created_by_label=actor.label,
            created_at=now,
            updated_at=now,
        )
        session.add(item)
        session.flush()
        _on_timelines(
            session, postmortem, now, actor, f"Action item added: {title}", item
        )
        if owner is not None and owner.id != actor.user_id:
            _tell_owner(session, ctx, item, owner, actor)
        _arm(session, ctx, item)
        _audit(session, actor, item, "action_item.create", now)
        return _read(session, item.id, now)


def update(
    ctx: Context,
    actor: Actor,
    item_id: int,
    *,
    title: str | None = None,
    priority: str | None = None,
    status: str | None = None,
    owner_id: int | Keep | None = KEEP,
    due_at: datetime | Keep | None = KEEP,
    tracker_url: str | Keep | None = KEEP,
) -> ActionItemRead:
    """Change an item; None clears the owner, due date or tracker link."""
    require_role(actor, Role.RESPONDER)
    new_title = (
        checked_line(title, "an action item title", MAX_TITLE) if title else None
    )
    new_priority = (
        rules.choice(rules.ActionPriority, priority, "a priority") if priority else None
    )
    new_status = (
        rules.choice(rules.ActionStatus, status, "an action item status")
        if status
        else None
    )
    new_due = KEEP if due_at is KEEP else checked_instant(due_at, "due_at")
    new_link: str | Keep | None = tracker_url
    if isinstance(tracker_url, str):
        new_link = rules.tracker_url(tracker_url) if tracker_url.strip() else None

    with ctx.db.write() as session:
        item = _item(session, actor, item_id, lock=True)
        owner = None
        if owner_id is not KEEP and owner_id is not None:
            owner = _owner(session, owner_id, item.postmortem.team_id)

        now = ctx.clock.now()
        changes: list[str] = []
        if new_title is not None and new_title != item.title:
            item.title = new_title
            changes.append("title")
        if new_priority is not None and new_priority != item.priority:
            item.priority = new_priority
            changes.append(f"priority {new_priority}")
        if owner_id is not KEEP and (owner.id if owner else None) != item.owner_id:
            item.owner_id = owner.id if owner else None
            item.reminded_at = None
            changes.append(f"owner {owner.name if owner else 'nobody'}")
        if new_due is not KEEP and new_due != item.due_at:
            item.due_at = new_due
            item.reminded_at = None
            changes.append("due date")
        if new_link is not KEEP and new_link != item.tracker_url:
            item.tracker_url = new_link
            changes.append("tracker link")
        if new_status is not None and new_status != item.status:
            _set_status(item, new_status, now)
            changes.append(f"status {new_status.value.replace('_', ' ')}")
        if not changes:
            return _read(session, item.id, now)

        item.updated_at = now
        if new_status is not None:
            _on_timelines(
                session,
                item.postmortem,
                now,
                actor,
                f"Action item {item.title!r} is {item.status.replace('_', ' ')}",
                item,
            )
        if owner is not None and owner.id != actor.user_id:
            _tell_owner(session, ctx, item, owner, actor)
        _arm(session, ctx, item)
        _audit(session, actor, item, "action_item.update", now, changes=changes)
        return _read(session, item.id, now)


def get(ctx: Context, actor: Actor, item_id: int) -> ActionItemRead:
    with ctx.db.read() as session:
        item = _item(session, actor, item_id)
        return _read(session, item.id, ctx.clock.now())


def list_all(
    ctx: Context,
    actor: Actor,
    *,
    status: str | None = None,
    owner_id: int | None = None,
    overdue: bool = False,
    limit: int = 200,
) -> list[ActionItemRead]:
    """Action items across every incident the actor may see, the soonest due
    first (items without a due date last). `status` "pending" means open or in
    progress."""
    query = select(ActionItem).options(
        selectinload(ActionItem.owner),
        selectinload(ActionItem.runbook),
        selectinload(ActionItem.postmortem),
    )
    if status == "pending":
        query = query.where(ActionItem.status.in_([s.value for s in rules.PENDING]))
    elif status is not None:
        wanted = rules.choice(rules.ActionStatus, status, "an action item status")
        query = query.where(ActionItem.status == wanted)
    if owner_id is not None:
        query = query.where(ActionItem.owner_id == owner_id)
    limit = max(1, min(limit, 1000))
    now = ctx.clock.now()
    if overdue:
        query = query.where(
            ActionItem.status.in_([s.value for s in rules.PENDING]),
            ActionItem.due_at <= now,
        )
    query = query.order_by(
        ActionItem.due_at.is_(None), ActionItem.due_at, ActionItem.id
    )

    with ctx.db.read() as session:
        found = []
        for item in session.scalars(query):
            if can_see_team(actor, item.postmortem.team_id):
                found.append(_to_read(session, item, now))
            if len(found) >= limit:
                break
        return found


def items_of(
    session: Session, postmortem_id: int, now: datetime
) -> list[ActionItemRead]:
    rows = session.scalars(
        select(ActionItem)
        .where(ActionItem.postmortem_id == postmortem_id)
        .options(selectinload(ActionItem.owner), selectinload(ActionItem.runbook))
        .order_by(ActionItem.id)
    )
    return [_to_read(session, row, now) for row in rows]


# Reminders -----------------------------------------------------------------


def remind_overdue(
    session: Session, ctx: Context, timer: Timer, incident: Incident | None
) -> None:
    """The `action_item_overdue` timer handler: tell the owner of an item
    still pending past its due date, once per due date (safe to run again)."""
    item = session.get(ActionItem, int(timer.payload.get("item_id", 0)))
    if item is None or item.status not in rules.PENDING or item.owner_id is None:
        return
    if item.due_at is None or item.reminded_at is not None:
        return
    if item.due_at.isoformat() != timer.payload.get("due_at"):
        return
    now = ctx.clock.now()
    if item.due_at > now:
        return

    item.reminded_at = now
    notices.notify(
        session,
        ctx,
        [item.owner_id],
        subject=f"[Tocsin] action item overdue: {item.title}",
        body=(
            f"Your action item from the postmortem {item.postmortem.title!r} was "
            f"due {item.due_at:%Y-%m-%d %H:%M} UTC and is "
            f"{item.status.replace('_', ' ')}:\n\n  {item.title}\n\nOpen: "
            f"{ctx.settings.base_url.rstrip('/')}/postmortems/{item.postmortem_id}"
        ),
        topic="action_item_overdue",
    )
    _audit(session, SYSTEM, item, "action_item.remind", now)


def _arm(session: Session, ctx: Context, item: ActionItem) -> None:
    session.execute(
        delete(Timer).where(
            Timer.kind == ACTION_ITEM_OVERDUE,
            Timer.payload["item_id"].as_integer() == item.id,
        )
    )
    if item.due_at is None or item.owner_id is None or item.reminded_at is not None:
        return
    if item.status not in rules.PENDING:
        return
    session.add(
        Timer(
            kind=ACTION_ITEM_OVERDUE,
            due_at=item.due_at,
            payload={"item_id": item.id, "due_at": item.due_at.isoformat()},
            created_at=ctx.clock.now(),
        )
    )


# Runbook changes close documentation items ---------------------------------


@event.listens_for(Session, "before_flush")
def _close_documented(session: Session, flush_context: Any, instances: Any) -> None:
    """When a runbook's updated_at moves past the time an update_documentation
    item saw, the documentation was changed: the item is done. This runs in
    the runbook edit's own transaction, so both commit or neither."""
    changed = [
        runbook
        for runbook in session.dirty
        if isinstance(runbook, Runbook)
        and inspect(runbook).attrs.updated_at.history.has_changes()
    ]
    if not changed:
        return

    with session.no_autoflush:
        for runbook in changed:
            items = session.scalars(
                select(ActionItem).where(
                    ActionItem.runbook_id == runbook.id,
                    ActionItem.status.in_([s.value for s in rules.PENDING]),
                )
            ).all()
            for item in items:
                if item.runbook_seen_at and runbook.updated_at <= item.runbook_seen_at:
                    continue
                _set_status(item, rules.ActionStatus.DONE, runbook.updated_at)
                item.updated_at = runbook.updated_at
                _audit(
                    session,
                    SYSTEM,
                    item,
                    "action_item.runbook_updated",
                    runbook.updated_at,
                    runbook_id=runbook.id,
                )


# Helpers -------------------------------------------------------------------


def _set_status(item: ActionItem, status: rules.ActionStatus, now: datetime) -> None:
    item.status = status
    item.closed_at = None if status in rules.PENDING else now


def _item(
    session: Session, actor: Actor, item_id: int, *, lock: bool = False
) -> ActionItem:
    item = None
    if 0 < item_id <= MAX_ID:
        query = select(ActionItem).where(ActionItem.id == item_id)
        item = session.scalar(query.with_for_update() if lock else query)
    if item is None or not can_see_team(actor, item.postmortem.team_id):
        raise NotFound(f"no action item {item_id}")
    return item


def _owner(session: Session, owner_id: int | None, team_id: int | None) -> User | None:
    """An active responder (or more) who can see the postmortem's team: anyone
    else would be told of an item they could neither open nor close."""
    if owner_id is None:
        return None
    user = session.get(User, owner_id) if 0 < owner_id <= MAX_ID else None
    if user is None or not user.active:
        raise NotFound(f"no active user with id {owner_id}")
    if user.role == Role.VIEWER:
        raise InvalidInput(f"{user.name} is a viewer and cannot own an action item")
    if not can_see_team(actor_for(session, user, kind="user"), team_id):
        raise InvalidInput(
            f"{user.name} cannot own this action item: they are not in the "
            "postmortem's team"
        )
    return user


def _runbook(session: Session, runbook_id: int | None) -> Runbook | None:
    if runbook_id is None:
        return None
    runbook = session.get(Runbook, runbook_id) if 0 < runbook_id <= MAX_ID else None
    if runbook is None:
        raise NotFound(f"no runbook {runbook_id}")
    return runbook


def _on_timelines(
    session: Session,
    postmortem: Postmortem,
    now: datetime,
    actor: Actor,
    message: str,
    item: ActionItem,
) -> None:
    for incident_id in session.scalars(
        select(PostmortemIncident.incident_id).where(
            PostmortemIncident.postmortem_id == postmortem.id
        )
    ):
        incident = session.get(Incident, incident_id)
        if incident is not None:
            add_timeline(
                session,
                incident,
                at=now,
                kind="action_item",
                message=message,
                actor=actor,
                action_item_id=item.id,
            )


def _tell_owner(
    session: Session, ctx: Context, item: ActionItem, owner: User, actor: Actor
) -> None:
    due = f"\nDue: {item.due_at:%Y-%m-%d %H:%M} UTC" if item.due_at else ""
    notices.notify(
        session,
        ctx,
        [owner.id],
        subject=f"[Tocsin] action item for you: {item.title}",
        body=(
            f"{actor.label} gave you an action item ({item.priority} priority):"
            f"\n\n  {item.title}\n{due}\n\nOpen: "
            f"{ctx.settings.base_url.rstrip('/')}/postmortems/{item.postmortem_id}"
        ),
        topic="action_item_assigned",
    )


def _audit(
    session: Session,
    actor: Actor,
    item: ActionItem,
    action: str,
    now: datetime,
    **detail: Any,
) -> None:
    audit(
        session,
        actor,
        at=now,
        action=action,
        object_type="action_item",
        object_id=item.id,
        postmortem_id=item.postmortem_id,
        status=item.status,
        owner_id=item.owner_id,
        **detail,
    )


def _read(session: Session, item_id: int, now: datetime) -> ActionItemRead:
    session.flush()
    item = session.get(ActionItem, item_id, populate_existing=True)
    if item is None:
        raise NotFound("action item vanished")
    return _to_read(session, item, now)


def _to_read(session: Session, item: ActionItem, now: datetime) -> ActionItemRead:
    return ActionItemRead(
        id=item.id,
        postmortem_id=item.postmortem_id,
        incident_numbers=incident_numbers(session, item.postmortem_id),
        title=item.title,
        kind=item.kind,
        priority=item.priority,
        status=item.status,
        owner=UserRef.model_validate(item.owner) if item.owner else None,
        due_at=item.due_at,
        overdue=bool(
            item.due_at and item.due_at <= now and item.status in rules.PENDING
        ),
        tracker_url=item.tracker_url,
        runbook=item.runbook.name if item.runbook else None,
        created_at=item.created_at,
        closed_at=item.closed_at,
    )
