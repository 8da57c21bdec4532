"""Similar past incidents: resolved ones the actor may see, most alike first,
each with its resolution notes and its postmortem."""

from __future__ import annotations

from tests.builders import actor_of, make_integration, make_service, make_user, trigger
from tocsin.domain.access import SYSTEM
from tocsin.services import alerts, incidents, postmortems, similar_incidents
from tocsin.services.context import Context


def _open(ctx: Context, service: str, title: str, key: str) -> int:
    integration, _ = make_integration(ctx, service, "alertmanager")
    [outcome] = alerts.ingest(ctx, integration, [trigger(key, title)])
    assert outcome.incident_number is not None
    return outcome.incident_number


def test_similar_incidents_bring_their_notes_and_postmortems(ctx: Context) -> None:
    """Findings, decisions, actions and pinned notes come along, chatter does
    not; another team's incident about the same thing is not shown."""
    ann = actor_of(ctx, make_user(ctx, "ann@example.com", teams=("Ops",)))
    make_service(ctx, "checkout", team="Ops")
    make_service(ctx, "billing", team="Money")
    old = _open(ctx, "checkout", "Primary database connection pool exhausted", "a")
    incidents.add_note(ctx, ann, old, "raised the pool to 200", tag="action")
    incidents.add_note(ctx, ann, old, "looking into it")
    postmortems.create(ctx, ann, [old], title="Pool exhaustion")
    incidents.resolve(ctx, SYSTEM, old)
    theirs = _open(ctx, "billing", "Primary database connection pool exhausted", "b")
    incidents.resolve(ctx, SYSTEM, theirs)
    new = _open(ctx, "checkout", "database connection pool exhausted again", "c")

    found = similar_incidents.similar(ctx, ann, new)

    assert [item.number for item in found] == [old]
    assert found[0].notes == ["raised the pool to 200"]
    assert found[0].postmortems == ["Pool exhaustion (draft)"]
    assert 0 < found[0].score <= 1
