"""The worker loop: claim due timers and outbox messages, act, record.

Claiming sets a lease (`lease_until`) in a short transaction; on PostgreSQL the
claim query skips rows other workers hold (`FOR UPDATE SKIP LOCKED`), so any
number of workers share the work. A worker that dies mid-send leaves a lease
that expires, and the row is claimed again: delivery is at-least-once.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from tocsin.channels import registry
from tocsin.channels.base import Channel, DeliveryError, Outbound
from tocsin.domain.incidents import IncidentStatus
from tocsin.domain.triage import ReportStatus
from tocsin.engine.timers import HANDLERS
from tocsin.services import maintenance, report_pages
from tocsin.services.context import Context
from tocsin.services.records import add_timeline
from tocsin.store.models import DeliveryAttempt, Incident, OutboxMessage, Timer
from tocsin.store.models.triage import Report

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)

BATCH = 20


@dataclass(frozen=True)
class _IncidentId:
    id: int


def backoff(attempts: int) -> timedelta:
    """Wait before retry number `attempts`: 5 s doubling to at most 15 min, with
    jitter so a recovering SMTP server is not hit by every message at once."""
    base = min(5 * 2 ** max(attempts - 1, 0), 900)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))  # noqa: S311


class Worker:
    def __init__(
        self, ctx: Context, channels: Mapping[str, Channel] | None = None
    ) -> None:
        self.ctx = ctx
        if channels is None:
            channels = registry.load(ctx)
        self.channels: Mapping[str, Channel] = channels
        # Providers that timed out, and until when their messages wait: a
        # provider that hangs then costs one timeout every few seconds, not one
        # per message, and the messages of every other provider go out
        # meanwhile. (One that refuses at once costs nothing and is not held.)
        self._silent: dict[tuple[str, str], datetime] = {}
        # The lease this worker set on each message it claimed and has not yet
        # sent: a batch of slow sends can outlast it, and then the message is
        # another worker's to send.
        self._leases: dict[int, datetime] = {}

    def run_once(self) -> int:
        """Do all work due now. Returns how many timers and messages it handled."""
        done = 0
        while True:
            handled = self._run_timers() + self._run_outbox()
            done += handled
            if handled == 0:
                return done

    def run_forever(self, stop: threading.Event) -> None:
        log.info("worker started")
        poll = self.ctx.settings.worker_poll_seconds
        while not stop.is_set():
            try:
                # Cleared before the pass, so work committed during it wakes the
                # next one at once instead of waiting for the poll.
                self.ctx.work_queued.clear()
                self.run_once()
            except Exception:
                # A database hiccup must not kill paging; log and go round again.
                log.exception("worker pass failed")
                stop.wait(poll)
                continue

            self.ctx.work_queued.wait(poll)
        log.info("worker stopped")

    # Timers -------------------------------------------------------------------

    def _run_timers(self) -> int:
        claimed = self._claim_timers()
        for timer_id in claimed:
            self._fire_timer(timer_id)
        return len(claimed)

    def _fire_timer(self, timer_id: int) -> None:
        now = self.ctx.clock.now()
        try:
            with self.ctx.db.write() as session:
                timer = session.get(Timer, timer_id)
                if timer is None:
                    return
                incident = None
                if timer.incident_id is not None:
                    incident = session.scalar(
                        select(Incident)
                        .where(Incident.id == timer.incident_id)
                        .with_for_update()
                    )
                handler = HANDLERS.get(timer.kind)
                if handler is None:
                    log.warning("no handler for timer", extra={"kind": timer.kind})
                else:
                    handler(session, self.ctx, timer, incident)
                session.delete(timer)
        except Exception as error:
            log.exception("timer failed", extra={"timer_id": timer_id})
            with self.ctx.db.write() as session:
                timer = session.get(Timer, timer_id)
                if timer is not None:
                    timer.attempts += 1
                    timer.last_error = str(error)[:2000]
                    timer.lease_until = None
                    timer.due_at = now + backoff(timer.attempts)

    # Outbox -------------------------------------------------------------------

    def _run_outbox(self) -> int:
        claimed = self._claim_messages()
        for message_id in claimed:
            self._deliver(message_id)
        return len(claimed)

    def _deliver(self, message_id: int) -> None:
        lease = self._leases.pop(message_id, None)
        with self.ctx.db.read() as session:
            message = session.get(OutboxMessage, message_id)
            if message is None or message.status != "pending":
                return
            if not _still_ours(message.lease_until, lease, self.ctx.clock.now()):
                log.info(
                    "lease ran out before sending", extra={"message_id": message_id}
                )
                return
            if message.payload.get("kind") == "page" and message.incident_id:
                status = session.scalar(
                    select(Incident.status).where(Incident.id == message.incident_id)
                )
                if status != IncidentStatus.TRIGGERED:
                    # Queued before someone acknowledged (a worker that lagged,
                    # a mail server that was down): a page now would only ask
                    # for what is already done.
                    self._cancel(message_id, f"incident is {status}")
                    return
                now = self.ctx.clock.now()
                until = maintenance.held_until(session, message.incident_id, now)
                if until is not None:
                    # Queued before a window began (a retry after a failure, a
                    # worker that lagged): nothing pages during one, and the
                    # page goes out when it ends.
                    self._hold(
                        message_id,
                        until,
                        why=f"maintenance until {until:%Y-%m-%d %H:%M} UTC",
                    )
                    return
            if message.payload.get("kind") == report_pages.KIND:
                report_id = int(message.payload.get("report_id", 0))
                report_status = session.scalar(
                    select(Report.status).where(Report.id == report_id)
                )
                if report_status != ReportStatus.UNTRIAGED:
                    # Triaged since it was queued: the owner has nothing to do.
                    self._cancel(message_id, f"report is {report_status}")
                    return
            outbound = Outbound(
                idempotency_key=message.idempotency_key,
                recipient=message.recipient,
                subject=message.subject,
                body=message.body,
                payload=dict(message.payload),
            )
            channel = self.channels.get(message.channel)
            provider = _provider(message.channel, outbound)

        held_until = self._silent.get(provider)
        if held_until is not None and held_until > self.ctx.clock.now():
            self._hold(message_id, held_until)
            return

        started = time.monotonic()
        error = ""
        try:
            if channel is None:
                raise DeliveryError(f"no channel {message.channel!r} is configured")
            channel.send(outbound)
        except DeliveryError as failure:
            error = str(failure)
            if failure.timed_out:
                self._silent[provider] = self.ctx.clock.now() + backoff(1)
        except Exception as failure:
            # A bug in a channel is still a failed attempt, never a lost message.
            log.exception("channel crashed", extra={"message_id": message_id})
            error = f"{type(failure).__name__}: {failure}"
        elapsed_ms = int((time.monotonic() - started) * 1000)

        self._record(message_id, error, elapsed_ms)

    def _hold(self, message_id: int, until: datetime, *, why: str = "") -> None:
        """Put a claimed message back, untried, until `until`; no attempt is
        counted. With `why`, the incident's timeline says it was held."""
        with self.ctx.db.write() as session:
            message = session.get(OutboxMessage, message_id)
            if message is None or message.status != "pending":
                return
            message.lease_until = None
            message.next_attempt_at = until
            if why and message.incident_id is not None:
                add_timeline(
                    session,
                    _IncidentId(message.incident_id),
                    at=self.ctx.clock.now(),
                    kind="page_held",
                    message=f"Page to {message.recipient} held: {why}",
                    message_id=message.id,
                )

    def _cancel(self, message_id: int, why: str) -> None:
        with self.ctx.db.write() as session:
            message = session.get(OutboxMessage, message_id)
            if message is None or message.status != "pending":
                return
            message.status = "cancelled"
            message.lease_until = None
            message.last_error = f"not sent: {why}"
            if message.incident_id is not None:
                add_timeline(
                    session,
                    _IncidentId(message.incident_id),
                    at=self.ctx.clock.now(),
                    kind="page_cancelled",
                    message=f"Page to {message.recipient} not sent: {why}",
                    message_id=message.id,
                )

    def _record(self, message_id: int, error: str, elapsed_ms: int) -> None:
        now = self.ctx.clock.now()
        with self.ctx.db.write() as session:
            message = session.get(OutboxMessage, message_id)
            if message is None:
                return
            message.attempts += 1
            message.lease_until = None
            session.add(
                DeliveryAttempt(
                    message_id=message.id,
                    at=now,
                    ok=not error,
                    error=error[:2000],
                    duration_ms=elapsed_ms,
                )
            )
            if not error:
                message.status = "sent"
                message.sent_at = now
                if message.incident_id is not None:
                    # The timeline says when a page left, not only that it was
                    # queued: the difference is what a mail outage looks like.
                    add_timeline(
                        session,
                        _IncidentId(message.incident_id),
                        at=now,
                        kind="page_sent",
                        message=f"{_what(message)} sent to {message.recipient} by "
                        f"{message.channel}",
                        message_id=message.id,
                    )
                return

            message.last_error = error[:2000]
            if message.attempts < self.ctx.settings.outbox_max_attempts:
                message.next_attempt_at = now + backoff(message.attempts)
                log.warning(
                    "delivery failed, will retry",
                    extra={"message_id": message.id, "attempts": message.attempts},
                )
                return

            message.status = "failed"
            log.error("delivery failed for good", extra={"message_id": message.id})
            incident = (
                session.get(Incident, message.incident_id)
                if message.incident_id
                else None
            )
            if incident is not None:
                add_timeline(
                    session,
                    incident,
                    at=now,
                    kind="page_failed",
                    message=(
                        f"{_what(message)} to {message.recipient} failed after "
                        f"{message.attempts} attempts: {error[:300]}"
                    ),
                    message_id=message.id,
                )

    # Claiming -----------------------------------------------------------------

    def _claim_timers(self) -> list[int]:
        now = self.ctx.clock.now()
        with self.ctx.db.write() as session:
            timers = session.scalars(
                select(Timer)
                .where(Timer.due_at <= now, _lease_free(Timer.lease_until, now))
                .order_by(Timer.due_at)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            for timer in timers:
                timer.lease_until = now + LEASE
            return [timer.id for timer in timers]

    def _claim_messages(self) -> list[int]:
        now = self.ctx.clock.now()
        with self.ctx.db.write() as session:
            messages = session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.status == "pending",
                    OutboxMessage.next_attempt_at <= now,
                    _lease_free(OutboxMessage.lease_until, now),
                )
                .order_by(OutboxMessage.next_attempt_at)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            for message in messages:
                message.lease_until = now + LEASE
                self._leases[message.id] = message.lease_until
            return [message.id for message in messages]


