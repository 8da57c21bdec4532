"""The response settings pages: severity and the matrix, incident types,
roles, templates with their live preview, and channels with declaration
triggers and triage owners.

Adam is an admin, Mia a manager; Ann responds and Vera views (see
tests/web/conftest.py). Each change is checked in the service afterwards, so
a page that only looks right fails.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from tests.builders import make_user
from tests.web.conftest import World, log_in, new_client
from tocsin.domain.access import SYSTEM
from tocsin.services import declaration_triggers as triggers
from tocsin.services import postmortems, roles, triage, updates
from tocsin.services.context import Context

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def adam(ctx: Context, world: World) -> str:
    make_user(ctx, "adam@example.com", role="admin", teams=())
    return "adam@example.com"


@pytest.fixture
def mia(ctx: Context, world: World) -> str:
    make_user(ctx, "mia@example.com", role="manager", teams=("Ops",))
    return "mia@example.com"


Form = dict[str, list[str]]


def matrix_form(ctx: Context, token: str, **changes: str) -> Form:
    """The matrix form as stored, with `high_low="p2"`-style changes."""
    form: Form = {"csrf_token": [token], "impact": [], "urgency": [], "priority": []}
    for cell in triage.scales(ctx).matrix:
        form["impact"].append(cell.impact)
        form["urgency"].append(cell.urgency)
        form["priority"].append(
            changes.get(f"{cell.impact}_{cell.urgency}", cell.priority)
        )
    return form


def severity_form(
    ctx: Context, token: str, new: tuple[str, str] = ("", ""), **names: str
) -> Form:
    """The severity levels form as stored (renamed by `names`), with a new
    row of `new` (key, name) last, as the page has it."""
    levels = triage.scales(ctx).severity
    rows = [(lv.key, names.get(lv.key, lv.name), str(lv.rank)) for lv in levels]
    rows.append((new[0], new[1], str(len(levels) + 1)))
    return {
        "csrf_token": [token],
        "key": [key for key, _, _ in rows],
        "name": [name for _, name, _ in rows],
        "description": [""] * len(rows),
        "examples": [""] * len(rows),
        "order": [order for _, _, order in rows],
    }


def priority_of(ctx: Context, impact: str, urgency: str) -> str:
    for cell in triage.scales(ctx).matrix:
        if (cell.impact, cell.urgency) == (impact, urgency):
            return cell.priority
    raise AssertionError("no such cell")


# --- severity and the matrix ------------------------------------------------------


def test_an_admin_sees_the_levels_and_the_matrix_as_a_grid(
    client: TestClient, adam: str
) -> None:
    log_in(client, adam)

    page = client.get("/settings/severity")

    assert page.status_code == 200
    assert "SEV1" in page.text
    assert 'aria-label="Priority for High impact and Low urgency"' in page.text
    assert "Save the matrix" in page.text


def test_an_admin_changes_a_matrix_cell(
    ctx: Context, client: TestClient, adam: str
) -> None:
    token = log_in(client, adam)

    saved = client.post(
        "/settings/severity/matrix", data=matrix_form(ctx, token, high_low="p2")
    )

    assert saved.status_code == 303
    assert priority_of(ctx, "high", "low") == "p2"


def test_a_matrix_that_ranks_a_milder_pair_first_is_refused(
    ctx: Context, client: TestClient, adam: str
) -> None:
    """The API's rule: low x low cannot come before high x high. Nothing is
    stored and the grid keeps what was chosen."""
    token = log_in(client, adam)

    refused = client.post(
        "/settings/severity/matrix", data=matrix_form(ctx, token, low_low="p1")
    )

    assert refused.status_code == 400
    assert "cannot be lower" in refused.text
    assert priority_of(ctx, "low", "low") == "p5"
    assert 'value="p1" selected' in refused.text


def test_an_admin_renames_and_adds_severity_levels(
    ctx: Context, client: TestClient, adam: str
) -> None:
    token = log_in(client, adam)

    saved = client.post(
        "/settings/severity/levels/severity",
        data=severity_form(ctx, token, new=("sev5", "SEV5"), sev4=SCRIPT),
    )

    assert saved.status_code == 303
    levels = triage.scales(ctx).severity
    assert [lv.key for lv in levels] == ["sev1", "sev2", "sev3", "sev4", "sev5"]
    assert levels[3].name == SCRIPT
    page = client.get("/settings/severity")
    assert ESCAPED in page.text
    assert SCRIPT not in page.text


@pytest.mark.parametrize(
    ("new", "message"),
    [
        (("sev1", "Again"), "appears twice"),
        (("Bad Key", "Bad"), "not a valid key"),
    ],
)
def test_bad_severity_levels_are_refused_and_nothing_changes(
    ctx: Context,
    client: TestClient,
    adam: str,
    new: tuple[str, str],
    message: str,
) -> None:
    token = log_in(client, adam)
    before = triage.scales(ctx)

    refused = client.post(
        "/settings/severity/levels/severity",
        data=severity_form(ctx, token, new=new, sev2="Renamed"),
    )

    assert refused.status_code == 400
    assert message in refused.text
    assert 'value="Renamed"' in refused.text
    assert triage.scales(ctx) == before


def test_removing_a_severity_alert_intake_needs_is_refused(
    ctx: Context, client: TestClient, adam: str
) -> None:
    token = log_in(client, adam)
    form = severity_form(ctx, token) | {"remove": ["sev4"]}

    refused = client.post("/settings/severity/levels/severity", data=form)

    assert refused.status_code == 400
    assert "must stay" in refused.text
    assert len(triage.scales(ctx).severity) == 4


def test_a_responder_reads_the_levels_but_cannot_change_them(
    ctx: Context, client: TestClient, world: World
) -> None:
    token = log_in(client, world.ann.email)

    page = client.get("/settings/severity")
    refused = client.post(
        "/settings/severity/matrix", data=matrix_form(ctx, token, high_low="p2")
    )

    assert page.status_code == 200
    assert "Save the matrix" not in page.text
    assert "Only an administrator" in page.text
    assert refused.status_code == 403
    assert priority_of(ctx, "high", "low") == "p3"


def test_a_matrix_change_without_the_csrf_token_is_refused(
    ctx: Context, client: TestClient, adam: str
) -> None:
    log_in(client, adam)
    form = matrix_form(ctx, "", high_low="p2")
    del form["csrf_token"]

    refused = client.post("/settings/severity/matrix", data=form)

    assert refused.status_code == 403
    assert priority_of(ctx, "high", "low") == "p3"


# --- incident types ---------------------------------------------------------------


def test_an_admin_adds_edits_and_retires_an_incident_type(
    ctx: Context, client: TestClient, adam: str
) -> None:
    token = log_in(client, adam)

    added = client.post(
        "/settings/incident-types",
        data={
            "csrf_token": token,
            "key": "security",
            "name": SCRIPT,
            "default_severity": "sev1",
            "description": "Someone got in",
        },
    )
    page = client.get("/settings/incident-types")
    edited = client.post(
        "/settings/incident-types/security",
        data={"csrf_token": token, "name": "Security", "default_severity": ""},
    )
    retired = client.post(
        "/settings/incident-types/security/active",
        data={"csrf_token": token, "active": "false"},
    )

    assert added.status_code == edited.status_code == retired.status_code == 303
    assert ESCAPED in page.text
    assert SCRIPT not in page.text
    [kind] = triage.list_types(ctx)
    assert (kind.name, kind.default_severity, kind.active) == ("Security", None, False)


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"key": "outage", "default_severity": "sev9"}, 400, "is not one of"),
        ({"key": "Outage!"}, 400, "not a valid key"),
        ({"key": "taken"}, 409, "exists already"),
    ],
)
def test_bad_incident_types_are_refused_with_the_form_kept(
    ctx: Context,
    client: TestClient,
    adam: str,
    fields: dict[str, str],
    status: int,
    message: str,
) -> None:
    triage.create_type(ctx, SYSTEM, key="taken", name="Taken")
    token = log_in(client, adam)

    refused = client.post(
        "/settings/incident-types",
        data={"csrf_token": token, "name": "Typed name"} | fields,
    )

    assert refused.status_code == status
    assert message in refused.text
    assert 'value="Typed name"' in refused.text
    assert [kind.key for kind in triage.list_types(ctx)] == ["taken"]


def test_only_admins_add_incident_types(
    ctx: Context, client: TestClient, mia: str
) -> None:
    token = log_in(client, mia)

    refused = client.post(
        "/settings/incident-types",
        data={"csrf_token": token, "key": "outage", "name": "Outage"},
    )
    unsigned = client.post(
        "/settings/incident-types", data={"key": "outage", "name": "Outage"}
    )

    assert refused.status_code == 403
    assert unsigned.status_code == 403
    assert triage.list_types(ctx) == []


# --- roles --------------------------------------------------------------------------


def test_a_manager_adds_moves_and_retires_roles(
    ctx: Context, client: TestClient, mia: str
) -> None:
    token = log_in(client, mia)

    added = client.post(
        "/settings/roles",
        data={"csrf_token": token, "key": "liaison", "name": SCRIPT},
    )
    moved = client.post(
        "/settings/roles/liaison/move", data={"csrf_token": token, "direction": "up"}
    )
    retired = client.post(
        "/settings/roles/scribe/retired", data={"csrf_token": token, "retired": "true"}
    )
    renamed = client.post(
        "/settings/roles/liaison",
        data={"csrf_token": token, "name": "Customer liaison", "description": "x"},
    )
    page = client.get("/settings/roles")

    assert {added.status_code, moved.status_code, retired.status_code} == {303}
    assert renamed.status_code == 303
    catalogue = roles.list_roles(ctx, SYSTEM, retired=True)
    assert [role.key for role in catalogue] == [
        "commander",
        "communications",
        "scribe",
        "liaison",
        "operations",
    ]
    assert catalogue[2].retired
    assert catalogue[3].name == "Customer liaison"
    assert page.status_code == 200
    assert "Bring back" in page.text


def test_a_duplicate_role_key_is_refused_with_the_form_kept(
    ctx: Context, client: TestClient, mia: str
) -> None:
    token = log_in(client, mia)

    refused = client.post(
        "/settings/roles",
        data={"csrf_token": token, "key": "scribe", "name": f"Second {SCRIPT}"},
    )

    assert refused.status_code == 409
    assert "already a role" in refused.text
    assert f'value="Second {ESCAPED}"' in refused.text
    assert len(roles.list_roles(ctx, SYSTEM, retired=True)) == 4


def test_a_responder_cannot_change_roles(
    ctx: Context, client: TestClient, world: World
) -> None:
    token = log_in(client, world.ann.email)

    page = client.get("/settings/roles")
    refused = client.post(
        "/settings/roles/scribe/retired", data={"csrf_token": token, "retired": "true"}
    )

    assert page.status_code == 200
    assert "Retire" not in page.text
    assert refused.status_code == 403
    assert not any(r.retired for r in roles.list_roles(ctx, SYSTEM, retired=True))


def test_a_role_move_without_the_csrf_token_is_refused(
    ctx: Context, client: TestClient, mia: str
) -> None:
    log_in(client, mia)

    refused = client.post("/settings/roles/scribe/move", data={"direction": "up"})

    assert refused.status_code == 403
    keys = [r.key for r in roles.list_roles(ctx, SYSTEM)]
    assert keys.index("scribe") == 2


# --- templates ---------------------------------------------------------------------


def template_form(token: str, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "name": "Internal default",
        "audience": "internal",
        "incident_type": "",
        "subject": "#{{ incident.number }} {{ incident.title }}",
        "body": "Impact: {{ impact }}",
    } | fields


def test_a_manager_writes_and_edits_an_update_template(
    ctx: Context, client: TestClient, mia: str
) -> None:
    token = log_in(client, mia)

    added = client.post("/settings/templates/new", data=template_form(token))
    [stored] = updates.list_templates(ctx, SYSTEM)
    edited = client.post(
        f"/settings/templates/{stored.id}",
        data=template_form(token, name=SCRIPT, body="Now {{ eta or 'soon' }}"),
    )
    listing = client.get("/settings/templates")

    assert added.status_code == edited.status_code == 303
    [stored] = updates.list_templates(ctx, SYSTEM)
    assert (stored.name, stored.body) == (SCRIPT, "Now {{ eta or 'soon' }}")
    assert ESCAPED in listing.text
    assert SCRIPT not in listing.text


def test_a_template_body_sent_with_crlf_line_ends_is_saved(
    ctx: Context, client: TestClient, mia: str
) -> None:
    """Browsers submit a textarea's lines ending in CRLF; the service refuses
    a bare CR, so the page stores plain newlines."""
    token = log_in(client, mia)

    added = client.post(
        "/settings/templates/new",
        data=template_form(token, body="Impact: {{ impact }}\r\nNext: soon"),
    )

    assert added.status_code == 303
    [stored] = updates.list_templates(ctx, SYSTEM)
    assert stored.body == "Impact: {{ impact }}\nNext: soon"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("ok\n{% if %}", "line 2"),
        ("{{ incident.__class__ }}", "the body"),
        ("{{ incident.missing }}", "has no attribute"),
    ],
)
def test_templates_that_fail_in_the_sandbox_are_not_saved(
    ctx: Context, client: TestClient, mia: str, body: str, message: str
) -> None:
    token = log_in(client, mia)

    refused = client.post(
        "/settings/templates/new", data=template_form(token, body=body)
    )

    assert refused.status_code == 400
    assert message in refused.text
    assert updates.list_templates(ctx, SYSTEM) == []


def test_the_preview_renders_in_the_sandbox_and_escapes(
    client: TestClient, mia: str
) -> None:
    """The sender's variables show as [name]; markup typed in the template is
    shown as text."""
    token = log_in(client, mia)

    shown = client.post(
        "/settings/templates/preview",
        data=template_form(token, body=f"{SCRIPT} {{{{ impact }}}}"),
        headers={"HX-Request": "true"},
    )

    assert shown.status_code == 200
    assert "#42 Checkout is slow for some customers" in shown.text
    assert f"{ESCAPED} [impact]" in shown.text
    assert SCRIPT not in shown.text
    assert "The sender fills in: impact" in shown.text


def test_the_preview_says_why_a_template_fails(client: TestClient, mia: str) -> None:
    token = log_in(client, mia)

    shown = client.post(
        "/settings/templates/preview",
        data=template_form(token, subject="{{ incident.nope }}"),
        headers={"HX-Request": "true"},
    )

    assert shown.status_code == 200
    assert "the subject" in shown.text
    assert 'role="alert"' in shown.text
    assert "rs-preview-body" not in shown.text


def test_a_responder_neither_previews_nor_saves_templates(
    ctx: Context, client: TestClient, world: World
) -> None:
    token = log_in(client, world.ann.email)

    preview = client.post("/settings/templates/preview", data=template_form(token))
    saved = client.post("/settings/templates/new", data=template_form(token))
    unsigned = client.post("/settings/templates/new", data=template_form(""))

    assert preview.status_code == saved.status_code == unsigned.status_code == 403
    assert updates.list_templates(ctx, SYSTEM) == []


def test_an_admin_saves_a_postmortem_template_and_a_manager_cannot(
    ctx: Context, client: TestClient, adam: str, mia: str
) -> None:
    form = {
        "name": "short",
        "new": "true",
        "section-summary": f"What happened? {SCRIPT}",
        "is_default": "true",
    }
    token = log_in(client, adam)
    saved = client.post(
        "/settings/postmortem-templates", data=form | {"csrf_token": token}
    )
    page = client.get("/settings/postmortem-templates/short")

    with new_client(ctx) as other:
        mia_token = log_in(other, mia)
        refused = other.post(
            "/settings/postmortem-templates",
            data=form | {"name": "other", "csrf_token": mia_token},
        )

    assert saved.status_code == 303
    assert refused.status_code == 403
    names = {t.name: t for t in postmortems.list_templates(ctx, SYSTEM)}
    assert names["short"].is_default
    assert "other" not in names
    assert ESCAPED in page.text


# --- channels, triggers, owners -------------------------------------------------------


def test_an_admin_sees_channels_with_secrets_masked(
    ctx: Context, world: World, adam: str
) -> None:
    settings = ctx.settings.model_copy(
        update={"slack_bot_token": "xoxb-very-secret", "smtp_password": "hunter2"}
    )
    with new_client(replace(ctx, settings=settings)) as client:
        log_in(client, adam)
        page = client.get("/settings/channels")

    assert page.status_code == 200
    assert "xoxb-very-secret" not in page.text
    assert "hunter2" not in page.text
    assert "slack_bot_token" in page.text
    assert "Needs twilio_account_sid" in page.text


def test_only_admins_open_the_channels_page(client: TestClient, mia: str) -> None:
    log_in(client, mia)

    assert client.get("/settings/channels").status_code == 403


def test_an_admin_adds_turns_off_and_deletes_a_declaration_trigger(
    ctx: Context, client: TestClient, adam: str
) -> None:
    token = log_in(client, adam)
    form = {
        "csrf_token": token,
        "name": SCRIPT,
        "severity": "sev1",
        "matchers": "env=prod\ninstance=~db-.*\n",
        "service_id": "",
        "min_alert_severity": "critical",
        "alert_count": "3",
        "window_minutes": "5",
        "incident_type": "",
    }

    added = client.post("/settings/channels/triggers", data=form)
    [rule] = triggers.list_triggers(ctx, SYSTEM)
    page = client.get("/settings/channels")
    off = client.post(
        f"/settings/channels/triggers/{rule.id}/enabled",
        data={"csrf_token": token, "enabled": "false"},
    )
    enabled = triggers.list_triggers(ctx, SYSTEM)[0].enabled
    gone = client.post(
        f"/settings/channels/triggers/{rule.id}/delete", data={"csrf_token": token}
    )

    assert added.status_code == off.status_code == gone.status_code == 303
    assert rule.matchers == ["env=prod", "instance=~db-.*"]
    assert (rule.alert_count, rule.window_minutes) == (3, 5)
    assert ESCAPED in page.text
    assert SCRIPT not in page.text
    assert enabled is False
    assert triggers.list_triggers(ctx, SYSTEM) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"matchers": "instance=~db-("}, "not a valid regular expression"),
        ({"severity": "sev9"}, "is not one of"),
        ({"alert_count": "many"}, "whole number"),
    ],
)
def test_bad_declaration_triggers_are_refused(
    ctx: Context,
    client: TestClient,
    adam: str,
    fields: dict[str, str],
    message: str,
) -> None:
    token = log_in(client, adam)
    form = {
        "csrf_token": token,
        "name": "Typed rule",
        "severity": "sev2",
        "matchers": "",
        "min_alert_severity": "error",
        "alert_count": "1",
        "window_minutes": "10",
    } | fields

    refused = client.post("/settings/channels/triggers", data=form)

    assert refused.status_code == 400
    assert message in refused.text
    assert 'value="Typed rule"' in refused.text
    assert triggers.list_triggers(ctx, SYSTEM) == []


def test_an_admin_sets_and_removes_a_triage_owner(
    ctx: Context, client: TestClient, world: World, adam: str
) -> None:
    token = log_in(client, adam)

    set_ = client.post(
        "/settings/channels/owners",
        data={"csrf_token": token, "scope": "default", "owner": f"user:{world.ann.id}"},
    )
    [owner] = triage.list_owners(ctx, SYSTEM)
    bad = client.post(
        "/settings/channels/owners",
        data={"csrf_token": token, "scope": "team:999999", "owner": "user:1"},
    )
    removed = client.post(
        "/settings/channels/owners/remove",
        data={"csrf_token": token, "scope": "default"},
    )

    assert set_.status_code == removed.status_code == 303
    assert owner.user is not None
    assert owner.user.id == world.ann.id
    assert (owner.service, owner.team) == (None, None)
    assert bad.status_code == 404
    assert "no team" in bad.text
    assert triage.list_owners(ctx, SYSTEM) == []


def test_a_trigger_change_without_the_csrf_token_is_refused(
    ctx: Context, client: TestClient, adam: str
) -> None:
    log_in(client, adam)

    refused = client.post(
        "/settings/channels/triggers",
        data={"name": "x", "severity": "sev1", "alert_count": "1"},
    )

    assert refused.status_code == 403
    assert triggers.list_triggers(ctx, SYSTEM) == []


def test_the_settings_index_shows_the_response_cards_by_role(
    client: TestClient, mia: str
) -> None:
    log_in(client, mia)

    page = client.get("/settings")

    assert "/settings/roles" in page.text
    assert "/settings/templates" in page.text
    assert "/settings/channels" not in page.text


def test_a_new_postmortem_template_does_not_overwrite_one_of_the_same_name(
    ctx: Context, client: TestClient, adam: str
) -> None:
    """The 'new template' form (say, in a second browser tab) with a name that
    is taken is refused with the form kept; the stored template stays."""
    token = log_in(client, adam)
    postmortems.save_template(ctx, SYSTEM, "short", {"summary": "Keep me"})

    response = client.post(
        "/settings/postmortem-templates",
        data={
            "csrf_token": token,
            "name": "short",
            "new": "true",
            "section-summary": "Typed over",
        },
    )

    assert response.status_code == 409
    assert "Typed over" in response.text
    named = {t.name: t for t in postmortems.list_templates(ctx, SYSTEM)}
    assert named["short"].sections["summary"] == "Keep me"
