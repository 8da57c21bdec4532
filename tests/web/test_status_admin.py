"""Status page administration pages: a manager runs components, groups, public
incidents, maintenance and subscribers from the browser; viewers and
responders may look but every change of theirs is refused as the API refuses
it; each change needs the form's CSRF token; bad input changes nothing and is
answered with the form again, a 4xx and the reason; names are escaped."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.builders import make_user
from tests.web.conftest import World, log_in, open_incident
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.services import status_maintenance, status_subscribers
from tocsin.services import status_page as sp
from tocsin.services.context import Context
from tocsin.store.models import AuditRecord, StatusSubscriber

EVIL = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"


@pytest.fixture
def manager(ctx: Context, world: World) -> str:
    make_user(ctx, "maud@example.com", role="manager", teams=("Ops",))
    return "maud@example.com"


@pytest.fixture
def page_setup(ctx: Context) -> None:
    sp.create_group(ctx, SYSTEM, "Core")
    sp.create_component(ctx, SYSTEM, "API", group="Core")
    sp.create_component(ctx, SYSTEM, "Website")


def component_id(ctx: Context, name: str) -> int:
    return sp.get_component(ctx, name).id


def audit_count(ctx: Context) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(AuditRecord)) or 0


def alert_text(html: str) -> str:
    found = re.search(r'role="alert">([^<]*)<', html)
    assert found is not None, "no alert on the page"
    return found.group(1)


# Components and groups -------------------------------------------------------


def test_the_nav_leads_managers_to_the_components_and_the_public_page(
    client: TestClient, manager: str, page_setup: None
) -> None:
    log_in(client, manager)

    response = client.get("/status-admin")

    assert response.status_code == 200
    assert 'href="/status-admin" aria-current="page">Status page' in response.text
    assert 'href="/status">Public status page' in response.text
    assert "API" in response.text
    assert "Website" in response.text
    assert 'action="/status-admin/components"' in response.text


def test_a_manager_adds_edits_sets_state_and_deletes_a_component(
    ctx: Context, client: TestClient, manager: str, page_setup: None
) -> None:
    token = log_in(client, manager)
    [core] = sp.list_groups(ctx)

    created = client.post(
        "/status-admin/components",
        data={
            "csrf_token": token,
            "name": "Search",
            "description": "Finding things",
            "group_id": str(core.id),
            "position": "3",
        },
    )
    assert created.status_code == 303
    search = sp.get_component(ctx, "Search")
    assert (search.group, search.position, search.description) == (
        "Core",
        3,
        "Finding things",
    )
    assert created.headers["location"] == f"/status-admin#component-{search.id}"

    edited = client.post(
        f"/status-admin/components/{search.id}/edit",
        data={
            "csrf_token": token,
            "name": "Site search",
            "description": "",
            "group_id": "",
            "position": "-1",
        },
    )
    assert edited.status_code == 303
    search = sp.get_component(ctx, search.id)
    assert (search.name, search.group, search.position) == ("Site search", None, -1)

    stated = client.post(
        f"/status-admin/components/{search.id}/state",
        data={"csrf_token": token, "state": "partial_outage"},
    )
    assert stated.status_code == 303
    search = sp.get_component(ctx, search.id)
    assert (search.state, search.manual_state) == ("partial_outage", "partial_outage")
    assert "set by hand" in client.get("/status-admin").text

    client.post(
        f"/status-admin/components/{search.id}/state",
        data={"csrf_token": token, "state": "auto"},
    )
    assert sp.get_component(ctx, search.id).state == "operational"

    deleted = client.post(
        f"/status-admin/components/{search.id}/delete", data={"csrf_token": token}
    )
    assert deleted.status_code == 303
    assert [c.name for c in sp.list_components(ctx)] == ["API", "Website"]


def test_a_manager_adds_renames_reorders_and_deletes_a_group(
    ctx: Context, client: TestClient, manager: str, page_setup: None
) -> None:
    token = log_in(client, manager)

    client.post(
        "/status-admin/groups",
        data={"csrf_token": token, "name": "Edge", "position": "-5"},
    )
    assert [g.name for g in sp.list_groups(ctx)] == ["Edge", "Core"]

    core = sp.list_groups(ctx)[1]
    renamed = client.post(
        f"/status-admin/groups/{core.id}/edit",
        data={"csrf_token": token, "name": "Platform", "position": "-9"},
    )
    assert renamed.status_code == 303
    assert [g.name for g in sp.list_groups(ctx)] == ["Platform", "Edge"]
    page = client.get("/status-admin").text
    assert page.index("<h3>Platform</h3>") < page.index("<h3>In no group</h3>")

    deleted = client.post(
        f"/status-admin/groups/{core.id}/delete", data={"csrf_token": token}
    )
    assert deleted.status_code == 303
    assert [g.name for g in sp.list_groups(ctx)] == ["Edge"]
    assert sp.get_component(ctx, "API").group is None


def test_up_and_down_buttons_reorder_components_and_groups(
    ctx: Context, client: TestClient, manager: str, page_setup: None
) -> None:
    token = log_in(client, manager)
    sp.create_component(ctx, SYSTEM, "Jobs", group="Core")
    sp.create_group(ctx, SYSTEM, "Edge")
    api, core = component_id(ctx, "API"), sp.list_groups(ctx)[0].id
    page = client.get("/status-admin").text
    assert 'aria-label="Move API down"' in page
    assert 'aria-label="Move API up"' not in page

    moved = client.post(
        f"/status-admin/components/{api}/move",
        data={"csrf_token": token, "direction": "down"},
    )
    assert moved.status_code == 303
    client.post(
        f"/status-admin/groups/{core}/move",
        data={"csrf_token": token, "direction": "down"},
    )
    assert [c.name for c in sp.list_components(ctx) if c.group] == ["Jobs", "API"]
    assert [g.name for g in sp.list_groups(ctx)] == ["Edge", "Core"]

    sideways = client.post(
        f"/status-admin/components/{api}/move",
        data={"csrf_token": token, "direction": "left"},
    )
    assert sideways.status_code == 400
    assert alert_text(sideways.text) == "Move a component or group up or down."


@pytest.mark.parametrize(
    ("path", "form", "message"),
    [
        ("/status-admin/components", {"name": "  "}, "A component name cannot be"),
        ("/status-admin/components", {"name": "API"}, "There is already a component"),
        (
            "/status-admin/components",
            {"name": "New", "position": "first"},
            "Position must be a whole number",
        ),
        ("/status-admin/components", {"name": "New", "group_id": "999"}, "No group"),
        ("/status-admin/groups", {"name": "Core"}, "There is already a group"),
        ("/status-admin/groups", {"name": ""}, "A group name cannot be empty"),
    ],
)
def test_bad_component_and_group_input_changes_nothing(
    ctx: Context,
    client: TestClient,
    manager: str,
    page_setup: None,
    path: str,
    form: dict[str, str],
    message: str,
) -> None:
    """The page comes back with the reason, a 4xx, and what was typed."""
    token = log_in(client, manager)
    before = audit_count(ctx)

    response = client.post(path, data={"csrf_token": token, **form})

    assert 400 <= response.status_code < 500
    assert alert_text(response.text).startswith(message)
    assert f'value="{form["name"]}"' in response.text
    assert audit_count(ctx) == before
    assert [c.name for c in sp.list_components(ctx)] == ["API", "Website"]
    assert [g.name for g in sp.list_groups(ctx)] == ["Core"]


def test_a_bad_edit_reopens_its_form_with_what_was_typed(
    ctx: Context, client: TestClient, manager: str, page_setup: None
) -> None:
    token = log_in(client, manager)
    api = component_id(ctx, "API")

    response = client.post(
        f"/status-admin/components/{api}/edit",
        data={"csrf_token": token, "name": "Website", "position": "2"},
    )

    assert response.status_code == 409
    assert "There is already a component" in alert_text(response.text)
    assert re.search(r'<details class="sa-more" open>', response.text)
    assert f'id="position-{api}" name="position"' in response.text
    assert sp.get_component(ctx, api).name == "API"

    unknown = client.post(
        f"/status-admin/components/{api}/state",
        data={"csrf_token": token, "state": "on fire"},
    )
    assert unknown.status_code == 400
    assert "State must be one of" in alert_text(unknown.text)
    assert sp.get_component(ctx, api).manual_state is None


# Refusals --------------------------------------------------------------------


WRITES = [
    ("/status-admin/components", {"name": "Mine"}),
    ("/status-admin/components/{api}/edit", {"name": "Mine"}),
    ("/status-admin/components/{api}/state", {"state": "major_outage"}),
    ("/status-admin/components/{api}/move", {"direction": "down"}),
    ("/status-admin/components/{api}/delete", {}),
    ("/status-admin/groups", {"name": "Mine"}),
    ("/status-admin/groups/{core}/edit", {"name": "Mine"}),
    ("/status-admin/groups/{core}/move", {"direction": "down"}),
    ("/status-admin/groups/{core}/delete", {}),
    (
        "/status-admin/incidents",
        {"title": "Mine", "impact": "degraded", "message": "m"},
    ),
    (
        "/status-admin/incidents/{incident}/updates",
        {"stage": "resolved", "message": "m"},
    ),
    ("/status-admin/maintenance/{window}/cancel", {}),
    ("/status-admin/subscribers/{subscriber}/remove", {}),
]


@pytest.fixture
def objects(ctx: Context, clock: ManualClock, page_setup: None) -> dict[str, int]:
    incident = sp.create_incident(
        ctx, SYSTEM, title="Errors", impact="degraded", components=["API"], message="a"
    )
    window = status_maintenance.schedule_maintenance(
        ctx,
        SYSTEM,
        title="Upgrade",
        starts_at=clock.now() + timedelta(hours=1),
        ends_at=clock.now() + timedelta(hours=2),
        components=["API"],
    )
    with ctx.db.write() as session:
        subscriber = StatusSubscriber(
            email="reader@example.com",
            nonce="n" * 32,
            confirmation_sent_at=clock.now(),
            created_at=clock.now(),
        )
        session.add(subscriber)
        session.flush()
        subscriber_id = subscriber.id
    return {
        "api": component_id(ctx, "API"),
        "core": sp.list_groups(ctx)[0].id,
        "incident": incident.id,
        "window": window.id,
        "subscriber": subscriber_id,
    }


@pytest.mark.parametrize("email", ["vera@example.com", "ann@example.com"])
def test_viewers_and_responders_may_look_but_change_nothing(
    ctx: Context,
    client: TestClient,
    world: World,
    objects: dict[str, int],
    email: str,
) -> None:
    """The pages show without forms; every post is a 403, as in the API, and
    the subscribers' addresses stay hidden."""
    token = log_in(client, email)
    before = audit_count(ctx)

    for path in (
        "/status-admin",
        "/status-admin/incidents",
        "/status-admin/maintenance",
    ):
        page = client.get(path)
        assert page.status_code == 200
        assert '<form method="post" action="/status-admin' not in page.text
        assert "Subscribers</a>" not in page.text
    assert client.get("/status-admin/subscribers").status_code == 403

    for path, form in WRITES:
        response = client.post(
            path.format(**objects), data={"csrf_token": token, **form}
        )
        assert response.status_code == 403, path
    assert audit_count(ctx) == before
    assert sp.get_component(ctx, "API").name == "API"


