"""`/api/v1/insights`: metrics by team visibility, safe exports, clear errors."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from tests.api.conftest import Person, open_incident
from tocsin.clock import ManualClock
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef

SINCE = {"since": "2026-03-01T00:00:00Z"}


def _history(
    client: TestClient,
    ctx: Context,
    clock: ManualClock,
    checkout: IntegrationRef,
    ann: Person,
) -> int:
    number = open_incident(ctx, checkout, "=cmd|' /C calc'!A0")
    clock.advance(minutes=8)
    client.post(f"/api/v1/incidents/{number}/acknowledge", headers=ann.headers)
    clock.advance(minutes=12)
    client.post(f"/api/v1/incidents/{number}/resolve", headers=ann.headers)
    clock.advance(minutes=1)
    return number


def test_insights_for_a_team_member(
    client: TestClient,
    ctx: Context,
    clock: ManualClock,
    checkout: IntegrationRef,
    ann: Person,
    pete: Person,
) -> None:
    """Ann sees Ops' incident with MTTA 8 min; Pete of Payments sees none."""
    _history(client, ctx, clock, checkout, ann)

    mine = client.get("/api/v1/insights", params=SINCE, headers=ann.headers)
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["incidents"] == 1
    assert body["acknowledge"]["mean_minutes"] == 8.0
    assert body["resolve"]["p90_minutes"] == 20.0
    assert body["feedback"] == {
        "answers": 0,
        "mean_overall": None,
        "mean_tools": None,
        "mean_communication": None,
    }

    theirs = client.get("/api/v1/insights", params=SINCE, headers=pete.headers)
    assert theirs.json()["incidents"] == 0


def test_csv_export_is_formula_safe(
    client: TestClient,
    ctx: Context,
    clock: ManualClock,
    checkout: IntegrationRef,
    ann: Person,
) -> None:
    """The exported title that looks like a formula starts with an apostrophe."""
    _history(client, ctx, clock, checkout, ann)

    response = client.get("/api/v1/insights/export", params=SINCE, headers=ann.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    [row] = list(csv.DictReader(io.StringIO(response.text)))
    assert row["title"].startswith("'=cmd")

    as_json = client.get(
        "/api/v1/insights/export",
        params={**SINCE, "format": "json"},
        headers=ann.headers,
    )
    assert as_json.json()["rows"][0]["title"].startswith("'=cmd")


def test_bad_requests_are_problems(client: TestClient, ann: Person) -> None:
    """No token is 401; a bad period, severity or service is a 4xx problem."""
    assert client.get("/api/v1/insights").status_code == 401
    backwards = client.get(
        "/api/v1/insights",
        params={"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"},
        headers=ann.headers,
    )
    assert backwards.status_code == 400
    assert backwards.headers["content-type"].startswith("application/problem+json")
    naive = client.get(
        "/api/v1/insights",
        params={"since": "2026-03-01T00:00:00"},
        headers=ann.headers,
    )
    assert naive.status_code == 422
    # A well-formed key that names no configured level is a semantic error.
    unknown = client.get(
        "/api/v1/insights", params={"severity": "sev9"}, headers=ann.headers
    )
    assert unknown.status_code == 400
    assert "severity is one of sev1, sev2, sev3, sev4" in unknown.json()["detail"]
    malformed = client.get(
        "/api/v1/insights", params={"severity": "SEV 9"}, headers=ann.headers
    )
    assert malformed.status_code == 422
    assert (
        client.get(
            "/api/v1/insights", params={"service_id": 4242}, headers=ann.headers
        ).status_code
        == 404
    )
    assert (
        client.get(
            "/api/v1/insights/export", params={"format": "xlsx"}, headers=ann.headers
        ).status_code
        == 422
    )


def test_periods_at_the_ends_of_time_are_problems(
    client: TestClient, ann: Person
) -> None:
    """An instant near year 1 or 9999, or one that leaves datetime's range in
    UTC, is a 400 problem for the report and the export, not a 500."""
    for params in (
        {"until": "9999-12-31T23:59:59Z"},
        {"since": "9999-12-01T00:00:00Z", "until": "9999-12-31T00:00:00Z"},
        {"since": "9999-12-31T00:00:00+14:00", "until": "9999-12-31T23:59:59-14:00"},
        {"until": "0001-01-01T00:30:00+01:00"},
        {"until": "0001-01-20T00:00:00Z"},
        {"since": "2199-12-01T00:00:00Z", "until": "2200-01-15T00:00:00Z"},
    ):
        for path in ("/api/v1/insights", "/api/v1/insights/export"):
            found = client.get(path, params=params, headers=ann.headers)
            assert found.status_code == 400, (path, params, found.text)
            assert "between 1970 and 2199" in found.json()["detail"]
