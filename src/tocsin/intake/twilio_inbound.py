"""Inbound SMS from a Twilio-compatible provider: replying "ack 12" to a page
acknowledges incident #12 ("resolve 12" resolves it).

Set the number's "A message comes in" webhook to
`{TOCSIN_BASE_URL}/api/v1/intake/twilio/sms` (HTTP POST). Each request is
checked as Twilio documents: X-Twilio-Signature is the base64 HMAC-SHA1, keyed
with the auth token, of the full URL Twilio called followed by every POST
parameter's name and value, sorted by name. The URL is rebuilt from
TOCSIN_BASE_URL, which must therefore be the address Twilio uses.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from tocsin.errors import Forbidden, InvalidInput
from tocsin.services import replies
from tocsin.services.context import Context

router = APIRouter(tags=["intake"])

PATH = "/api/v1/intake/twilio/sms"


def signature(token: str, url: str, params: list[tuple[str, str]]) -> str:
    signed = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _twiml(text: str) -> Response:
    body = "<?xml version='1.0' encoding='UTF-8'?>"
    body += f"<Response><Message>{escape(text)}</Message></Response>"
    return Response(body, media_type="text/xml")


def _handle(ctx: Context, sender: str, text: str) -> str:
    command = replies.parse(text)
    if command is None:
        return replies.HELP
    return replies.act(ctx, kind="sms", address=sender, command=command)


@router.post(
    PATH,
    operation_id="twilioInboundSms",
    summary="Inbound SMS: reply 'ack N' to acknowledge incident #N",
)
async def inbound_sms(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    token = ctx.settings.twilio_auth_token
    if not token:
        raise Forbidden("SMS replies are off: TOCSIN_TWILIO_AUTH_TOKEN is unset")

    body = await request.body()
    try:
        params = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("expected a form-encoded body") from None

    url = ctx.settings.base_url.rstrip("/") + PATH
    if request.url.query:
        url += "?" + request.url.query
    given = request.headers.get("x-twilio-signature", "")
    # Bytes, not str: compare_digest refuses str holding non-ASCII characters,
    # and a header may carry any byte.
    expected = signature(token, url, params).encode()
    if not given or not hmac.compare_digest(expected, given.encode()):
        raise Forbidden("the Twilio signature does not match")

    fields = dict(params)
    sender = fields.get("From", "")
    if not sender:
        raise InvalidInput("the message has no sender")

    answer = await run_in_threadpool(_handle, ctx, sender, fields.get("Body", ""))
    return _twiml(answer)
