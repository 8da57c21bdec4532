"""Pages by email over SMTP (plain, STARTTLS or implicit TLS)."""

from __future__ import annotations

import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from tocsin.channels.base import DeliveryError, Outbound
from tocsin.config import Settings

# Header values may not break lines; alert summaries often do (RFC 5322, 2.2).
_LINE_BREAKS = re.compile(r"[\s\x00-\x1f\x7f\x85\u2028\u2029]+")
EXTRA_HEADERS = frozenset({"List-Unsubscribe", "List-Unsubscribe-Post"})


def one_line(text: str) -> str:
    """`text` with every run of white space and control characters as one space."""
    return _LINE_BREAKS.sub(" ", text).strip()


def _timed_out(error: BaseException | None) -> bool:
    """Whether the server went silent: smtplib reports a read that timed out as
    a disconnection, with the timeout as its context."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, TimeoutError):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


class EmailChannel:
    kind = "email"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def build(self, message: Outbound) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.settings.mail_from
        mail["To"] = message.recipient
        mail["Subject"] = one_line(message.subject)
        mail["Date"] = formatdate(localtime=False)
        domain = self.settings.mail_from.rpartition("@")[2] or "tocsin.local"
        # The same Message-ID on every attempt of one outbox message lets mail
        # systems drop the duplicate when a retry follows a send whose reply was
        # lost (make_msgid would add a timestamp and a random part).
        mail["Message-ID"] = f"<{message.idempotency_key}@{domain}>"
        mail["X-Tocsin-Idempotency-Key"] = message.idempotency_key
        # Headers a sender may ask for in the payload, by name from this list
        # only: the status page's List-Unsubscribe pair (RFC 2369, RFC 8058).
        extra = dict(message.payload.get("headers") or {})
        if any(name in EXTRA_HEADERS for name in extra):
            # A URL has no white space to fold at, and folding would turn it
            # into encoded words no mail client follows: keep lines whole, as
            # RFC 5322 allows up to 998 characters.
            mail.policy = mail.policy.clone(max_line_length=998)
        for name, value in extra.items():
            if name in EXTRA_HEADERS:
                mail[name] = one_line(str(value))
        # 8bit rather than quoted-printable: action links stay whole in the raw
        # mail (a local mail sink prints it), and every relay today speaks
        # 8BITMIME (RFC 6152).
        mail.set_content(message.body, cte="8bit")
        return mail

    def send(self, message: Outbound) -> None:
        settings = self.settings
        mail = self.build(message)
        try:
            if settings.smtp_tls == "ssl":
                context = ssl.create_default_context()
                with smtplib.SMTP_SSL(
                    settings.smtp_host,
                    settings.smtp_port,
                    timeout=settings.smtp_timeout,
                    context=context,
                ) as smtp:
                    self._deliver(smtp, mail)
            else:
                with smtplib.SMTP(
                    settings.smtp_host,
                    settings.smtp_port,
                    timeout=settings.smtp_timeout,
                ) as smtp:
                    if settings.smtp_tls == "starttls":
                        smtp.starttls(context=ssl.create_default_context())
                    self._deliver(smtp, mail)
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryError(
                f"SMTP {settings.smtp_host}: {error}",
                timed_out=_timed_out(error),
            ) from error

    def _deliver(self, smtp: smtplib.SMTP, mail: EmailMessage) -> None:
        if self.settings.smtp_username:
            smtp.login(self.settings.smtp_username, self.settings.smtp_password)
        smtp.send_message(mail)
