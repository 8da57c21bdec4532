"""Bad deliveries on every intake endpoint: each gets a 4xx problem response
that says what is wrong, and nothing is stored."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.intake.conftest import Keys, count_alerts, count_incidents
from tests.intake.payloads import (
    am_alert,
    am_group,
    generic_event,
    grafana_alert,
    grafana_group,
    pd_event,
)
from tocsin.intake.common import MAX_ALERTS
from tocsin.limits import MAX_BODY
from tocsin.services.context import Context


@dataclass(frozen=True)
class Endpoint:
    """How to deliver a body to one format's endpoint with a given key."""

    kind: str
    path: str
    valid: Callable[[str], dict[str, Any]]
    key_in_body: bool = False

    def url(self, key: str) -> str:
        return self.path if self.key_in_body else f"{self.path}/{key}"


ENDPOINTS = [
    Endpoint(
        "alertmanager",
        "/api/v1/intake/alertmanager",
        lambda _: am_group(am_alert("web-1:9100", fingerprint="a1")),
    ),
    Endpoint(
        "grafana",
        "/api/v1/intake/grafana",
        lambda _: grafana_group(grafana_alert("us-1")),
    ),
    Endpoint("generic", "/api/v1/intake/generic", lambda _: generic_event()),
    Endpoint("events_v2", "/v2/enqueue", pd_event, key_in_body=True),
]


@pytest.fixture(params=ENDPOINTS, ids=[endpoint.kind for endpoint in ENDPOINTS])
def endpoint(request: pytest.FixtureRequest) -> Endpoint:
    chosen: Endpoint = request.param
    return chosen


def key_for(keys: Keys, endpoint: Endpoint) -> str:
    return str(getattr(keys, endpoint.kind))


def assert_refused(
    ctx: Context, response: Any, status: int, detail: str | None = None
) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status
    assert problem["type"].startswith("https://")
    assert problem["title"]
    if detail is not None:
        assert detail in problem["detail"]
    assert count_alerts(ctx) == 0
    assert count_incidents(ctx) == 0


