"""The home page, the incident list's filters, search and sorting, reassigning
from the incident page, and the live updates stream."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.builders import make_schedule, team_id, user_by_email
from tests.web.conftest import World, log_in, open_incident
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.services import changes, incidents, tasks
from tocsin.services.context import Context
from tocsin.store.models import Incident
from tocsin.web import live


def _set_severity(ctx: Context, number: int, severity: str) -> None:
    with ctx.db.write() as session:
        session.execute(
            update(Incident).where(Incident.number == number).values(severity=severity)
        )


def _numbers(html: str) -> list[int]:
    return [
        int(n)
        for n in re.findall(r'class="incident-title" href="/incidents/(\d+)"', html)
    ]


# Home ---------------------------------------------------------------------------


def test_home_counts_open_incidents_by_severity_for_the_users_teams(
    ctx: Context, client: TestClient, world: World
) -> None:
    """Counts and rows cover open incidents of the user's teams only."""
    worst = open_incident(ctx, world.checkout, "a")
    _set_severity(ctx, worst, "sev1")
    _set_severity(ctx, open_incident(ctx, world.checkout, "b"), "sev3")
    closed = open_incident(ctx, world.checkout, "c")
    incidents.resolve(ctx, SYSTEM, closed)
    open_incident(ctx, world.billing, "d")
    log_in(client, world.ann.email)

    page = client.get("/").text

    pairs = re.findall(
        r'<span class="count">(\d+)</span>\s*<span class="label">(SEV\d)</span>', page
    )
    counts = {label: count for count, label in pairs}
    assert counts == {"SEV1": "1", "SEV2": "0", "SEV3": "1", "SEV4": "0"}
    open_section = page[page.index("open-heading") : page.index("mine-heading")]
    assert _numbers(open_section) == [worst, worst + 1]
    assert "d on db-1" not in page


def test_home_lists_my_open_incidents(
    ctx: Context, client: TestClient, world: World
) -> None:
    """Incidents the user acknowledged show under Mine; others do not."""
    mine = open_incident(ctx, world.checkout, "a")
    open_incident(ctx, world.checkout, "b")
    csrf = log_in(client, world.ann.email)
    client.post(f"/incidents/{mine}/acknowledge", data={"csrf_token": csrf})

    page = client.get("/").text

    assert _numbers(page[page.index("mine-heading") :]) == [mine]


def test_home_shows_on_call_tasks_and_recent_changes_of_my_teams(
    ctx: Context, client: TestClient, world: World
) -> None:
    """The panels show my team's schedule, my open task and my services'
    changes, and nothing of the Payments team."""
    ann = user_by_email(ctx, world.ann.email)
    pete = user_by_email(ctx, world.pete.email)
    make_schedule(ctx, "Ops primary", members=[ann], team="Ops")
    make_schedule(ctx, "Payments primary", members=[pete], team="Payments")
    number = open_incident(ctx, world.checkout)
    tasks.create(ctx, SYSTEM, number, title="Check the <disk>", owner_id=world.ann.id)
    changes.record(ctx, SYSTEM, service="checkout", kind="deploy", summary="v42 out")
    changes.record(ctx, SYSTEM, service="billing", kind="deploy", summary="v7 out")
    log_in(client, world.ann.email)

    page = client.get("/").text

    assert "Ops primary" in page
    assert "<strong>Ann</strong>" in page
    assert "Payments primary" not in page
    assert "Check the &lt;disk&gt;" in page
    assert "v42 out" in page
    assert "v7 out" not in page


# Incident page -------------------------------------------------------------------


def test_the_incident_page_lists_recent_changes_to_roll_back(
    ctx: Context, client: TestClient, world: World, clock: ManualClock
) -> None:
    """The changes to the incident's service shortly before it began, with
    their links, escaped; later changes and other services' are left out."""
    changes.record(
        ctx,
        SYSTEM,
        service="checkout",
        kind="deploy",
        summary="Deploy <b>v42</b>",
        version="42",
        link="https://ci.example.com/builds/42",
        at=clock.now() - timedelta(minutes=10),
    )
    changes.record(
        ctx,
        SYSTEM,
        service="billing",
        kind="deploy",
        summary="v7 out",
        at=clock.now() - timedelta(minutes=5),
    )
    number = open_incident(ctx, world.checkout)
    clock.advance(minutes=1)
    changes.record(ctx, SYSTEM, service="checkout", kind="config", summary="later")
    log_in(client, world.ann.email)

    page = client.get(f"/incidents/{number}").text

    section = page[page.index('id="changes-heading"') :]
    assert "Deploy &lt;b&gt;v42&lt;/b&gt;" in section
    assert 'href="https://ci.example.com/builds/42"' in section
    assert "v7 out" not in page
    assert "later" not in section.split("</section>")[0]