def test_every_change_needs_the_csrf_token(
    ctx: Context, client: TestClient, manager: str, objects: dict[str, int]
) -> None:
    log_in(client, manager)
    before = audit_count(ctx)

    for path, form in WRITES:
        response = client.post(
            path.format(**objects), data={"csrf_token": "forged" * 6, **form}
        )
        assert response.status_code == 403, path
        missing = client.post(path.format(**objects), data=form)
        assert missing.status_code == 403, path
    assert audit_count(ctx) == before


def test_a_page_needs_a_login(client: TestClient, world: World) -> None:
    response = client.get("/status-admin/incidents")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


# Public incidents ------------------------------------------------------------


def test_a_manager_opens_updates_and_resolves_a_public_incident(
    ctx: Context, client: TestClient, manager: str, page_setup: None
) -> None:
    token = log_in(client, manager)
    api, website = component_id(ctx, "API"), component_id(ctx, "Website")

    opened = client.post(
        "/status-admin/incidents",
        data={
            "csrf_token": token,
            "title": "Slow checkout",
            "impact": "partial_outage",
            "stage": "identified",
            "message": "Payments time out.",
            "component_ids": [str(api), str(website)],
        },
    )
    assert opened.status_code == 303
    [incident] = sp.list_incidents(ctx, SYSTEM)
    assert opened.headers["location"] == f"/status-admin/incidents/{incident.id}"
    assert (incident.stage, incident.impact) == ("identified", "partial_outage")
    assert incident.components == ["API", "Website"]
    assert sp.get_component(ctx, "API").state == "partial_outage"

    detail = client.get(opened.headers["location"])
    assert "Payments time out." in detail.text
    assert f'href="/status/incidents/{incident.id}"' in detail.text

    updated = client.post(
        f"/status-admin/incidents/{incident.id}/updates",
        data={
            "csrf_token": token,
            "stage": "monitoring",
            "message": "A fix is out.",
            "impact": "degraded",
        },
    )
    assert updated.status_code == 303
    assert sp.get_component(ctx, "API").state == "degraded"

    client.post(
        f"/status-admin/incidents/{incident.id}/updates",
        data={"csrf_token": token, "stage": "resolved", "message": "All good."},
    )
    resolved = sp.get_incident(ctx, SYSTEM, incident.id)
    assert [u.stage for u in resolved.updates] == [
        "identified",
        "monitoring",
        "resolved",
    ]
    assert sp.get_component(ctx, "API").state == "operational"
    listing = client.get("/status-admin/incidents").text
    assert listing.index("Resolved</h2>") < listing.index("Slow checkout")


