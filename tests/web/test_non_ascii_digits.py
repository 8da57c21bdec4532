"""Digits that are not ASCII ("²", "①", Arabic-Indic "٣") pass str.isdigit()
but not int(): wherever a page or parser reads a number, such text is refused
or matches nothing, never a server error."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import World, log_in, open_incident
from tocsin.domain.schedules import parse_time
from tocsin.errors import InvalidInput
from tocsin.services.context import Context

ODD = ("²", "①", "٣")


@pytest.mark.parametrize("digits", ODD)
def test_pages_refuse_them_as_numbers(
    client: TestClient, ctx: Context, world: World, digits: str
) -> None:
    number = open_incident(ctx, world.checkout)
    csrf = log_in(client, world.ann.email)

    searched = client.get("/incidents", params={"q": f"#{digits}"})
    insights = client.get("/insights", params={"team": digits})
    token = client.post(
        "/profile/tokens", data={"csrf_token": csrf, "name": "ci", "days": digits}
    )
    snooze = client.post(
        f"/incidents/{number}/snooze", data={"csrf_token": csrf, "minutes": digits}
    )
    reassign = client.post(
        f"/incidents/{number}/reassign", data={"csrf_token": csrf, "user_id": digits}
    )
    report = client.post(
        "/reports",
        data={"csrf_token": csrf, "title": "Odd", "service_id": digits},
    )

    assert searched.status_code == 200
    assert insights.status_code == 400
    assert token.status_code == 400
    assert snooze.status_code == 400
    assert reassign.status_code == 400
    assert report.status_code == 400


@pytest.mark.parametrize("digits", ODD)
def test_a_handoff_time_with_them_is_invalid(digits: str) -> None:
    with pytest.raises(InvalidInput):
        parse_time(f"0{digits}:00")
