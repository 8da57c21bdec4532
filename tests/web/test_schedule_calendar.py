"""The schedule calendar: week and month views of the final rendering in the
schedule's zone (or UTC), correct wall times across a DST change, gaps
marked, overrides made and cancelled from the page under the schedule
service's rules, and the secret calendar-feed links."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from httpx import Response

from tests.builders import make_schedule, make_user, user_by_email
from tests.web.conftest import World, log_in, new_client
from tocsin.domain import schedules as rules
from tocsin.domain.access import SYSTEM
from tocsin.services import schedules
from tocsin.services.context import Context
from tocsin.web import schedule_calendar as calendar


def _london(ctx: Context, world: World, name: str = "Ops primary") -> int:
    """Ann and Vera take daily turns, handing off at 09:00 London time."""
    ann = user_by_email(ctx, world.ann.email)
    vera = user_by_email(ctx, world.vera.email)
    return make_schedule(
        ctx,
        name,
        members=[ann, vera],
        time_zone="Europe/London",
        start_local=datetime(2026, 3, 1, 9, 0),  # noqa: DTZ001
    )


def _berlin(ctx: Context, world: World) -> int:
    ann = user_by_email(ctx, world.ann.email)
    vera = user_by_email(ctx, world.vera.email)
    return make_schedule(
        ctx,
        "Berlin",
        members=[ann, vera],
        time_zone="Europe/Berlin",
        start_local=datetime(2026, 3, 1, 9, 0),  # noqa: DTZ001
    )


def _day(html: str, label: str) -> str:
    """The HTML of the calendar day headed `label` (as "Sun 29 Mar")."""
    found = re.search(rf'<span class="day-date">{label}.*?</ul>', html, flags=re.DOTALL)
    assert found is not None, f"no day {label} on the page"
    return found.group(0)


def _post(client: TestClient, url: str, csrf: str, **fields: str) -> Response:
    return client.post(url, data={"csrf_token": csrf, **fields})


def test_the_week_view_shows_each_shift_and_who_is_on_call_now(
    client: TestClient, ctx: Context, world: World
) -> None:
    """The week of today (Monday 2 March), each day's handoff at 09:00 with
    the person, and who is on call now; navigation links move a week."""
    schedule_id = _london(ctx, world)
    log_in(client, world.vera.email)

    page = client.get(f"/schedules/{schedule_id}")

    assert page.status_code == 200
    monday = _day(page.text, "Mon 02 Mar")
    assert "00:00&ndash;09:00" in monday
    assert "09:00&ndash;24:00" in monday
    assert "Ann" in monday
    assert "Vera" in monday
    assert 'class="day day-today"' in page.text
    assert "Vera (vera@example.com)" in page.text
    assert "start=2026-02-23" in page.text
    assert "start=2026-03-09" in page.text
    assert "Someone is on call throughout." in page.text


def test_the_month_view_covers_the_whole_month(
    client: TestClient, ctx: Context, world: World
) -> None:
    """March 2026 in whole weeks, Monday 23 Feb to Sunday 5 Apr; prev and
    next go to the first of the months around it."""
    schedule_id = _london(ctx, world)
    log_in(client, world.ann.email)

    page = client.get(
        f"/schedules/{schedule_id}", params={"view": "month", "start": "2026-03-17"}
    )

    assert page.status_code == 200
    assert "March 2026" in page.text
    assert page.text.count('<li class="day') == 42
    assert "Sun 05 Apr" in page.text
    assert "start=2026-02-01" in page.text
    assert "start=2026-04-01" in page.text


def test_a_dst_week_shows_the_wall_clock_handoffs(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Berlin's clocks go forward on Sunday 29 March 2026. The handoff stays
    at 09:00 on the schedule's clock every day, which is 08:00 UTC before the
    change and 07:00 UTC after it."""
    schedule_id = _berlin(ctx, world)
    log_in(client, world.ann.email)

    local = client.get(f"/schedules/{schedule_id}", params={"start": "2026-03-25"})
    utc = client.get(
        f"/schedules/{schedule_id}", params={"start": "2026-03-25", "tz": "utc"}
    )

    for label in ("Mon 23 Mar", "Sat 28 Mar", "Sun 29 Mar"):
        assert "09:00&ndash;24:00" in _day(local.text, label)
        assert "00:00&ndash;09:00" in _day(local.text, label)
    assert "08:00&ndash;24:00" in _day(utc.text, "Mon 23 Mar")
    assert "08:00&ndash;24:00" in _day(utc.text, "Sat 28 Mar")
    assert "07:00&ndash;24:00" in _day(utc.text, "Sun 29 Mar")


