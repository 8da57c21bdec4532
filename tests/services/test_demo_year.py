"""The generated demo year: realistic volume, consistent with the metric rules,
loaded once, and fast to summarise."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import func, select

from tocsin.domain.access import SYSTEM
from tocsin.services import demo_year, insights
from tocsin.services.context import Context
from tocsin.services.insights import InsightFilter
from tocsin.store.models import Incident


def test_a_year_loads_once_and_summarises(ctx: Context) -> None:
    """A year at about one incident a day, every figure present; a second load
    adds nothing."""
    made = demo_year.load_year(ctx, per_day=1.0)
    assert 200 < made.incidents < 600
    assert demo_year.load_year(ctx).already

    with ctx.db.read() as session:
        stored = session.scalar(select(func.count()).select_from(Incident))
    assert stored == made.incidents

    now = ctx.clock.now()
    started = time.perf_counter()
    found = insights.compute(
        ctx, SYSTEM, InsightFilter(since=now - timedelta(days=366), until=now)
    )
    took = time.perf_counter() - started
    print(f"insights over {made.incidents} incidents: {took:.2f}s")

    assert found.incidents == made.incidents
    assert found.reopened > 0
    assert 0 < found.acknowledge.count < found.incidents
    assert found.resolve.count == found.incidents
    assert found.acknowledge.median_minutes is not None
    assert 1 < found.acknowledge.median_minutes < 10
    assert len(found.on_call) == 5
    assert sum(p.night_pages for p in found.on_call) > 0
    assert found.noisy_services[0].name == "checkout-api"
    assert len(found.weeks) in (53, 54)
    assert found.postmortems.total > 0
    assert 0 < found.postmortems.done < found.postmortems.total
    assert 0 < found.action_items.done < found.action_items.total
