"""The public status page: no login, no script, everything escaped, nothing
internal shown; its Atom feed and JSON summary; subscribing with double opt-in
and unsubscribing with one click."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from email import message_from_string
from email.message import EmailMessage
from html import unescape
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.builders import make_integration, make_service, make_user, trigger
from tocsin.channels.base import Outbound
from tocsin.channels.email import EmailChannel
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.services import alerts, status_maintenance
from tocsin.services import status_page as sp
from tocsin.services.context import Context
from tocsin.services.status_subscribers import CONFIRM_TTL, RATE_LIMIT
from tocsin.store.models import Incident, OutboxMessage, StatusSubscriber

ATOM = "{http://www.w3.org/2005/Atom}"
EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def page(ctx: Context) -> None:
    """Checkout (owned by Ops) behind an API component, and a website."""
    make_service(ctx, "checkout")
    sp.create_group(ctx, SYSTEM, "Core")
    sp.create_component(ctx, SYSTEM, "API", group="Core", service="checkout")
    sp.create_component(ctx, SYSTEM, "Website")


def outbox(ctx: Context) -> list[OutboxMessage]:
    with ctx.db.read() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def link_in(body: str, path: str) -> str:
    """The path and query of the first link to `path` in a mail body."""
    found = re.search(r"http://tocsin\.test(" + re.escape(path) + r"\?token=\S+)", body)
    assert found is not None, body
    return found.group(1)


def parse_feed(content: bytes) -> ET.Element:
    # Tocsin's own feed, which declares no entities: nothing to defuse.
    return ET.fromstring(content)  # noqa: S314


def subscribe(client: TestClient, email: str, **extra: str) -> int:
    response = client.post("/status/subscribe", data={"email": email, **extra})
    return response.status_code


def test_the_page_needs_no_login_and_no_script(client: TestClient, page: None) -> None:
    """Anyone gets the page, with a stylesheet and no script, a strict CSP, and
    a short public cache lifetime; each component has 90 uptime bars."""
    response = client.get("/status")

    assert response.status_code == 200
    html = response.text
    assert "<script" not in html
    assert " style=" not in html
    assert "All systems operational" in html
    assert html.count('class="bar ') == 2 * 90
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "public, max-age=30"


def test_a_component_follows_its_incidents_on_the_page(
    client: TestClient, ctx: Context, page: None
) -> None:
    """An open incident shows with its update and puts its component in its
    impact; resolving it moves it to the recent list."""
    incident = sp.create_incident(
        ctx,
        SYSTEM,
        title="Payments failing",
        impact="major_outage",
        components=["API"],
        message="Card payments fail for some customers.",
    )
    html = client.get("/status").text
    assert "Major outage" in html
    assert "Current incidents" in html
    assert "Card payments fail for some customers." in html

    sp.add_update(ctx, SYSTEM, incident.id, message="Recovered.", stage="resolved")
    html = client.get("/status").text
    assert "All systems operational" in html
    assert "Resolved in the last 7 days" in html
    detail = client.get(f"/status/incidents/{incident.id}")
    assert detail.status_code == 200
    assert "Recovered." in detail.text


def test_markup_from_operators_is_escaped_everywhere(
    client: TestClient, ctx: Context, page: None
) -> None:
    """Names, titles and messages reach the page, the incident page, the
    history, the feed and the summary as text, never as markup."""
    sp.create_component(ctx, SYSTEM, EVIL[:100], description=EVIL)
    incident = sp.create_incident(
        ctx, SYSTEM, title=EVIL, impact="degraded", components=["API"], message=EVIL
    )
    sp.add_update(ctx, SYSTEM, incident.id, message=EVIL, stage="resolved")

    for path in ("/status", f"/status/incidents/{incident.id}", "/status/history"):
        html = client.get(path).text
        assert "<script>" not in html, path
        assert "<img" not in html, path
        assert "&lt;script&gt;" in html, path

    feed = parse_feed(client.get("/status/feed.atom").content)
    [entry] = feed.findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == EVIL
    content = entry.findtext(f"{ATOM}content") or ""
    assert "<script>" not in content
    assert "&lt;script&gt;" in content

    summary = client.get("/status/summary.json").json()
    assert summary["incidents"] == []
    assert EVIL[:100] in [component["name"] for component in summary["components"]]


def test_nothing_internal_reaches_the_public(
    client: TestClient, ctx: Context, page: None
) -> None:
    """A stakeholder update posted to the page shows its message, never the
    Tocsin incident's title, service, number or the people on it."""
    ann = make_user(ctx, "ann.secret@example.com", name="Ann Secret")
    integration, _ = make_integration(ctx, "checkout")
    [outcome] = alerts.ingest(
        ctx, integration, [trigger("db", "db-7 replica lag internal-hostname")]
    )
    with ctx.db.read() as session:
        incident = session.scalars(
            select(Incident).where(Incident.number == outcome.incident_number)
        ).one()
    with ctx.db.write() as session:
        sp.publish_update(
            session,
            ctx,
            incident_id=incident.id,
            message="Payments are slow; we are on it.",
            stage="investigating",
            actor=SYSTEM,
        )

    public = [
        client.get("/status").text,
        client.get("/status/feed.atom").text,
        client.get("/status/summary.json").text,
    ]
    for text in public:
        assert "Payments are slow; we are on it." in text
        assert "internal-hostname" not in text
        assert "checkout" not in text
        assert ann.name not in text
        assert "incident_number" not in text