# List -------------------------------------------------------------------------


def test_list_filters_by_severity_service_team_and_search(
    ctx: Context, client: TestClient, world: World
) -> None:
    """Each filter narrows the list; search matches titles and #numbers."""
    disk = open_incident(ctx, world.checkout, "disk", summary="Disk full on db-1")
    cpu = open_incident(ctx, world.checkout, "cpu", summary="CPU hot on web-2")
    _set_severity(ctx, disk, "sev3")
    _set_severity(ctx, cpu, "sev1")
    log_in(client, world.vera.email)
    ops = team_id(ctx, "Ops")

    assert _numbers(client.get("/incidents?severity=sev1").text) == [cpu]
    assert _numbers(client.get("/incidents?q=disk+FULL").text) == [disk]
    assert _numbers(client.get(f"/incidents?q=%23{cpu}").text) == [cpu]
    assert _numbers(client.get("/incidents?q=100%25").text) == []
    assert _numbers(client.get(f"/incidents?team={ops}").text) == [cpu, disk]
    assert "1 incident match" in client.get("/incidents?severity=sev1").text


def test_list_filters_by_the_day_opened(
    ctx: Context, client: TestClient, world: World
) -> None:
    """From and to are whole UTC days; the test clock starts on 2026-03-02."""
    number = open_incident(ctx, world.checkout)
    log_in(client, world.ann.email)

    assert _numbers(
        client.get("/incidents?since=2026-03-02&until=2026-03-02").text
    ) == [number]
    assert _numbers(client.get("/incidents?since=2026-03-03").text) == []
    assert _numbers(client.get("/incidents?until=2026-03-01").text) == []


def test_list_sorts_by_severity_and_age(
    ctx: Context, client: TestClient, world: World
) -> None:
    """Worst first breaks ties newest first; oldest first reverses numbers."""
    first = open_incident(ctx, world.checkout, "a")
    second = open_incident(ctx, world.checkout, "b")
    third = open_incident(ctx, world.checkout, "c")
    for number, severity in ((first, "sev1"), (second, "sev3"), (third, "sev3")):
        _set_severity(ctx, number, severity)
    log_in(client, world.ann.email)

    assert _numbers(client.get("/incidents?sort=severity").text) == [
        first,
        third,
        second,
    ]
    assert _numbers(client.get("/incidents?sort=oldest").text) == [
        first,
        second,
        third,
    ]


def test_the_service_and_team_choices_are_the_users_own(
    ctx: Context, client: TestClient, world: World
) -> None:
    """Filter menus offer only what the user may see."""
    log_in(client, world.ann.email)

    page = client.get("/incidents").text

    assert ">checkout</option>" in page
    assert ">billing</option>" not in page
    assert ">Payments</option>" not in page


# Reassign ---------------------------------------------------------------------


def test_reassign_through_htmx_answers_with_the_new_summary(
    ctx: Context, client: TestClient, world: World
) -> None:
    """The summary part comes back naming the new assignee."""
    number = open_incident(ctx, world.checkout)
    csrf = log_in(client, world.ann.email)
    page = client.get(f"/incidents/{number}").text
    assert '<label for="assignee">Reassign to</label>' in page
    assert "Vera" not in page  # viewers cannot take incidents

    answer = client.post(
        f"/incidents/{number}/reassign",
        data={"user_id": str(world.ann.id)},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )

    assert answer.status_code == 200
    assert "<html" not in answer.text
    assert "<dt>Assignee</dt><dd>Ann</dd>" in answer.text
    assert incidents.get(ctx, SYSTEM, number).assignee is not None


@pytest.mark.parametrize("user_id", ["", "abc", "0"])
def test_reassign_needs_a_person(
    ctx: Context, client: TestClient, world: World, user_id: str
) -> None:
    """Without a valid person chosen, nothing changes."""
    number = open_incident(ctx, world.checkout)
    csrf = log_in(client, world.ann.email)

    answer = client.post(
        f"/incidents/{number}/reassign", data={"csrf_token": csrf, "user_id": user_id}
    )

    assert answer.status_code == 400
    assert incidents.get(ctx, SYSTEM, number).assignee is None


def test_reassign_to_someone_outside_the_team_is_refused(
    ctx: Context, client: TestClient, world: World
) -> None:
    """The service's rule holds: Pete (Payments) cannot take an Ops incident."""
    number = open_incident(ctx, world.checkout)
    csrf = log_in(client, world.ann.email)

    answer = client.post(
        f"/incidents/{number}/reassign",
        data={"csrf_token": csrf, "user_id": str(world.pete.id)},
    )

    assert answer.status_code == 400
    assert "cannot take incident" in answer.text


