"""`/metrics`: the misconfiguration gauges and paging figures, for the metrics
token or an admin's API token only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import Person, open_incident
from tests.builders import make_service
from tocsin.app import create_app
from tocsin.services.context import Context
from tocsin.services.integrations import IntegrationRef

TOKEN = "scrape-me-please-0123456789"


@pytest.fixture
def scraped(ctx: Context) -> Iterator[TestClient]:
    ctx.settings = ctx.settings.model_copy(update={"metrics_token": TOKEN})
    with TestClient(create_app(ctx)) as client:
        yield client


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_show_misconfigurations_and_open_incidents(
    scraped: TestClient, ctx: Context, checkout: IntegrationRef
) -> None:
    """A service without a policy and one triggered incident show as gauges."""
    make_service(ctx, "lonely", team="Ops")
    open_incident(ctx, checkout)

    response = scraped.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 200
    samples = _samples(response.text)
    kind = (("kind", "service_without_policy"),)
    # checkout has no steps either (the fixture's service pages nobody).
    assert samples[("tocsin_misconfigurations", kind)] == 2
    assert samples[("tocsin_open_incidents", (("status", "triggered"),))] == 1
    assert samples[("tocsin_overdue_timers", ())] == 0


def test_metrics_refuse_anyone_but_the_token_or_an_admin(
    scraped: TestClient, ann: Person, adam: Person
) -> None:
    """No token: 401; a responder's token: 403; an admin's token: 200."""
    assert scraped.get("/metrics").status_code == 401
    wrong = scraped.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert scraped.get("/metrics", headers=ann.headers).status_code == 403
    assert scraped.get("/metrics", headers=adam.headers).status_code == 200
