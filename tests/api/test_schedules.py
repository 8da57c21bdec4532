"""The schedules API: set up, read by viewers, changed by the team, refused on
bad input with nothing stored, and exported as iCal by secret URL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import func, select

from tests.api.conftest import Person
from tests.builders import team_id
from tocsin.services.context import Context
from tocsin.store.models import AuditRecord, Schedule, ScheduleLayer

LAYER = {
    "name": "Primary",
    "shift_unit": "days",
    "shift_count": 1,
    "start_local": "2026-03-01T09:00:00",
}


def _create(client: TestClient, who: Person, ctx: Context, **extra: Any) -> dict:
    body = {
        "name": "Ops primary",
        "team_id": team_id(ctx, "Ops"),
        "time_zone": "Europe/London",
        **extra,
    }
    response = client.post("/api/v1/schedules", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _count(ctx: Context, model: type) -> int:
    with ctx.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_team_member_sets_up_a_schedule_and_anyone_in_the_team_reads_it(
    client: TestClient, ctx: Context, ann: Person, vera: Person
) -> None:
    """Ann builds a rotation of Ann and Vera; Vera (a viewer) sees who is on
    call and the timeline."""
    schedule = _create(client, ann, ctx)
    layer = {**LAYER, "members": [ann.id, vera.id]}
    added = client.post(
        f"/api/v1/schedules/{schedule['id']}/layers", json=layer, headers=ann.headers
    )
    on_call = client.get(
        f"/api/v1/schedules/{schedule['id']}/on-call",
        params={"at": "2026-03-02T10:00:00Z"},
        headers=vera.headers,
    )
    timeline = client.get(
        f"/api/v1/schedules/{schedule['id']}/timeline",
        params={"start": "2026-03-01T00:00:00Z", "end": "2026-03-03T00:00:00Z"},
        headers=vera.headers,
    )

    assert added.status_code == 201, added.text
    assert added.json()["layers"][0]["rotation"]["members"][1]["id"] == vera.id
    assert on_call.json()["users"] == [
        {"id": vera.id, "name": "Vera", "email": "vera@example.com"}
    ]
    assert on_call.json()["until"] == "2026-03-03T09:00:00Z"
    spans = timeline.json()["spans"]
    assert [(s["start"], s["user"] and s["user"]["id"]) for s in spans] == [
        ("2026-03-01T00:00:00Z", None),
        ("2026-03-01T09:00:00Z", ann.id),
        ("2026-03-02T09:00:00Z", vera.id),
    ]
    assert timeline.json()["gaps"] == [spans[0]]
    with ctx.db.read() as session:
        actions = session.scalars(select(AuditRecord.action)).all()
    assert {"schedule.create", "schedule.layer.add"} <= set(actions)


def test_viewers_cannot_change_and_other_teams_cannot_see(
    client: TestClient, ctx: Context, ann: Person, vera: Person, pete: Person
) -> None:
    """A viewer's change is a 403; another team's member gets a 404."""
    schedule = _create(client, ann, ctx)
    path = f"/api/v1/schedules/{schedule['id']}"

    by_viewer = client.patch(path, json={"name": "Mine"}, headers=vera.headers)
    by_stranger = client.get(path, headers=pete.headers)
    listed = client.get("/api/v1/schedules", headers=pete.headers)

    assert by_viewer.status_code == 403
    assert by_viewer.headers["content-type"] == "application/problem+json"
    assert by_stranger.status_code == 404
    assert listed.json() == []


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"time_zone": "Mars/Olympus"}, "IANA"),
        ({"time_zone": "../../etc/passwd"}, "IANA"),
        ({"name": "  "}, "name"),
    ],
)
def test_a_bad_schedule_is_a_400_and_stores_nothing(
    client: TestClient, ctx: Context, ann: Person, extra: dict, reason: str
) -> None:
    """An unknown zone or empty name is refused with a problem body."""
    body = {
        "name": "Ops primary",
        "team_id": team_id(ctx, "Ops"),
        "time_zone": "UTC",
        **extra,
    }

    response = client.post("/api/v1/schedules", json=body, headers=ann.headers)

    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert _count(ctx, Schedule) == 0


@pytest.mark.parametrize(
    "change",
    [
        {"shift_count": 0},
        {"shift_count": -3},
        {"shift_unit": "fortnights"},
        {"members": []},
        {"members": [99999]},
        {"start_local": "2026-03-01T09:00:00+01:00"},
        {"restrictions": [{"days": ["mon"], "start": "9am", "end": "17:00"}]},
        {"restrictions": [{"days": ["funday"], "start": "09:00", "end": "17:00"}]},
    ],
)
def test_a_bad_layer_is_a_400_and_stores_nothing(
    client: TestClient, ctx: Context, ann: Person, change: dict
) -> None:
    """Zero or negative lengths, unknown units or users, a start with an offset
    and bad restrictions are refused; the schedule keeps no layer."""
    schedule = _create(client, ann, ctx)
    layer = {**LAYER, "members": [ann.id], **change}

    response = client.post(
        f"/api/v1/schedules/{schedule['id']}/layers", json=layer, headers=ann.headers
    )

    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert _count(ctx, ScheduleLayer) == 0


def test_overrides_take_over_and_bad_spans_are_refused(
    client: TestClient, ctx: Context, ann: Person, vera: Person
) -> None:
    """An override wins over the layer; an end before its start, a naive time
    or an unknown user is a 400."""
    schedule = _create(client, ann, ctx, time_zone="UTC")
    path = f"/api/v1/schedules/{schedule['id']}"
    client.post(
        f"{path}/layers", json={**LAYER, "members": [ann.id]}, headers=ann.headers
    )

    good = {
        "user_id": vera.id,
        "start": "2026-03-03T00:00:00Z",
        "end": "2026-03-04T00:00:00Z",
    }
    made = client.post(f"{path}/overrides", json=good, headers=ann.headers)
    during = client.get(
        f"{path}/on-call", params={"at": "2026-03-03T12:00:00Z"}, headers=ann.headers
    )
    bad = [
        {**good, "end": "2026-03-02T23:00:00Z"},
        {**good, "start": "2026-03-03T00:00:00"},
        {**good, "user_id": 99999},
    ]
    refused = [
        client.post(f"{path}/overrides", json=body, headers=ann.headers) for body in bad
    ]

    assert made.status_code == 201
    assert during.json()["users"][0]["id"] == vera.id
    assert [r.status_code for r in refused] == [400, 400, 400]
    assert len(client.get(path, headers=ann.headers).json()["overrides"]) == 1

    override_id = made.json()["overrides"][0]["id"]
    removed = client.delete(f"{path}/overrides/{override_id}", headers=ann.headers)
    assert removed.json()["overrides"] == []


def test_a_change_cannot_take_effect_in_the_past(
    client: TestClient, ctx: Context, ann: Person
) -> None:
    """Editing a layer from an instant before now would rewrite history: 400."""
    schedule = _create(client, ann, ctx)
    path = f"/api/v1/schedules/{schedule['id']}"
    added = client.post(
        f"{path}/layers", json={**LAYER, "members": [ann.id]}, headers=ann.headers
    ).json()
    layer_id = added["layers"][0]["id"]

    response = client.put(
        f"{path}/layers/{layer_id}",
        json={**LAYER, "members": [ann.id], "effective_from": "2026-01-01T00:00:00Z"},
        headers=ann.headers,
    )

    assert response.status_code == 400
    assert "past" in response.json()["detail"]


def test_timeline_range_must_be_ordered(
    client: TestClient, ctx: Context, ann: Person
) -> None:
    """An end before the start is a 400, not an empty timeline."""
    schedule = _create(client, ann, ctx)

    response = client.get(
        f"/api/v1/schedules/{schedule['id']}/timeline",
        params={"start": "2026-03-03T00:00:00Z", "end": "2026-03-01T00:00:00Z"},
        headers=ann.headers,
    )

    assert response.status_code == 400


def test_ical_feed_by_secret_url_until_revoked(
    client: TestClient, ctx: Context, ann: Person, vera: Person
) -> None:
    """The feed needs no token, holds each shift once with a UID, a DTSTAMP and
    the zone's VTIMEZONE, and answers 404 once revoked."""
    schedule = _create(client, ann, ctx)
    client.post(
        f"/api/v1/schedules/{schedule['id']}/layers",
        json={**LAYER, "members": [ann.id, vera.id]},
        headers=ann.headers,
    )
    made = client.post(
        "/api/v1/calendar-feeds",
        json={"schedule_id": schedule["id"]},
        headers=vera.headers,
    )
    path = made.json()["url"].removeprefix("http://tocsin.test")

    fetched = client.get(path)
    calendar = Calendar.from_ical(fetched.content)
    events = calendar.walk("VEVENT")
    uids = [str(event["uid"]) for event in events]

    assert made.status_code == 201
    assert fetched.status_code == 200
    assert fetched.headers["content-type"].startswith("text/calendar")
    assert [tz["tzid"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/London"]
    assert len(events) > 100
    assert len(set(uids)) == len(uids)
    assert all("dtstamp" in event for event in events)
    first = events[0].decoded("dtstart")
    assert (first.hour, first.minute) == (9, 0)

    feed_id = made.json()["id"]
    client.delete(f"/api/v1/calendar-feeds/{feed_id}", headers=vera.headers)
    assert client.get(path).status_code == 404
    assert client.get("/api/v1/calendars/not-a-token.ics").status_code == 404


def test_personal_feed_holds_only_the_owners_shifts(
    client: TestClient, ctx: Context, ann: Person, vera: Person
) -> None:
    """A feed without a schedule lists the owner's own shifts, no one else's."""
    schedule = _create(client, ann, ctx)
    client.post(
        f"/api/v1/schedules/{schedule['id']}/layers",
        json={**LAYER, "members": [ann.id, vera.id]},
        headers=ann.headers,
    )
    made = client.post("/api/v1/calendar-feeds", json={}, headers=ann.headers)

    fetched = client.get(made.json()["url"].removeprefix("http://tocsin.test"))
    summaries = {
        str(e["summary"]) for e in Calendar.from_ical(fetched.content).walk("VEVENT")
    }

    assert summaries == {"On call: Ann (Ops primary)"}