def test_a_public_incident_links_the_tocsin_incident_it_reports_on(
    ctx: Context, client: TestClient, world: World, manager: str, page_setup: None
) -> None:
    number = open_incident(ctx, world.checkout)
    other_team = open_incident(ctx, world.billing, key="billing-down")
    token = log_in(client, manager)

    hidden = client.post(
        "/status-admin/incidents",
        data={
            "csrf_token": token,
            "title": "Outage",
            "impact": "major_outage",
            "message": "Looking.",
            "incident_number": str(other_team),
        },
    )
    assert hidden.status_code == 404
    assert f"No incident #{other_team}" in alert_text(hidden.text)

    client.post(
        "/status-admin/incidents",
        data={
            "csrf_token": token,
            "title": "Outage",
            "impact": "major_outage",
            "message": "Looking.",
            "incident_number": str(number),
        },
    )
    [incident] = sp.list_incidents(ctx, SYSTEM)
    assert incident.incident_number == number
    detail = client.get(f"/status-admin/incidents/{incident.id}").text
    assert f'href="/incidents/{number}">incident #{number}</a>' in detail


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"title": " ", "impact": "degraded", "message": "m"}, 400, "The title"),
        ({"title": "T", "impact": "degraded", "message": ""}, 400, "The message"),
        ({"title": "T", "impact": "operational", "message": "m"}, 400, "Impact must"),
        (
            {
                "title": "T",
                "impact": "degraded",
                "message": "m",
                "component_ids": "999",
            },
            404,
            "No component 999",
        ),
        (
            {"title": "T", "impact": "degraded", "message": "m", "component_ids": "x"},
            400,
            "Component must be a whole number",
        ),
    ],
)
def test_bad_incident_input_changes_nothing(
    ctx: Context,
    client: TestClient,
    manager: str,
    page_setup: None,
    form: dict[str, str],
    status: int,
    message: str,
) -> None:
    token = log_in(client, manager)

    response = client.post(
        "/status-admin/incidents", data={"csrf_token": token, **form}
    )

    assert response.status_code == status
    assert alert_text(response.text).startswith(message)
    assert f'name="message" rows="3" maxlength="10000" required>{form["message"]}<' in (
        response.text
    )
    assert sp.list_incidents(ctx, SYSTEM) == []


