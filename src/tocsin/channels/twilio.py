"""SMS and voice calls through a Twilio-compatible REST API: Messages.json and
Calls.json under /2010-04-01/Accounts/{sid}/, form-encoded, with HTTP basic auth
(account SID and auth token). The base URL is a setting, so any provider that
speaks this API (or a local test server) works.

Twilio does not deduplicate message or call creation; the idempotency key is
sent as an `Idempotency-Key` header for providers that honour it.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from tocsin.channels.base import DeliveryError, Outbound
from tocsin.channels.web import HttpSender
from tocsin.config import Settings


class _TwilioChannel:
    resource = ""
    kind = ""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.http = HttpSender(settings, "Twilio")

    def url(self) -> str:
        base = self.settings.twilio_base_url.rstrip("/")
        sid = self.settings.twilio_account_sid
        return f"{base}/2010-04-01/Accounts/{sid}/{self.resource}"

    def form(self, message: Outbound) -> dict[str, str]:
        raise NotImplementedError

    def send(self, message: Outbound) -> None:
        settings = self.settings
        if not (
            settings.twilio_account_sid
            and settings.twilio_auth_token
            and settings.twilio_from_number
        ):
            raise DeliveryError(
                "Twilio: set TOCSIN_TWILIO_ACCOUNT_SID, TOCSIN_TWILIO_AUTH_TOKEN "
                f"and TOCSIN_TWILIO_FROM_NUMBER to send {self.kind}"
            )
        self.http.post(
            self.url(),
            data=self.form(message),
            auth=(settings.twilio_account_sid, settings.twilio_auth_token),
            headers={"Idempotency-Key": message.idempotency_key},
        )


class TwilioSmsChannel(_TwilioChannel):
    kind = "sms"
    resource = "Messages.json"

    def form(self, message: Outbound) -> dict[str, str]:
        return {
            "To": message.recipient,
            "From": self.settings.twilio_from_number,
            "Body": message.body[:1600],
        }


class TwilioVoiceChannel(_TwilioChannel):
    kind = "voice"
    resource = "Calls.json"

    def form(self, message: Outbound) -> dict[str, str]:
        # Said twice: the first words of a call are often lost picking up.
        said = f"<Say>{escape(message.body[:1000])}</Say>"
        twiml = f'<Response>{said}<Pause length="1"/>{said}</Response>'
        return {
            "To": message.recipient,
            "From": self.settings.twilio_from_number,
            "Twiml": twiml,
        }
