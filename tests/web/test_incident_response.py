"""The incident page's response panels: escalate now, severity and priority,
roles, responders, tasks, checklists and stakeholder updates.

Each action works as a plain form (a redirect back) and through htmx (the
panel comes back); viewers are refused, a post without the CSRF token is
refused, another team's incident is a 404, and bad input answers 4xx with the
message and what was typed. Text from people is escaped everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.builders import (
    actor_of,
    make_integration,
    make_service,
    make_user,
    user_by_email,
)
from tests.web.conftest import (
    World,
    hidden_field,
    log_in,
    new_client,
    open_incident,
)
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.services import (
    declaration,
    incident_triage,
    incidents,
    responders,
    roles,
    runbooks,
    tasks,
    triage,
    updates,
)
from tocsin.services.context import Context
from tocsin.services.runbooks import RunbookInput, StepInput
from tocsin.services.updates import TemplateInput

HTMX = {"HX-Request": "true"}
SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@dataclass(frozen=True)
class Scene:
    number: int
    other_team: int
    bob: int
    runbook: int


@pytest.fixture
def scene(ctx: Context, world: World) -> Scene:
    """An Ops incident on `search`, whose policy pages Ann then Bob; a runbook
    and an internal update template for it; and a Payments incident."""
    ann = user_by_email(ctx, world.ann.email)
    bob = make_user(ctx, "bob@example.com", name="Bob Baker", teams=("Ops",))
    make_service(ctx, "search", steps=[(10, [ann]), (10, [bob])], team="Ops")
    search, _ = make_integration(ctx, "search")
    runbook = runbooks.create(
        ctx,
        SYSTEM,
        RunbookInput(
            name="Search down",
            team="Ops",
            steps=(StepInput("Check the index"), StepInput("Page the vendor")),
            services=("search",),
        ),
    )
    updates.create_template(
        ctx,
        SYSTEM,
        TemplateInput(
            name="internal-status",
            audience="internal",
            subject="#{{ incident.number }} {{ incident.title }}",
            body="We are looking into it. Next: {{ next_step }}",
        ),
    )
    return Scene(
        number=open_incident(ctx, search, "search-down", "Search is down"),
        other_team=open_incident(ctx, world.billing, "cards", "Cards failing"),
        bob=bob.id,
        runbook=runbook.id,
    )


def _actions(scene: Scene, ctx: Context) -> dict[str, tuple[str, dict[str, str]]]:
    """Every response action with input that works, by name."""
    checklist = runbooks.start_checklist(ctx, SYSTEM, scene.number, scene.runbook)
    task = tasks.create(ctx, SYSTEM, scene.number, title="Look at logs")
    return {
        "escalate": ("escalate", {}),
        "severity": ("severity", {"severity": "sev2", "reason": "all users"}),
        "priority": (
            "priority",
            {"impact": "high", "urgency": "high", "reason": "revenue"},
        ),
        "impact": ("impact", {"customers": "120", "financial": "1"}),
        "role": ("roles/commander", {"user_id": str(scene.bob)}),
        "responders": ("responders", {"responder": f"user:{scene.bob}"}),
        "task": ("tasks", {"title": "Rebuild the index"}),
        "task status": (f"tasks/{task.id}", {"status": "done"}),
        "check": (
            f"checklists/{checklist.id}/items/{checklist.items[0].id}",
            {"done": "1"},
        ),
        "update": (
            "updates",
            {"audience": "internal", "subject": "Still down", "body": "Working."},
        ),
    }


# Showing -----------------------------------------------------------------------


def test_the_page_shows_the_panels_in_working_order(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    log_in(client, world.ann.email)

    page = client.get(f"/incidents/{scene.number}").text

    order = [
        "incident-summary",
        "response-triage",
        "response-roles",
        "response-responders",
        "response-tasks",
        "response-checklists",
        "response-updates",
        'id="timeline"',
    ]
    positions = [page.index(marker) for marker in order]
    assert positions == sorted(positions)
    assert "Incident commander" in page
    assert "Start the checklist of" in page
    assert "internal-status (internal)" in page


def test_a_viewer_sees_the_panels_without_their_forms(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    roles.assign(ctx, SYSTEM, scene.number, "commander", scene.bob)
    tasks.create(ctx, SYSTEM, scene.number, title="Look at logs")
    log_in(client, world.vera.email)

    page = client.get(f"/incidents/{scene.number}").text

    assert "Bob Baker" in page
    assert "Look at logs" in page
    for control in ("Escalate now", "Add task", "Send update", "Hand over"):
        assert control not in page


def test_the_live_state_brings_every_panels_lists_out_of_band(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    """What the page fetches after the live stream says something happened:
    lists and facts only, each marked to swap out of band, no typed input."""
    tasks.create(ctx, SYSTEM, scene.number, title=SCRIPT)
    roles.assign(ctx, SYSTEM, scene.number, "scribe", scene.bob)
    log_in(client, world.ann.email)

    state = client.get(f"/incidents/{scene.number}/response-state")

    assert state.status_code == 200
    for part in (
        "triage-facts",
        "roles-list",
        "responders-list",
        "tasks-list",
        "checklists-list",
        "updates-cadence",
        "updates-sent",
    ):
        assert f'id="{part}" class="live-part" hx-swap-oob="true"' in state.text
    assert ESCAPED in state.text
    assert SCRIPT not in state.text
    assert "Bob Baker" in state.text
    assert 'id="task-title"' not in state.text
    page = client.get(f"/incidents/{scene.number}").text
    assert "hx-swap-oob" not in page


def test_another_teams_live_state_is_not_found(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    log_in(client, world.ann.email)

    state = client.get(f"/incidents/{scene.other_team}/response-state")

    assert state.status_code == 404


# Each action -------------------------------------------------------------------


def test_escalate_now_pages_the_next_step(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    csrf = log_in(client, world.ann.email)

    response = client.post(
        f"/incidents/{scene.number}/escalate", data={"csrf_token": csrf}
    )

    assert response.status_code == 303
    assert response.headers["location"].endswith("#response-triage")
    messages = [e.message for e in incidents.get(ctx, SYSTEM, scene.number).timeline]
    assert any(m.startswith("Escalation step 2 of 2: paging Bob") for m in messages)


def test_escalating_past_the_last_step_says_why(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    csrf = log_in(client, world.ann.email)
    url = f"/incidents/{scene.number}/escalate"
    client.post(url, data={"csrf_token": csrf})

    response = client.post(url, data={"csrf_token": csrf}, headers=HTMX)

    assert response.status_code == 409
    assert "no further escalation step" in response.text
    assert 'id="response-triage"' in response.text


def test_two_responders_pressing_escalate_at_once_page_one_step(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    # Three steps, so that a second press would have somewhere to go.
    ann = user_by_email(ctx, world.ann.email)
    cid = make_user(ctx, "cid@example.com", teams=("Ops",))
    make_service(
        ctx, "index", steps=[(10, [ann]), (10, [ann]), (10, [cid])], team="Ops"
    )
    index, _ = make_integration(ctx, "index")
    number = open_incident(ctx, index, "index-lag", "Index lagging")
    url = f"/incidents/{number}"
    ann_csrf = log_in(client, world.ann.email)
    with new_client(ctx) as other:
        cid_csrf = log_in(other, "cid@example.com")
        ann_seen = hidden_field(client.get(url).text, "seen")
        cid_seen = hidden_field(other.get(url).text, "seen")

        first = client.post(
            f"{url}/escalate", data={"csrf_token": ann_csrf, "seen": ann_seen}
        )
        second = other.post(
            f"{url}/escalate",
            data={"csrf_token": cid_csrf, "seen": cid_seen},
            headers=HTMX,
        )
        again = other.post(
            f"{url}/escalate",
            data={"csrf_token": cid_csrf, "seen": hidden_field(second.text, "seen")},
            headers=HTMX,
        )

    assert first.status_code == 303
    assert second.status_code == 409
    assert "was escalated since you looked" in second.text
    assert again.status_code == 200
    kinds = [e.kind for e in incidents.get(ctx, SYSTEM, number).timeline]
    assert kinds.count("escalated_manually") == 2


def test_the_triage_panel_shows_type_impact_and_why_declared(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    """What triage recorded is on the page, not only in the timeline; people's
    text is escaped."""
    triage.create_type(ctx, SYSTEM, key="outage", name="Outage")
    search = incidents.get(ctx, SYSTEM, scene.number)
    declaration.declare_incident(
        ctx, SYSTEM, scene.number, reason=f"Support calls {SCRIPT}"
    )
    incident_triage.update_impact(
        ctx,
        SYSTEM,
        scene.number,
        {
            "incident_type": "outage",
            "customers_affected": 4000,
            "customers_affected_estimated": True,
            "impact_financial": True,
            "impact_legal": True,
            "business_impact": f"Orders lost {SCRIPT}",
            "affected_service_ids": [search.service.id],
        },
    )
    log_in(client, world.ann.email)

    page = client.get(f"/incidents/{scene.number}").text
    facts = page[page.index('id="triage-facts"') :].split("</dl>")[0]

    assert "Outage" in facts
    assert f"Support calls {ESCAPED}" in facts
    assert "about 4000" in facts
    assert "financial, legal or regulatory" in facts
    assert f"Orders lost {ESCAPED}" in facts
    assert "search" in facts
    assert SCRIPT not in page


def test_impact_is_recorded_from_the_page(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    """The form sends the whole impact; what changed is on the timeline."""
    triage.create_type(ctx, SYSTEM, key="outage", name="Outage")
    search = incidents.get(ctx, SYSTEM, scene.number).service.id
    csrf = log_in(client, world.ann.email)

    response = client.post(
        f"/incidents/{scene.number}/impact",
        data={
            "csrf_token": csrf,
            "incident_type": "outage",
            "customers": "4000",
            "estimated": "1",
            "reputational": "1",
            "business_impact": f"Orders lost {SCRIPT}",
            "affected": [str(search)],
        },
        headers=HTMX,
    )

    assert response.status_code == 200
    assert "about 4000" in response.text
    assert f"Orders lost {ESCAPED}" in response.text
    incident = incidents.get(ctx, SYSTEM, scene.number)
    assert incident.incident_type is not None
    assert incident.incident_type.key == "outage"
    assert incident.customers_affected == 4000
    assert incident.customers_affected_estimated is True
    assert (incident.impact_financial, incident.impact_reputational) == (False, True)
    assert [s.name for s in incident.affected_services] == ["search"]
    assert incident.timeline[-1].kind == "impact_updated"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("customers", "12x", "customers affected is a whole number"),
        ("customers", "²", "customers affected is a whole number"),
        ("customers", "9" * 30, "customers_affected is 0 to"),
        ("incident_type", "nope", "nope"),
        ("affected", "billing", "no service with id"),
    ],
)
def test_bad_impact_keeps_what_was_typed_and_changes_nothing(
    ctx: Context,
    client: TestClient,
    world: World,
    scene: Scene,
    field: str,
    value: str,
    message: str,
) -> None:
    """Another team's service is as unknown as a made-up one."""
    billing = incidents.get(ctx, SYSTEM, scene.other_team).service.id
    data = {"business_impact": "kept", field: value}
    if field == "affected":
        data["affected"] = str(billing)
    csrf = log_in(client, world.ann.email)

    response = client.post(
        f"/incidents/{scene.number}/impact", data={"csrf_token": csrf, **data}
    )

    assert response.status_code == 400
    assert message in response.text
    assert ">kept</textarea>" in response.text
    incident = incidents.get(ctx, SYSTEM, scene.number)
    assert incident.business_impact == ""
    assert incident.customers_affected is None


