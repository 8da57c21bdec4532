"""The intake writer lives as long as the application: its lifespan starts it
on SQLite (PostgreSQL takes writes on the thread pool) and closes it on
shutdown. Without a lifespan, intake still stores what it accepts."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.intake.conftest import Keys, count_alerts
from tests.intake.payloads import pd_event
from tocsin.app import create_app
from tocsin.services.context import Context


def test_the_writer_runs_while_the_application_is_up_on_sqlite(
    ctx: Context, keys: Keys
) -> None:
    app = create_app(ctx)
    with TestClient(app) as client:
        writer = app.state.intake_writer
        response = client.post("/v2/enqueue", json=pd_event(keys.events_v2))

    assert response.status_code == 202
    assert count_alerts(ctx) == 1
    assert (writer is not None) == ctx.db.is_sqlite
    assert app.state.intake_writer is None
    if writer is not None:
        with pytest.raises(RuntimeError, match="closed"):
            writer.submit(lambda session: None)


def test_without_the_lifespan_intake_still_stores_events(
    ctx: Context, keys: Keys
) -> None:
    client = TestClient(create_app(ctx))

    response = client.post("/v2/enqueue", json=pd_event(keys.events_v2))

    assert response.status_code == 202
    assert count_alerts(ctx) == 1
