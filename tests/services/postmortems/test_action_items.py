"""Action items: owners, kinds, tracker links, overdue reminders, the list
across incidents, and documentation items closed by a runbook change."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.services.postmortems.conftest import open_incident
from tests.services.response.conftest import Crew, outbox, run_worker, timeline
from tocsin.clock import ManualClock
from tocsin.errors import Forbidden, InvalidInput, NotFound
from tocsin.services import action_items, postmortems, runbooks
from tocsin.services.context import Context
from tocsin.services.runbooks import RunbookInput


def _postmortem(ctx: Context, crew: Crew) -> int:
    return postmortems.create(ctx, crew.ann, [crew.number]).id


def test_an_item_with_an_owner_tells_them_and_shows_in_the_postmortem(
    ctx: Context, crew: Crew, clock: ManualClock
) -> None:
    """Bob is told of his item; it is open, on the timeline and in the postmortem."""
    pm = _postmortem(ctx, crew)

    item = action_items.create(
        ctx,
        crew.ann,
        pm,
        title="Alert on disk growth",
        kind="detect",
        priority="high",
        owner_id=crew.bob_user.id,
        due_at=clock.now() + timedelta(days=7),
        tracker_url="https://tracker.example/OPS-1",
    )

    assert (item.status, item.kind, item.priority) == ("open", "detect", "high")
    assert item.incident_numbers == [crew.number]
    [notice] = outbox(ctx, "action_item_assigned")
    assert notice.recipient == "bob@example.com"
    assert timeline(ctx, "action_item")
    read = postmortems.get(ctx, crew.ann, pm)
    assert [i.title for i in read.action_items] == ["Alert on disk growth"]
    assert "Alert on disk growth (detect, high, Bob" in postmortems.export(
        ctx, crew.ann, pm, "markdown"
    )


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "data:text/html,hi",
        "file:///etc/passwd",
        "ftp://tracker.example/x",
        "https://",
        "https://tracker.example/a b",
    ],
)
def test_a_tracker_link_must_be_http_or_https(
    ctx: Context, crew: Crew, link: str
) -> None:
    """Links that could run or read something are refused and nothing is stored."""
    pm = _postmortem(ctx, crew)

    with pytest.raises(InvalidInput):
        action_items.create(
            ctx, crew.ann, pm, title="Fix", kind="prevent", tracker_url=link
        )

    assert postmortems.get(ctx, crew.ann, pm).action_items == []


def test_bad_kinds_priorities_and_statuses_are_refused(
    ctx: Context, crew: Crew
) -> None:
    """Unknown values name the choices; a viewer may not add items."""
    pm = _postmortem(ctx, crew)

    with pytest.raises(InvalidInput, match="prevent, detect"):
        action_items.create(ctx, crew.ann, pm, title="x", kind="blame")
    with pytest.raises(InvalidInput):
        action_items.create(ctx, crew.ann, pm, title="x", kind="detect", priority="9")
    with pytest.raises(InvalidInput):
        action_items.create(ctx, crew.ann, pm, title="x", kind="update_documentation")
    with pytest.raises(Forbidden):
        action_items.create(ctx, crew.vic, pm, title="x", kind="detect")
    item = action_items.create(ctx, crew.ann, pm, title="x", kind="detect")
    with pytest.raises(InvalidInput):
        action_items.update(ctx, crew.ann, item.id, status="finished")


def test_an_overdue_item_reminds_its_owner_once(
    ctx: Context, crew: Crew, clock: ManualClock
) -> None:
    """Past the due date the owner is reminded once; a done item never is."""
    pm = _postmortem(ctx, crew)
    due = clock.now() + timedelta(days=2)
    action_items.create(
        ctx, crew.ann, pm, title="A", kind="prevent", owner_id=crew.bob_user.id,
        due_at=due,
    )  # fmt: skip
    done = action_items.create(
        ctx, crew.ann, pm, title="B", kind="prevent", owner_id=crew.bob_user.id,
        due_at=due,
    )  # fmt: skip
    action_items.update(ctx, crew.bob, done.id, status="done")

    clock.advance(days=2, minutes=1)
    run_worker(ctx)
    clock.advance(days=1)
    run_worker(ctx)

    [reminder] = outbox(ctx, "action_item_overdue")
    assert "A" in reminder.subject
    overdue = action_items.list_all(ctx, crew.ann, overdue=True)
    assert [i.title for i in overdue] == ["A"]


def test_the_list_spans_incidents_and_teams_see_only_their_own(
    ctx: Context, crew: Crew, clock: ManualClock
) -> None:
    """Items of two postmortems list soonest due first; Olga's team sees none."""
    first = _postmortem(ctx, crew)
    second = postmortems.create(ctx, crew.ann, [open_incident(ctx, "cpu")]).id
    action_items.create(
        ctx, crew.ann, first, title="Later", kind="mitigate",
        due_at=clock.now() + timedelta(days=9),
    )  # fmt: skip
    action_items.create(
        ctx, crew.ann, second, title="Sooner", kind="prevent",
        due_at=clock.now() + timedelta(days=1),
    )  # fmt: skip
    action_items.create(ctx, crew.ann, second, title="Whenever", kind="detect")

    listed = action_items.list_all(ctx, crew.vic)

    assert [i.title for i in listed] == ["Sooner", "Later", "Whenever"]
    assert action_items.list_all(ctx, crew.olga) == []
    assert [i.title for i in action_items.list_all(ctx, crew.adam)] == [
        "Sooner",
        "Later",
        "Whenever",
    ]
    with pytest.raises(NotFound):
        action_items.get(ctx, crew.olga, listed[0].id)


