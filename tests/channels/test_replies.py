"""Acknowledge by reply: a Slack button click or an SMS "ack N", each accepted
only with the provider's valid signature, acting as the person whose contact
method it came from."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from tests.builders import make_integration, make_service, make_user
from tests.builders import trigger as alert
from tests.channels.servers import ProviderServer, serve
from tocsin.app import create_app
from tocsin.clock import ManualClock
from tocsin.config import Settings
from tocsin.domain.access import SYSTEM
from tocsin.services import alerts, contacts, replies
from tocsin.services.context import Context
from tocsin.store.models import Incident, User

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
AUTH_TOKEN = "twilio-auth-token-for-tests"
SMS_URL = "http://tocsin.test/api/v1/intake/twilio/sms"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "slack_signing_secret": SIGNING_SECRET,
            "twilio_auth_token": AUTH_TOKEN,
            "outbound_allowed_networks": ["127.0.0.1/32"],
        }
    )


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as test_client:
        yield test_client


@pytest.fixture
def ann(ctx: Context) -> User:
    user = make_user(ctx, "ann@example.com")
    contacts.add_contact(ctx, SYSTEM, user.id, kind="slack", address="U0ANN0001")
    contacts.add_contact(ctx, SYSTEM, user.id, kind="sms", address="+15551230001")
    return user


@pytest.fixture
def number(ctx: Context, ann: User) -> int:
    make_service(ctx, steps=[(30, [ann])])
    integration, _ = make_integration(ctx)
    [outcome] = alerts.ingest(ctx, integration, [alert()])
    assert outcome.incident_number is not None
    return outcome.incident_number


def status_of(ctx: Context, number: int) -> str:
    with ctx.db.read() as session:
        incident = session.query(Incident).filter_by(number=number).one()
        return incident.status


# Slack --------------------------------------------------------------------------


def slack_click(
    number: int, slack_user: str = "U0ANN0001", response_url: str = ""
) -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": slack_user},
        "response_url": response_url,
        "actions": [{"action_id": "tocsin_acknowledge", "value": str(number)}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def slack_headers(body: bytes, timestamp: int, secret: str = SIGNING_SECRET) -> dict:
    base = f"v0:{timestamp}:".encode() + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


@pytest.fixture
def slack() -> Iterator[ProviderServer]:
    yield from serve()


def test_a_signed_slack_click_acknowledges_as_the_clicking_person(
    ctx: Context,
    clock: ManualClock,
    client: TestClient,
    number: int,
    slack: ProviderServer,
) -> None:
    """The button acknowledges; the outcome goes to the clicker's response_url."""
    body = slack_click(number, response_url=f"{slack.url}/actions/T0/1/x")
    now = int(clock.now().timestamp())

    response = client.post(
        "/api/v1/intake/slack/actions", content=body, headers=slack_headers(body, now)
    )

    assert response.status_code == 200
    assert response.json()["text"].startswith(f"Acknowledged #{number}")
    assert status_of(ctx, number) == "acknowledged"
    [told] = slack.requests("/actions/T0/1/x")
    assert told.json()["response_type"] == "ephemeral"
    assert told.json()["text"].startswith(f"Acknowledged #{number}")


@pytest.mark.parametrize(
    ("age", "secret"),
    [(0, "not-the-secret"), (301, SIGNING_SECRET), (-301, SIGNING_SECRET)],
)
def test_a_forged_or_stale_slack_click_changes_nothing(
    ctx: Context,
    clock: ManualClock,
    client: TestClient,
    number: int,
    age: int,
    secret: str,
) -> None:
    """A wrong secret, or a timestamp over five minutes off, is refused."""
    body = slack_click(number)
    timestamp = int(clock.now().timestamp()) - age

    response = client.post(
        "/api/v1/intake/slack/actions",
        content=body,
        headers=slack_headers(body, timestamp, secret),
    )

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert status_of(ctx, number) == "triggered"