def test_a_bad_update_keeps_the_message_typed(
    ctx: Context, client: TestClient, manager: str, objects: dict[str, int]
) -> None:
    token = log_in(client, manager)

    response = client.post(
        f"/status-admin/incidents/{objects['incident']}/updates",
        data={"csrf_token": token, "stage": "fixed", "message": "Typed text"},
    )

    assert response.status_code == 400
    assert "Stage must be one of" in alert_text(response.text)
    assert ">Typed text</textarea>" in response.text
    assert len(sp.get_incident(ctx, SYSTEM, objects["incident"]).updates) == 1
    assert client.get("/status-admin/incidents/999").status_code == 404


# Maintenance -----------------------------------------------------------------


def test_a_manager_schedules_maintenance_in_a_time_zone(
    ctx: Context, client: TestClient, clock: ManualClock, manager: str, page_setup: None
) -> None:
    """Times typed in Paris are stored in UTC; the list shows both."""
    token = log_in(client, manager)
    api = component_id(ctx, "API")
    start = (clock.now() + timedelta(days=2)).replace(
        month=1, day=15, hour=0, minute=0, second=0, microsecond=0
    )
    if start <= clock.now():
        start = start.replace(year=start.year + 1)
    day = start.strftime("%Y-%m-%d")

    response = client.post(
        "/status-admin/maintenance",
        data={
            "csrf_token": token,
            "title": "Database upgrade",
            "description": "New disks.",
            "zone": "Europe/Paris",
            "starts": f"{day}T10:00",
            "ends": f"{day}T12:30",
            "component_ids": str(api),
        },
    )

    assert response.status_code == 303
    assert response.headers["location"].startswith(
        "/status-admin/maintenance?zone=Europe%2FParis#maintenance-"
    )
    [window] = status_maintenance.list_maintenance(ctx)
    assert window.starts_at.strftime("%Y-%m-%d %H:%M") == f"{day} 09:00"
    assert window.ends_at.strftime("%H:%M") == "11:30"
    listing = client.get(response.headers["location"]).text
    assert f"{day} 09:00 UTC" in listing
    assert f"{day} 10:00 Europe/Paris" in listing

    preview = client.get(
        "/status-admin/maintenance/preview",
        params={
            "starts": f"{day}T10:00",
            "ends": f"{day}T12:30",
            "zone": "Europe/Paris",
        },
    )
    assert f"{day} 09:00 UTC" in preview.text
    assert "2 h 30 min" in preview.text


