"""The insights page: charts as SVG under the CSP, escaped names, team scope,
safe downloads and clear refusals."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.conftest import World, log_in, open_incident
from tocsin.clock import ManualClock
from tocsin.services.context import Context

EVIL = "<img src=x onerror=alert(1)>=SUM(A1)"


def test_page_shows_charts_and_escapes_titles(
    client: TestClient, ctx: Context, clock: ManualClock, world: World
) -> None:
    """Ann sees her team's incident counted, SVG charts and no raw markup."""
    open_incident(ctx, world.checkout, "k1", EVIL)
    open_incident(ctx, world.billing, "k2", "billing down")
    clock.advance(minutes=5)
    log_in(client, world.ann.email)

    page = client.get("/insights")
    assert page.status_code == 200
    assert "1 incident opened" in page.text
    assert page.text.count('<svg class="chart"') == 3
    assert "<img src=x" not in page.text
    assert "<h2>Feedback</h2>" in page.text
    assert "No answers" in page.text
    assert 'href="/insights"' in page.text
    assert "style=" not in page.text.split("<main", 1)[-1]
    assert "script-src" in page.headers["content-security-policy"]


def test_csv_download_neutralises_formulas(
    client: TestClient, ctx: Context, clock: ManualClock, world: World
) -> None:
    """The CSV download starts a formula-like title with an apostrophe."""
    open_incident(ctx, world.checkout, "k1", "=SUM(A1)")
    clock.advance(minutes=5)
    log_in(client, world.ann.email)

    download = client.get("/insights/export.csv?period=7d")
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    assert ",'=SUM(A1)," in download.text


def test_bad_filters_are_refused(client: TestClient, world: World) -> None:
    """An unknown period, a malformed id or export kind is a 4xx, not a report."""
    log_in(client, world.ann.email)
    assert client.get("/insights?period=forever").status_code == 400
    assert client.get("/insights?team=abc").status_code == 400
    assert client.get("/insights?service=999").status_code == 404
    assert client.get("/insights/export.xlsx").status_code == 400


def test_logged_out_visitors_go_to_login(client: TestClient) -> None:
    """The page needs a session."""
    response = client.get("/insights")
    assert response.status_code in (302, 303)
    assert "/login" in response.headers["location"]
