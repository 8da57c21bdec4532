"""Times in the user's own zone: the profile's time zone field, and pages
showing every time in that zone with its abbreviation, on both sides of a
daylight saving change; pages without a user stay in UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.builders import actor_of, user_by_email
from tests.web.conftest import World, log_in, open_incident
from tocsin.clock import ManualClock
from tocsin.errors import Forbidden, InvalidInput
from tocsin.services import accounts
from tocsin.services.context import Context
from tocsin.store.models import AuditRecord, User
from tocsin.web.templating import templates

SCRIPT = "<script>alert('owned')</script>"
# New York springs forward at 2026-03-08 07:00 UTC: 02:00 EST becomes 03:00 EDT.
BEFORE_SPRING = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)
AFTER_SPRING = datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
# And falls back at 2026-11-01 06:00 UTC: 02:00 EDT becomes 01:00 EST.
BEFORE_FALL = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
AFTER_FALL = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)


def _zone_of(ctx: Context, email: str) -> str:
    with ctx.db.read() as session:
        zone = session.scalar(select(User.time_zone).where(User.email == email))
    assert zone is not None
    return zone


def _set_zone(client: TestClient, csrf: str, zone: str) -> str:
    response = client.post(
        "/profile/time-zone", data={"csrf_token": csrf, "time_zone": zone}
    )
    return f"{response.status_code} {response.text}"


# The profile's time zone field ------------------------------------------------


def test_a_new_user_reads_times_in_utc_and_the_profile_says_so(
    client: TestClient, world: World
) -> None:
    log_in(client, world.ann.email)

    page = client.get("/profile")

    assert page.status_code == 200
    assert '<label for="time-zone">Show times in</label>' in page.text
    assert 'id="time-zone" name="time_zone"' in page.text
    assert 'value="UTC"' in page.text
    assert '<option value="America/New_York">' in page.text
    assert "Now: 2026-03-02 09:00 UTC." in page.text


def test_choosing_a_zone_stores_it_and_shows_times_in_it_at_once(
    ctx: Context, client: TestClient, world: World
) -> None:
    csrf = log_in(client, world.ann.email)

    answer = _set_zone(client, csrf, "america/new_york")

    assert answer.startswith("200 ")
    assert "Times now show in America/New_York." in answer
    # 09:00 UTC on 2 March is 04:00 in New York, still on standard time.
    assert "Now: 2026-03-02 04:00 EST." in answer
    assert _zone_of(ctx, world.ann.email) == "America/New_York"
    assert 'value="America/New_York"' in client.get("/profile").text


def test_an_unknown_zone_is_refused_with_a_clear_message_keeping_the_input(
    ctx: Context, client: TestClient, world: World
) -> None:
    csrf = log_in(client, world.ann.email)

    answer = _set_zone(client, csrf, "Mars/Olympus_Mons")

    assert answer.startswith("400 ")
    assert "&#39;Mars/Olympus_Mons&#39; is not a time zone" in answer
    assert 'value="Mars/Olympus_Mons"' in answer
    assert 'aria-invalid="true"' in answer
    assert _zone_of(ctx, world.ann.email) == "UTC"


def test_a_zone_field_holding_markup_is_shown_escaped(
    ctx: Context, client: TestClient, world: World
) -> None:
    csrf = log_in(client, world.ann.email)

    answer = _set_zone(client, csrf, SCRIPT)

    assert answer.startswith("400 ")
    assert SCRIPT not in answer
    assert "&lt;script&gt;" in answer
    assert _zone_of(ctx, world.ann.email) == "UTC"


def test_the_zone_form_needs_the_csrf_token(
    ctx: Context, client: TestClient, world: World
) -> None:
    log_in(client, world.ann.email)

    answer = _set_zone(client, "not-the-token", "Europe/Berlin")

    assert answer.startswith("403 ")
    assert _zone_of(ctx, world.ann.email) == "UTC"


def test_the_zone_form_needs_a_login(client: TestClient, world: World) -> None:
    response = client.post("/profile/time-zone", data={"time_zone": "Europe/Berlin"})

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


# The service ------------------------------------------------------------------


def test_the_service_takes_any_case_returns_the_exact_name_and_audits(
    ctx: Context, world: World
) -> None:
    actor = actor_of(ctx, user_by_email(ctx, world.ann.email), kind="user")

    zone = accounts.set_time_zone(ctx, actor, "  europe/BERLIN ")
    again = accounts.set_time_zone(ctx, actor, "Europe/Berlin")

    assert (zone, again) == ("Europe/Berlin", "Europe/Berlin")
    with ctx.db.read() as session:
        records = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "user.time_zone")
        ).all()
        assert [(r.detail["before"], r.detail["after"]) for r in records] == [
            ("UTC", "Europe/Berlin")
        ]


@pytest.mark.parametrize("name", ["", "Nowhere/City", "../etc/passwd", "x" * 500])
def test_the_service_refuses_what_is_no_zone(
    ctx: Context, world: World, name: str
) -> None:
    actor = actor_of(ctx, user_by_email(ctx, world.ann.email), kind="user")

    with pytest.raises(InvalidInput, match="is not a time zone"):
        accounts.set_time_zone(ctx, actor, name)

    assert _zone_of(ctx, world.ann.email) == "UTC"


def test_an_api_token_cannot_change_the_zone(ctx: Context, world: World) -> None:
    actor = actor_of(ctx, user_by_email(ctx, world.ann.email), kind="token")

    with pytest.raises(Forbidden, match="logged-in user"):
        accounts.set_time_zone(ctx, actor, "Europe/Berlin")


# Pages in the user's zone -----------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "shown_before", "shown_after"),
    [
        (BEFORE_SPRING, AFTER_SPRING, "2026-03-08 01:30 EST", "2026-03-08 03:30 EDT"),
        (BEFORE_FALL, AFTER_FALL, "2026-11-01 01:30 EDT", "2026-11-01 01:30 EST"),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_incident_times_show_in_new_york_time_on_both_sides_of_a_dst_change(
    ctx: Context,
    clock: ManualClock,
    client: TestClient,
    world: World,
    before: datetime,
    after: datetime,
    shown_before: str,
    shown_after: str,
) -> None:
    clock.set(before)
    first = open_incident(ctx, world.checkout, "before-change")
    clock.set(after)
    second = open_incident(ctx, world.checkout, "after-change")
    csrf = log_in(client, world.ann.email)
    assert _set_zone(client, csrf, "America/New_York").startswith("200 ")

    listing = client.get("/incidents").text
    first_page = client.get(f"/incidents/{first}").text
    second_page = client.get(f"/incidents/{second}").text

    assert shown_before in listing
    assert shown_after in listing
    assert f'<dt>Opened</dt><dd><time datetime="{before.isoformat()}">' in first_page
    assert shown_before in first_page
    assert shown_after in second_page
    # The machine-readable time stays UTC ISO 8601 whatever the reader's zone.
    assert f'datetime="{after.isoformat()}"' in second_page
    assert " UTC</time>" not in listing


def test_someone_else_keeps_their_own_zone(
    ctx: Context, clock: ManualClock, client: TestClient, world: World
) -> None:
    clock.set(AFTER_SPRING)
    number = open_incident(ctx, world.checkout)
    csrf = log_in(client, world.ann.email)
    assert _set_zone(client, csrf, "Asia/Kolkata").startswith("200 ")
    client.cookies.clear()
    log_in(client, world.vera.email)

    page = client.get(f"/incidents/{number}").text

    assert "2026-03-08 07:30 UTC" in page
    assert "IST" not in page


def test_a_page_without_a_user_shows_utc() -> None:
    template = templates.env.from_string(
        '{% from "macros.html" import timestamp %}{{ timestamp(at) }} {{ at | when }}'
    )

    shown = template.render(user=None, at=AFTER_SPRING)

    assert re.fullmatch(
        r'<time datetime="2026-03-08T07:30:00\+00:00">2026-03-08 07:30 UTC</time>'
        r" 2026-03-08 07:30 UTC",
        shown,
    )