def _provider(channel: str, message: Outbound) -> tuple[str, str]:
    """Whom a message is sent through: its channel's provider, or for an address
    that is a URL (a webhook, Teams, a Slack webhook) the host it names, so one
    person's dead endpoint holds back no one else's."""
    address = str(message.payload.get("address") or message.recipient)
    if not address.startswith(("http://", "https://")):
        return channel, ""
    try:
        return channel, urlsplit(address).hostname or ""
    except ValueError:
        return channel, address


def _still_ours(
    lease_until: datetime | None, ours: datetime | None, now: datetime
) -> bool:
    """Whether the lease this worker set still holds: not run out, and not
    replaced by a later claim (the stored value may have lost precision, so a
    later claim is one that ends after ours)."""
    if lease_until is None or ours is None:
        return False
    return now < lease_until <= ours


def _lease_free(
    lease_until: InstrumentedAttribute[datetime | None], now: datetime
) -> ColumnElement[bool]:
    return or_(lease_until.is_(None), lease_until < now)


def _what(message: OutboxMessage) -> str:
    """How the timeline names a message: a page is a page, but a notice about
    the incident (a survey link, a role) or a stakeholder update is not, and
    calling it one would show pages after the resolution."""
    kind = message.payload.get("kind")
    if kind == "page":
        return "Page"
    if kind == "notice":
        topic = str(message.payload.get("topic", "")).replace("_", " ")
        return f"Notice ({topic})" if topic else "Notice"
    return "Update" if kind == "update" else "Message"
