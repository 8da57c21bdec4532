"""Tasks: owners, due times, statuses, and one reminder when overdue."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.services.response.conftest import Crew, outbox, run_worker, timeline
from tocsin.clock import ManualClock
from tocsin.errors import Forbidden, InvalidInput, NotFound
from tocsin.services import tasks
from tocsin.services.context import Context


def test_a_task_with_an_owner_tells_them_and_is_on_the_timeline(
    ctx: Context, crew: Crew, clock: ManualClock
) -> None:
    """Bob is told of his task; the task is open and on the timeline."""
    due = clock.now() + timedelta(minutes=30)

    task = tasks.create(
        ctx,
        crew.ann,
        crew.number,
        title="Page the DBA",
        owner_id=crew.bob_user.id,
        due_at=due,
    )

    assert (task.status, task.owner and task.owner.email) == ("open", "bob@example.com")
    assert task.due_at == due
    [notice] = outbox(ctx, "task_assigned")
    assert notice.recipient == "bob@example.com"
    assert "Page the DBA" in timeline(ctx, "task_added")[0].message


def test_an_overdue_task_reminds_its_owner_once(
    ctx: Context, crew: Crew, clock: ManualClock
) -> None:
    """Past its due time the owner is reminded once, however often the worker runs."""
    tasks.create(
        ctx,
        crew.ann,
        crew.number,
        title="Rotate keys",
        owner_id=crew.bob_user.id,
        due_at=clock.now() + timedelta(minutes=10),
    )
    run_worker(ctx)
    assert outbox(ctx, "task_overdue") == []

    clock.advance(minutes=11)
    run_worker(ctx)
    clock.advance(minutes=30)
    run_worker(ctx)

    [reminder] = outbox(ctx, "task_overdue")
    assert reminder.recipient == "bob@example.com"
    assert len(timeline(ctx, "task_overdue")) == 1
    assert tasks.list_tasks(ctx, crew.vic, crew.number)[0].overdue


def test_a_done_task_is_not_reminded(
    ctx: Context, crew: Crew, clock: ManualClock
) -> None:
    """Finishing the task before its due time cancels the reminder."""
    task = tasks.create(
        ctx,
        crew.ann,
        crew.number,
        title="Check backups",
        owner_id=crew.bob_user.id,
        due_at=clock.now() + timedelta(minutes=10),
    )
    tasks.update(ctx, crew.bob, crew.number, task.id, status="done")

    clock.advance(minutes=20)
    run_worker(ctx)

    assert outbox(ctx, "task_overdue") == []
    assert len(timeline(ctx, "task_done")) == 1


def test_moving_the_due_time_moves_the_reminder(
    ctx: Context, crew: Crew, clock: ManualClock
) -> None:
    """A later due time means no reminder at the old time, one at the new."""
    task = tasks.create(
        ctx,
        crew.ann,
        crew.number,
        title="Failover",
        owner_id=crew.bob_user.id,
        due_at=clock.now() + timedelta(minutes=10),
    )
    tasks.update(
        ctx, crew.ann, crew.number, task.id, due_at=clock.now() + timedelta(hours=1)
    )

    clock.advance(minutes=20)
    run_worker(ctx)
    assert outbox(ctx, "task_overdue") == []

    clock.advance(hours=1)
    run_worker(ctx)
    assert len(outbox(ctx, "task_overdue")) == 1


def test_status_changes_are_on_the_timeline(ctx: Context, crew: Crew) -> None:
    """In progress, then cancelled: both are recorded."""
    task = tasks.create(ctx, crew.ann, crew.number, title="Drain node")

    tasks.update(ctx, crew.ann, crew.number, task.id, status="in_progress")
    updated = tasks.update(ctx, crew.ann, crew.number, task.id, status="cancelled")

    assert updated.status == "cancelled"
    assert "status in progress" in timeline(ctx, "task_updated")[0].message
    assert len(timeline(ctx, "task_cancelled")) == 1


@pytest.mark.parametrize(
    "change",
    [{"status": "finished"}, {"title": ""}, {"title": "x" * 501}, {"owner_id": 0}],
)
def test_bad_changes_are_refused_and_change_nothing(
    ctx: Context, crew: Crew, change: dict[str, object]
) -> None:
    """A bad status, title or owner leaves the task as it was."""
    task = tasks.create(ctx, crew.ann, crew.number, title="Drain node")

    with pytest.raises((InvalidInput, NotFound)):
        tasks.update(ctx, crew.ann, crew.number, task.id, **change)  # type: ignore[arg-type]

    [after] = tasks.list_tasks(ctx, crew.ann, crew.number)
    assert (after.title, after.status, after.owner) == ("Drain node", "open", None)


def test_naive_due_times_and_outsiders_are_refused(ctx: Context, crew: Crew) -> None:
    """A due time without offset is InvalidInput; an owner of another team too."""
    with pytest.raises(InvalidInput, match="time zone"):
        tasks.create(
            ctx,
            crew.ann,
            crew.number,
            title="x",
            due_at=ctx.clock.now().replace(tzinfo=None),
        )
    with pytest.raises(InvalidInput, match="cannot take part"):
        tasks.create(ctx, crew.ann, crew.number, title="x", owner_id=crew.olga_user.id)
    with pytest.raises(Forbidden):
        tasks.create(ctx, crew.vic, crew.number, title="x")

    assert tasks.list_tasks(ctx, crew.ann, crew.number) == []


def test_a_task_of_another_incident_is_not_found(ctx: Context, crew: Crew) -> None:
    """Task ids are looked up within the incident named."""
    with pytest.raises(NotFound):
        tasks.update(ctx, crew.ann, crew.number, 12345, status="done")
