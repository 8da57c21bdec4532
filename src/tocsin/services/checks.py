"""HTTP checks: the worker requests a URL every interval and alerts after
enough consecutive failures; the first success after that resolves the alert.

A check's timer fires in the worker's write transaction, which must stay
short (on SQLite it holds the only write lock). So the handler only sets the
next timer and hands the request to a small thread pool once that transaction
has committed; the request runs with no transaction open, and its result is
recorded in a transaction of its own. A probe lost to a crash costs one
result: the next timer is already set.

Every request goes through `tocsin.outbound`, so a check never reaches an
address the administrator has not allowed (loopback and private networks are
refused unless TOCSIN_OUTBOUND_ALLOW_PRIVATE or
TOCSIN_OUTBOUND_ALLOWED_NETWORKS say otherwise).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from pydantic import BaseModel
from sqlalchemy import delete, event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin import outbound
from tocsin.domain.access import Actor
from tocsin.domain.alerts import AlertAction, AlertEvent
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.services import alerts
from tocsin.services.catalog.common import checked_name
from tocsin.services.context import Context
from tocsin.services.records import audit
from tocsin.services.signal_sources import (
    HTTP_CHECK,
    add_own_integration,
    check_bounds,
    integration_ref,
    require_manager,
    retire_own_integration,
    visible_of_service,
    visible_service,
)
from tocsin.store.models import HttpCheck, HttpCheckResult, Incident, Timer

log = logging.getLogger(__name__)

TIMER_KIND = HTTP_CHECK
METHODS = ("GET", "HEAD")
MIN_INTERVAL = 10
MAX_INTERVAL = 86400
MAX_TIMEOUT = 60
MAX_FAILURES = 100
MAX_URL = 2000
# Results kept per check, for display; older ones are deleted as new ones come.
KEEP_RESULTS = 50
PROBE_THREADS = 4

_PROBES = "tocsin_check_probes"
_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


class CheckRead(BaseModel):
    id: int
    service: str
    name: str
    url: str
    method: str
    expected_status: int
    interval_seconds: int
    timeout_seconds: int
    latency_threshold_ms: int | None
    failures_before_alert: int
    consecutive_failures: int
    status: str
    last_checked_at: datetime | None
    created_at: datetime


class CheckResultRead(BaseModel):
    at: datetime
    ok: bool
    status_code: int | None
    latency_ms: int | None
    error: str


class CheckDetail(CheckRead):
    """A check with its most recent results, newest first."""

    results: list[CheckResultRead]


@dataclass(frozen=True)
class CheckInput:
    url: str
    method: str = "GET"
    interval_seconds: int = 60
    timeout_seconds: int = 10
    expected_status: int = 200
    latency_threshold_ms: int | None = None
    failures_before_alert: int = 1


@dataclass(frozen=True)
class Probe:
    """What one request found."""

    ok: bool
    status_code: int | None
    latency_ms: int | None
    error: str = ""


def _read(check: HttpCheck) -> CheckRead:
    return CheckRead(
        id=check.id,
        service=check.service.name,
        name=check.name,
        url=check.url,
        method=check.method,
        expected_status=check.expected_status,
        interval_seconds=check.interval_seconds,
        timeout_seconds=check.timeout_seconds,
        latency_threshold_ms=check.latency_threshold_ms,
        failures_before_alert=check.failures_before_alert,
        consecutive_failures=check.consecutive_failures,
        status=check.status,
        last_checked_at=check.last_checked_at,
        created_at=check.created_at,
    )


def _checked(ctx: Context, spec: CheckInput) -> CheckInput:
    """`spec` with its URL normalised; InvalidInput for anything out of bounds,
    and OutboundRefused (a 400) for a URL the guard refuses by its look."""
    method = spec.method.strip().upper()
    if method not in METHODS:
        raise InvalidInput(f"method must be one of {', '.join(METHODS)}")
    if len(spec.url) > MAX_URL:
        raise InvalidInput(f"the URL has at most {MAX_URL} characters")
    check_bounds(
        spec.interval_seconds, "the interval (seconds)", MIN_INTERVAL, MAX_INTERVAL
    )
    check_bounds(spec.timeout_seconds, "the timeout (seconds)", 1, MAX_TIMEOUT)
    if spec.timeout_seconds >= spec.interval_seconds:
        raise InvalidInput("the timeout must be shorter than the interval")
    check_bounds(spec.expected_status, "the expected status", 100, 599)
    if spec.latency_threshold_ms is not None:
        check_bounds(
            spec.latency_threshold_ms,
            "the latency threshold (ms)",
            1,
            spec.timeout_seconds * 1000,
        )
    check_bounds(
        spec.failures_before_alert, "failures before alerting", 1, MAX_FAILURES
    )

    # By its look only: a name is resolved, and vetted again, at every request.
    url = outbound.check_url(ctx.settings, spec.url, resolve=False)
    port = httpx.URL(url).port
    if port is not None and not 1 <= port <= 65535:
        raise InvalidInput(f"port {port} is not between 1 and 65535")
    return CheckInput(
        url=url,
        method=method,
        interval_seconds=spec.interval_seconds,
        timeout_seconds=spec.timeout_seconds,
        expected_status=spec.expected_status,
        latency_threshold_ms=spec.latency_threshold_ms,
        failures_before_alert=spec.failures_before_alert,
    )


def create(
    ctx: Context, actor: Actor, *, service: str, name: str, spec: CheckInput
) -> CheckRead:
    """An HTTP check on `service`, first run at once. Raises InvalidInput,
    NotFound, Forbidden or Conflict; nothing is stored then."""
    require_manager(actor)
    name = checked_name(name, "check")
    spec = _checked(ctx, spec)

    now = ctx.clock.now()
    try:
        with ctx.db.write() as session:
            owner = visible_service(session, actor, service, lock=True)
            taken = select(HttpCheck.id).where(
                HttpCheck.service_id == owner.id, HttpCheck.name == name
            )
            if session.scalar(taken) is not None:
                raise _taken(owner.name, name)

            integration = add_own_integration(session, owner, HTTP_CHECK, name, now)
            check = HttpCheck(
                service_id=owner.id,
                integration_id=integration.id,
                name=name,
                url=spec.url,
                method=spec.method,
                expected_status=spec.expected_status,
                interval_seconds=spec.interval_seconds,
                timeout_seconds=spec.timeout_seconds,
                latency_threshold_ms=spec.latency_threshold_ms,
                failures_before_alert=spec.failures_before_alert,
                consecutive_failures=0,
                status="pending",
                created_at=now,
                service=owner,
            )
            session.add(check)
            session.flush()
            session.add(
                Timer(
                    kind=TIMER_KIND,
                    due_at=now,
                    payload={"check_id": check.id},
                    created_at=now,
                )
            )
            audit(
                session,
                actor,
                at=now,
                action="http_check.create",
                object_type="http_check",
                object_id=check.id,
                service=owner.name,
                name=name,
                url=spec.url,
                method=spec.method,
                interval_seconds=spec.interval_seconds,
            )
            created = _read(check)
    except IntegrityError as error:
        raise _taken(service, name) from error

    ctx.work_queued.set()
    return created


def list_checks(
    ctx: Context, actor: Actor, service: str | None = None
) -> list[CheckRead]:
    with ctx.db.read() as session:
        rows = visible_of_service(session, actor, HttpCheck, service)
        return [_read(row) for row in rows]


def get_check(ctx: Context, actor: Actor, service: str, name: str) -> CheckDetail:
    """A check with its recent results. Raises NotFound."""
    with ctx.db.read() as session:
        check = _named(session, actor, service, name, lock=False)
        results = session.scalars(
            select(HttpCheckResult)
            .where(HttpCheckResult.check_id == check.id)
            .order_by(HttpCheckResult.at.desc(), HttpCheckResult.id.desc())
            .limit(KEEP_RESULTS)
        )
        return CheckDetail(
            **_read(check).model_dump(),
            results=[
                CheckResultRead.model_validate(result, from_attributes=True)
                for result in results
            ],
        )


def remove(ctx: Context, actor: Actor, *, service: str, name: str) -> None:
    """Delete a check and its results; its open alert resolves."""
    require_manager(actor)
    with ctx.db.write() as session:
        check = _named(session, actor, service, name, lock=True)
        ref = integration_ref(session, check.integration_id)
        alerts.apply(session, ctx, ref, [_event(check, AlertAction.RESOLVE, "")])
        retire_own_integration(session, check.integration_id)
        audit(
            session,
            actor,
            at=ctx.clock.now(),
            action="http_check.remove",
            object_type="http_check",
            object_id=check.id,
            service=check.service.name,
            name=check.name,
        )
        session.delete(check)


# Running ----------------------------------------------------------------------


def on_timer(
    session: Session, ctx: Context, timer: Timer, incident: Incident | None
) -> None:
    """The worker's handler: set the next run, and start this one's request
    once the transaction has committed. A removed check just stops."""
    check_id = int(timer.payload.get("check_id", 0))
    check = session.scalar(
        select(HttpCheck).where(HttpCheck.id == check_id).with_for_update()
    )
    if check is None:
        return

    now = ctx.clock.now()
    session.add(
        Timer(
            kind=TIMER_KIND,
            due_at=now + timedelta(seconds=check.interval_seconds),
            payload={"check_id": check.id},
            created_at=now,
        )
    )
    _after_commit(session, lambda: dispatch(lambda: run(ctx, check_id)))


def _after_commit(session: Session, work: Callable[[], None]) -> None:
    pending: list[Callable[[], None]] | None = session.info.get(_PROBES)
    if pending is None:
        pending = session.info[_PROBES] = []

        def start(committed: Session) -> None:
            for each in committed.info.pop(_PROBES, []):
                each()

        event.listen(session, "after_commit", start, once=True)
        event.listen(
            session,
            "after_rollback",
            lambda rolled_back: rolled_back.info.pop(_PROBES, None),
            once=True,
        )
    pending.append(work)


def dispatch(work: Callable[[], object]) -> None:
    """Run `work` on the probe pool (a test may replace this to run it inline)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=PROBE_THREADS, thread_name_prefix="tocsin-check"
            )
        _pool.submit(_logged, work)


