"""Slack, Teams, Standard Webhooks and Twilio channels against local servers that
speak each provider's API: what arrives is what the provider expects, and a
provider's refusal becomes a DeliveryError that says why."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs

import pytest

from tests.channels.servers import ProviderServer, Received, Reply, serve
from tocsin.channels.apprise import AppriseChannel
from tocsin.channels.base import DeliveryError, Outbound
from tocsin.channels.slack import ACKNOWLEDGE_ACTION, SlackChannel
from tocsin.channels.teams import CARD_TYPE, TeamsChannel
from tocsin.channels.teams import card as teams_card
from tocsin.channels.twilio import TwilioSmsChannel, TwilioVoiceChannel
from tocsin.channels.webhook import WebhookChannel, new_secret
from tocsin.config import Settings

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "twilio-auth-token"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def page(address: str, title: str = "Disk full on db-1", key: str = "k1") -> Outbound:
    return Outbound(
        idempotency_key=key,
        recipient=address[:320],
        subject=f"[Tocsin] #7 SEV1 TRIGGERED: {title}",
        body=f"Tocsin #7 SEV1 checkout: {title}. Reply 'ack 7' to acknowledge.",
        payload={
            "kind": "page",
            "incident_number": 7,
            "incident_id": 70,
            "title": title,
            "severity": "sev1",
            "status": "triggered",
            "service": "checkout",
            "reason": "escalation step 1",
            "user_id": 3,
            "contact_method_id": 11,
            "address": address,
            "open_url": "http://tocsin.test/incidents/7",
            "ack_url": "http://tocsin.test/a/signed-token",
        },
    )


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    yield from serve()


@pytest.fixture
def local(settings: Settings, server: ProviderServer) -> Settings:
    """Settings that let channels reach the local provider."""
    return settings.model_copy(
        update={
            "outbound_allowed_networks": ["127.0.0.1/32"],
            "slack_api_url": f"{server.url}/api",
            "slack_bot_token": "xoxb-test",
            "twilio_base_url": server.url,
            "twilio_account_sid": SID,
            "twilio_auth_token": TOKEN,
            "twilio_from_number": "+15550000000",
        }
    )


# Slack --------------------------------------------------------------------------


def test_slack_webhook_gets_blocks_with_an_acknowledge_button(
    local: Settings, server: ProviderServer
) -> None:
    """An incoming webhook receives text and blocks; the button names the incident."""
    SlackChannel(local).send(page(f"{server.url}/services/T0/B0/x"))

    [request] = server.requests("/services/T0/B0/x")
    body = request.json()
    assert body["text"].startswith("[Tocsin] #7 SEV1")
    [button] = [
        element
        for block in body["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element.get("action_id") == ACKNOWLEDGE_ACTION
    ]
    assert button["value"] == "7"


def test_slack_escapes_control_sequences_in_titles(
    local: Settings, server: ProviderServer
) -> None:
    """A title holding <!channel> cannot ping a whole channel."""
    SlackChannel(local).send(page(f"{server.url}/hook", title="<!channel> & co"))

    text = server.requests("/hook")[0].body.decode()
    assert "<!channel>" not in text
    assert "&lt;!channel&gt; &amp; co" in text


def test_slack_bot_posts_to_chat_post_message_with_the_token(
    local: Settings, server: ProviderServer
) -> None:
    """A member id is paged by chat.postMessage, authenticated with the bot token."""
    server.respond = lambda request: Reply.json({"ok": True, "ts": "1.2"})

    SlackChannel(local).send(page("U0123ABCD"))

    [request] = server.requests("/api/chat.postMessage")
    assert request.header("authorization") == "Bearer xoxb-test"
    body = request.json()
    assert body["channel"] == "U0123ABCD"
    assert body["metadata"]["event_payload"]["idempotency_key"] == "k1"


def test_slack_refusal_with_ok_false_is_a_delivery_error(
    local: Settings, server: ProviderServer
) -> None:
    """Slack answers 200 with ok=false; the error word reaches the timeline."""
    server.respond = lambda request: Reply.json(
        {"ok": False, "error": "channel_not_found"}
    )

    with pytest.raises(DeliveryError, match="channel_not_found"):
        SlackChannel(local).send(page("U0123ABCD"))


def test_slack_without_a_bot_token_says_which_setting_is_missing(
    local: Settings,
) -> None:
    """Paging a member id needs TOCSIN_SLACK_BOT_TOKEN, and the error says so."""
    unset = local.model_copy(update={"slack_bot_token": ""})

    with pytest.raises(DeliveryError, match="TOCSIN_SLACK_BOT_TOKEN"):
        SlackChannel(unset).send(page("U0123ABCD"))


# Teams --------------------------------------------------------------------------


def test_teams_gets_an_adaptive_card_with_the_acknowledge_link(
    local: Settings, server: ProviderServer
) -> None:
    """A workflow webhook receives a message with one Adaptive Card attachment."""
    server.respond = lambda request: Reply(202, b"")

    TeamsChannel(local).send(page(f"{server.url}/workflows/abc/triggers/manual"))

    [request] = server.requests("/workflows/abc/triggers/manual")
    body = request.json()
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == CARD_TYPE
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    urls = {action["title"]: action["url"] for action in card["actions"]}
    assert urls["Acknowledge"] == "http://tocsin.test/a/signed-token"
    assert request.header("idempotency-key") == "k1"


def test_teams_error_status_is_a_delivery_error(
    local: Settings, server: ProviderServer
) -> None:
    """A 4xx from the workflow is a failed attempt with the provider's words."""
    server.respond = lambda request: Reply(400, b"Invalid card payload")

    with pytest.raises(DeliveryError, match="400: Invalid card payload"):
        TeamsChannel(local).send(page(f"{server.url}/workflow"))