def test_snooze_acknowledges_for_a_while(
    ctx: Context, client: TestClient, world: World
) -> None:
    """Snoozing from the page acknowledges and says until when, on the timeline."""
    number = open_incident(ctx, world.checkout)
    csrf = log_in(client, world.ann.email)
    assert (
        '<label for="snooze-minutes">Snooze for</label>'
        in client.get(f"/incidents/{number}").text
    )

    answer = client.post(
        f"/incidents/{number}/snooze",
        data={"minutes": "60"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )

    assert answer.status_code == 200
    assert "status-acknowledged" in answer.text
    detail = incidents.get(ctx, SYSTEM, number)
    assert detail.timeline[-1].kind == "snoozed"
    assert "until 2026-03-02 10:00 UTC" in detail.timeline[-1].message


@pytest.mark.parametrize("minutes", ["", "-5", "0", "9999999"])
def test_a_bad_snooze_changes_nothing(
    ctx: Context, client: TestClient, world: World, minutes: str
) -> None:
    """Anything but a sensible number of minutes is a 400."""
    number = open_incident(ctx, world.checkout)
    csrf = log_in(client, world.ann.email)

    answer = client.post(
        f"/incidents/{number}/snooze", data={"csrf_token": csrf, "minutes": minutes}
    )

    assert answer.status_code == 400
    assert incidents.get(ctx, SYSTEM, number).status == "triggered"


# Live updates -------------------------------------------------------------------


@pytest.fixture
def short_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    """Streams that poll at once and end quickly, so a test can read them whole."""
    monkeypatch.setattr(live, "POLL_SECONDS", 0.01)
    monkeypatch.setattr(live, "STREAM_SECONDS", 0.05)


def _events(text: str) -> list[tuple[str, str | None, str]]:
    """(event, id, data) of every event in a text/event-stream body."""
    found = []
    for block in text.split("\n\n"):
        fields = [line.partition(": ") for line in block.splitlines()]
        named = {name: value for name, _, value in fields if name in ("event", "id")}
        data = "\n".join(value for name, _, value in fields if name == "data")
        if "event" in named:
            found.append((named["event"], named.get("id"), data))
    return found


@pytest.mark.usefixtures("short_streams")
def test_the_stream_sends_entries_after_the_given_one(
    ctx: Context, client: TestClient, world: World
) -> None:
    """New entries come as HTML with their id, then the summary again."""
    number = open_incident(ctx, world.checkout)
    csrf = log_in(client, world.ann.email)
    last = incidents.get(ctx, SYSTEM, number).timeline[-1].id
    client.post(
        f"/incidents/{number}/notes", data={"csrf_token": csrf, "text": "<b>hi</b>"}
    )

    response = client.get(f"/incidents/{number}/events?after={last}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response.text)
    assert [name for name, _, _ in events] == ["timeline", "summary"]
    _, entry_id, html = events[0]
    assert entry_id is not None
    assert int(entry_id) > last
    assert "&lt;b&gt;hi&lt;/b&gt;" in html
    assert html.count("<li") == 1
    assert "Resolve" in events[1][2]


@pytest.mark.usefixtures("short_streams")
def test_a_reconnecting_browser_resumes_after_its_last_event(
    ctx: Context, client: TestClient, world: World
) -> None:
    """Last-Event-ID wins over the page's starting point: nothing repeats."""
    number = open_incident(ctx, world.checkout)
    log_in(client, world.ann.email)
    last = incidents.get(ctx, SYSTEM, number).timeline[-1].id

    response = client.get(
        f"/incidents/{number}/events?after=0", headers={"Last-Event-ID": str(last)}
    )

    assert _events(response.text) == []


@pytest.mark.usefixtures("short_streams")
def test_another_teams_incident_cannot_be_streamed(
    ctx: Context, client: TestClient, world: World
) -> None:
    """404 before anything is sent, as for the incident page."""
    number = open_incident(ctx, world.billing)
    log_in(client, world.ann.email)

    response = client.get(f"/incidents/{number}/events?after=0")

    assert response.status_code == 404
    assert "text/event-stream" not in response.headers["content-type"]


def test_the_stream_needs_a_session_and_a_valid_start(
    ctx: Context, client: TestClient, world: World
) -> None:
    """No session: sent to log in. A malformed start: 400."""
    number = open_incident(ctx, world.checkout)

    assert client.get(f"/incidents/{number}/events").status_code == 303
    log_in(client, world.ann.email)
    assert client.get(f"/incidents/{number}/events?after=x").status_code == 400


def test_events_are_framed_line_by_line() -> None:
    """Every line of the data gets its own data: field; the id comes first."""
    assert live.sse_event("timeline", "<li>\n</li>", 7) == (
        "event: timeline\nid: 7\ndata: <li>\ndata: </li>\n\n"
    )
