"""The feedback survey page: the signed link opens a form without login,
opening it stores nothing, posting it stores one answer, and the page keeps
the link out of Referer headers and caches."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.web.conftest import World, open_incident
from tocsin.domain.access import SYSTEM
from tocsin.services import feedback, incidents, participants
from tocsin.services.context import Context
from tocsin.store.models import Incident

FORM = {
    "rating_overall": "4",
    "rating_tools": "3",
    "rating_communication": "5",
    "went_well": "<script>alert(1)</script>",
    "hindered": "",
}


def _link(ctx: Context, world: World) -> str:
    number = open_incident(ctx, world.checkout)
    with ctx.db.write() as session:
        incident_id = incidents_id(session, number)
        participants.join(session, incident_id, world.ann.id, ctx.clock.now(), via="t")
    incidents.resolve(ctx, SYSTEM, number)
    secret = ctx.settings.effective_secret_key()
    expires = ctx.clock.now() + feedback.LINK_TTL
    return "/feedback/" + feedback.sign(secret, incident_id, world.ann.id, expires)


def incidents_id(session: Session, number: int) -> int:
    found = session.scalar(select(Incident.id).where(Incident.number == number))
    assert found is not None
    return found


def test_the_survey_is_answered_once_without_login(
    ctx: Context, client: TestClient, world: World
) -> None:
    """GET shows the form and stores nothing; POST stores; a repeat is refused."""
    path = _link(ctx, world)

    page = client.get(path)
    assert page.status_code == 200
    assert 'name="rating_overall"' in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert feedback.answers(ctx, SYSTEM, 1)[1].answers == 0

    sent = client.post(path, data=FORM | {"anonymous": "true"})
    again = client.post(path, data=FORM)

    assert sent.status_code == 200
    assert "without your name" in sent.text
    assert again.status_code == 409
    [answer] = feedback.answers(ctx, SYSTEM, 1)[0]
    assert answer.respondent is None
    assert "answered this survey already" in client.get(path).text


def test_forged_links_and_bad_ratings_are_refused(
    ctx: Context, client: TestClient, world: World
) -> None:
    """A tampered link is 403; a rating of 9 is refused; nothing is stored."""
    path = _link(ctx, world)

    forged = client.get(path[:-3] + "AAA")
    bad = client.post(path, data=FORM | {"rating_tools": "9"})

    assert forged.status_code == 403
    assert bad.status_code in (400, 422)
    assert feedback.answers(ctx, SYSTEM, 1)[1].answers == 0