def test_a_documentation_item_closes_when_its_runbook_changes(
    ctx: Context, crew: Crew, clock: ManualClock
) -> None:
    """Editing the linked runbook marks the item done, in the same transaction."""
    book = runbooks.create(ctx, crew.adam, RunbookInput(name="Disk full", body="Old"))
    pm = _postmortem(ctx, crew)
    item = action_items.create(
        ctx, crew.ann, pm, title="Document log rotation",
        kind="update_documentation", runbook_id=book.id,
    )  # fmt: skip
    assert item.runbook == "Disk full"

    clock.advance(hours=1)
    runbooks.replace(
        ctx, crew.adam, book.id, RunbookInput(name="Disk full", body="Rotate logs")
    )

    closed = action_items.get(ctx, crew.ann, item.id)
    assert closed.status == "done"
    assert closed.closed_at == clock.now()


def test_a_cleared_owner_and_reopened_item(
    ctx: Context, crew: Crew, clock: ManualClock
) -> None:
    """None clears the owner; reopening a done item clears its closing time."""
    pm = _postmortem(ctx, crew)
    item = action_items.create(
        ctx, crew.ann, pm, title="x", kind="detect", owner_id=crew.bob_user.id
    )

    done = action_items.update(ctx, crew.ann, item.id, owner_id=None, status="done")
    assert (done.owner, done.closed_at) == (None, clock.now())

    again = action_items.update(ctx, crew.ann, item.id, status="open")
    assert (again.status, again.closed_at) == ("open", None)


def test_an_owner_must_be_able_to_see_the_item(ctx: Context, crew: Crew) -> None:
    """Olga responds for Data, not Ops: she could not open Ops' postmortem or
    close its items, so she is refused as an owner, on create and on update."""
    pm = _postmortem(ctx, crew)

    with pytest.raises(InvalidInput, match="Olga"):
        action_items.create(
            ctx, crew.ann, pm, title="x", kind="detect", owner_id=crew.olga_user.id
        )
    item = action_items.create(ctx, crew.ann, pm, title="y", kind="detect")
    with pytest.raises(InvalidInput, match="Olga"):
        action_items.update(ctx, crew.ann, item.id, owner_id=crew.olga_user.id)

    assert action_items.get(ctx, crew.ann, item.id).owner is None
    assert [i.title for i in action_items.list_all(ctx, crew.ann)] == ["y"]
    assert outbox(ctx, "action_item_assigned") == []
