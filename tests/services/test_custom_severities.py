"""Severity levels an administrator adds are understood wherever incidents
are filtered, sorted and counted: the incident list (service, page and API),
the home page's worst-first order and the insights."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.builders import make_integration, make_service, make_user, trigger
from tests.web.conftest import log_in, new_client
from tocsin.app import create_app
from tocsin.domain.access import SYSTEM
from tocsin.domain.triage import DEFAULT_MATRIX, DEFAULT_SCALES, Level, Scale
from tocsin.services import (
    alerts,
    incident_triage,
    incident_views,
    incidents,
    insights,
    triage,
    users,
)
from tocsin.services.context import Context
from tocsin.services.incident_views import IncidentQuery, Sort
from tocsin.services.insights import InsightFilter


@pytest.fixture
def numbers(ctx: Context) -> dict[str, int]:
    """`zero`, a level worse than SEV1 whose key sorts last as text, and three
    incidents at zero, sev1 and sev3."""
    levels = {scale: list(DEFAULT_SCALES[scale]) for scale in Scale}
    levels[Scale.SEVERITY] = [
        Level("zero", "SEV0", 1, "Everything is down"),
        *(
            Level(level.key, level.name, level.rank + 1, level.description)
            for level in DEFAULT_SCALES[Scale.SEVERITY]
        ),
    ]
    triage.replace_scales(ctx, SYSTEM, levels, DEFAULT_MATRIX)
    make_user(ctx, "ann@example.com", teams=("Ops",))
    make_service(ctx, "checkout", team="Ops")
    integration, _ = make_integration(ctx, "checkout")

    found: dict[str, int] = {}
    for severity in ("sev3", "zero", "sev1"):
        [outcome] = alerts.ingest(ctx, integration, [trigger(f"k-{severity}")])
        number = outcome.incident_number or 0
        incident_triage.set_severity(ctx, SYSTEM, number, severity, "as tested")
        found[severity] = number
    return found


def test_the_configured_order_is_the_sort_order_across_pages(
    ctx: Context, numbers: dict[str, int]
) -> None:
    """Worst first by rank, not by the text of the key, one per page."""
    seen: list[int] = []
    after = None
    while True:
        page = incident_views.search(
            ctx, SYSTEM, IncidentQuery(sort=Sort.SEVERITY, after=after, limit=1)
        )
        seen += [item.number for item in page.items]
        if page.next_cursor is None:
            break
        after = page.next_cursor

    assert seen == [numbers["zero"], numbers["sev1"], numbers["sev3"]]
    assert triage.severity_keys(ctx)[0] == "zero"
    home = incident_views.home(ctx, SYSTEM)
    assert home.open_incidents[0].number == numbers["zero"]


def test_pages_and_api_filter_by_an_added_level(
    ctx: Context, numbers: dict[str, int]
) -> None:
    with new_client(ctx) as client:
        log_in(client, "ann@example.com")

        listed = client.get("/incidents", params={"severity": "zero"})
        home = client.get("/")

    assert listed.status_code == 200
    assert f"#{numbers['zero']}" in listed.text
    assert f"#{numbers['sev1']}" not in listed.text
    assert 'value="zero"' in listed.text
    assert home.status_code == 200


def test_the_api_lists_an_added_level_and_refuses_a_malformed_one(
    ctx: Context, numbers: dict[str, int]
) -> None:
    make_user(ctx, "root@example.com", role="admin", teams=())
    token = users.create_token(ctx, SYSTEM, email="root@example.com", name="test")
    with TestClient(create_app(ctx)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        found = client.get(
            "/api/v1/incidents", params={"severity": "zero"}, headers=headers
        )
        malformed = client.get(
            "/api/v1/incidents", params={"severity": "SEV 0!"}, headers=headers
        )

    assert found.status_code == 200, found.text
    assert [item["number"] for item in found.json()["items"]] == [numbers["zero"]]
    assert malformed.status_code == 422


def test_insights_break_down_by_the_configured_levels(
    ctx: Context, numbers: dict[str, int]
) -> None:
    now = ctx.clock.now()
    where = InsightFilter(since=now - timedelta(days=7), until=now + timedelta(1))

    everything = insights.compute(ctx, SYSTEM, where)
    only_zero = insights.compute(
        ctx,
        SYSTEM,
        InsightFilter(since=where.since, until=where.until, severity=("zero",)),
    )

    assert everything.severities[:2] == ["zero", "sev1"]
    assert sum(week.by_severity["zero"] for week in everything.weeks) == 1
    assert only_zero.incidents == 1


def test_an_alert_joining_never_lowers_an_added_level_nor_skips_raising_it(
    ctx: Context,
) -> None:
    """A critical alert joining a group is SEV1: it leaves an incident at
    `zero` (worse) alone and raises one at `low` (milder than SEV4), though
    both keys sort after or before 'sev1' as text."""
    levels = {scale: list(DEFAULT_SCALES[scale]) for scale in Scale}
    levels[Scale.SEVERITY] = [
        Level("zero", "SEV0", 1, "Everything is down"),
        *(
            Level(level.key, level.name, level.rank + 1, level.description)
            for level in DEFAULT_SCALES[Scale.SEVERITY]
        ),
        Level("low", "Low", 6, "Cosmetic"),
    ]
    triage.replace_scales(ctx, SYSTEM, levels, DEFAULT_MATRIX)
    make_service(ctx, "checkout", team="Ops")
    integration, _ = make_integration(ctx, "checkout")

    numbers: dict[str, int] = {}
    for level in ("zero", "low"):
        first = trigger(f"{level}-a", severity="info", group_key=level)
        [outcome] = alerts.ingest(ctx, integration, [first])
        numbers[level] = outcome.incident_number or 0
        incident_triage.set_severity(ctx, SYSTEM, numbers[level], level, "as tested")
        worse = trigger(f"{level}-b", severity="critical", group_key=level)
        alerts.ingest(ctx, integration, [worse])

    assert incidents.get(ctx, SYSTEM, numbers["zero"]).severity == "zero"
    assert incidents.get(ctx, SYSTEM, numbers["low"]).severity == "sev1"
