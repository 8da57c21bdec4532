"""The suggestions panel: the incident page includes it and loads it after
the page; accepting and overriding through its forms are recorded; CSRF,
viewers and other teams are refused; text from alerts is escaped."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.conftest import World, log_in, new_client, open_incident
from tocsin.domain.access import SYSTEM
from tocsin.services import incidents, suggestions, triage
from tocsin.services.context import Context


def test_the_page_loads_the_panel_after_itself(
    client: TestClient, ctx: Context, world: World
) -> None:
    """The page holds only the loader; the fragment shows value, confidence,
    source, reasons and the current value, escaped."""
    number = open_incident(ctx, world.checkout, "k", "<b>Checkout</b> is down")
    log_in(client, world.ann.email)

    page = client.get(f"/incidents/{number}")
    panel = client.get(f"/incidents/{number}/suggestions")

    assert f'hx-get="/incidents/{number}/suggestions"' in page.text
    assert panel.status_code == 200
    assert 'suggested <span class="suggested">sev1</span>' in panel.text
    assert "from rules" in panel.text
    assert "mentions &#39;down&#39;" in panel.text
    assert "<b>Checkout</b>" not in panel.text


def test_accept_and_override_through_the_forms(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Accept with the CSRF token is recorded; an override keeps its value;
    without the token nothing changes."""
    triage.create_type(ctx, SYSTEM, key="outage", name="Outage")
    triage.create_type(ctx, SYSTEM, key="security", name="Security")
    number = open_incident(ctx, world.checkout, "k", "Checkout is down")
    token = log_in(client, world.ann.email)
    client.get(f"/incidents/{number}/suggestions")

    forged = client.post(f"/incidents/{number}/suggestions/severity", data={})
    accepted = client.post(
        f"/incidents/{number}/suggestions/severity", data={"csrf_token": token}
    )
    overridden = client.post(
        f"/incidents/{number}/suggestions/incident_type",
        data={"csrf_token": token, "value": "security"},
        headers={"HX-Request": "true"},
    )

    assert forged.status_code == 403
    assert accepted.status_code == 303
    assert overridden.status_code == 200
    assert "Accepted." in overridden.text
    assert "Overridden: security." in overridden.text


def test_a_refused_override_shows_the_panel_with_the_reason(
    client: TestClient, ctx: Context, world: World
) -> None:
    """htmx swaps a 4xx answer into the panel: it is the panel again, saying
    why, not a problem body in JSON."""
    number = open_incident(ctx, world.checkout, "k", "Checkout is down")
    token = log_in(client, world.ann.email)
    client.get(f"/incidents/{number}/suggestions")

    refused = client.post(
        f"/incidents/{number}/suggestions/severity",
        data={"csrf_token": token, "value": "<b>sev9</b>"},
        headers={"HX-Request": "true"},
    )

    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in refused.text
    assert "&lt;b&gt;sev9&lt;/b&gt;" in refused.text
    assert "<b>sev9</b>" not in refused.text
    assert 'id="ai-heading"' in refused.text
    assert "Override</button>" in refused.text


def test_viewers_see_no_buttons_and_other_teams_nothing(
    client: TestClient, ctx: Context, world: World
) -> None:
    """A viewer sees suggestions without forms; another team gets 404."""
    number = open_incident(ctx, world.checkout, "k", "Checkout is down")
    log_in(client, world.vera.email)
    seen = client.get(f"/incidents/{number}/suggestions")
    with new_client(ctx) as other:
        log_in(other, world.pete.email)
        hidden = other.get(f"/incidents/{number}/suggestions")

    assert seen.status_code == 200
    assert "sev1" in seen.text
    assert "<form" not in seen.text
    assert hidden.status_code == 404


