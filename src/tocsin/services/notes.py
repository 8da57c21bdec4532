"""Timeline notes: what responders write down while they work, tagged as a
diagnostic step, a finding, a decision or an action; pinned to keep them in
sight; edited with every earlier version kept.

A note is an `incident_notes` row and a `note` entry on the timeline that
shows its latest text. Only its author may edit it, or a manager.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tocsin import markdown
from tocsin.domain.access import Actor, Role, require_role
from tocsin.errors import Forbidden, InvalidInput, NotFound
from tocsin.response_schemas import NoteRead, NoteVersionRead
from tocsin.services.context import Context
from tocsin.services.incident_scope import (
    MAX_ID,
    is_manager,
    locked_incident,
    visible_incident,
)
from tocsin.services.records import audit
from tocsin.store.models import Incident, IncidentNote, NoteVersion, TimelineEntry

MAX_NOTE = 20_000
MAX_VERSIONS = 100


class NoteTag(StrEnum):
    DIAGNOSTIC_STEP = "diagnostic_step"
    FINDING = "finding"
    DECISION = "decision"
    ACTION = "action"


def checked(text: str, tag: str | None) -> tuple[str, NoteTag | None]:
    """The note's text stripped and its tag; InvalidInput for an empty, too
    long or NUL-holding text or an unknown tag. (Other control characters are
    kept: every adapter escapes them when it shows a note.)"""
    text = text.strip()
    if not text:
        raise InvalidInput("a note needs some text")
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"a note is at most {MAX_NOTE} characters")
    if "\x00" in text:
        raise InvalidInput("a note cannot contain NUL characters")
    if tag is None:
        return text, None
    try:
        return text, NoteTag(tag)
    except ValueError:
        tags = ", ".join(t.value for t in NoteTag)
        raise InvalidInput(f"a note's tag is one of {tags}") from None


def add_locked(
    session: Session,
    ctx: Context,
    incident: Incident,
    actor: Actor,
    text: str,
    tag: NoteTag | None = None,
) -> IncidentNote:
    """Add a checked note to an incident the caller has locked."""
    now = ctx.clock.now()
    incident.updated_at = now
    entry = TimelineEntry(
        incident_id=incident.id,
        at=now,
        kind="note",
        actor_user_id=actor.user_id,
        actor_label=actor.label,
        message=text,
        data={"tag": tag.value if tag else None},
    )
    session.add(entry)
    session.flush()
    note = IncidentNote(
        incident_id=incident.id,
        timeline_entry_id=entry.id,
        author_user_id=actor.user_id,
        author_label=actor.label,
        text=text,
        tag=tag,
        created_at=now,
        updated_at=now,
    )
    session.add(note)
    session.flush()
    entry.data = {"tag": note.tag, "note_id": note.id}
    audit(
        session,
        actor,
        at=now,
        action="incident.note",
        object_type="incident",
        object_id=incident.id,
        number=incident.number,
        note_id=note.id,
        tag=note.tag,
    )
    return note


def add(
    ctx: Context, actor: Actor, number: int, text: str, tag: str | None = None
) -> NoteRead:
    require_role(actor, Role.RESPONDER)
    text, checked_tag = checked(text, tag)
    with ctx.db.write() as session:
        incident = locked_incident(session, actor, number)
        note = add_locked(session, ctx, incident, actor, text, checked_tag)
        return _read(note)


def edit(
    ctx: Context,
    actor: Actor,
    number: int,
    note_id: int,
    *,
    text: str | None = None,
    tag: str | None = None,
    clear_tag: bool = False,
) -> NoteRead:
    """Change a note's text or tag, keeping what it said before as a version.
    Only its author may, or a manager."""
    require_role(actor, Role.RESPONDER)
    if text is None and tag is None and not clear_tag:
        raise InvalidInput("say what to change: the text or the tag")
    if tag is not None and clear_tag:
        raise InvalidInput("give a tag or clear it, not both")

    with ctx.db.write() as session:
        incident = locked_incident(session, actor, number)
        note = _note(session, incident, note_id)
        new_text, new_tag = checked(
            note.text if text is None else text,
            None if clear_tag else (tag if tag is not None else note.tag),
        )
        own = note.author_user_id is not None and note.author_user_id == actor.user_id
        if not own and not is_manager(actor):
            raise Forbidden("only a note's author or a manager may edit it")
        if new_text == note.text and new_tag == note.tag:
            return _read(note)
        if len(note.versions) >= MAX_VERSIONS:
            raise InvalidInput(f"a note keeps at most {MAX_VERSIONS} versions")

        now = ctx.clock.now()
        note.versions.append(
            NoteVersion(
                text=note.text,
                tag=note.tag,
                written_at=note.updated_at,
                replaced_at=now,
                replaced_by_label=actor.label,
            )
        )
        note.text, note.tag, note.updated_at = new_text, new_tag, now
        _show_on_timeline(session, note, now)
        audit(
            session,
            actor,
            at=now,
            action="incident.note_edit",
            object_type="incident_note",
            object_id=note.id,
            number=incident.number,
            tag=note.tag,
            version=len(note.versions),
        )
        session.flush()
        return _read(note)


def pin(
    ctx: Context, actor: Actor, number: int, note_id: int, *, pinned: bool
) -> NoteRead:
    """Pin (or unpin) a note; any responder may. Pinning a pinned note changes
    nothing."""
    require_role(actor, Role.RESPONDER)
    with ctx.db.write() as session:
        incident = locked_incident(session, actor, number)
        note = _note(session, incident, note_id)
        if note.pinned == pinned:
            return _read(note)

        now = ctx.clock.now()
        note.pinned = pinned
        audit(
            session,
            actor,
            at=now,
            action="incident.note_pin" if pinned else "incident.note_unpin",
            object_type="incident_note",
            object_id=note.id,
            number=incident.number,
        )
        return _read(note)


def list_notes(
    ctx: Context,
    actor: Actor,
    number: int,
    *,
    pinned: bool = False,
    tag: str | None = None,
) -> list[NoteRead]:
    """The incident's notes, oldest first; only pinned ones, or of one tag,
    when asked."""
    if tag is not None:
        _, checked_tag = checked("-", tag)
    with ctx.db.read() as session:
        incident = visible_incident(session, actor, number)
        query = (
            select(IncidentNote)
            .where(IncidentNote.incident_id == incident.id)
            .options(selectinload(IncidentNote.versions))
            .order_by(IncidentNote.id)
        )
        if pinned:
            query = query.where(IncidentNote.pinned.is_(True))
        if tag is not None:
            query = query.where(IncidentNote.tag == checked_tag)
        return [_read(note) for note in session.scalars(query)]


def versions(
    ctx: Context, actor: Actor, number: int, note_id: int
) -> list[NoteVersionRead]:
    """What the note said before each edit, oldest first."""
    with ctx.db.read() as session:
        incident = visible_incident(session, actor, number)
        note = _note(session, incident, note_id)
        return [NoteVersionRead.model_validate(v) for v in note.versions]


def _show_on_timeline(session: Session, note: IncidentNote, now: datetime) -> None:
    if note.timeline_entry_id is None:
        return
    entry = session.get(TimelineEntry, note.timeline_entry_id)
    if entry is not None:
        entry.message = note.text
        entry.data = {
            "tag": note.tag,
            "note_id": note.id,
            "edited_at": now.isoformat(),
            "versions": len(note.versions),
        }


def _note(session: Session, incident: Incident, note_id: int) -> IncidentNote:
    note = session.get(IncidentNote, note_id) if 0 < note_id <= MAX_ID else None
    if note is None or note.incident_id != incident.id:
        raise NotFound(f"no note {note_id} on incident #{incident.number}")
    return note


def _read(note: IncidentNote) -> NoteRead:
    return NoteRead(
        id=note.id,
        text=note.text,
        text_html=markdown.render(note.text),
        tag=note.tag,
        pinned=note.pinned,
        author=note.author_label,
        author_user_id=note.author_user_id,
        created_at=note.created_at,
        updated_at=note.updated_at,
        edits=len(note.versions),
    )
