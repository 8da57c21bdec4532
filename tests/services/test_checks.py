"""HTTP checks against a real local HTTP server: statuses, latency, failures in
a row before alerting, recovery, the outbound guard and the worker's path."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from tests.builders import make_service, make_user
from tocsin.channels.base import Outbound
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.engine.worker import Worker
from tocsin.errors import InvalidInput
from tocsin.services import checks
from tocsin.services.context import Context
from tocsin.store.models import HttpCheckResult, Incident, Timer


class Site:
    """What the local server answers: a status, after a delay."""

    def __init__(self) -> None:
        self.status = 200
        self.delay = 0.0
        self.requests: list[str] = []
        self.url = ""


def serve(site: Site) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            site.requests.append(self.command)
            time.sleep(site.delay)
            self.send_response(site.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(b"ok")

        do_GET = do_HEAD = _answer

        def log_message(self, *args: object) -> None:
            """Quiet: the test output is not the place for access logs."""

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@pytest.fixture
def site() -> Iterator[Site]:
    shared = Site()
    server = serve(shared)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    shared.url = f"http://127.0.0.1:{server.server_address[1]}/health"
    yield shared
    server.shutdown()
    server.server_close()


@pytest.fixture
def local(ctx: Context) -> Context:
    """The context, with the loopback network allowed for outgoing requests."""
    ctx.settings = ctx.settings.model_copy(
        update={"outbound_allowed_networks": ["127.0.0.1/32"]}
    )
    ann = make_user(ctx)
    make_service(ctx, "web", steps=[(5, [ann])])
    return ctx


def add(ctx: Context, url: str, **spec: int | str | None) -> int:
    check = checks.create(
        ctx,
        SYSTEM,
        service="web",
        name="health",
        spec=checks.CheckInput(url=url, **spec),  # type: ignore[arg-type]
    )
    return check.id


def statuses(ctx: Context) -> list[str]:
    with ctx.db.read() as session:
        return list(session.scalars(select(Incident.status).order_by(Incident.id)))


def test_a_healthy_url_is_up_and_its_result_kept(local: Context, site: Site) -> None:
    """200 within the threshold: a good result, no incident."""
    check_id = add(local, site.url)

    found = checks.run(local, check_id)

    assert found is not None
    assert found.ok
    assert found.status_code == 200
    detail = checks.get_check(local, SYSTEM, "web", "health")
    assert detail.status == "up"
    assert [r.ok for r in detail.results] == [True]
    assert statuses(local) == []


def test_alerts_after_failures_in_a_row_and_resolves_on_recovery(
    local: Context, site: Site
) -> None:
    """Three failures needed: two do nothing, the third opens, a 200 resolves."""
    check_id = add(local, site.url, failures_before_alert=3)
    site.status = 503

    checks.run(local, check_id)
    checks.run(local, check_id)
    assert statuses(local) == []
    found = checks.run(local, check_id)
    assert found is not None
    assert found.error == "expected status 200, got 503"
    assert statuses(local) == ["triggered"]

    site.status = 200
    checks.run(local, check_id)
    assert statuses(local) == ["resolved"]
    assert checks.get_check(local, SYSTEM, "web", "health").consecutive_failures == 0


def test_a_success_between_failures_starts_the_count_again(
    local: Context, site: Site
) -> None:
    """Failures must be consecutive: a good answer resets the count."""
    check_id = add(local, site.url, failures_before_alert=2)
    for status in (500, 200, 500, 200, 500):
        site.status = status
        checks.run(local, check_id)

    assert statuses(local) == []


def test_a_slow_answer_past_the_threshold_is_a_failure(
    local: Context, site: Site
) -> None:
    """Latency over the threshold fails even with the right status."""
    check_id = add(local, site.url, latency_threshold_ms=1)
    site.delay = 0.05

    found = checks.run(local, check_id)

    assert found is not None
    assert not found.ok
    assert found.status_code == 200
    assert "over the 1 ms threshold" in found.error


def test_no_answer_within_the_timeout_is_a_failure(local: Context, site: Site) -> None:
    """A server that does not answer in time fails the check."""
    check_id = add(local, site.url, timeout_seconds=1)
    site.delay = 1.5

    found = checks.run(local, check_id)

    assert found is not None
    assert found.error == "no answer within 1 s"
    assert statuses(local) == ["triggered"]


def test_head_checks_send_head(local: Context, site: Site) -> None:
    """The method asked for is the method sent."""
    check_id = add(local, site.url, method="head")
    checks.run(local, check_id)

    assert site.requests == ["HEAD"]


def test_loopback_and_private_urls_are_refused_unless_allowed(
    ctx: Context, site: Site
) -> None:
    """By default the guard refuses loopback, private and metadata addresses."""
    make_service(ctx, "web")
    for url in (
        site.url,
        "http://localhost:9/",
        "http://10.0.0.5/admin",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
    ):
        with pytest.raises(InvalidInput):
            add(ctx, url)

    assert checks.list_checks(ctx, SYSTEM) == []


def test_a_redirect_into_a_refused_network_fails_the_check(
    local: Context, site: Site
) -> None:
    """Even an allowed host cannot lead the check elsewhere: redirects are not
    followed, so a 302 is just the wrong status."""
    check_id = add(local, site.url)
    site.status = 302

    found = checks.run(local, check_id)

    assert found is not None
    assert found.error == "expected status 200, got 302"


@pytest.mark.parametrize(
    "spec",
    [
        {"method": "POST"},
        {"interval_seconds": 5},
        {"timeout_seconds": 60, "interval_seconds": 60},
        {"expected_status": 42},
        {"failures_before_alert": 0},
        {"latency_threshold_ms": 20_000, "timeout_seconds": 10},
    ],
)
def test_bad_settings_are_refused_and_nothing_stored(
    local: Context, site: Site, spec: dict[str, int | str]
) -> None:
    """Each bound is checked before anything is stored."""
    with pytest.raises(InvalidInput):
        add(local, site.url, **spec)

    assert checks.list_checks(local, SYSTEM) == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/", "http://127.0.0.1:0/"])
def test_a_url_with_an_impossible_port_is_refused(local: Context, url: str) -> None:
    """A port outside 1..65535 is bad input, not a check that always fails."""
    with pytest.raises(InvalidInput):
        add(local, url)

    assert checks.list_checks(local, SYSTEM) == []


def test_the_worker_runs_a_check_every_interval(
    local: Context,
    site: Site,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The timer fires at once, then again after the interval, with the request
    made after the timer's transaction commits."""
    monkeypatch.setattr(checks, "dispatch", lambda work: work())
    add(local, site.url, interval_seconds=60)
    worker = Worker(local, {"email": NullChannel()})

    worker.run_once()
    clock.advance(seconds=59)
    worker.run_once()
    assert len(site.requests) == 1

    clock.advance(seconds=1)
    worker.run_once()
    assert len(site.requests) == 2
    with local.db.read() as session:
        assert session.scalar(select(func.count(Timer.id))) == 1


def test_only_the_most_recent_results_are_kept(local: Context, site: Site) -> None:
    """Results beyond KEEP_RESULTS are deleted, oldest first."""
    check_id = add(local, site.url)
    good = checks.Probe(ok=True, status_code=200, latency_ms=5)
    for _ in range(checks.KEEP_RESULTS + 5):
        checks.record(local, check_id, good)

    with local.db.read() as session:
        kept = session.scalar(select(func.count(HttpCheckResult.id)))
    assert kept == checks.KEEP_RESULTS


def test_removing_a_failing_check_resolves_its_alert(
    local: Context, site: Site
) -> None:
    """Removal leaves no firing alert behind."""
    check_id = add(local, site.url)
    site.status = 500
    checks.run(local, check_id)

    checks.remove(local, SYSTEM, service="web", name="health")

    assert statuses(local) == ["resolved"]
    assert checks.run(local, check_id) is None


class NullChannel:
    kind = "email"

    def send(self, message: Outbound) -> None:
        """Pages go nowhere: these tests look at checks, not mail."""
