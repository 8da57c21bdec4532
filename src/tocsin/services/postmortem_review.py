"""Reviewing a postmortem: draft -> in review -> published.

Submitting names the reviewers, who are told by email. Anyone who may see the
postmortem may comment. A reviewer approves; the postmortem is published once
every reviewer has approved, or earlier by a manager. Reopening (from review
or after publication) returns it to draft and clears the approvals, so the
corrected text is reviewed again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.domain import postmortems as rules
from tocsin.domain.access import Actor, Role, can_see_team, require_role
from tocsin.errors import Conflict, Forbidden, InvalidInput
from tocsin.postmortem_schemas import PostmortemRead
from tocsin.services import notices
from tocsin.services.context import Context
from tocsin.services.incident_scope import MAX_ID, checked_text, is_manager
from tocsin.services.postmortems import arm_due, locked, read_in
from tocsin.services.records import add_timeline, audit
from tocsin.services.users import actor_for
from tocsin.store.models import (
    Incident,
    Postmortem,
    PostmortemComment,
    PostmortemIncident,
    PostmortemReviewer,
    User,
)

MAX_COMMENT = 10_000
MAX_REVIEWERS = 20


def submit(
    ctx: Context, actor: Actor, postmortem_id: int, reviewer_ids: Sequence[int]
) -> PostmortemRead:
    """Send a draft for review by these people (1 to 20 active responders or
    more who can see the postmortem's team); each is told."""
    require_role(actor, Role.RESPONDER)
    wanted = list(dict.fromkeys(reviewer_ids))
    if not 1 <= len(wanted) <= MAX_REVIEWERS:
        raise InvalidInput(f"name 1 to {MAX_REVIEWERS} reviewers")

    with ctx.db.write() as session:
        postmortem = locked(session, actor, postmortem_id)
        rules.check_move(postmortem.status, rules.PostmortemStatus.IN_REVIEW)
        reviewers = [
            _reviewer(session, user_id, postmortem.team_id) for user_id in wanted
        ]

        now = ctx.clock.now()
        postmortem.reviewers = [
            PostmortemReviewer(user_id=user.id, added_at=now) for user in reviewers
        ]
        postmortem.status = rules.PostmortemStatus.IN_REVIEW
        postmortem.submitted_at = now
        postmortem.updated_at = now
        notices.notify(
            session,
            ctx,
            [user.id for user in reviewers if user.id != actor.user_id],
            subject=f"[Tocsin] please review the postmortem: {postmortem.title}",
            body=(
                f"{actor.label} asks you to review the postmortem "
                f"{postmortem.title!r}, due {postmortem.due_at:%Y-%m-%d} UTC.\n\n"
                f"Open: {_url(ctx, postmortem)}"
            ),
            topic="postmortem_review",
        )
        _on_timelines(session, postmortem, now, actor, "sent for review")
        _audit(session, actor, postmortem, "postmortem.submit", now, reviewers=wanted)
        return read_in(session, postmortem.id, now)


def comment(
    ctx: Context, actor: Actor, postmortem_id: int, text: str
) -> PostmortemRead:
    """Add a review comment; the author (when not the commenter) is told."""
    require_role(actor, Role.VIEWER)
    text = checked_text(text, "a comment", MAX_COMMENT)

    with ctx.db.write() as session:
        postmortem = locked(session, actor, postmortem_id)
        now = ctx.clock.now()
        session.add(
            PostmortemComment(
                postmortem_id=postmortem.id,
                author_user_id=actor.user_id,
                author_label=actor.label,
                text=text,
                created_at=now,
            )
        )
        author = postmortem.created_by_id
        if author is not None and author != actor.user_id:
            notices.notify(
                session,
                ctx,
                [author],
                subject=f"[Tocsin] comment on the postmortem: {postmortem.title}",
                body=f"{actor.label} wrote:\n\n{text}\n\nOpen: {_url(ctx, postmortem)}",
                topic="postmortem_comment",
            )
        _audit(session, actor, postmortem, "postmortem.comment", now)
        return read_in(session, postmortem.id, now)


def approve(ctx: Context, actor: Actor, postmortem_id: int) -> PostmortemRead:
    """Record the acting reviewer's approval. Forbidden for non-reviewers."""
    with ctx.db.write() as session:
        postmortem = locked(session, actor, postmortem_id)
        if postmortem.status != rules.PostmortemStatus.IN_REVIEW:
            raise Conflict("only a postmortem in review can be approved")
        mine = [r for r in postmortem.reviewers if r.user_id == actor.user_id]
        if not mine:
            raise Forbidden("only a reviewer of this postmortem can approve it")

        now = ctx.clock.now()
        if mine[0].approved_at is None:
            mine[0].approved_at = now
            _audit(session, actor, postmortem, "postmortem.approve", now)
        return read_in(session, postmortem.id, now)


def publish(ctx: Context, actor: Actor, postmortem_id: int) -> PostmortemRead:
    """Publish a reviewed postmortem: every reviewer approved, or the actor is
    a manager. Conflict otherwise."""
    require_role(actor, Role.RESPONDER)
    with ctx.db.write() as session:
        postmortem = locked(session, actor, postmortem_id)
        rules.check_move(postmortem.status, rules.PostmortemStatus.PUBLISHED)
        waiting = [r.user.name for r in postmortem.reviewers if r.approved_at is None]
        if waiting and not is_manager(actor):
            raise Conflict(
                "still waiting for approval from " + ", ".join(sorted(waiting))
            )

        now = ctx.clock.now()
        postmortem.status = rules.PostmortemStatus.PUBLISHED
        postmortem.published_at = now
        postmortem.updated_at = now
        arm_due(session, ctx, postmortem)
        _on_timelines(session, postmortem, now, actor, "published")
        _audit(
            session, actor, postmortem, "postmortem.publish", now, early=bool(waiting)
        )
        return read_in(session, postmortem.id, now)


def reopen(ctx: Context, actor: Actor, postmortem_id: int) -> PostmortemRead:
    """Back to draft, approvals cleared, for a correction."""
    require_role(actor, Role.RESPONDER)
    with ctx.db.write() as session:
        postmortem = locked(session, actor, postmortem_id)
        rules.check_move(postmortem.status, rules.PostmortemStatus.DRAFT)

        now = ctx.clock.now()
        postmortem.status = rules.PostmortemStatus.DRAFT
        postmortem.published_at = None
        postmortem.updated_at = now
        for reviewer in postmortem.reviewers:
            reviewer.approved_at = None
        arm_due(session, ctx, postmortem)
        _on_timelines(session, postmortem, now, actor, "reopened as a draft")
        _audit(session, actor, postmortem, "postmortem.reopen", now)
        return read_in(session, postmortem.id, now)


def _reviewer(session: Session, user_id: int, team_id: int | None) -> User:
    """An active responder (or more) who can see the postmortem: anyone else
    would be sent a link to a 404 and could never approve."""
    user = session.get(User, user_id) if 0 < user_id <= MAX_ID else None
    if user is None or not user.active:
        raise InvalidInput(f"no active user with id {user_id}")
    if user.role == Role.VIEWER:
        raise InvalidInput(f"{user.name} is a viewer and cannot review")
    if not can_see_team(actor_for(session, user, kind="user"), team_id):
        raise InvalidInput(
            f"{user.name} cannot see this postmortem: they are not in its team"
        )
    return user


def _url(ctx: Context, postmortem: Postmortem) -> str:
    return f"{ctx.settings.base_url.rstrip('/')}/postmortems/{postmortem.id}"


def _on_timelines(
    session: Session, postmortem: Postmortem, now: datetime, actor: Actor, what: str
) -> None:
    for incident in session.scalars(
        select(Incident)
        .join(PostmortemIncident, PostmortemIncident.incident_id == Incident.id)
        .where(PostmortemIncident.postmortem_id == postmortem.id)
    ):
        add_timeline(
            session,
            incident,
            at=now,
            kind="postmortem_" + what.split()[0],
            message=f"Postmortem {postmortem.id} {what} by {actor.label}",
            actor=actor,
            postmortem_id=postmortem.id,
        )


def _audit(
    session: Session,
    actor: Actor,
    postmortem: Postmortem,
    action: str,
    now: datetime,
    **detail: object,
) -> None:
    audit(
        session,
        actor,
        at=now,
        action=action,
        object_type="postmortem",
        object_id=postmortem.id,
        status=postmortem.status,
        **detail,
    )