def test_signatures_with_non_ascii_bytes_are_refused_not_crashed(
    ctx: Context, clock: ManualClock, client: TestClient, number: int
) -> None:
    """A signature header holding bytes beyond ASCII is a 403, not a 500."""
    body = slack_click(number)
    headers = slack_headers(body, int(clock.now().timestamp()))
    forged = {"X-Slack-Signature": "v0=\xff\xfe".encode("latin-1")}

    slack_answer = client.post(
        "/api/v1/intake/slack/actions",
        content=body,
        headers={**headers, **forged},
    )
    params = {"From": "+15551230001", "Body": f"ack {number}"}
    sms_answer = client.post(
        "/api/v1/intake/twilio/sms",
        content=urlencode(params),
        headers={
            "X-Twilio-Signature": "\xff\xfe".encode("latin-1"),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )

    assert slack_answer.status_code == 403
    assert sms_answer.status_code == 403
    assert status_of(ctx, number) == "triggered"


@pytest.mark.parametrize("value", ["9" * 5000, "\u0661\u0662", "-1", ""])
def test_a_signed_click_naming_no_incident_number_is_refused(
    ctx: Context, clock: ManualClock, client: TestClient, number: int, value: str
) -> None:
    """A button value that is not an incident number is a 400, never a 500."""
    payload = {
        "type": "block_actions",
        "user": {"id": "U0ANN0001"},
        "actions": [{"action_id": "tocsin_acknowledge", "value": value}],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    now = int(clock.now().timestamp())

    response = client.post(
        "/api/v1/intake/slack/actions", content=body, headers=slack_headers(body, now)
    )

    assert response.status_code == 400
    assert status_of(ctx, number) == "triggered"


def test_a_slack_click_from_a_stranger_is_answered_not_obeyed(
    ctx: Context, clock: ManualClock, client: TestClient, number: int
) -> None:
    """A Slack member who is no Tocsin user's contact acknowledges nothing."""
    body = slack_click(number, slack_user="U0STRANGER")
    now = int(clock.now().timestamp())

    response = client.post(
        "/api/v1/intake/slack/actions", content=body, headers=slack_headers(body, now)
    )

    assert response.status_code == 200
    assert "not a contact method" in response.json()["text"]
    assert status_of(ctx, number) == "triggered"


# Twilio -------------------------------------------------------------------------


def twilio_signature(url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature as Twilio documents it, computed independently."""
    data = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    mac = hmac.new(AUTH_TOKEN.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def sms(client: TestClient, text: str, sender: str = "+15551230001", sign: bool = True):
    params = {"From": sender, "To": "+15550000000", "Body": text, "MessageSid": "SM1"}
    signature = twilio_signature(SMS_URL, params) if sign else "bm9wZQ=="
    return client.post(
        "/api/v1/intake/twilio/sms",
        content=urlencode(params),
        headers={
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


def test_an_sms_reply_acknowledges_the_named_incident(
    ctx: Context, client: TestClient, number: int
) -> None:
    """Replying "ack N" acknowledges #N and answers in TwiML."""
    response = sms(client, f"ACK {number}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert f"Acknowledged #{number}" in response.text
    assert status_of(ctx, number) == "acknowledged"


def test_an_sms_reply_with_a_bad_signature_changes_nothing(
    ctx: Context, client: TestClient, number: int
) -> None:
    """Without Twilio's signature, a forged "ack" is refused."""
    response = sms(client, f"ack {number}", sign=False)

    assert response.status_code == 403
    assert status_of(ctx, number) == "triggered"


def test_an_sms_from_an_unknown_number_acknowledges_nothing(
    ctx: Context, client: TestClient, number: int
) -> None:
    """The sender must be one of a user's SMS contact methods."""
    response = sms(client, f"ack {number}", sender="+15559999999")

    assert response.status_code == 200
    assert "not a contact method" in response.text
    assert status_of(ctx, number) == "triggered"


def test_an_unclear_sms_gets_the_help_text(client: TestClient, number: int) -> None:
    """Anything but a command is answered with how to reply."""
    response = sms(client, "on my way")

    assert replies.HELP in response.text


@pytest.mark.parametrize(
    ("text", "action", "number"),
    [
        ("ack 12", "acknowledge", 12),
        ("Ack #12", "acknowledge", 12),
        ("  acknowledge 7. ", "acknowledge", 7),
        ("resolve 3", "resolve", 3),
    ],
)
def test_reply_commands_are_read_loosely(text: str, action: str, number: int) -> None:
    """Case, a # and trailing punctuation do not matter."""
    assert replies.parse(text) == replies.Command(action, number)


@pytest.mark.parametrize("text", ["ack", "ack twelve", "please ack 12", "ack 1 2"])
def test_anything_else_is_not_a_command(text: str) -> None:
    """Only a verb and one number make a command."""
    assert replies.parse(text) is None