def test_the_feed_is_atom_with_stable_ids(
    client: TestClient, ctx: Context, clock: ManualClock, page: None
) -> None:
    """The feed has the elements RFC 4287 requires, the newest change first, and
    the same ids on every read."""
    first = sp.create_incident(
        ctx, SYSTEM, title="First", impact="degraded", components=["API"], message="a"
    )
    clock.advance(minutes=10)
    sp.create_incident(
        ctx, SYSTEM, title="Second", impact="degraded", components=[], message="b"
    )
    clock.advance(minutes=10)
    sp.add_update(ctx, SYSTEM, first.id, message="c", stage="monitoring")

    response = client.get("/status/feed.atom")
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = parse_feed(response.content)
    for name in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{name}") is not None, name
    assert feed.find(f"{ATOM}link[@rel='self']") is not None
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["First", "Second"]
    for entry in entries:
        assert (entry.findtext(f"{ATOM}id") or "").startswith("urn:uuid:")
        assert (entry.findtext(f"{ATOM}updated") or "").endswith("Z")
    assert feed.findtext(f"{ATOM}updated") == entries[0].findtext(f"{ATOM}updated")

    again = parse_feed(client.get("/status/feed.atom").content)
    assert [e.findtext(f"{ATOM}id") for e in again.findall(f"{ATOM}entry")] == [
        e.findtext(f"{ATOM}id") for e in entries
    ]


