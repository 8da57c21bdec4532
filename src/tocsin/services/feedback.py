"""Participants' feedback after an incident: a short survey per person.

When an incident is resolved, a `feedback_invite` timer sends each participant
(added as one, or who acted on its timeline: acknowledged, resolved, wrote a
note) a link of their own, signed with HMAC-SHA256 under the secret key and valid
for 30 days; the link is the credential, so the survey needs no login. Each
person answers once, signed or anonymously: the row keeps an HMAC of their id
(to refuse a second answer) and their id only if they chose to sign.

The resolution is noticed by a flush hook on incidents, so the incident
service need not know about surveys; a reopened and re-resolved incident does
not invite anyone twice (the timeline says who was invited).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import mean
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.digits import plain_digits
from tocsin.domain.access import Actor
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.postmortem_schemas import FeedbackRead, FeedbackSummary
from tocsin.services import notices
from tocsin.services.context import Context
from tocsin.services.incident_scope import MAX_ID, checked_text, visible_incident
from tocsin.services.records import add_timeline, audit
from tocsin.store.models import (
    FeedbackAnswer,
    Incident,
    IncidentParticipant,
    TimelineEntry,
    Timer,
    User,
)

FEEDBACK_INVITE = "feedback_invite"
LINK_TTL = timedelta(days=30)
MAX_TEXT = 5000
_DOMAIN = b"tocsin.feedback-link.v1"


@dataclass(frozen=True)
class Survey:
    """What the survey page shows: the incident, and whether it was answered."""

    incident_number: int
    incident_title: str
    respondent: str
    answered: bool


@dataclass(frozen=True)
class Answer:
    went_well: str
    hindered: str
    rating_overall: int
    rating_tools: int
    rating_communication: int
    anonymous: bool


# Links ---------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _mac(secret: str, message: str) -> str:
    key = hmac.new(secret.encode(), _DOMAIN, hashlib.sha256).digest()
    return _b64(hmac.new(key, message.encode(), hashlib.sha256).digest())


def sign(secret: str, incident_id: int, user_id: int, expires: datetime) -> str:
    body = f"{incident_id}.{user_id}.{int(expires.timestamp())}"
    return f"{body}.{_mac(secret, body)}"


def _claim(ctx: Context, token: str) -> tuple[int, int]:
    """(incident id, user id) of a valid, unexpired link; Forbidden otherwise."""
    parts = token.split(".")
    if (
        len(token) > 200
        or len(parts) != 4
        or not all(plain_digits(p[:12]) for p in parts[:3])
    ):
        raise Forbidden("this survey link is not valid")
    body = ".".join(parts[:3])
    expected = _mac(ctx.settings.effective_secret_key(), body)
    if not hmac.compare_digest(expected, parts[3]):
        raise Forbidden("this survey link is not valid")
    if int(parts[2]) < ctx.clock.now().timestamp():
        raise Forbidden("this survey link has expired")
    return int(parts[0]), int(parts[1])


def _respondent(ctx: Context, incident_id: int, user_id: int) -> str:
    return _mac(
        ctx.settings.effective_secret_key(), f"respondent.{incident_id}.{user_id}"
    )


# The survey ----------------------------------------------------------------


def survey(ctx: Context, token: str) -> Survey:
    """What the link is for. Changes nothing (mail scanners open links)."""
    incident_id, user_id = _claim(ctx, token)
    with ctx.db.read() as session:
        incident, user = _parties(session, incident_id, user_id)
        answered = _answered(session, ctx, incident_id, user_id)
        return Survey(incident.number, incident.title, user.name, answered)


def answer(ctx: Context, token: str, given: Answer) -> None:
    """Store one participant's answer. Conflict when they answered already."""
    incident_id, user_id = _claim(ctx, token)
    ratings = (given.rating_overall, given.rating_tools, given.rating_communication)
    if not all(isinstance(r, int) and 1 <= r <= 5 for r in ratings):
        raise InvalidInput("ratings are whole numbers from 1 to 5")
    went_well = checked_text(given.went_well, "what went well", MAX_TEXT, empty=True)
    hindered = checked_text(given.hindered, "what hindered", MAX_TEXT, empty=True)

    try:
        with ctx.db.write() as session:
            incident, user = _parties(session, incident_id, user_id)
            if _answered(session, ctx, incident_id, user_id):
                raise Conflict("you have already answered this survey")
            now = ctx.clock.now()
            row = FeedbackAnswer(
                incident_id=incident.id,
                respondent=_respondent(ctx, incident_id, user_id),
                user_id=None if given.anonymous else user.id,
                went_well=went_well,
                hindered=hindered,
                rating_overall=ratings[0],
                rating_tools=ratings[1],
                rating_communication=ratings[2],
                answered_at=now,
            )
            session.add(row)
            session.flush()
            who = "a participant" if given.anonymous else user.email
            actor = Actor(
                kind="link",
                label=who,
                user_id=None if given.anonymous else user.id,
            )
            audit(
                session,
                actor,
                at=now,
                action="feedback.answer",
                object_type="feedback_answer",
                object_id=row.id,
                incident_id=incident.id,
                anonymous=given.anonymous,
            )
    except IntegrityError:
        # Two answers sent at once: the unique respondent lets one through.
        raise Conflict("you have already answered this survey") from None


