"""Parallel deliveries through a real server: identical first deliveries make
exactly one alert and one incident, distinct ones an alert and an incident
each, and every sender gets a 2xx.

Uvicorn runs the application in a thread on a free loopback port; thirty
threads wait at a barrier and then post at once.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from tests.intake.conftest import Keys, count_alerts, count_incidents
from tests.intake.payloads import am_alert, am_group, generic_event, pd_event
from tocsin.app import create_app
from tocsin.services.context import Context

SENDERS = 30


@pytest.fixture
def server_url(ctx: Context) -> Iterator[str]:
    """The base URL of a uvicorn server running create_app(ctx)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(ctx), log_level="warning", lifespan="on", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()

    # Readiness is a real-time event, not something a clock can stand in for.
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"

    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def post_at_once(
    url: str, payload: dict[str, Any] | Callable[[int], dict[str, Any]]
) -> list[httpx.Response]:
    """Post `payload` (or `payload(i)` from sender i) from SENDERS threads
    released together."""
    barrier = threading.Barrier(SENDERS)
    responses: list[httpx.Response] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def send(sender: int) -> None:
        body = payload(sender) if callable(payload) else payload
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            try:
                response = client.post(url, json=body)
            except httpx.HTTPError as error:
                with lock:
                    errors.append(error)
                return
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    return responses


Case = Callable[[Keys, str], tuple[str, dict[str, Any]]]
CASES: dict[str, Case] = {
    "alertmanager": lambda keys, base: (
        f"{base}/api/v1/intake/alertmanager/{keys.alertmanager}",
        am_group(am_alert("web-1:9100", fingerprint="a1b2c3d4e5f60718")),
    ),
    "events_v2": lambda keys, base: (f"{base}/v2/enqueue", pd_event(keys.events_v2)),
}


@pytest.mark.e2e
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_parallel_identical_first_deliveries_make_exactly_one_alert(
    ctx: Context, keys: Keys, server_url: str, case: Case
) -> None:
    url, payload = case(keys, server_url)

    responses = post_at_once(url, payload)

    statuses = sorted(response.status_code for response in responses)
    assert len(responses) == SENDERS
    assert all(200 <= code < 300 for code in statuses), statuses
    assert count_alerts(ctx) == 1
    assert count_incidents(ctx) == 1


@pytest.mark.e2e
def test_exactly_one_parallel_delivery_reports_the_alert_created(
    ctx: Context, keys: Keys, server_url: str
) -> None:
    url, payload = CASES["alertmanager"](keys, server_url)

    responses = post_at_once(url, payload)

    results = [response.json()["outcomes"][0]["result"] for response in responses]
    assert results.count("created") == 1
    assert results.count("duplicate") == SENDERS - 1


@pytest.mark.e2e
def test_parallel_new_alerts_are_each_stored_and_answered_as_created(
    ctx: Context, keys: Keys, server_url: str
) -> None:
    url = f"{server_url}/api/v1/intake/generic/{keys.generic}"

    responses = post_at_once(url, lambda i: generic_event(dedup_key=f"disk-{i}"))

    results = [response.json()["outcomes"][0] for response in responses]
    assert sorted(result["dedup_key"] for result in results) == sorted(
        f"disk-{i}" for i in range(SENDERS)
    )
    assert {result["result"] for result in results} == {"created"}
    assert len({result["incident_number"] for result in results}) == SENDERS
    assert count_alerts(ctx) == SENDERS
    assert count_incidents(ctx) == SENDERS