def test_the_valid_payloads_here_are_accepted(
    ctx: Context, client: TestClient, keys: Keys, endpoint: Endpoint
) -> None:
    """The control for every refusal below: the unbroken payload is stored."""
    key = key_for(keys, endpoint)

    response = client.post(endpoint.url(key), json=endpoint.valid(key))

    assert response.status_code in (200, 202), response.text
    assert count_alerts(ctx) == 1


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'{"alerts": [', "not valid JSON"),
        (b"", "empty"),
        (b"[]", "must be a JSON object, not list"),
        (b'"firing"', "must be a JSON object, not str"),
        (b"null", "must be a JSON object, not NoneType"),
        (b'{"a": NaN}', "NaN"),
        (b'{"a": 1e400}', "too large"),
        (b'{"a": "\xff"}', "not UTF-8"),
        (b'{"a": "\xed\xa0\x80"}', "not UTF-8"),
        ('{"a": "b"}'.encode("utf-16"), "not UTF-8"),
        (b"[" * 50_000 + b"]" * 50_000, "nested too deeply"),
    ],
    ids=[
        "truncated",
        "empty",
        "list",
        "string",
        "null",
        "nan",
        "huge",
        "latin1",
        "encoded-surrogate",
        "utf16",
        "deep",
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(
    ctx: Context,
    client: TestClient,
    keys: Keys,
    endpoint: Endpoint,
    body: bytes,
    detail: str,
) -> None:
    url = endpoint.url(key_for(keys, endpoint))

    response = client.post(
        url, content=body, headers={"content-type": "application/json"}
    )

    assert_refused(ctx, response, 400, detail)


def _put_in_a_string(payload: dict[str, Any], text: str) -> None:
    """Put `text` into a string that each format stores."""
    if "alerts" in payload:
        payload["alerts"][0]["labels"]["instance"] = text
    elif "payload" in payload:
        payload["payload"]["summary"] = text
    else:
        payload["summary"] = text


@pytest.mark.parametrize(
    ("escaped", "detail"),
    [("db\\u0000-1", "NUL"), ("db\\ud800-1", "surrogate")],
    ids=["nul", "lone-surrogate"],
)
def test_text_that_postgresql_cannot_store_is_refused(
    ctx: Context,
    client: TestClient,
    keys: Keys,
    endpoint: Endpoint,
    escaped: str,
    detail: str,
) -> None:
    key = key_for(keys, endpoint)
    payload = endpoint.valid(key)
    _put_in_a_string(payload, "MARK")
    body = json.dumps(payload).replace("MARK", escaped).encode()

    response = client.post(endpoint.url(key), content=body)

    assert_refused(ctx, response, 400, detail)


def test_a_nul_in_a_key_deep_inside_is_refused(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    event = pd_event(keys.events_v2, custom_details={"nested": [{"MARK": 1}]})
    body = json.dumps(event).replace("MARK", "a\\u0000b").encode()

    response = client.post("/v2/enqueue", content=body)

    assert_refused(ctx, response, 400, "payload.custom_details.nested.0.a\\x00b")


def test_escaped_text_that_is_fine_is_accepted(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    """A paired surrogate (an emoji) and an escaped backslash before u0000 are
    ordinary text, not NUL."""
    body = json.dumps(generic_event(summary="MARK")).replace(
        "MARK", "disk \\ud83d\\udd25 at C:\\\\u0000 share"
    )

    response = client.post(f"/api/v1/intake/generic/{keys.generic}", content=body)

    assert response.status_code == 200, response.text
    summary = response.json()["outcomes"][0]["dedup_key"]
    assert summary
    assert count_alerts(ctx) == 1


def test_a_byte_order_mark_before_the_json_is_accepted(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    body = b"\xef\xbb\xbf" + json.dumps(generic_event()).encode()

    response = client.post(f"/api/v1/intake/generic/{keys.generic}", content=body)

    assert response.status_code == 200, response.text


def test_an_oversized_body_is_refused_with_413(
    ctx: Context, client: TestClient, keys: Keys, endpoint: Endpoint
) -> None:
    key = key_for(keys, endpoint)
    payload = endpoint.valid(key)
    payload["padding"] = "x" * MAX_BODY

    response = client.post(endpoint.url(key), json=payload)

    assert_refused(ctx, response, 413, "limited to")


def test_an_oversized_chunked_body_is_refused_with_413(
    ctx: Context, client: TestClient, keys: Keys, endpoint: Endpoint
) -> None:
    key = key_for(keys, endpoint)
    payload = json.dumps(endpoint.valid(key) | {"padding": "x" * MAX_BODY}).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 64 * 1024):
            yield payload[start : start + 64 * 1024]

    response = client.post(endpoint.url(key), content=chunks())

    assert_refused(ctx, response, 413)


def test_an_unknown_key_is_unauthenticated(
    ctx: Context, client: TestClient, keys: Keys, endpoint: Endpoint
) -> None:
    unknown = "0123456789abcdef0123456789abcdef"

    response = client.post(endpoint.url(unknown), json=endpoint.valid(unknown))

    assert_refused(ctx, response, 401, "unknown integration key")
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_key_of_another_kind_is_refused(
    ctx: Context, client: TestClient, keys: Keys, endpoint: Endpoint
) -> None:
    other = keys.generic if endpoint.kind != "generic" else keys.alertmanager

    response = client.post(endpoint.url(other), json=endpoint.valid(other))

    assert_refused(ctx, response, 400, "belongs to a")


@pytest.mark.parametrize("path", ["alertmanager", "grafana", "generic"])
@pytest.mark.parametrize(
    "authorization", [None, "Basic dXNlcjpwYXNz", "Bearer ", "Bearer nope"]
)
def test_the_header_endpoints_need_a_valid_bearer_key(
    ctx: Context,
    client: TestClient,
    keys: Keys,
    path: str,
    authorization: str | None,
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    response = client.post(
        f"/api/v1/intake/{path}", json=generic_event(), headers=headers
    )

    assert_refused(ctx, response, 401)


@pytest.mark.parametrize("kind", ["alertmanager", "grafana"])
def test_too_many_alerts_in_one_request_are_refused(
    ctx: Context, client: TestClient, keys: Keys, kind: str
) -> None:
    # Small alerts, so the bound on alerts is hit before the bound on bytes.
    alerts = [
        {"status": "firing", "labels": {"alertname": "Up", "n": str(n)}}
        for n in range(MAX_ALERTS + 1)
    ]

    response = client.post(
        f"/api/v1/intake/{kind}/{getattr(keys, kind)}", json={"alerts": alerts}
    )

    assert_refused(ctx, response, 400, f"at most {MAX_ALERTS}")


def test_a_group_of_exactly_the_bound_is_accepted(
    ctx: Context, client: TestClient, keys: Keys
) -> None:
    alerts = [
        {"status": "firing", "labels": {"alertname": "Up", "n": str(n)}}
        for n in range(MAX_ALERTS)
    ]

    response = client.post(
        f"/api/v1/intake/alertmanager/{keys.alertmanager}",
        json={"groupKey": "{}:{}", "alerts": alerts},
    )

    assert response.status_code == 200, response.text
    assert count_alerts(ctx) == MAX_ALERTS
    assert count_incidents(ctx) == 1


@pytest.mark.parametrize(
    ("breakage", "location"),
    [
        (lambda p: p.pop("alerts"), "alerts: Field required"),
        (lambda p: p.update(alerts=[]), "alerts: List should have at least 1"),
        (lambda p: p.update(alerts={"0": {}}), "alerts: Input should be a valid list"),
        (lambda p: p["alerts"][1].pop("status"), "alerts.1.status: Field required"),
        (
            lambda p: p["alerts"][1].update(status="pending"),
            "alerts.1.status: Input should be 'firing' or 'resolved'",
        ),
        (
            lambda p: p["alerts"][1]["labels"].update(port=9100),
            "alerts.1.labels.port: Input should be a valid string",
        ),
        (
            lambda p: p["alerts"][1]["labels"].update(note="n" * 4097),
            "alerts.1.labels.note: String should have at most 4096",
        ),
        (
            lambda p: p["alerts"][1].update(fingerprint="f" * 256),
            "alerts.1.fingerprint: String should have at most 255",
        ),
        (
            lambda p: p["alerts"][1].update(startsAt="last tuesday"),
            "alerts.1.startsAt: last tuesday is not an ISO 8601",
        ),
        (
            lambda p: p.update(truncatedAlerts="3"),
            "truncatedAlerts: Input should be a valid integer",
        ),
        (
            lambda p: p.update(truncatedAlerts=-1),
            "truncatedAlerts: Input should be greater than or equal to 0",
        ),
        (
            lambda p: p.update(truncatedAlerts=True),
            "truncatedAlerts: Input should be a valid integer",
        ),
    ],
)
@pytest.mark.parametrize("kind", ["alertmanager", "grafana"])
def test_one_bad_alert_in_a_group_refuses_the_whole_group(
    ctx: Context,
    client: TestClient,
    keys: Keys,
    kind: str,
    breakage: Callable[[dict[str, Any]], object],
    location: str,
) -> None:
    if kind == "alertmanager":
        payload = am_group(
            am_alert("web-1:9100", fingerprint="a1"),
            am_alert("web-2:9100", fingerprint="b2"),
        )
    else:
        payload = grafana_group(
            grafana_alert("us-1", fingerprint="a1"),
            grafana_alert("eu-1", fingerprint="b2"),
        )
    breakage(payload)

    response = client.post(f"/api/v1/intake/{kind}/{getattr(keys, kind)}", json=payload)

    assert_refused(ctx, response, 400, location)
    assert response.json()["errors"][0]["location"] == location.split(":")[0]
