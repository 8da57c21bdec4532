"""Slack's interactivity endpoint: the "Acknowledge" button on a Slack page.

Point the Slack app's Interactivity Request URL at
`{TOCSIN_BASE_URL}/api/v1/intake/slack/actions`. Every request is verified
with the app's signing secret as Slack documents it: `v0=` + hex HMAC-SHA256
over `v0:{X-Slack-Request-Timestamp}:{raw body}`, and a timestamp more than
five minutes from now is refused, so a captured request cannot be replayed.
The clicking person is found by their Slack member id among contact methods.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from typing import Any
from urllib.parse import parse_qs

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tocsin.channels.slack import ACKNOWLEDGE_ACTION
from tocsin.digits import plain_digits
from tocsin.errors import Forbidden, InvalidInput
from tocsin.outbound import OutboundRefused, guarded_client
from tocsin.services import replies
from tocsin.services.context import Context

log = logging.getLogger(__name__)
router = APIRouter(tags=["intake"])

WINDOW_SECONDS = 5 * 60


def signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(ctx: Context, headers: Any, body: bytes) -> None:
    """Raise Forbidden unless the request is Slack's, signed in the last five
    minutes."""
    secret = ctx.settings.slack_signing_secret
    if not secret:
        raise Forbidden("Slack actions are off: TOCSIN_SLACK_SIGNING_SECRET is unset")

    timestamp = headers.get("x-slack-request-timestamp", "")
    given = headers.get("x-slack-signature", "")
    digits = plain_digits(timestamp)
    if not digits or len(timestamp) > 12 or not given:
        raise Forbidden("the request carries no Slack signature")
    age = abs(ctx.clock.now().timestamp() - int(timestamp))
    if age > WINDOW_SECONDS:
        raise Forbidden("the Slack request is more than five minutes old")
    # Bytes, not str: compare_digest refuses str holding non-ASCII characters,
    # and a header may carry any byte.
    expected = signature(secret, timestamp, body).encode()
    if not hmac.compare_digest(expected, given.encode()):
        raise Forbidden("the Slack signature does not match")


def _interaction(body: bytes) -> dict[str, Any]:
    try:
        fields = parse_qs(body.decode(), strict_parsing=True)
        data = json.loads(fields["payload"][0])
    except (UnicodeDecodeError, ValueError, KeyError, IndexError):
        raise InvalidInput("expected a form with a JSON `payload` field") from None
    if not isinstance(data, dict):
        raise InvalidInput("the payload is not a JSON object")
    return data


def _handle(ctx: Context, data: dict[str, Any]) -> str:
    actions = data.get("actions") or []
    action = actions[0] if isinstance(actions, list) and actions else {}
    user = data.get("user") or {}
    if (
        data.get("type") != "block_actions"
        or not isinstance(action, dict)
        or action.get("action_id") != ACKNOWLEDGE_ACTION
    ):
        # Other buttons (Open) are links; Slack still reports them. Nothing to do.
        return ""
    value = str(action.get("value", ""))
    slack_user = str(user.get("id", "")) if isinstance(user, dict) else ""
    # ASCII digits only and no more than an incident number has: str.isdigit
    # takes other scripts' digits, and int() refuses over 4300 digits.
    number = re.fullmatch(r"[0-9]{1,9}", value)
    if number is None or not slack_user:
        raise InvalidInput("the action names no incident or no user")

    command = replies.Command("acknowledge", int(number[0]))
    answer = replies.act(ctx, kind="slack", address=slack_user, command=command)
    _tell(ctx, data.get("response_url"), answer)
    return answer


def _tell(ctx: Context, response_url: object, text: str) -> None:
    """Show the outcome to the clicking person: Slack shows nothing of an
    interaction's HTTP answer, only what is posted to its response_url. A
    failure here is logged; the acknowledgement itself has happened."""
    if not isinstance(response_url, str) or not response_url:
        return
    try:
        with guarded_client(ctx.settings) as client:
            client.post(
                response_url,
                json={
                    "response_type": "ephemeral",
                    "replace_original": False,
                    "text": text,
                },
            ).raise_for_status()
    except (OutboundRefused, httpx.HTTPError) as error:
        log.warning("slack response_url failed", extra={"error": str(error)})


@router.post(
    "/api/v1/intake/slack/actions",
    operation_id="slackAction",
    summary="Slack interactivity: the Acknowledge button of a page",
)
async def slack_action(request: Request) -> JSONResponse:
    ctx: Context = request.app.state.ctx
    body = await request.body()
    verify(ctx, request.headers, body)
    data = _interaction(body)

    text = await run_in_threadpool(_handle, ctx, data)
    # Slack shows this to the clicking person only.
    return JSONResponse({"response_type": "ephemeral", "text": text})
