"""Report pages: the public form (token, honeypot, rate limit, escaping,
confirmation with a reference) and the staff form and triage pages."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.builders import actor_of, make_user
from tests.web.conftest import World, hidden_field, log_in
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.services import reports, triage
from tocsin.services.context import Context
from tocsin.store.models import Incident
from tocsin.store.models.triage import Report


def _reports(ctx: Context) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(Report)) or 0


def _public_form(client: TestClient, clock: ManualClock) -> str:
    page = client.get("/report")
    assert page.status_code == 200
    clock.advance(seconds=20)  # people take a while to write
    return hidden_field(page.text, "form_token")


def test_a_customer_report_ends_on_a_confirmation_with_a_reference(
    client: TestClient, ctx: Context, clock: ManualClock
) -> None:
    """No login: the form posts, redirects, and the page shows R-1."""
    token = _public_form(client, clock)

    sent = client.post(
        "/report",
        data={
            "form_token": token,
            "title": "I cannot pay",
            "description": "The button does nothing",
            "email": "cleo@example.net",
            "website": "",
        },
    )
    thanks = client.get(sent.headers["location"])

    assert sent.status_code == 303
    assert "R-1" in thanks.text
    assert _reports(ctx) == 1


def test_the_public_form_cannot_inject_markup(
    client: TestClient, ctx: Context, clock: ManualClock
) -> None:
    """Markup sent as a report is stored as text and shown escaped, on the
    re-rendered form and on the staff page."""
    world_user = "ann@example.com"
    make_user(ctx, world_user, teams=("Ops",))
    token = _public_form(client, clock)
    payload = "<script>alert(1)</script><img src=x onerror=alert(2)>"

    refused = client.post(
        "/report",
        data={"form_token": token, "title": payload, "email": "bad", "website": ""},
    )
    sent = client.post(
        "/report",
        data={"form_token": token, "title": payload, "description": payload},
    )
    log_in(client, world_user)
    staff = client.get("/reports/1")

    assert refused.status_code == 400
    assert "<script>" not in refused.text
    assert "&lt;script&gt;" in refused.text
    assert sent.status_code == 303
    assert staff.status_code == 200
    assert "<script>" not in staff.text
    assert "<img src=x" not in staff.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in staff.text


def test_a_filled_honeypot_stores_nothing(
    client: TestClient, ctx: Context, clock: ManualClock
) -> None:
    """Software that fills every field, the hidden one too, is turned away."""
    token = _public_form(client, clock)

    response = client.post(
        "/report",
        data={"form_token": token, "title": "Buy now", "website": "http://spam"},
    )

    assert response.status_code == 400
    assert _reports(ctx) == 0


def test_a_forged_or_instant_form_token_is_refused(
    client: TestClient, ctx: Context
) -> None:
    """Without waiting, or with a made-up token, nothing is stored."""
    page = client.get("/report")
    instant = client.post(
        "/report",
        data={"form_token": hidden_field(page.text, "form_token"), "title": "x"},
    )
    forged = client.post("/report", data={"form_token": "1.abc", "title": "x"})

    assert instant.status_code == 403
    assert forged.status_code == 403
    assert _reports(ctx) == 0


def test_the_public_form_is_rate_limited(
    client: TestClient, ctx: Context, clock: ManualClock
) -> None:
    """The sixth report within the hour from one address gets 429."""
    token = _public_form(client, clock)
    statuses = [
        client.post("/report", data={"form_token": token, "title": f"n{i}"}).status_code
        for i in range(6)
    ]

    assert statuses == [303] * 5 + [429]
    assert _reports(ctx) == 5


@pytest.mark.parametrize("reference", ["<b>hi</b>", "R-1%0A", "R-%C2%B2"])
def test_a_made_up_reference_is_not_shown(client: TestClient, reference: str) -> None:
    """The confirmation page shows only references shaped like R-123, with
    nothing after them."""
    response = client.get(f"/report/thanks?reference={reference}")

    assert response.status_code == 404


def test_staff_report_and_declare_through_the_pages(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Ann reports on checkout, then declares an incident from the report."""
    csrf = log_in(client, world.ann.email)
    form = client.get("/reports/new")
    service = re.search(r'<option value="(\d+)">checkout</option>', form.text)
    assert service is not None

    made = client.post(
        "/reports",
        data={
            "csrf_token": csrf,
            "title": "Checkout slow",
            "service_id": service.group(1),
        },
    )
    detail = client.get(made.headers["location"])
    declared = client.post(
        f"{made.headers['location']}/declare",
        data={"csrf_token": csrf, "reason": "Confirmed", "severity": "sev2"},
    )

    assert made.status_code == 303
    assert "Declare an incident" in detail.text
    assert declared.status_code == 303
    assert declared.headers["location"] == "/incidents/1"
    with ctx.db.read() as session:
        incident = session.scalars(select(Incident)).one()
    assert incident.declared is True
    assert incident.severity == "sev2"


def test_staff_forms_need_the_csrf_token_and_a_login(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Without a session the staff pages redirect to login; without the CSRF
    token a post is refused."""
    anonymous = client.get("/reports")
    log_in(client, world.vera.email)
    no_token = client.post("/reports", data={"title": "x"})

    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    assert no_token.status_code == 403
    assert _reports(ctx) == 0


def test_viewers_report_but_do_not_see_triage_forms(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Vera (viewer) may report; her report page offers no declare form, and a
    dismissal she posts is refused."""
    csrf = log_in(client, world.vera.email)
    made = client.post("/reports", data={"csrf_token": csrf, "title": "Odd"})
    detail = client.get(made.headers["location"])
    dismissed = client.post(
        f"{made.headers['location']}/dismiss",
        data={"csrf_token": csrf, "reason": "no"},
    )

    assert made.status_code == 303
    assert "Declare an incident" not in detail.text
    assert dismissed.status_code == 403


def test_the_report_page_says_what_was_sent_to_the_triage_owner(
    client: TestClient, ctx: Context
) -> None:
    """Each page to the owner is a row: name (escaped), channel and outcome."""
    owner = make_user(ctx, "olga@example.com", name="Olga <b>Ops</b>")
    triage.set_owner(ctx, SYSTEM, user_id=owner.id)
    report = reports.report_as_staff(ctx, actor_of(ctx, owner), title="Slow search")

    log_in(client, "olga@example.com")
    page = client.get(f"/reports/{report.id}")

    assert page.status_code == 200
    assert "Sent to the triage owner" in page.text
    assert "<b>Ops</b>" not in page.text
    row = re.search(r"<td>Olga &lt;b&gt;Ops&lt;/b&gt;</td>\s*<td>(\w+)</td>", page.text)
    assert row is not None
    assert row.group(1) == "email"
    assert "<td>queued</td>" in page.text
