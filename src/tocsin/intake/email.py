"""Inbound mail over SMTP (aiosmtpd): the adapter in front of
`services.inbound_mail`.

Recipients are judged at RCPT time, so mail for an address Tocsin does not
have is refused with 550 before its body is sent; a message over
TOCSIN_INBOUND_MAIL_MAX_BYTES is refused with 552 by aiosmtpd itself. A
message Tocsin cannot store now (the database is down or locked) is answered
451, so the sending server keeps it and tries again; nothing in a message, however
malformed, makes the listener fail.

The listener runs aiosmtpd's event loop in a thread of its own; the database
work of each command runs on that loop's thread pool, so one slow transaction
does not hold other senders up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from aiosmtpd.controller import Controller

from tocsin.errors import ConfigError
from tocsin.services import inbound_mail
from tocsin.services.context import Context

log = logging.getLogger(__name__)

MAX_RECIPIENTS = 50

T = TypeVar("T")


class MailHandler:
    """aiosmtpd's handler: its `handle_*` hooks are called per SMTP command."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def _off_loop(self, work: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, work, *args)

    async def handle_RCPT(
        self,
        server: Any,
        session: Any,
        envelope: Any,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        try:
            known = await self._off_loop(inbound_mail.accepts, self.ctx, address)
        except Exception:
            log.exception("inbound mail: recipient check failed")
            return "451 4.3.0 Cannot check this recipient now; try again later"
        if not known:
            return "550 5.1.1 No such mailbox here"

        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            outcomes = await self._off_loop(
                inbound_mail.receive, self.ctx, list(envelope.rcpt_tos), raw
            )
        except Exception:
            # Not the sender's fault (a parse never raises): keep the message
            # at the sender, which retries.
            log.exception("inbound mail: could not store a message")
            return "451 4.3.0 Cannot take this message now; try again later"

        log.info(
            "inbound mail received",
            extra={"outcomes": [o.result for o in outcomes]},
        )
        if outcomes and all(o.result == "unthreaded" for o in outcomes):
            return "550 5.7.1 This address takes only replies to incidents"
        if outcomes and all(o.result in ("unthreaded", "refused") for o in outcomes):
            return "550 5.7.1 Only responders of this service may declare here"
        return "250 OK: received"


class MailListener:
    """The SMTP server, started and stopped around the application or the
    `tocsin mail serve` command."""

    def __init__(
        self, ctx: Context, *, host: str | None = None, port: int | None = None
    ) -> None:
        settings = ctx.settings
        self.host = host or settings.inbound_mail_host
        self.port = port or settings.inbound_mail_port
        self._controller = Controller(
            MailHandler(ctx),
            hostname=self.host,
            port=self.port,
            data_size_limit=settings.inbound_mail_max_bytes,
            enable_SMTPUTF8=True,
            ident="Tocsin",
        )

    def start(self) -> None:
        """Listen. Raises ConfigError when the address cannot be bound."""
        try:
            self._controller.start()
        except OSError as error:
            raise ConfigError(
                f"cannot take inbound mail on {self.host}:{self.port}: "
                f"{error.strerror or error}"
            ) from error
        log.info("inbound mail listening", extra={"host": self.host, "port": self.port})

    def stop(self) -> None:
        self._controller.stop()
        log.info("inbound mail stopped")