def test_the_summary_has_states_and_an_etag(
    client: TestClient, ctx: Context, clock: ManualClock, page: None
) -> None:
    """The summary lists components and open incidents; the same content gives
    the same ETag (a 304 when asked with it), a change gives another."""
    clock.advance(minutes=1)
    response = client.get("/status/summary.json")
    body = response.json()
    assert body["state"] == "operational"
    assert [(c["name"], c["group"], c["uptime_90d"]) for c in body["components"]] == [
        ("API", "Core", 1.0),
        ("Website", None, 1.0),
    ]
    assert response.headers["cache-control"] == "public, max-age=30"
    etag = response.headers["etag"]

    clock.advance(minutes=1)
    unchanged = client.get("/status/summary.json", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304

    sp.create_incident(
        ctx, SYSTEM, title="x", impact="partial_outage", components=["API"], message="y"
    )
    changed = client.get("/status/summary.json", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["state"] == "partial_outage"
    assert len(changed.json()["incidents"]) == 1


def test_unknown_incidents_are_not_found(client: TestClient, page: None) -> None:
    """Missing and out-of-range ids are 404, not server errors."""
    missing = client.get("/status/incidents/7")
    assert missing.status_code == 404
    assert 'href="/status"' in missing.text
    assert client.get(f"/status/incidents/{2**40}").status_code == 404


def test_double_opt_in_then_news_then_one_click_unsubscribe(
    client: TestClient, ctx: Context, page: None
) -> None:
    """A subscriber gets a confirmation link whose GET only shows a button; after
    confirming, news arrives with RFC 8058 headers, and a mail client's one-click
    POST to the List-Unsubscribe URL ends the subscription."""
    assert subscribe(client, "Reader@Example.com") == 200
    [confirmation] = outbox(ctx)
    assert confirmation.recipient == "reader@example.com"
    confirm_path = link_in(confirmation.body, "/status/subscribe/confirm")

    form = client.get(confirm_path)
    assert form.status_code == 200
    sp.create_incident(
        ctx, SYSTEM, title="Before", impact="degraded", components=[], message="x"
    )
    assert len(outbox(ctx)) == 1, "no news before confirming"

    token = unescape(re.search(r'name="token" value="([^"]+)"', form.text).group(1))  # type: ignore[union-attr]
    confirmed = client.post("/status/subscribe/confirm", data={"token": token})
    assert confirmed.status_code == 200
    assert "reader@example.com" in confirmed.text

    sp.create_incident(
        ctx, SYSTEM, title="After", impact="degraded", components=[], message="y"
    )
    news = outbox(ctx)[-1]
    assert news.recipient == "reader@example.com"
    mail = EmailChannel(ctx.settings).build(
        Outbound(
            news.idempotency_key, news.recipient, news.subject, news.body, news.payload
        )
    )
    parsed = message_from_string(mail.as_string())
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    leave = parsed["List-Unsubscribe"].strip("<>").removeprefix("http://tocsin.test")
    assert leave in news.body

    one_click = client.post(
        leave,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200
    with ctx.db.read() as session:
        assert session.scalars(select(StatusSubscriber)).all() == []
    assert client.post(leave).status_code == 200, "a second click is harmless"


def test_the_honeypot_answers_like_success_and_does_nothing(
    client: TestClient, ctx: Context, page: None
) -> None:
    """A form with the hidden field filled looks accepted but stores and mails
    nothing."""
    assert subscribe(client, "bot@example.com", website="http://spam.example") == 200
    assert outbox(ctx) == []
    with ctx.db.read() as session:
        assert session.scalars(select(StatusSubscriber)).all() == []


def test_subscribing_is_limited_per_client(
    client: TestClient, ctx: Context, page: None
) -> None:
    """Past the limit an hour a client gets 429; an address asked for twice
    gets one confirmation mail."""
    for n in range(RATE_LIMIT - 1):
        assert subscribe(client, f"r{n}@example.com") == 200
    assert subscribe(client, "r0@example.com") == 200
    assert subscribe(client, "r9@example.com") == 429

    assert len(outbox(ctx)) == RATE_LIMIT - 1


def test_bad_or_stale_links_are_refused(
    client: TestClient, ctx: Context, clock: ManualClock, page: None
) -> None:
    """A bad address is 400; a forged, expired or wrong-purpose token is 403 and
    changes nothing."""
    assert subscribe(client, "not an address") == 400
    subscribe(client, "reader@example.com")
    [confirmation] = outbox(ctx)
    token = link_in(confirmation.body, "/status/subscribe/confirm").split("token=")[1]

    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    refused = client.post("/status/subscribe/confirm", data={"token": forged})
    assert refused.status_code == 403
    wrong = client.post(f"/status/unsubscribe?token={token}")
    assert wrong.status_code == 403
    clock.advance(seconds=CONFIRM_TTL.total_seconds() + 1)
    expired = client.post("/status/subscribe/confirm", data={"token": token})
    assert expired.status_code == 403
    assert "<script" not in expired.text

    with ctx.db.read() as session:
        [subscriber] = session.scalars(select(StatusSubscriber)).all()
    assert subscriber.confirmed_at is None


def test_public_json_errors_are_problems(client: TestClient) -> None:
    """A JSON client asking for a missing incident page gets a problem, not HTML."""
    response = client.get("/status/incidents/3", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert json.loads(response.text)["status"] == 404


def test_built_mail_keeps_only_known_extra_headers(ctx: Context) -> None:
    """The email channel adds the List-Unsubscribe pair from a payload, and no
    other header a payload names."""
    mail: EmailMessage = EmailChannel(ctx.settings).build(
        Outbound(
            "k1",
            "a@example.com",
            "s",
            "b",
            {
                "headers": {
                    "List-Unsubscribe": "<http://x/u>\r\nBcc: evil@x",
                    "Bcc": "e",
                }
            },
        )
    )
    assert mail["List-Unsubscribe"] == "<http://x/u> Bcc: evil@x"
    assert mail["Bcc"] is None


def test_a_maintenance_entry_is_updated_when_the_work_starts(
    client: TestClient, ctx: Context, clock: ManualClock, page: None
) -> None:
    """Feed readers see the maintenance entry change when the window starts."""
    made = clock.now()
    start = made + timedelta(hours=1)
    status_maintenance.schedule_maintenance(
        ctx,
        SYSTEM,
        title="Upgrade",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        components=["API"],
    )

    def entry_updated() -> str:
        feed = parse_feed(client.get("/status/feed.atom").content)
        [entry] = feed.findall(f"{ATOM}entry")
        return entry.findtext(f"{ATOM}updated") or ""

    assert entry_updated() == made.strftime("%Y-%m-%dT%H:%M:%SZ")
    clock.set(start + timedelta(minutes=5))
    assert entry_updated() == start.strftime("%Y-%m-%dT%H:%M:%SZ")