def test_a_night_shift_over_the_change_keeps_its_wall_times(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Twelve-hour shifts at 08:00 and 20:00 Berlin time: the night of the
    change runs 20:00 to 08:00 on the wall clock (eleven hours), and in UTC
    the handoffs move from 19:00/07:00 to 18:00/06:00."""
    ann = user_by_email(ctx, world.ann.email)
    vera = user_by_email(ctx, world.vera.email)
    schedule_id = make_schedule(
        ctx,
        "Berlin nights",
        members=[ann, vera],
        time_zone="Europe/Berlin",
        shift_unit="hours",
        shift_count=12,
        start_local=datetime(2026, 3, 1, 20, 0),  # noqa: DTZ001
    )
    log_in(client, world.ann.email)

    local = client.get(f"/schedules/{schedule_id}", params={"start": "2026-03-29"})
    utc = client.get(
        f"/schedules/{schedule_id}", params={"start": "2026-03-29", "tz": "utc"}
    )

    sunday = _day(local.text, "Sun 29 Mar")
    for piece in ("00:00&ndash;08:00", "08:00&ndash;20:00", "20:00&ndash;24:00"):
        assert piece in sunday
    assert "07:00&ndash;19:00" in _day(utc.text, "Sat 28 Mar")
    for piece in ("00:00&ndash;06:00", "06:00&ndash;18:00", "18:00&ndash;24:00"):
        assert piece in _day(utc.text, "Sun 29 Mar")


def test_the_layout_counts_a_dst_day_as_23_hours() -> None:
    """The calendar's days follow the wall clock: 29 March in Berlin is
    23 hours long, 25 October 25 hours."""
    zone = rules.zone_named("Europe/Berlin")

    spring = calendar.period(calendar.WEEK, date(2026, 3, 29), zone)
    autumn = calendar.period(calendar.WEEK, date(2026, 10, 25), zone)

    assert spring.days[6] == date(2026, 3, 29)
    assert spring.edges[7] - spring.edges[6] == timedelta(hours=23)
    assert autumn.edges[7] - autumn.edges[6] == timedelta(hours=25)
    assert spring.start == datetime(2026, 3, 22, 23, 0, tzinfo=UTC)


def test_gaps_are_marked(client: TestClient, ctx: Context, world: World) -> None:
    """A schedule without layers has nobody on call: each day says so."""
    schedule_id = make_schedule(ctx, "Empty", time_zone="Europe/London")
    log_in(client, world.ann.email)

    page = client.get(f"/schedules/{schedule_id}")

    assert "Nobody on call" in page.text
    assert "day-gap" in page.text
    assert "1 gap(s) with nobody on call" in page.text


def test_a_bad_date_or_view_is_a_clear_400(
    client: TestClient, ctx: Context, world: World
) -> None:
    schedule_id = _london(ctx, world)
    log_in(client, world.ann.email)

    bad_date = client.get(f"/schedules/{schedule_id}", params={"start": "2026-13-01"})
    bad_view = client.get(f"/schedules/{schedule_id}", params={"view": "year"})

    assert bad_date.status_code == 400
    assert "give the date as YYYY-MM-DD" in bad_date.text
    assert bad_view.status_code == 400
    assert "the view is week or month" in bad_view.text


def test_a_responder_adds_an_override_from_the_calendar(
    client: TestClient, ctx: Context, world: World
) -> None:
    """A shift link prefills the form; the override, given on London's clock,
    is stored as that instant and shows in the calendar."""
    schedule_id = _london(ctx, world)
    csrf = log_in(client, world.ann.email)
    week = client.get(f"/schedules/{schedule_id}", params={"start": "2026-03-09"})
    assert "override_start=2026-03-09T09%3A00" in week.text

    made = _post(
        client,
        f"/schedules/{schedule_id}/overrides",
        csrf,
        user_id=str(world.vera.id),
        start="2026-04-06T10:00",
        end="2026-04-06T18:00",
    )

    assert made.status_code == 303
    landing = made.headers["location"]
    assert landing == f"/schedules/{schedule_id}?start=2026-04-06"
    [override] = schedules.get_schedule(ctx, SYSTEM, schedule_id).overrides
    # London is on summer time (UTC+1) by 6 April.
    assert override.start == datetime(2026, 4, 6, 9, 0, tzinfo=UTC)
    assert "10:00&ndash;18:00" in _day(client.get(landing).text, "Mon 06 Apr")


def test_a_prefilled_form_keeps_its_values(
    client: TestClient, ctx: Context, world: World
) -> None:
    schedule_id = _london(ctx, world)
    log_in(client, world.ann.email)

    page = client.get(
        f"/schedules/{schedule_id}",
        params={"override_start": "2026-03-05T00:00", "override_end": "x<y"},
    )

    assert 'value="2026-03-05T00:00"' in page.text
    assert 'value="x&lt;y"' in page.text


def test_bad_override_input_is_refused_with_the_form_kept(
    client: TestClient, ctx: Context, world: World
) -> None:
    """End before start, an unknown person and a bad date: each a 400 with the
    reason, what was typed still there, nothing stored."""
    schedule_id = _london(ctx, world)
    csrf = log_in(client, world.ann.email)
    url = f"/schedules/{schedule_id}/overrides"

    backwards = _post(
        client,
        url,
        csrf,
        user_id=str(world.vera.id),
        start="2026-03-10T18:00",
        end="2026-03-10T10:00",
    )
    unknown = _post(
        client,
        url,
        csrf,
        user_id="999999",
        start="2026-03-10T10:00",
        end="2026-03-10T18:00",
    )
    garbled = _post(
        client,
        url,
        csrf,
        user_id=str(world.vera.id),
        start="tomorrow",
        end="2026-03-10T18:00",
    )

    assert backwards.status_code == 400
    assert "must end after it starts" in backwards.text
    assert 'value="2026-03-10T18:00"' in backwards.text
    assert unknown.status_code == 400
    assert "no user 999999" in unknown.text
    assert garbled.status_code == 400
    assert "YYYY-MM-DDTHH:MM" in garbled.text
    assert schedules.get_schedule(ctx, SYSTEM, schedule_id).overrides == []


def test_only_the_teams_responders_change_overrides(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Vera (viewer) sees no form and is refused; Pete (Payments) gets not
    found; a post without the CSRF token is refused."""
    schedule_id = _london(ctx, world)
    fields = {
        "user_id": str(world.vera.id),
        "start": "2026-03-10T10:00",
        "end": "2026-03-10T18:00",
    }

    csrf = log_in(client, world.vera.email)
    viewer_page = client.get(f"/schedules/{schedule_id}")
    by_viewer = _post(client, f"/schedules/{schedule_id}/overrides", csrf, **fields)
    without_token = client.post(f"/schedules/{schedule_id}/overrides", data=fields)
    with new_client(ctx) as other:
        csrf = log_in(other, world.pete.email)
        by_other_team = _post(
            other, f"/schedules/{schedule_id}/overrides", csrf, **fields
        )

    assert 'id="override-form"' not in viewer_page.text
    assert by_viewer.status_code == 403
    assert without_token.status_code == 403
    assert by_other_team.status_code == 404
    assert schedules.get_schedule(ctx, SYSTEM, schedule_id).overrides == []


def test_an_override_is_cancelled_from_the_page(
    client: TestClient, ctx: Context, world: World
) -> None:
    schedule_id = _london(ctx, world)
    csrf = log_in(client, world.ann.email)
    _post(
        client,
        f"/schedules/{schedule_id}/overrides",
        csrf,
        user_id=str(world.vera.id),
        start="2026-03-10T10:00",
        end="2026-03-10T18:00",
    )
    [override] = schedules.get_schedule(ctx, SYSTEM, schedule_id).overrides

    cancelled = _post(
        client,
        f"/schedules/{schedule_id}/overrides/{override.id}/delete",
        csrf,
        view="month",
        shown="2026-03-01",
    )

    assert cancelled.status_code == 303
    assert "view=month" in cancelled.headers["location"]
    assert schedules.get_schedule(ctx, SYSTEM, schedule_id).overrides == []


def test_names_are_escaped(client: TestClient, ctx: Context, world: World) -> None:
    """A schedule and a person named like markup show as text."""
    mallory = make_user(
        ctx, "mallory@example.com", name="<script>alert(1)</script>", teams=("Ops",)
    )
    schedule_id = make_schedule(
        ctx,
        "<script>alert(2)</script>",
        members=[mallory],
        time_zone="Europe/London",
    )
    log_in(client, world.ann.email)

    page = client.get(f"/schedules/{schedule_id}")

    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page.text


def test_calendar_links_are_made_and_renewed(
    client: TestClient, ctx: Context, world: World
) -> None:
    """The link is shown once; a new one makes the old one answer 404."""
    schedule_id = _london(ctx, world)
    csrf = log_in(client, world.vera.email)

    first = _post(client, f"/schedules/{schedule_id}/feed", csrf)
    second = _post(client, f"/schedules/{schedule_id}/feed", csrf)
    own = _post(client, "/schedules/feed", csrf)

    old_url, new_url = (_feed_url(r.text) for r in (first, second))
    assert first.status_code == 201
    assert client.get(old_url).status_code == 404
    calendar_file = client.get(new_url)
    assert calendar_file.status_code == 200
    assert "BEGIN:VCALENDAR" in calendar_file.text
    assert own.status_code == 201
    assert client.get(_feed_url(own.text)).status_code == 200


def test_a_feed_needs_the_csrf_token(
    client: TestClient, ctx: Context, world: World
) -> None:
    schedule_id = _london(ctx, world)
    log_in(client, world.vera.email)

    refused = client.post(f"/schedules/{schedule_id}/feed", data={})

    assert refused.status_code == 403


def _feed_url(html: str) -> str:
    found = re.search(r'id="new-feed-url" type="text" value="([^"]+)"', html)
    assert found is not None, "no new calendar link on the page"
    return found.group(1).removeprefix("http://tocsin.test")


def test_a_link_is_stopped_only_by_its_owner(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Vera stops her link and lands back on the schedule; Ann cannot stop
    Vera's (not found)."""
    schedule_id = _london(ctx, world)
    csrf = log_in(client, world.vera.email)
    made = _post(client, f"/schedules/{schedule_id}/feed", csrf)
    page = client.get(f"/schedules/{schedule_id}")
    feed_id = re.search(r"/schedules/feeds/(\d+)/revoke", page.text)
    assert feed_id is not None

    with new_client(ctx) as other:
        ann_csrf = log_in(other, world.ann.email)
        by_ann = _post(other, f"/schedules/feeds/{feed_id.group(1)}/revoke", ann_csrf)
    stopped = _post(
        client,
        f"/schedules/feeds/{feed_id.group(1)}/revoke",
        csrf,
        back=f"/schedules/{schedule_id}#feeds",
    )

    assert by_ann.status_code == 404
    assert stopped.status_code == 303
    assert stopped.headers["location"] == f"/schedules/{schedule_id}#feeds"
    assert client.get(_feed_url(made.text)).status_code == 404
