"""Feedback: participants get a signed survey link on resolution, answer
once (signed or anonymously), and the answers reach the postmortem."""

from __future__ import annotations

import re

import pytest

from tests.services.response.conftest import Crew, outbox, run_worker, timeline
from tocsin.clock import ManualClock
from tocsin.errors import Conflict, Forbidden, InvalidInput
from tocsin.services import feedback, incidents, postmortems, tasks
from tocsin.services.context import Context

GOOD = feedback.Answer(
    went_well="Runbook was right",
    hindered="Dashboards were slow",
    rating_overall=4,
    rating_tools=2,
    rating_communication=5,
    anonymous=False,
)


def _resolved_with_participants(ctx: Context, crew: Crew) -> dict[str, str]:
    """Ann and Bob take part (owning tasks); resolving sends each a link.
    Returns each one's survey token by email."""
    for person in (crew.ann_user, crew.bob_user):
        tasks.create(ctx, crew.ann, crew.number, title="t", owner_id=person.id)
    incidents.resolve(ctx, crew.ann, crew.number)
    run_worker(ctx)

    found = {}
    for message in outbox(ctx, "feedback_survey"):
        match = re.search(r"/feedback/(\S+)", message.body)
        assert match is not None
        found[message.recipient] = match[1]
    return found


def test_resolution_sends_each_participant_their_own_link_once(
    ctx: Context, crew: Crew
) -> None:
    """Two participants, two different links; running the worker again sends
    no more."""
    links = _resolved_with_participants(ctx, crew)

    assert sorted(links) == ["ann@example.com", "bob@example.com"]
    assert len(set(links.values())) == 2
    run_worker(ctx)
    assert len(outbox(ctx, "feedback_survey")) == 2
    assert len(timeline(ctx, "feedback_invited")) == 1


def test_one_answer_per_person_and_anonymous_answers_hide_the_name(
    ctx: Context, crew: Crew
) -> None:
    """Bob answers signed, Ann anonymously; a second answer is refused."""
    links = _resolved_with_participants(ctx, crew)

    feedback.answer(ctx, links["bob@example.com"], GOOD)
    anonymous = feedback.Answer(
        went_well="", hindered="Too many pages", rating_overall=2,
        rating_tools=3, rating_communication=3, anonymous=True,
    )  # fmt: skip
    feedback.answer(ctx, links["ann@example.com"], anonymous)
    with pytest.raises(Conflict):
        feedback.answer(ctx, links["ann@example.com"], GOOD)

    answers, summary = feedback.answers(ctx, crew.vic, crew.number)
    assert [a.respondent for a in answers] == ["Bob", None]
    assert (summary.answers, summary.participants) == (2, 2)
    assert summary.mean_overall == 3.0
    assert feedback.survey(ctx, links["ann@example.com"]).answered


def test_the_answers_appear_in_the_postmortem(ctx: Context, crew: Crew) -> None:
    """The postmortem carries the answers and their mean ratings."""
    links = _resolved_with_participants(ctx, crew)
    feedback.answer(ctx, links["bob@example.com"], GOOD)

    pm = postmortems.create(ctx, crew.ann, [crew.number])
    text = postmortems.export(ctx, crew.ann, pm.id, "markdown")

    assert pm.feedback_summary.mean_tools == 2.0
    assert "1 of 2 participants answered" in text
    assert "- Hindered: Dashboards were slow" in text


def test_forged_expired_and_bad_answers_are_refused(
    ctx: Context, crew: Crew, clock: ManualClock
) -> None:
    """A changed link, an expired one, or a rating of 6 store nothing."""
    links = _resolved_with_participants(ctx, crew)
    token = links["bob@example.com"]
    incident_id, _bob, expires, mac = token.split(".")

    with pytest.raises(Forbidden):
        feedback.answer(ctx, f"{incident_id}.{crew.ann_user.id}.{expires}.{mac}", GOOD)
    with pytest.raises(Forbidden):
        feedback.survey(ctx, "not-a-link")
    with pytest.raises(InvalidInput):
        feedback.answer(ctx, token, feedback.Answer("", "", 6, 1, 1, anonymous=False))
    clock.advance(days=31)
    with pytest.raises(Forbidden, match="expired"):
        feedback.answer(ctx, token, GOOD)

    clock.advance(days=-31)
    assert feedback.answers(ctx, crew.ann, crew.number)[1].answers == 0
    assert not feedback.survey(ctx, token).answered


def test_whoever_acknowledged_or_resolved_is_asked_too(
    ctx: Context, crew: Crew
) -> None:
    """Ann acknowledges and Bob resolves without being added as participants:
    both took part, as the postmortem's participants line says, so both are
    asked and both count in the summary."""
    incidents.acknowledge(ctx, crew.ann, crew.number)
    incidents.resolve(ctx, crew.bob, crew.number)
    run_worker(ctx)

    asked = sorted(m.recipient for m in outbox(ctx, "feedback_survey"))
    assert asked == ["ann@example.com", "bob@example.com"]
    _, summary = feedback.answers(ctx, crew.ann, crew.number)
    assert summary.participants == 2


def test_a_sent_survey_is_not_called_a_page_on_the_timeline(
    ctx: Context, crew: Crew
) -> None:
    """The timeline (and so a postmortem's) must not show pages sent after
    the resolution: a survey link leaving is a notice."""
    _resolved_with_participants(ctx, crew)

    said = [entry.message for entry in timeline(ctx, "page_sent")]
    surveys = [m for m in said if "survey" in m]
    assert len(surveys) == 2
    assert all(m.startswith("Notice (feedback survey) sent to ") for m in surveys)
    assert not any(m.startswith("Page sent to ") and "survey" in m for m in said)
