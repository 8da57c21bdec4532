"""Timeline notes: tags, pins, edits with history, and who may edit."""

from __future__ import annotations

import pytest

from tests.builders import actor_of, make_user
from tests.services.response.conftest import Crew, timeline
from tocsin.domain.access import SYSTEM
from tocsin.errors import Forbidden, InvalidInput, NotFound
from tocsin.services import incidents, notes
from tocsin.services.context import Context


def test_a_tagged_note_is_on_the_timeline(ctx: Context, crew: Crew) -> None:
    """The note's text and tag show on the timeline entry."""
    note = notes.add(ctx, crew.ann, crew.number, "Error rate rose at 14:02", "finding")

    [entry] = timeline(ctx, "note")
    assert (entry.message, entry.data["tag"]) == ("Error rate rose at 14:02", "finding")
    assert (note.tag, note.author) == ("finding", "ann@example.com")


def test_the_incident_note_route_still_works_and_takes_a_tag(
    ctx: Context, crew: Crew
) -> None:
    """incidents.add_note (the API's POST .../notes) stores a note row too."""
    detail = incidents.add_note(ctx, crew.ann, crew.number, "Rolled back", "action")

    assert detail.timeline[-1].message == "Rolled back"
    [note] = notes.list_notes(ctx, crew.vic, crew.number)
    assert note.tag == "action"


def test_edits_keep_every_earlier_version(ctx: Context, crew: Crew) -> None:
    """Two edits leave two versions, oldest first, and the timeline shows the last."""
    note = notes.add(ctx, crew.ann, crew.number, "DB slow")
    notes.edit(ctx, crew.ann, crew.number, note.id, text="DB slow: disk full")
    edited = notes.edit(ctx, crew.ann, crew.number, note.id, tag="diagnostic_step")

    versions = notes.versions(ctx, crew.vic, crew.number, note.id)
    assert [(v.text, v.tag) for v in versions] == [
        ("DB slow", None),
        ("DB slow: disk full", None),
    ]
    assert (edited.text, edited.tag, edited.edits) == (
        "DB slow: disk full",
        "diagnostic_step",
        2,
    )
    [entry] = timeline(ctx, "note")
    assert entry.message == "DB slow: disk full"


def test_only_the_author_or_a_manager_edits(ctx: Context, crew: Crew) -> None:
    """Bob cannot edit Ann's note; an admin can; nobody's edit is half-kept."""
    note = notes.add(ctx, crew.ann, crew.number, "Decided to fail over", "decision")

    with pytest.raises(Forbidden):
        notes.edit(ctx, crew.bob, crew.number, note.id, text="Decided to wait")
    assert notes.versions(ctx, crew.ann, crew.number, note.id) == []

    notes.edit(ctx, crew.adam, crew.number, note.id, text="Decided to fail over (DC2)")


def test_notes_by_tocsin_itself_are_edited_by_managers_only(
    ctx: Context, crew: Crew
) -> None:
    """A note without a user author cannot be claimed by a responder."""
    incidents.add_note(ctx, SYSTEM, crew.number, "imported note")
    [note] = notes.list_notes(ctx, crew.ann, crew.number)

    with pytest.raises(Forbidden):
        notes.edit(ctx, crew.ann, crew.number, note.id, text="mine now")


def test_pinning_filters_the_list(ctx: Context, crew: Crew) -> None:
    """Pinned notes can be listed alone; unpinning takes them out again."""
    first = notes.add(ctx, crew.ann, crew.number, "first")
    notes.add(ctx, crew.ann, crew.number, "second", "finding")

    notes.pin(ctx, crew.bob, crew.number, first.id, pinned=True)
    assert [
        n.text for n in notes.list_notes(ctx, crew.vic, crew.number, pinned=True)
    ] == ["first"]
    assert [
        n.text for n in notes.list_notes(ctx, crew.vic, crew.number, tag="finding")
    ] == ["second"]

    notes.pin(ctx, crew.bob, crew.number, first.id, pinned=False)
    assert notes.list_notes(ctx, crew.vic, crew.number, pinned=True) == []


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("", None),
        ("   ", None),
        ("nul\x00", None),
        ("x" * 20_001, None),
        ("ok", "idea"),
    ],
)
def test_bad_notes_are_refused_and_nothing_is_stored(
    ctx: Context, crew: Crew, text: str, tag: str | None
) -> None:
    """Empty, NUL-holding, too long or wrongly tagged: InvalidInput, no note."""
    with pytest.raises(InvalidInput):
        notes.add(ctx, crew.ann, crew.number, text, tag)

    assert notes.list_notes(ctx, crew.ann, crew.number) == []
    assert timeline(ctx, "note") == []


def test_markdown_in_notes_is_rendered_safely(ctx: Context, crew: Crew) -> None:
    """A note's HTML form escapes raw HTML and drops javascript: links."""
    note = notes.add(
        ctx, crew.ann, crew.number, "**bold** <script>x()</script> [a](javascript:x)"
    )

    assert "<strong>bold</strong>" in note.text_html
    assert "<script>" not in note.text_html
    assert 'href="javascript' not in note.text_html


def test_notes_of_other_incidents_are_not_found(ctx: Context, crew: Crew) -> None:
    """A note id is looked up within the incident named."""
    with pytest.raises(NotFound):
        notes.pin(ctx, crew.ann, crew.number, 4242, pinned=True)


def test_a_manager_may_edit_anyones_note(ctx: Context, crew: Crew) -> None:
    """Mia, a manager of Ops, corrects Ann's note; the old text is kept."""
    mia = actor_of(
        ctx, make_user(ctx, "mia@example.com", role="manager", password=None)
    )
    note = notes.add(ctx, crew.ann, crew.number, "DB at 90%")

    notes.edit(ctx, mia, crew.number, note.id, text="DB at 99%")

    assert [v.text for v in notes.versions(ctx, mia, crew.number, note.id)] == [
        "DB at 90%"
    ]
