"""How you are paged, from the profile: contact methods and notification rules
added, tested and removed by their owner, with the services' own checks."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.conftest import World, log_in
from tocsin.services.context import Context
from tocsin.store.models import ContactMethod, NotificationRule, OutboxMessage


def _contacts(ctx: Context, user_id: int) -> list[tuple[str, str]]:
    with ctx.db.read() as session:
        rows = session.execute(
            select(ContactMethod.kind, ContactMethod.address)
            .where(ContactMethod.user_id == user_id)
            .order_by(ContactMethod.id)
        ).all()
    return [(row.kind, row.address) for row in rows]


def _contact_id(ctx: Context, user_id: int, kind: str) -> int:
    with ctx.db.read() as session:
        return session.scalars(
            select(ContactMethod.id).where(
                ContactMethod.user_id == user_id, ContactMethod.kind == kind
            )
        ).one()


def test_a_responder_adds_a_phone_and_a_rule_that_texts_after_two_minutes(
    client: TestClient, ctx: Context, world: World
) -> None:
    csrf = log_in(client, world.ann.email)

    added = client.post(
        "/profile/paging/contacts",
        data={"csrf_token": csrf, "kind": "sms", "address": "+49 151 1234 5678"},
    )
    sms = _contact_id(ctx, world.ann.id, "sms")
    ruled = client.post(
        "/profile/paging/rules",
        data={"csrf_token": csrf, "contact_method_id": str(sms), "delay_minutes": "2"},
    )
    page = client.get("/profile/paging")

    assert added.status_code == 303
    assert ruled.status_code == 303
    assert ("sms", "+4915112345678") in _contacts(ctx, world.ann.id)
    assert "After 2 min" in page.text
    with ctx.db.read() as session:
        delays = session.scalars(
            select(NotificationRule.delay_minutes).where(
                NotificationRule.user_id == world.ann.id
            )
        ).all()
    assert delays == [2]
    assert 'href="/profile/paging"' in client.get("/profile").text


def test_a_bad_address_says_why_and_keeps_what_was_typed(
    client: TestClient, ctx: Context, world: World
) -> None:
    csrf = log_in(client, world.ann.email)
    before = _contacts(ctx, world.ann.id)

    refused = client.post(
        "/profile/paging/contacts",
        data={"csrf_token": csrf, "kind": "sms", "address": "<b>call me</b>"},
    )
    bad_delay = client.post(
        "/profile/paging/rules",
        data={
            "csrf_token": csrf,
            "contact_method_id": str(_contact_id(ctx, world.ann.id, "email")),
            "delay_minutes": "9999",
        },
    )

    assert refused.status_code == 400
    assert "international form" in refused.text
    assert 'value="&lt;b&gt;call me&lt;/b&gt;"' in refused.text
    assert "<b>call me</b>" not in refused.text
    assert bad_delay.status_code == 400
    assert "the delay must be 0 to 1440 minutes" in bad_delay.text
    assert _contacts(ctx, world.ann.id) == before


def test_a_webhook_secret_is_shown_once_and_a_test_is_queued(
    client: TestClient, ctx: Context, world: World
) -> None:
    csrf = log_in(client, world.ann.email)

    made = client.post(
        "/profile/paging/contacts",
        data={
            "csrf_token": csrf,
            "kind": "webhook",
            "address": "https://hooks.example.com/tocsin",
        },
    )
    webhook = _contact_id(ctx, world.ann.id, "webhook")
    tested = client.post(
        f"/profile/paging/contacts/{webhook}/test", data={"csrf_token": csrf}
    )

    assert made.status_code == 201
    assert made.headers["cache-control"] == "no-store"
    assert 'id="signing-secret" readonly value="whsec_' in made.text
    assert "whsec_" not in client.get("/profile/paging").text
    assert tested.status_code == 200
    assert "Test message queued." in tested.text
    with ctx.db.read() as session:
        queued = session.scalars(
            select(OutboxMessage.recipient).where(OutboxMessage.channel == "webhook")
        ).all()
    assert queued == ["https://hooks.example.com/tocsin"]


def test_the_last_contact_method_stays_and_others_cannot_be_touched(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Removing Ann's only method is refused; Pete's method is not found to
    her; a missing CSRF token changes nothing."""
    csrf = log_in(client, world.ann.email)
    [(kind, address)] = _contacts(ctx, world.ann.id)
    mine = _contact_id(ctx, world.ann.id, kind)
    petes = _contact_id(ctx, world.pete.id, "email")

    last = client.post(
        f"/profile/paging/contacts/{mine}/remove", data={"csrf_token": csrf}
    )
    other = client.post(
        f"/profile/paging/contacts/{petes}/remove", data={"csrf_token": csrf}
    )
    forged = client.post(
        "/profile/paging/contacts",
        data={"csrf_token": "forged", "kind": "email", "address": "x@example.com"},
    )

    assert last.status_code == 409
    assert "last contact method" in last.text
    assert other.status_code == 404
    assert forged.status_code == 403
    assert _contacts(ctx, world.ann.id) == [(kind, address)]
    assert len(_contacts(ctx, world.pete.id)) == 1


def test_a_digit_int_cannot_read_is_refused_not_an_error(
    client: TestClient, ctx: Context, world: World
) -> None:
    # "²" passes str.isdigit() but int() refuses it.
    csrf = log_in(client, world.ann.email)

    bad_method = client.post(
        "/profile/paging/rules",
        data={"csrf_token": csrf, "contact_method_id": "²", "delay_minutes": "1"},
    )
    bad_delay = client.post(
        "/profile/paging/rules",
        data={"csrf_token": csrf, "contact_method_id": "1", "delay_minutes": "²"},
    )

    assert bad_method.status_code == 400
    assert "choose a contact method" in bad_method.text
    assert bad_delay.status_code == 400
    assert "the delay is a number of minutes" in bad_delay.text