# Standard Webhooks ---------------------------------------------------------------


def verify_standard_webhook(secret: str, request: Received) -> bool:
    """A receiver's check, written from the Standard Webhooks specification."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = (
        f"{request.header('webhook-id')}.{request.header('webhook-timestamp')}."
    ).encode() + request.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    return any(
        part.split(",", 1) == ["v1", expected.decode()]
        for part in request.header("webhook-signature").split(" ")
    )


def test_webhook_is_signed_per_standard_webhooks(
    local: Settings, server: ProviderServer
) -> None:
    """The signature verifies with the contact's whsec_ secret; the id is the key."""
    secret = new_secret()
    channel = WebhookChannel(local, lambda contact_id: secret, lambda: NOW)

    channel.send(page(f"{server.url}/hook"))

    [request] = server.requests("/hook")
    assert verify_standard_webhook(secret, request)
    assert request.header("webhook-id") == "msg_k1"
    assert request.header("webhook-timestamp") == str(int(NOW.timestamp()))
    event = request.json()
    assert event["type"] == "incident.page"
    assert event["data"]["incident_number"] == 7
    assert "address" not in event["data"]


def test_a_tampered_webhook_body_fails_verification(
    local: Settings, server: ProviderServer
) -> None:
    """The signature covers the body: one changed byte and it no longer verifies."""
    secret = new_secret()
    WebhookChannel(local, lambda contact_id: secret, lambda: NOW).send(
        page(f"{server.url}/hook")
    )
    [request] = server.requests("/hook")

    tampered = Received(
        request.method,
        request.path,
        request.headers,
        request.body.replace(b'"incident_number":7', b'"incident_number":8'),
    )

    assert not verify_standard_webhook(secret, tampered)
    assert not verify_standard_webhook(new_secret(), request)


def test_every_retry_of_a_webhook_carries_the_same_id(
    local: Settings, server: ProviderServer
) -> None:
    """Receivers drop repeats by webhook-id, so retries must reuse it."""
    secret = new_secret()
    channel = WebhookChannel(local, lambda contact_id: secret, lambda: NOW)

    channel.send(page(f"{server.url}/hook"))
    channel.send(page(f"{server.url}/hook"))

    ids = {request.header("webhook-id") for request in server.requests("/hook")}
    assert ids == {"msg_k1"}


def test_a_webhook_to_an_internal_address_is_refused_not_sent(
    settings: Settings, server: ProviderServer
) -> None:
    """Without an allowance, loopback is refused and the server gets nothing."""
    channel = WebhookChannel(settings, lambda contact_id: new_secret(), lambda: NOW)

    with pytest.raises(DeliveryError, match="loopback"):
        channel.send(page(f"{server.url}/hook"))

    assert server.requests() == []


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_a_receiver_answering_without_end_is_cut_off_not_stored(
    local: Settings, server: ProviderServer, encoding: str
) -> None:
    """A webhook receiver is anyone's URL: a 50 MB answer, or a small gzip one
    that unpacks to 50 MB, fails the delivery instead of filling the worker's
    memory."""
    answer = b"0" * 50_000_000
    if encoding == "gzip":
        answer = gzip.compress(answer)
    server.respond = lambda request: Reply(
        200, answer, headers={"Content-Encoding": encoding}
    )
    channel = WebhookChannel(local, lambda contact_id: new_secret(), lambda: NOW)

    with pytest.raises(DeliveryError, match="more than"):
        channel.send(page(f"{server.url}/hook"))


# Twilio -------------------------------------------------------------------------


def twilio_created(request: Received) -> Reply:
    return Reply.json({"sid": "SM123", "status": "queued"}, status=201)