def test_a_manager_edits_and_cancels_maintenance(
    ctx: Context, client: TestClient, manager: str, objects: dict[str, int]
) -> None:
    token = log_in(client, manager)
    window = status_maintenance.get_maintenance(ctx, objects["window"])
    website = component_id(ctx, "Website")
    form = client.get(f"/status-admin/maintenance/{window.id}?zone=UTC").text
    starts = window.starts_at.strftime("%Y-%m-%dT%H:%M")
    assert f'name="starts" type="datetime-local" value="{starts}"' in form
    later = window.ends_at + timedelta(hours=1)

    edited = client.post(
        f"/status-admin/maintenance/{window.id}",
        data={
            "csrf_token": token,
            "title": "Bigger upgrade",
            "zone": "UTC",
            "starts": starts,
            "ends": later.strftime("%Y-%m-%dT%H:%M"),
            "component_ids": str(website),
        },
    )
    assert edited.status_code == 303
    changed = status_maintenance.get_maintenance(ctx, window.id)
    assert (changed.title, changed.components) == ("Bigger upgrade", ["Website"])
    assert changed.ends_at == later.replace(second=0, microsecond=0)

    cancelled = client.post(
        f"/status-admin/maintenance/{window.id}/cancel",
        data={"csrf_token": token, "zone": "UTC"},
    )
    assert cancelled.status_code == 303
    assert status_maintenance.get_maintenance(ctx, window.id).phase == "cancelled"
    again = client.post(
        f"/status-admin/maintenance/{window.id}/cancel",
        data={"csrf_token": token, "zone": "UTC"},
    )
    assert again.status_code == 409
    assert "is cancelled" in alert_text(again.text)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"title": ""}, "The title cannot be empty"),
        ({"ends": "2000-01-01T00:00"}, "Maintenance must end after it starts"),
        ({"component_ids": "999"}, "No component 999"),
        ({"component_ids": "0"}, "No such component"),
        ({"zone": "Mars/Olympus"}, "Mars/Olympus is not a known time zone"),
        ({"starts": "tomorrow"}, "Give the start as a date and a time"),
    ],
)
def test_bad_maintenance_input_changes_nothing(
    ctx: Context,
    client: TestClient,
    clock: ManualClock,
    manager: str,
    objects: dict[str, int],
    change: dict[str, str],
    message: str,
) -> None:
    """Scheduling and editing alike: the form comes back with the reason."""
    token = log_in(client, manager)
    before = status_maintenance.list_maintenance(ctx)
    start = clock.now() + timedelta(hours=5)
    form = {
        "csrf_token": token,
        "title": "Work",
        "zone": "UTC",
        "starts": start.strftime("%Y-%m-%dT%H:%M"),
        "ends": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "component_ids": str(objects["api"]),
        **change,
    }

    for path in (
        "/status-admin/maintenance",
        f"/status-admin/maintenance/{objects['window']}",
    ):
        response = client.post(path, data=form)
        assert 400 <= response.status_code < 500, path
        assert alert_text(response.text).startswith(message), path
        assert f'value="{form["title"]}"' in response.text
    assert status_maintenance.list_maintenance(ctx) == before


