"""GET /api/v1/incidents: filters, time bounds, visibility and pagination."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Person, open_incident
from tests.builders import team_id
from tests.conftest import START
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.services import incidents
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef

URL = "/api/v1/incidents"
HOUR = timedelta(hours=1)


def numbers(client: TestClient, who: Person, params: object = None) -> list[int]:
    response = client.get(URL, headers=who.headers, params=params)
    assert response.status_code == 200, response.text
    return [item["number"] for item in response.json()["items"]]


@pytest.fixture
def spread(
    ctx: Context,
    clock: ManualClock,
    checkout: IntegrationRef,
    billing: IntegrationRef,
) -> list[int]:
    """Four incidents an hour apart from START: checkout sev1 (triggered),
    checkout sev3 (acknowledged), billing sev2 (triggered), checkout sev4
    (resolved)."""
    first = open_incident(ctx, checkout, "a", severity="critical")
    clock.advance(hours=1)
    second = open_incident(ctx, checkout, "b", severity="warning")
    clock.advance(hours=1)
    third = open_incident(ctx, billing, "c", severity="error")
    clock.advance(hours=1)
    fourth = open_incident(ctx, checkout, "d", severity="info")

    incidents.acknowledge(ctx, SYSTEM, second)
    incidents.resolve(ctx, SYSTEM, fourth)
    return [first, second, third, fourth]


def test_incidents_come_newest_first(
    client: TestClient, adam: Person, spread: list[int]
) -> None:
    assert numbers(client, adam) == spread[::-1]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["triggered"], [2, 0]),
        (["acknowledged"], [1]),
        (["triggered", "resolved"], [3, 2, 0]),
    ],
)
def test_status_filter_keeps_any_of_the_given_statuses(
    client: TestClient,
    adam: Person,
    spread: list[int],
    statuses: list[str],
    expected: list[int],
) -> None:
    found = numbers(client, adam, {"status": statuses})

    assert found == [spread[i] for i in expected]


def test_severity_filter_keeps_any_of_the_given_severities(
    client: TestClient, adam: Person, spread: list[int]
) -> None:
    found = numbers(client, adam, {"severity": ["sev1", "sev3"]})

    assert found == [spread[1], spread[0]]


def test_service_and_team_filters(
    client: TestClient,
    ctx: Context,
    adam: Person,
    spread: list[int],
    billing: IntegrationRef,
) -> None:
    by_service = numbers(client, adam, {"service_id": billing.service_id})
    by_team = numbers(client, adam, {"team_id": team_id(ctx, "Ops")})

    assert by_service == [spread[2]]
    assert by_team == [spread[3], spread[1], spread[0]]


def test_since_is_inclusive_and_until_exclusive_in_any_offset(
    client: TestClient, adam: Person, spread: list[int]
) -> None:
    # START + 1h written in UTC+02:00, START + 3h in UTC.
    since = (START + HOUR).astimezone(timezone(timedelta(hours=2)))
    params = {"since": since.isoformat(), "until": (START + 3 * HOUR).isoformat()}

    assert numbers(client, adam, params) == [spread[2], spread[1]]


@pytest.mark.parametrize(
    ("params", "location"),
    [
        ({"since": "2026-03-02T10:00:00"}, "query.since"),
        ({"until": "2026-03-02"}, "query.until"),
        ({"since": "yesterday"}, "query.since"),
        ({"status": "open"}, "query.status.0"),
        ({"severity": "SEV5!"}, "query.severity.0"),
        ({"limit": 0}, "query.limit"),
        ({"limit": 501}, "query.limit"),
        ({"offset": -1}, "query.offset"),
        ({"service_id": 2**63}, "query.service_id"),
        ({"team_id": "ops"}, "query.team_id"),
    ],
)
def test_bad_filters_are_refused_with_the_field_named(
    client: TestClient, adam: Person, params: dict[str, object], location: str
) -> None:
    response = client.get(URL, headers=adam.headers, params=params)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["location"] for error in response.json()["errors"]] == [location]


def test_pages_cover_every_match_once_and_report_the_total(
    client: TestClient, adam: Person, spread: list[int]
) -> None:
    seen: list[int] = []
    for offset in (0, 3, 6):
        page = client.get(
            URL, headers=adam.headers, params={"limit": 3, "offset": offset}
        ).json()
        assert (page["total"], page["limit"], page["offset"]) == (4, 3, offset)
        seen += [item["number"] for item in page["items"]]

    assert seen == spread[::-1]


def test_a_responder_lists_only_their_teams_incidents(
    client: TestClient, ann: Person, spread: list[int]
) -> None:
    page = client.get(URL, headers=ann.headers).json()

    assert [item["number"] for item in page["items"]] == [
        spread[3],
        spread[1],
        spread[0],
    ]
    assert page["total"] == 3


def test_a_listed_incident_carries_its_service_and_people(
    client: TestClient, adam: Person, spread: list[int]
) -> None:
    [item] = client.get(
        URL, headers=adam.headers, params={"status": "acknowledged"}
    ).json()["items"]

    assert item["service"]["name"] == "checkout"
    assert item["severity"] == "sev3"
    assert item["created_at"] == (START + HOUR).isoformat().replace("+00:00", "Z")