def test_sms_goes_to_messages_json_with_basic_auth(
    local: Settings, server: ProviderServer
) -> None:
    """Messages.json under the account, form-encoded, with SID and token."""
    server.respond = twilio_created

    TwilioSmsChannel(local).send(page("+15551234567"))

    [request] = server.requests(f"/2010-04-01/Accounts/{SID}/Messages.json")
    credentials = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request.header("authorization") == f"Basic {credentials}"
    form = parse_qs(request.body.decode())
    assert form["To"] == ["+15551234567"]
    assert form["From"] == ["+15550000000"]
    assert "Reply 'ack 7'" in form["Body"][0]


def test_voice_goes_to_calls_json_with_escaped_twiml(
    local: Settings, server: ProviderServer
) -> None:
    """A call carries TwiML that says the page; markup in a title stays text."""
    server.respond = twilio_created
    message = page("+15551234567", title="<Hangup/> db")
    message = Outbound(
        message.idempotency_key,
        message.recipient,
        message.subject,
        "Incident 7: <Hangup/> db",
        message.payload,
    )

    TwilioVoiceChannel(local).send(message)

    [request] = server.requests(f"/2010-04-01/Accounts/{SID}/Calls.json")
    twiml = parse_qs(request.body.decode())["Twiml"][0]
    assert twiml.startswith("<Response><Say>")
    assert "<Hangup/>" not in twiml
    assert "&lt;Hangup/&gt;" in twiml


def test_twilio_error_is_a_delivery_error_with_its_message(
    local: Settings, server: ProviderServer
) -> None:
    """Twilio's JSON error reaches the message's last error."""
    server.respond = lambda request: Reply.json(
        {"code": 21211, "message": "The 'To' number is not valid."}, status=400
    )

    with pytest.raises(DeliveryError, match="not valid"):
        TwilioSmsChannel(local).send(page("+15551234567"))


def test_twilio_without_credentials_names_the_settings(settings: Settings) -> None:
    """Unconfigured SMS fails with the settings to set, not a 401 from somewhere."""
    with pytest.raises(DeliveryError, match="TOCSIN_TWILIO_ACCOUNT_SID"):
        TwilioSmsChannel(settings).send(page("+15551234567"))


# Apprise ------------------------------------------------------------------------


def test_apprise_delivers_to_a_named_target(
    local: Settings, server: ProviderServer
) -> None:
    """A target named in the settings gets the page (here Apprise's JSON service)."""
    named = local.model_copy(
        update={"apprise_targets": {"ops": f"json://127.0.0.1:{server.port}/notify"}}
    )

    AppriseChannel(named).send(page("ops"))

    [request] = server.requests("/notify")
    body = request.json()
    assert body["title"].startswith("[Tocsin] #7 SEV1")
    assert "Reply 'ack 7'" in body["message"]


def test_apprise_failure_and_unknown_target_are_delivery_errors(
    local: Settings, server: ProviderServer
) -> None:
    """A refusing target and a name the operator never set up both fail clearly."""
    server.respond = lambda request: Reply(500, b"down")
    named = local.model_copy(
        update={"apprise_targets": {"ops": f"json://127.0.0.1:{server.port}/notify"}}
    )

    with pytest.raises(DeliveryError, match="could not deliver to 'ops'"):
        AppriseChannel(named).send(page("ops"))
    with pytest.raises(DeliveryError, match="no target 'dev'"):
        AppriseChannel(named).send(page("dev"))


def _markdown_texts(element: object) -> list[str]:
    """Every string in a card that Teams reads as Markdown: a TextBlock's text
    and a fact's title and value (a TextRun's text is shown as written)."""
    found: list[str] = []
    if isinstance(element, dict):
        if element.get("type") == "TextBlock":
            found.append(str(element.get("text", "")))
        if "title" in element and "value" in element:
            found += [str(element["title"]), str(element["value"])]
        for value in element.values():
            found += _markdown_texts(value)
    elif isinstance(element, list):
        for value in element:
            found += _markdown_texts(value)
    return found


@pytest.mark.parametrize("kind", ["page", "report_page"])
def test_teams_shows_outside_text_as_written_not_as_markdown(kind: str) -> None:
    """A title from an alert or a public report form is outside text: Teams
    would render `[text](url)` in it as a link that hides where it goes, so the
    card carries it where Markdown is not read, and still shows all of it."""
    lure = "[Triage here](https://phish.example/login) **now**"
    message = page("https://teams.example/workflow", title=lure)
    if kind == "report_page":
        message = Outbound(
            idempotency_key="k2",
            recipient=message.recipient,
            subject=f"[Tocsin] Report R-3 waits for triage: {lure}",
            body=f"A customer report waits for triage.\n\n{lure}\n\nTriage it: x",
            payload={"kind": kind, "open_url": "http://tocsin.test/reports/3"},
        )

    card = teams_card(message)

    assert not [text for text in _markdown_texts(card) if "phish" in text]
    runs = [
        inline["text"]
        for element in card["body"]
        if element["type"] == "RichTextBlock"
        for inline in element["inlines"]
    ]
    assert any(lure in text for text in runs)