def _logged(work: Callable[[], object]) -> None:
    try:
        work()
    except Exception:
        log.exception("HTTP check failed to run")


def run(ctx: Context, check_id: int) -> Probe | None:
    """Request the check's URL now and record what happened. None when the
    check is gone."""
    with ctx.db.read() as session:
        check = session.get(HttpCheck, check_id)
        if check is None:
            return None
        spec = CheckInput(
            url=check.url,
            method=check.method,
            interval_seconds=check.interval_seconds,
            timeout_seconds=check.timeout_seconds,
            expected_status=check.expected_status,
            latency_threshold_ms=check.latency_threshold_ms,
            failures_before_alert=check.failures_before_alert,
        )

    found = probe(ctx, spec)
    record(ctx, check_id, found)
    return found


def probe(ctx: Context, spec: CheckInput) -> Probe:
    """One request, judged against the check's expectations. Never raises."""
    started = time.monotonic()
    try:
        with outbound.guarded_client(
            ctx.settings, timeout=float(spec.timeout_seconds)
        ) as client:
            response = client.request(spec.method, spec.url)
    except outbound.OutboundRefused as refused:
        return Probe(False, None, None, f"refused: {refused.detail}")
    except httpx.TimeoutException:
        return Probe(False, None, None, f"no answer within {spec.timeout_seconds} s")
    except httpx.HTTPError as error:
        return Probe(False, None, None, _short(f"{type(error).__name__}: {error}"))
    latency = int((time.monotonic() - started) * 1000)

    if response.status_code != spec.expected_status:
        return Probe(
            False,
            response.status_code,
            latency,
            f"expected status {spec.expected_status}, got {response.status_code}",
        )
    threshold = spec.latency_threshold_ms
    if threshold is not None and latency > threshold:
        return Probe(
            False,
            response.status_code,
            latency,
            f"answered in {latency} ms, over the {threshold} ms threshold",
        )
    return Probe(True, response.status_code, latency)


