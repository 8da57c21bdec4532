"""What the schedule pages need from the services beyond the API's: renewing
a calendar link (the old one stops in the same transaction) and the people
an override form offers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar, Event

from tests.builders import actor_of, make_schedule, make_user
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
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


def _events(ctx: Context, url: str) -> list[Event]:
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    return list(Calendar.from_ical(ical.calendar(ctx, token)).walk("VEVENT"))


def test_a_feed_keeps_the_second_of_a_repeated_hour(
    ctx: Context, clock: ManualClock
) -> None:
    """An override that starts in the second 01:30 of New York's fall-back
    night is written so that calendar apps read that instant, not the first
    01:30 an hour earlier."""
    clock.set(datetime(2026, 10, 1, 12, tzinfo=UTC))
    ann, bob = make_user(ctx, "ann@example.com"), make_user(ctx, "bob@example.com")
    schedule_id = make_schedule(ctx, members=[ann], time_zone="America/New_York")
    second_half_past_one = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    schedule_edits.add_override(
        ctx,
        SYSTEM,
        schedule_id,
        user_id=bob.id,
        start=second_half_past_one,
        end=second_half_past_one + timedelta(hours=2),
    )
    feed = ical.create_feed(ctx, SYSTEM, user_id=bob.id, schedule_id=schedule_id)

    [bobs] = [e for e in _events(ctx, feed.url) if "Bob" in str(e["summary"])]

    assert bobs.decoded("dtstart").astimezone(UTC) == second_half_past_one
    assert bobs.decoded("dtend").astimezone(UTC) == datetime(
        2026, 11, 1, 8, 30, tzinfo=UTC
    )


def test_a_feed_gives_each_shift_the_same_uid_on_every_fetch(
    ctx: Context, clock: ManualClock
) -> None:
    """The feed's range moves with the clock and cuts its first and last
    shifts; the cut shifts keep their UIDs all the same, so a calendar app
    updates them rather than adding a copy at each refresh."""
    clock.set(datetime(2026, 6, 1, 12, tzinfo=UTC))
    ann, bob = make_user(ctx, "ann@example.com"), make_user(ctx, "bob@example.com")
    rotating = make_schedule(ctx, members=[ann, bob])
    alone = make_schedule(ctx, "Ops secondary", members=[ann])
    feeds = [
        ical.create_feed(ctx, SYSTEM, user_id=ann.id, schedule_id=rotating),
        ical.create_feed(ctx, SYSTEM, user_id=ann.id, schedule_id=alone),
    ]

    before = [[str(e["uid"]) for e in _events(ctx, f.url)] for f in feeds]
    clock.advance(minutes=7)
    after = [[str(e["uid"]) for e in _events(ctx, f.url)] for f in feeds]

    assert after == before
    assert len(before[1]) == 1


def test_a_feed_describes_its_zone_for_as_long_as_it_reaches(
    ctx: Context, clock: ManualClock
) -> None:
    """Late in 2037 the feed reaches into the summer of 2038: its VTIMEZONE
    says London is on BST then, so an app that reads the zone from the feed
    rather than by name does not show those shifts an hour off."""
    clock.set(datetime(2037, 12, 1, 12, tzinfo=UTC))
    ann = make_user(ctx, "ann@example.com")
    schedule_id = make_schedule(ctx, members=[ann], time_zone="Europe/London")
    feed = ical.create_feed(ctx, SYSTEM, user_id=ann.id, schedule_id=schedule_id)
    token = feed.url.rsplit("/", 1)[1].removesuffix(".ics")

    [zone] = Calendar.from_ical(ical.calendar(ctx, token)).walk("VTIMEZONE")
    summers = [
        component.decoded("dtstart")
        for component in zone.walk("DAYLIGHT")
        if component.decoded("dtstart").year == 2038
    ]

    assert [(s.month, s.day) for s in summers] == [(3, 28)]