def test_severity_changes_with_a_reason_on_the_timeline(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    csrf = log_in(client, world.ann.email)

    response = client.post(
        f"/incidents/{scene.number}/severity",
        data={"csrf_token": csrf, "severity": "sev2", "reason": "all users"},
        headers=HTMX,
    )

    assert response.status_code == 200
    assert 'id="response-triage"' in response.text
    incident = incidents.get(ctx, SYSTEM, scene.number)
    assert incident.severity == "sev2"
    assert "all users" in incident.timeline[-1].message


def test_an_unknown_severity_keeps_the_reason_typed(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    csrf = log_in(client, world.ann.email)

    response = client.post(
        f"/incidents/{scene.number}/severity",
        data={"csrf_token": csrf, "severity": "sev9", "reason": "because"},
    )

    assert response.status_code == 400
    assert "is not one of" in response.text
    assert 'value="because"' in response.text
    assert "<h1>" in response.text  # the whole page, for a plain form


def test_priority_comes_from_the_matrix(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    csrf = log_in(client, world.ann.email)

    client.post(
        f"/incidents/{scene.number}/priority",
        data={"csrf_token": csrf, "impact": "high", "urgency": "high", "reason": "$"},
    )
    preview = client.get(
        f"/incidents/{scene.number}/priority-preview",
        params={"impact": "high", "urgency": "high"},
    )

    incident = incidents.get(ctx, SYSTEM, scene.number)
    assert (incident.impact, incident.urgency) == ("high", "high")
    assert incident.priority is not None
    assert "gives priority" in preview.text
    assert incident.timeline[-1].kind == "priority_changed"


def test_a_priority_without_a_reason_is_refused(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    csrf = log_in(client, world.ann.email)

    response = client.post(
        f"/incidents/{scene.number}/priority",
        data={"csrf_token": csrf, "impact": "high", "urgency": "high", "reason": ""},
        headers=HTMX,
    )

    assert response.status_code == 400
    assert "reason" in response.text
    assert incidents.get(ctx, SYSTEM, scene.number).priority is None


def test_roles_are_assigned_handed_over_and_relinquished(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    csrf = log_in(client, world.ann.email)
    url = f"/incidents/{scene.number}/roles/commander"

    client.post(url, data={"csrf_token": csrf, "user_id": str(world.ann.id)})
    handed = client.post(
        url, data={"csrf_token": csrf, "user_id": str(scene.bob)}, headers=HTMX
    )

    assert handed.status_code == 200
    assert "Bob Baker" in handed.text
    [holder] = roles.incident_roles(ctx, SYSTEM, scene.number)
    assert holder.user.id == scene.bob

    released = client.post(f"{url}/release", data={"csrf_token": csrf})
    assert released.status_code == 303
    assert roles.incident_roles(ctx, SYSTEM, scene.number) == []


def test_a_role_for_someone_outside_the_team_is_refused(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    csrf = log_in(client, world.ann.email)

    response = client.post(
        f"/incidents/{scene.number}/roles/commander",
        data={"csrf_token": csrf, "user_id": str(world.pete.id)},
        headers=HTMX,
    )

    assert response.status_code == 400
    assert "cannot take part" in response.text
    assert roles.incident_roles(ctx, SYSTEM, scene.number) == []


def test_releasing_a_role_nobody_holds_is_a_404_with_the_message(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    csrf = log_in(client, world.ann.email)

    response = client.post(
        f"/incidents/{scene.number}/roles/scribe/release",
        data={"csrf_token": csrf},
        headers=HTMX,
    )

    assert response.status_code == 404
    assert "nobody holds the role Scribe" in response.text


def test_responders_are_added_and_listed(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    csrf = log_in(client, world.ann.email)

    response = client.post(
        f"/incidents/{scene.number}/responders",
        data={"csrf_token": csrf, "responder": f"user:{scene.bob}"},
        headers=HTMX,
    )

    assert response.status_code == 200
    assert "Bob Baker" in response.text
    team = responders.response_team(ctx, SYSTEM, scene.number)
    assert [p.user.id for p in team.participants] == [scene.bob]


@pytest.mark.parametrize("responder", ["", "user:", "group:1", "user:x", "user:0"])
def test_a_responder_not_from_the_list_is_refused(
    ctx: Context, client: TestClient, world: World, scene: Scene, responder: str
) -> None:
    csrf = log_in(client, world.ann.email)

    response = client.post(
        f"/incidents/{scene.number}/responders",
        data={"csrf_token": csrf, "responder": responder},
    )

    assert response.status_code == 400
    assert "choose" in response.text


def test_tasks_are_added_with_an_owner_and_due_time_and_move_on(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    csrf = log_in(client, world.ann.email)

    added = client.post(
        f"/incidents/{scene.number}/tasks",
        data={
            "csrf_token": csrf,
            "title": "Rebuild the index",
            "owner_id": str(scene.bob),
            "due": "2030-01-02T03:04",
        },
        headers=HTMX,
    )

    assert added.status_code == 200
    assert "Rebuild the index" in added.text
    [task] = tasks.list_tasks(ctx, SYSTEM, scene.number)
    assert task.owner is not None
    assert task.owner.id == scene.bob
    assert task.due_at is not None
    assert task.due_at.isoformat() == ("2030-01-02T03:04:00+00:00")

    client.post(
        f"/incidents/{scene.number}/tasks/{task.id}",
        data={"csrf_token": csrf, "status": "in_progress"},
    )
    [moved] = tasks.list_tasks(ctx, SYSTEM, scene.number)
    assert moved.status == "in_progress"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": ""}, "task title"),
        ({"title": "x", "due": "soon"}, "the due time must be a date and time"),
        ({"title": "x", "owner_id": "me"}, "choose the owner from the list"),
    ],
)
def test_a_bad_task_keeps_what_was_typed(
    ctx: Context,
    client: TestClient,
    world: World,
    scene: Scene,
    data: dict[str, str],
    message: str,
) -> None:
    csrf = log_in(client, world.ann.email)

    response = client.post(
        f"/incidents/{scene.number}/tasks",
        data={"csrf_token": csrf, **data},
        headers=HTMX,
    )

    assert response.status_code == 400
    assert message in response.text
    assert f'value="{data["title"]}"' in response.text
    assert tasks.list_tasks(ctx, SYSTEM, scene.number) == []


def test_a_task_status_out_of_the_list_is_refused(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    task = tasks.create(ctx, SYSTEM, scene.number, title="Look at logs")
    csrf = log_in(client, world.ann.email)

    response = client.post(
        f"/incidents/{scene.number}/tasks/{task.id}",
        data={"csrf_token": csrf, "status": "finished"},
    )

    assert response.status_code == 400
    assert "a task status is one of" in response.text


def test_a_checklist_is_started_from_a_runbook_and_checked(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    csrf = log_in(client, world.ann.email)

    started = client.post(
        f"/incidents/{scene.number}/checklists",
        data={"csrf_token": csrf, "runbook_id": str(scene.runbook)},
        headers=HTMX,
    )
    assert started.status_code == 200
    [checklist] = runbooks.checklists(ctx, SYSTEM, scene.number)
    first = checklist.items[0]

    url = f"/incidents/{scene.number}/checklists/{checklist.id}/items/{first.id}"
    checked = client.post(url, data={"csrf_token": csrf, "done": "1"}, headers=HTMX)

    assert checked.status_code == 200
    assert "1 of 2 done" in checked.text
    [again] = runbooks.checklists(ctx, SYSTEM, scene.number)
    assert again.items[0].done

    client.post(url, data={"csrf_token": csrf, "done": "0"})
    [undone] = runbooks.checklists(ctx, SYSTEM, scene.number)
    assert not undone.items[0].done


def test_starting_a_checklist_twice_or_checking_nonsense_is_refused(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    checklist = runbooks.start_checklist(ctx, SYSTEM, scene.number, scene.runbook)
    csrf = log_in(client, world.ann.email)

    twice = client.post(
        f"/incidents/{scene.number}/checklists",
        data={"csrf_token": csrf, "runbook_id": str(scene.runbook)},
    )
    item = checklist.items[0].id
    vague = client.post(
        f"/incidents/{scene.number}/checklists/{checklist.id}/items/{item}",
        data={"csrf_token": csrf, "done": "maybe"},
        headers=HTMX,
    )
    missing = client.post(
        f"/incidents/{scene.number}/checklists/{checklist.id}/items/999999",
        data={"csrf_token": csrf, "done": "1"},
        headers=HTMX,
    )

    assert twice.status_code == 409
    assert "already has the checklist" in twice.text
    assert vague.status_code == 400
    assert "say whether the step is done" in vague.text
    assert missing.status_code == 404
    assert "no item 999999" in missing.text


def test_an_update_is_previewed_from_a_template_edited_and_sent(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    csrf = log_in(client, world.ann.email)
    form = {
        "csrf_token": csrf,
        "audience": "internal",
        "template": "internal-status",
        "variables": "next_step = reindex",
        "eta": "2030-01-02T03:04",
    }

    preview = client.post(
        f"/incidents/{scene.number}/updates",
        data={**form, "intent": "preview"},
        headers=HTMX,
    )

    assert preview.status_code == 200
    assert "We are looking into it. Next: reindex" in preview.text
    assert f'value="#{scene.number} Search is down"' in preview.text
    assert updates.list_updates(ctx, SYSTEM, scene.number) == []

    sent = client.post(
        f"/incidents/{scene.number}/updates",
        data={
            **form,
            "intent": "send",
            "subject": f"#{scene.number} Search is down",
            "body": "We are looking into it. Next: reindex, then verify.",
        },
    )

    assert sent.status_code == 303
    [update] = updates.list_updates(ctx, SYSTEM, scene.number)
    assert update.body.endswith("then verify.")
    assert update.eta is not None
    assert update.eta.year == 2030
    page = client.get(f"/incidents/{scene.number}").text
    assert "Next update due by" in page
    assert f"#{scene.number} Search is down" in page


def test_an_update_sent_straight_from_the_template_renders_it(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    csrf = log_in(client, world.ann.email)

    client.post(
        f"/incidents/{scene.number}/updates",
        data={
            "csrf_token": csrf,
            "audience": "internal",
            "template": "internal-status",
            "variables": "next_step = wait",
        },
    )

    [update] = updates.list_updates(ctx, SYSTEM, scene.number)
    assert update.body == "We are looking into it. Next: wait"
    assert update.template_id is not None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"template": "internal-status"}, "next_step"),
        ({"template": "internal-status", "variables": "oops"}, "name = value"),
        ({"template": "internal-status", "audience": "executive"}, "not executive"),
        ({"audience": "everyone"}, "an audience is one of"),
        ({"subject": "", "body": "text only"}, "subject"),
    ],
)
def test_a_bad_update_says_what_is_wrong_and_sends_nothing(
    ctx: Context,
    client: TestClient,
    world: World,
    scene: Scene,
    data: dict[str, str],
    message: str,
) -> None:
    csrf = log_in(client, world.ann.email)
    form = {"csrf_token": csrf, "audience": "internal", "intent": "send", **data}

    response = client.post(
        f"/incidents/{scene.number}/updates", data=form, headers=HTMX
    )

    assert response.status_code == 400
    assert message in response.text
    assert updates.list_updates(ctx, SYSTEM, scene.number) == []


def test_an_overdue_update_is_shown(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    """With a communications lead named and the cadence run out, the panel
    says the update is overdue."""
    roles.assign(ctx, SYSTEM, scene.number, "communications", scene.bob)
    assert isinstance(ctx.clock, ManualClock)
    ctx.clock.advance(days=1)
    log_in(client, world.ann.email)

    page = client.get(f"/incidents/{scene.number}").text

    assert "update overdue" in page


# Refusals common to every action ----------------------------------------------

ACTIONS = [
    "escalate",
    "severity",
    "priority",
    "role",
    "responders",
    "task",
    "task status",
    "check",
    "update",
]


@pytest.mark.parametrize("name", ACTIONS)
def test_every_action_works_as_a_plain_form(
    ctx: Context, client: TestClient, world: World, scene: Scene, name: str
) -> None:
    path, data = _actions(scene, ctx)[name]
    csrf = log_in(client, world.ann.email)
    before = len(incidents.get(ctx, SYSTEM, scene.number).timeline)

    response = client.post(
        f"/incidents/{scene.number}/{path}", data={"csrf_token": csrf, **data}
    )

    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith(f"/incidents/{scene.number}#")
    assert len(incidents.get(ctx, SYSTEM, scene.number).timeline) > before


@pytest.mark.parametrize("name", ACTIONS)
def test_every_action_is_refused_to_a_viewer(
    ctx: Context, client: TestClient, world: World, scene: Scene, name: str
) -> None:
    path, data = _actions(scene, ctx)[name]
    csrf = log_in(client, world.vera.email)
    before = len(incidents.get(ctx, SYSTEM, scene.number).timeline)

    response = client.post(
        f"/incidents/{scene.number}/{path}", data={"csrf_token": csrf, **data}
    )

    assert response.status_code == 403
    assert len(incidents.get(ctx, SYSTEM, scene.number).timeline) == before


@pytest.mark.parametrize("name", ACTIONS)
def test_every_action_needs_the_csrf_token(
    ctx: Context, client: TestClient, world: World, scene: Scene, name: str
) -> None:
    path, data = _actions(scene, ctx)[name]
    log_in(client, world.ann.email)
    before = len(incidents.get(ctx, SYSTEM, scene.number).timeline)

    response = client.post(f"/incidents/{scene.number}/{path}", data=data)

    assert response.status_code == 403
    assert "expired" in response.text
    assert len(incidents.get(ctx, SYSTEM, scene.number).timeline) == before


@pytest.mark.parametrize("name", ACTIONS)
def test_every_action_on_another_teams_incident_is_not_found(
    ctx: Context, client: TestClient, world: World, scene: Scene, name: str
) -> None:
    path, data = _actions(scene, ctx)[name]
    csrf = log_in(client, world.pete.email)

    response = client.post(
        f"/incidents/{scene.number}/{path}", data={"csrf_token": csrf, **data}
    )

    assert response.status_code == 404
    assert "Search is down" not in response.text


def test_another_teams_incident_hides_its_priority_preview(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    log_in(client, world.ann.email)

    response = client.get(f"/incidents/{scene.other_team}/priority-preview")

    assert response.status_code == 404


# Escaping ----------------------------------------------------------------------


def test_text_from_people_is_escaped_in_every_panel(
    ctx: Context, client: TestClient, world: World, scene: Scene
) -> None:
    """A script in a task, a reason, an update and a typed-back value shows as
    text."""
    ann = actor_of(ctx, user_by_email(ctx, world.ann.email))
    tasks.create(ctx, ann, scene.number, title=SCRIPT)
    updates.post(
        ctx,
        ann,
        scene.number,
        updates.UpdateInput(audience="internal", subject=SCRIPT, body=SCRIPT),
    )
    csrf = log_in(client, world.ann.email)

    page = client.get(f"/incidents/{scene.number}").text
    refused = client.post(
        f"/incidents/{scene.number}/severity",
        data={"csrf_token": csrf, "severity": "nope", "reason": SCRIPT},
        headers=HTMX,
    )

    assert SCRIPT not in page
    assert page.count(ESCAPED) >= 3
    assert SCRIPT not in refused.text
    assert ESCAPED in refused.text


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("roles/commander", {"user_id": "²"}),
        ("tasks", {"title": "Rebuild the index", "owner_id": "①"}),
        ("checklists", {"runbook_id": "²"}),
        ("responders", {"responder": "user:²"}),
        ("updates", {"audience": "internal", "template": "²"}),
        ("updates", {"audience": "internal", "template": "²", "intent": "preview"}),
    ],
)
def test_a_digit_int_cannot_read_is_refused_not_an_error(
    ctx: Context,
    client: TestClient,
    world: World,
    scene: Scene,
    path: str,
    data: dict[str, str],
) -> None:
    # "²" and "①" pass str.isdigit() but int() refuses them.
    csrf = log_in(client, world.ann.email)
    before = len(incidents.get(ctx, SYSTEM, scene.number).timeline)

    response = client.post(
        f"/incidents/{scene.number}/{path}",
        data={"csrf_token": csrf, **data},
        headers=HTMX,
    )

    assert response.status_code in (400, 404)
    assert 'role="alert"' in response.text
    assert len(incidents.get(ctx, SYSTEM, scene.number).timeline) == before