def answers(
    ctx: Context, actor: Actor, number: int
) -> tuple[list[FeedbackRead], FeedbackSummary]:
    with ctx.db.read() as session:
        incident = visible_incident(session, actor, number)
        return answers_in(session, [incident.id])


def answers_in(
    session: Session, incident_ids: list[int]
) -> tuple[list[FeedbackRead], FeedbackSummary]:
    """The answers about these incidents, oldest first, and their aggregate."""
    rows = session.scalars(
        select(FeedbackAnswer)
        .where(FeedbackAnswer.incident_id.in_(incident_ids))
        .order_by(FeedbackAnswer.answered_at, FeedbackAnswer.id)
    ).all()
    people = len(_took_part(session, incident_ids))
    reads = [
        FeedbackRead(
            respondent=row.user.name if row.user else None,
            went_well=row.went_well,
            hindered=row.hindered,
            rating_overall=row.rating_overall,
            rating_tools=row.rating_tools,
            rating_communication=row.rating_communication,
            answered_at=row.answered_at,
        )
        for row in rows
    ]

    def avg(values: list[int]) -> float | None:
        return round(mean(values), 2) if values else None

    summary = FeedbackSummary(
        answers=len(rows),
        participants=people,
        mean_overall=avg([r.rating_overall for r in rows]),
        mean_tools=avg([r.rating_tools for r in rows]),
        mean_communication=avg([r.rating_communication for r in rows]),
    )
    return reads, summary


# Invitations ---------------------------------------------------------------


@event.listens_for(Session, "before_flush")
def _on_resolution(session: Session, flush_context: Any, instances: Any) -> None:
    """Queue the invitations when an incident becomes resolved, in the same
    transaction as the resolution."""
    for incident in list(session.dirty):
        if not isinstance(incident, Incident) or incident.status != "resolved":
            continue
        if not inspect(incident).attrs.status.history.has_changes():
            continue
        session.add(
            Timer(
                kind=FEEDBACK_INVITE,
                due_at=incident.resolved_at or incident.updated_at,
                incident_id=incident.id,
                payload={},
                created_at=incident.updated_at,
            )
        )


def invite(
    session: Session, ctx: Context, timer: Timer, incident: Incident | None
) -> None:
    """The `feedback_invite` timer handler: send each participant not yet
    invited their survey link (safe to run again)."""
    if incident is None or incident.status != "resolved":
        return
    invited = {
        int(user_id)
        for data in session.scalars(
            select(TimelineEntry.data).where(
                TimelineEntry.incident_id == incident.id,
                TimelineEntry.kind == "feedback_invited",
            )
        )
        for user_id in data.get("user_ids", [])
    }
    wanted = _took_part(session, [incident.id]) - invited
    people = list(
        session.scalars(
            select(User)
            .where(User.id.in_(sorted(wanted)), User.active)
            .order_by(User.id)
        )
    )
    if not people:
        return

    now = ctx.clock.now()
    secret = ctx.settings.effective_secret_key()
    base = ctx.settings.base_url.rstrip("/")
    for person in people:
        token = sign(secret, incident.id, person.id, now + LINK_TTL)
        notices.notify(
            session,
            ctx,
            [person.id],
            subject=f"[Tocsin] #{incident.number} how did it go?",
            body=(
                f"Incident #{incident.number} ({incident.title}) is resolved. "
                "Three ratings and two short answers help the postmortem; you "
                "may answer anonymously.\n\n"
                f"{base}/feedback/{token}\n\nThe link is yours alone and works "
                "for 30 days."
            ),
            topic="feedback_survey",
            incident_id=incident.id,
        )
    add_timeline(
        session,
        incident,
        at=now,
        kind="feedback_invited",
        message=f"Feedback survey sent to {len(people)} participant(s)",
        user_ids=[p.id for p in people],
    )


def _took_part(session: Session, incident_ids: list[int]) -> set[int]:
    """Who took part in the incidents: their participants, and whoever acted
    on a timeline (acknowledged, resolved, wrote a note) without being added
    as one, as a postmortem's participants line counts them."""
    people = set(
        session.scalars(
            select(IncidentParticipant.user_id).where(
                IncidentParticipant.incident_id.in_(incident_ids)
            )
        )
    )
    people.update(
        session.scalars(
            select(TimelineEntry.actor_user_id)
            .where(
                TimelineEntry.incident_id.in_(incident_ids),
                TimelineEntry.actor_user_id.is_not(None),
            )
            .distinct()
        )
    )
    return people


def _parties(session: Session, incident_id: int, user_id: int) -> tuple[Incident, User]:
    incident = session.get(Incident, incident_id) if incident_id <= MAX_ID else None
    user = session.get(User, user_id) if user_id <= MAX_ID else None
    if incident is None or user is None or not user.active:
        raise NotFound("this survey is no longer open")
    return incident, user


def _answered(session: Session, ctx: Context, incident_id: int, user_id: int) -> bool:
    found = session.scalar(
        select(FeedbackAnswer.id).where(
            FeedbackAnswer.incident_id == incident_id,
            FeedbackAnswer.respondent == _respondent(ctx, incident_id, user_id),
        )
    )
    return found is not None
