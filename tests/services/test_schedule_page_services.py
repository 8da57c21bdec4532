"""What the schedule pages need from the services beyond the API's: renewing
a calendar link (the old one stops in the same transaction) and the people
an override form offers."""

from __future__ import annotations

import pytest

from tests.builders import actor_of, make_schedule, make_user
from tocsin.errors import NotFound
from tocsin.services import ical, schedule_edits
from tocsin.services.context import Context


def test_renewing_a_feed_revokes_only_the_same_kind(ctx: Context) -> None:
    """A new link for a schedule stops the old link of that schedule; the
    user's own-shifts link and other users' links keep working."""
    ann = make_user(ctx, "ann@example.com")
    bob = make_user(ctx, "bob@example.com")
    schedule_id = make_schedule(ctx, members=[ann])
    as_ann, as_bob = actor_of(ctx, ann), actor_of(ctx, bob)
    old = ical.create_feed(ctx, as_ann, user_id=ann.id, schedule_id=schedule_id)
    own = ical.create_feed(ctx, as_ann, user_id=ann.id)
    bobs = ical.create_feed(ctx, as_bob, user_id=bob.id, schedule_id=schedule_id)

    new = ical.renew_feed(ctx, as_ann, user_id=ann.id, schedule_id=schedule_id)

    def token(url: str) -> str:
        return url.rsplit("/", 1)[1].removesuffix(".ics")

    with pytest.raises(NotFound):
        ical.calendar(ctx, token(old.url))
    for working in (new, own, bobs):
        assert ical.calendar(ctx, token(working.url)).startswith(b"BEGIN:VCALENDAR")
    live = [f for f in ical.list_feeds(ctx, as_ann, ann.id) if f.revoked_at is None]
    assert sorted(f.id for f in live) == sorted([own.feed.id, new.feed.id])


def test_an_override_offers_the_team_and_the_rotation(ctx: Context) -> None:
    """Members of the schedule's team and of its rotations, active ones only;
    another team's reader gets not found."""
    ann = make_user(ctx, "ann@example.com", name="Ann", teams=("Ops",))
    dave = make_user(ctx, "dave@example.com", name="Dave", teams=("DBA",))
    make_user(ctx, "pete@example.com", name="Pete", teams=("Payments",))
    schedule_id = make_schedule(ctx, members=[dave], team="Ops")

    offered = schedule_edits.override_people(ctx, actor_of(ctx, ann), schedule_id)

    assert [person.name for person in offered] == ["Ann", "Dave"]
    with pytest.raises(NotFound):
        schedule_edits.override_people(
            ctx,
            actor_of(ctx, make_user(ctx, "x@example.com", teams=("X",))),
            schedule_id,
        )