# Subscribers -----------------------------------------------------------------


def test_a_manager_sees_counts_and_removes_a_subscriber(
    ctx: Context, client: TestClient, manager: str, objects: dict[str, int]
) -> None:
    now = ctx.clock.now()
    with ctx.db.write() as session:
        session.add(
            StatusSubscriber(
                email="fan@example.com",
                nonce="m" * 32,
                confirmation_sent_at=now,
                confirmed_at=now,
                created_at=now,
            )
        )
    token = log_in(client, manager)

    page = client.get("/status-admin/subscribers")
    assert page.status_code == 200
    counts = re.findall(r'<span class="count">(\d+)</span>', page.text)
    assert counts == ["2", "1", "1"]
    assert "reader@example.com" in page.text
    assert "pending" in page.text

    removed = client.post(
        f"/status-admin/subscribers/{objects['subscriber']}/remove",
        data={"csrf_token": token},
    )
    assert removed.status_code == 303
    left = status_subscribers.list_subscribers(ctx, SYSTEM)
    assert [s.email for s in left] == ["fan@example.com"]
    gone = client.post(
        f"/status-admin/subscribers/{objects['subscriber']}/remove",
        data={"csrf_token": token},
    )
    assert gone.status_code == 404


# Escaping --------------------------------------------------------------------


