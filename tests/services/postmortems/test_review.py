"""Review: draft -> in review (reviewers told, comments) -> published, and
reopening for a correction."""

from __future__ import annotations

import pytest

from tests.services.response.conftest import Crew, outbox, run_worker, timeline
from tocsin.clock import ManualClock
from tocsin.domain.access import Actor, Role
from tocsin.errors import Conflict, Forbidden, InvalidInput
from tocsin.services import postmortem_review, postmortems
from tocsin.services.context import Context


def _in_review(ctx: Context, crew: Crew) -> int:
    pm = postmortems.create(ctx, crew.ann, [crew.number]).id
    postmortem_review.submit(ctx, crew.ann, pm, [crew.bob_user.id])
    return pm


def test_submitting_tells_the_reviewers(ctx: Context, crew: Crew) -> None:
    """Bob is asked to review; the incident's timeline says so."""
    pm = _in_review(ctx, crew)

    read = postmortems.get(ctx, crew.ann, pm)
    assert read.status == "in_review"
    assert [r.user.email for r in read.reviewers] == ["bob@example.com"]
    [notice] = outbox(ctx, "postmortem_review")
    assert notice.recipient == "bob@example.com"
    assert timeline(ctx, "postmortem_sent")


def test_publishing_waits_for_every_approval(
    ctx: Context, crew: Crew, clock: ManualClock
) -> None:
    """Ann cannot publish before Bob approves; then she can; then it is read-only."""
    pm = _in_review(ctx, crew)

    with pytest.raises(Conflict, match="Bob"):
        postmortem_review.publish(ctx, crew.ann, pm)
    with pytest.raises(Forbidden):
        postmortem_review.approve(ctx, crew.ann, pm)
    postmortem_review.approve(ctx, crew.bob, pm)
    published = postmortem_review.publish(ctx, crew.ann, pm)

    assert published.status == "published"
    assert published.published_at == clock.now()
    with pytest.raises(Conflict):
        postmortems.update(ctx, crew.ann, pm, sections={"lessons": "late"})
    assert timeline(ctx, "postmortem_published")


def test_a_manager_may_publish_early(ctx: Context, crew: Crew) -> None:
    """A manager (here an admin, above manager) publishes without approvals."""
    pm = _in_review(ctx, crew)

    assert postmortem_review.publish(ctx, crew.adam, pm).status == "published"


def test_comments_tell_the_author(ctx: Context, crew: Crew) -> None:
    """A viewer's comment is kept and Ann, the author, is told."""
    pm = _in_review(ctx, crew)

    read = postmortem_review.comment(ctx, crew.vic, pm, "Add the customer count")

    assert [(c.author, c.text) for c in read.comments] == [
        ("vic@example.com", "Add the customer count")
    ]
    [notice] = outbox(ctx, "postmortem_comment")
    assert notice.recipient == "ann@example.com"
    with pytest.raises(InvalidInput):
        postmortem_review.comment(ctx, crew.vic, pm, "  ")


def test_reopening_clears_approvals_and_rearms_the_reminder(
    ctx: Context, crew: Crew, clock: ManualClock
) -> None:
    """A reopened postmortem is a draft again, to be approved again, and is
    reminded of when overdue; a published one never is."""
    pm = _in_review(ctx, crew)
    postmortem_review.approve(ctx, crew.bob, pm)
    postmortem_review.publish(ctx, crew.ann, pm)

    clock.advance(days=6)
    run_worker(ctx)
    assert outbox(ctx, "postmortem_overdue") == []

    draft = postmortem_review.reopen(ctx, crew.ann, pm)
    run_worker(ctx)

    assert draft.status == "draft"
    assert draft.reviewers[0].approved_at is None
    assert len(outbox(ctx, "postmortem_overdue")) == 2


def test_moves_out_of_order_and_bad_reviewers_are_refused(
    ctx: Context, crew: Crew
) -> None:
    """A draft cannot be published; viewers cannot review; nothing changes."""
    pm = postmortems.create(ctx, crew.ann, [crew.number]).id

    with pytest.raises(Conflict):
        postmortem_review.publish(ctx, crew.adam, pm)
    with pytest.raises(InvalidInput):
        postmortem_review.submit(ctx, crew.ann, pm, [crew.vic.user_id or 0])
    with pytest.raises(InvalidInput):
        postmortem_review.submit(ctx, crew.ann, pm, [])
    outsider = Actor(kind="token", label="x", user_id=None, role=Role.VIEWER)
    with pytest.raises(Forbidden):
        postmortem_review.submit(ctx, outsider, pm, [crew.bob_user.id])

    assert postmortems.get(ctx, crew.ann, pm).status == "draft"


def test_a_reviewer_must_be_able_to_see_the_postmortem(
    ctx: Context, crew: Crew
) -> None:
    """Olga responds for Data, not Ops: she could neither open nor approve
    Ops' postmortem, so she is refused as a reviewer and told nothing."""
    pm = postmortems.create(ctx, crew.ann, [crew.number]).id

    with pytest.raises(InvalidInput, match="Olga"):
        postmortem_review.submit(
            ctx, crew.ann, pm, [crew.bob_user.id, crew.olga_user.id]
        )

    assert postmortems.get(ctx, crew.ann, pm).status == "draft"
    assert outbox(ctx, "postmortem_review") == []
    # An admin sees every team, so may review any postmortem.
    postmortem_review.submit(ctx, crew.ann, pm, [crew.adam.user_id or 0])