def test_similar_incidents_and_drafts_on_the_incident_page(
    client: TestClient, ctx: Context, world: World
) -> None:
    """The page loads the resolved incidents most like this one, with their
    notes, and a responder opens a draft in a box to edit; all escaped."""
    old = open_incident(ctx, world.checkout, "a", "Connection pool exhausted")
    incidents.add_note(ctx, SYSTEM, old, "raised <i>the pool</i>", tag="action")
    incidents.resolve(ctx, SYSTEM, old)
    number = open_incident(ctx, world.checkout, "b", "<b>Connection pool</b> full")
    log_in(client, world.ann.email)

    page = client.get(f"/incidents/{number}")
    similar = client.get(f"/incidents/{number}/similar")
    drafted = client.get(f"/incidents/{number}/drafts/update")
    refused = client.get(f"/incidents/{number}/drafts/poem")

    assert f'hx-get="/incidents/{number}/similar"' in page.text
    assert f'hx-get="/incidents/{number}/drafts/summary"' in page.text
    assert similar.status_code == 200
    assert f'<a href="/incidents/{old}">#{old}</a>' in similar.text
    assert "raised &lt;i&gt;the pool&lt;/i&gt;" in similar.text
    assert drafted.status_code == 200
    assert "<textarea" in drafted.text
    assert f"Update on incident #{number}: &lt;b&gt;Connection pool" in drafted.text
    assert "<b>Connection pool</b>" not in drafted.text
    assert refused.status_code in (400, 404, 422)


def test_viewers_get_no_drafts_and_other_teams_no_similar(
    client: TestClient, ctx: Context, world: World
) -> None:
    number = open_incident(ctx, world.checkout, "k", "Checkout is down")
    log_in(client, world.vera.email)
    page = client.get(f"/incidents/{number}")
    draft = client.get(f"/incidents/{number}/drafts/update")
    with new_client(ctx) as other:
        log_in(other, world.pete.email)
        hidden = other.get(f"/incidents/{number}/similar")

    assert "/drafts/" not in page.text
    assert draft.status_code == 403
    assert hidden.status_code == 404


def test_the_panel_names_the_model_in_use(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Before any training the rules answer and the panel says so; after it,
    the panel names the synthetic set, when it was trained and on how many."""
    number = open_incident(ctx, world.checkout, "k", "Checkout is down")
    later = open_incident(ctx, world.checkout, "l", "Checkout is slow")
    log_in(client, world.ann.email)

    before = client.get(f"/incidents/{number}/suggestions")
    trained = suggestions.train(ctx, SYSTEM)
    after = client.get(f"/incidents/{later}/suggestions")

    assert "Suggestions come from the rules (no model trained yet)." in before.text
    assert (
        f"Suggestions come from the synthetic set (and 0 resolved incidents), "
        f"trained {trained.created_at:%Y-%m-%d %H:%M} UTC on "
        f"{trained.examples} examples" in after.text
    )


def test_accepting_a_type_shows_on_the_incident_page(
    client: TestClient, ctx: Context, world: World
) -> None:
    """An accepted type is the incident's type: htmx reloads the page, which
    shows it, with the timeline naming who accepted the suggestion."""
    triage.create_type(ctx, SYSTEM, key="outage", name="Outage")
    number = open_incident(ctx, world.checkout, "k", "Checkout is down")
    token = log_in(client, world.ann.email)
    client.get(f"/incidents/{number}/suggestions")

    accepted = client.post(
        f"/incidents/{number}/suggestions/incident_type",
        data={"csrf_token": token},
        headers={"HX-Request": "true"},
    )
    page = client.get(f"/incidents/{number}")

    assert accepted.status_code == 200
    assert accepted.headers.get("HX-Refresh") == "true"
    assert "now outage" in accepted.text
    assert "type Outage" in page.text
    assert "accepted suggestion" in page.text


def test_the_service_suggestion_is_advice_to_reassign(
    client: TestClient, ctx: Context, world: World
) -> None:
    """The panel says a service suggestion moves nothing; agreeing with it is
    recorded, the page is not reloaded, and the incident stays put."""
    number = open_incident(ctx, world.checkout, "k", "billing is down")
    token = log_in(client, world.ann.email)
    panel = client.get(f"/incidents/{number}/suggestions")

    agreed = client.post(
        f"/incidents/{number}/suggestions/service",
        data={"csrf_token": token},
        headers={"HX-Request": "true"},
    )

    assert "advice: accepting it moves nothing" in panel.text
    assert "reassign the escalation policy" in panel.text
    assert "Agree</button>" in panel.text
    assert agreed.status_code == 200
    assert "HX-Refresh" not in agreed.headers
    assert "Agreed; the incident stays on checkout." in agreed.text