def test_names_titles_and_messages_are_escaped(
    ctx: Context, client: TestClient, clock: ManualClock, manager: str
) -> None:
    sp.create_group(ctx, SYSTEM, EVIL)
    sp.create_component(ctx, SYSTEM, EVIL, group=EVIL, description=EVIL)
    incident = sp.create_incident(
        ctx, SYSTEM, title=EVIL, impact="degraded", components=[EVIL], message=EVIL
    )
    window = status_maintenance.schedule_maintenance(
        ctx,
        SYSTEM,
        title=EVIL,
        description=EVIL,
        starts_at=clock.now() + timedelta(hours=1),
        ends_at=clock.now() + timedelta(hours=2),
        components=[EVIL],
    )
    log_in(client, manager)

    for path in (
        "/status-admin",
        "/status-admin/incidents",
        f"/status-admin/incidents/{incident.id}",
        "/status-admin/maintenance",
        f"/status-admin/maintenance/{window.id}",
    ):
        page = client.get(path).text
        assert EVIL not in page, path
        assert ESCAPED in page, path


def test_an_unchanged_start_in_the_repeated_autumn_hour_stays_put(
    ctx: Context, client: TestClient, manager: str, page_setup: None
) -> None:
    """On 2026-10-25 Berlin lives 02:30 twice. A window starting at the second
    02:30 (01:30 UTC) shows as 02:30 in the form; saving the form with only the
    title changed must not move it to the first 02:30 an hour earlier, nor tell
    subscribers it was rescheduled."""
    token = log_in(client, manager)
    second_half_past_two = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    window = status_maintenance.schedule_maintenance(
        ctx,
        SYSTEM,
        title="Night work",
        starts_at=second_half_past_two,
        ends_at=second_half_past_two + timedelta(hours=2),
        components=["API"],
    )
    form = client.get(f"/status-admin/maintenance/{window.id}?zone=Europe/Berlin")
    assert 'value="2026-10-25T02:30"' in form.text

    edited = client.post(
        f"/status-admin/maintenance/{window.id}",
        data={
            "csrf_token": token,
            "title": "Night work on the API",
            "zone": "Europe/Berlin",
            "starts": "2026-10-25T02:30",
            "ends": "2026-10-25T04:30",
            "component_ids": str(component_id(ctx, "API")),
        },
    )

    assert edited.status_code == 303
    changed = status_maintenance.get_maintenance(ctx, window.id)
    assert changed.title == "Night work on the API"
    assert (changed.starts_at, changed.ends_at) == (window.starts_at, window.ends_at)


def test_a_time_the_clocks_skip_is_refused(
    ctx: Context, client: TestClient, manager: str, page_setup: None
) -> None:
    """02:30 on 2026-03-29 never happens in Berlin: the form says so rather
    than quietly scheduling 03:30."""
    token = log_in(client, manager)

    response = client.post(
        "/status-admin/maintenance",
        data={
            "csrf_token": token,
            "title": "Spring work",
            "zone": "Europe/Berlin",
            "starts": "2026-03-29T02:30",
            "ends": "2026-03-29T05:00",
            "component_ids": str(component_id(ctx, "API")),
        },
    )

    assert response.status_code == 400
    assert "does not exist in Europe/Berlin" in alert_text(response.text)
    assert status_maintenance.list_maintenance(ctx) == []


def test_a_time_past_the_calendar_in_a_western_zone_is_refused(
    ctx: Context, client: TestClient, manager: str, page_setup: None
) -> None:
    """31 December 9999 in UTC-12 is already the year 10000 in UTC: the form
    and its live preview say it is out of range instead of failing."""
    token = log_in(client, manager)
    window = {"zone": "Etc/GMT+12", "starts": "9999-12-31T22:00"}

    response = client.post(
        "/status-admin/maintenance",
        data={
            "csrf_token": token,
            "title": "Far off",
            "ends": "9999-12-31T23:00",
            "component_ids": str(component_id(ctx, "API")),
            **window,
        },
    )
    preview = client.get(
        "/status-admin/maintenance/preview",
        params={**window, "ends": "9999-12-31T23:00"},
    )

    assert response.status_code == 400
    assert "out of range" in alert_text(response.text)
    assert preview.status_code == 200
    assert "out of range" in preview.text