def record(ctx: Context, check_id: int, found: Probe) -> None:
    """Store a result, keep the last KEEP_RESULTS, and alert or resolve."""
    with ctx.db.write() as session:
        check = session.scalar(
            select(HttpCheck).where(HttpCheck.id == check_id).with_for_update()
        )
        if check is None:
            return

        now = ctx.clock.now()
        session.add(
            HttpCheckResult(
                check_id=check.id,
                at=now,
                ok=found.ok,
                status_code=found.status_code,
                latency_ms=found.latency_ms,
                error=found.error[:500],
            )
        )
        check.last_checked_at = now
        session.flush()
        _prune(session, check.id)

        ref = integration_ref(session, check.integration_id)
        if found.ok:
            check.consecutive_failures = 0
            if check.status == "down":
                alerts.apply(
                    session, ctx, ref, [_event(check, AlertAction.RESOLVE, "")]
                )
            check.status = "up"
            return

        check.consecutive_failures += 1
        if (
            check.consecutive_failures >= check.failures_before_alert
            and check.status != "down"
        ):
            check.status = "down"
            alerts.apply(
                session, ctx, ref, [_event(check, AlertAction.TRIGGER, found.error)]
            )


def _prune(session: Session, check_id: int) -> None:
    """Delete all but the newest KEEP_RESULTS results (ids grow with time)."""
    oldest_kept = session.scalar(
        select(HttpCheckResult.id)
        .where(HttpCheckResult.check_id == check_id)
        .order_by(HttpCheckResult.id.desc())
        .offset(KEEP_RESULTS - 1)
        .limit(1)
    )
    if oldest_kept is not None:
        session.execute(
            delete(HttpCheckResult).where(
                HttpCheckResult.check_id == check_id,
                HttpCheckResult.id < oldest_kept,
            )
        )


def _event(check: HttpCheck, action: AlertAction, reason: str) -> AlertEvent:
    return AlertEvent(
        action=action,
        dedup_key=f"http-check-{check.id}",
        summary=f"HTTP check {check.name} failing: {reason}"[:1024],
        source=check.url[:255],
        severity="error",
        labels={"http_check": check.name},
    )


def _short(text: str) -> str:
    return " ".join(text.split())[:500]


def _named(
    session: Session, actor: Actor, service: str, name: str, *, lock: bool
) -> HttpCheck:
    owner = visible_service(session, actor, service)
    query = select(HttpCheck).where(
        HttpCheck.service_id == owner.id, HttpCheck.name == checked_name(name, "check")
    )
    check = session.scalar(query.with_for_update() if lock else query)
    if check is None:
        raise NotFound(f"service {owner.name!r} has no HTTP check {name!r}")
    return check


def _taken(service: str, name: str) -> Conflict:
    return Conflict(f"service {service!r} already has an HTTP check {name!r}")
