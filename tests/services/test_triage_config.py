"""Triage configuration: scales and matrix replaced as a whole and checked,
incident types, and triage owners (users and schedules)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.builders import (
    actor_of,
    make_integration,
    make_schedule,
    make_service,
    make_user,
    trigger,
)
from tocsin.domain.access import SYSTEM
from tocsin.domain.triage import (
    DEFAULT_MATRIX,
    DEFAULT_SCALES,
    Level,
    Scale,
)
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.services import alerts, incident_triage, reports, triage
from tocsin.services.context import Context
from tocsin.store.models import AuditRecord, OutboxMessage


def _levels(**changes: list[Level]) -> dict[Scale, list[Level]]:
    levels = {scale: list(DEFAULT_SCALES[scale]) for scale in Scale}
    for name, value in changes.items():
        levels[Scale(name)] = value
    return levels


def test_defaults_are_sev1_to_sev4_and_p1_to_p5(ctx: Context) -> None:
    """An untouched database offers the default scales, with descriptions."""
    current = triage.scales(ctx)

    assert [level.name for level in current.severity] == [
        "SEV1",
        "SEV2",
        "SEV3",
        "SEV4",
    ]
    assert [level.key for level in current.priority] == ["p1", "p2", "p3", "p4", "p5"]
    assert all(level.description and level.examples for level in current.severity)
    assert len(current.matrix) == 9


def test_admins_replace_scales_and_it_is_audited(ctx: Context) -> None:
    """A fifth severity is stored, offered afterwards, and audited."""
    severities = [
        *DEFAULT_SCALES[Scale.SEVERITY],
        Level("sev5", "SEV5", 5, "Informational", "A question"),
    ]

    result = triage.replace_scales(
        ctx, SYSTEM, _levels(severity=severities), DEFAULT_MATRIX
    )

    assert [level.key for level in result.severity][-1] == "sev5"
    assert [level.key for level in triage.scales(ctx).severity][-1] == "sev5"
    with ctx.db.read() as session:
        actions = session.scalars(select(AuditRecord.action)).all()
    assert "triage.scales" in actions


@pytest.mark.parametrize(
    ("levels", "matrix", "message"),
    [
        (
            _levels(severity=[Level("sev1", "SEV1", 1), Level("sev1", "Again", 2)]),
            DEFAULT_MATRIX,
            "twice",
        ),
        (
            _levels(severity=[Level("sev1", "SEV1", 1), Level("sev2", "SEV2", 3)]),
            DEFAULT_MATRIX,
            "ranks",
        ),
        (
            _levels(severity=[Level("SEV 1", "SEV1", 1)]),
            DEFAULT_MATRIX,
            "valid key",
        ),
        (
            _levels(),
            {k: v for k, v in DEFAULT_MATRIX.items() if k != ("low", "low")},
            "no priority",
        ),
        (
            _levels(),
            {**DEFAULT_MATRIX, ("high", "high"): "p5"},
            "cannot be lower",
        ),
        (_levels(), {**DEFAULT_MATRIX, ("low", "low"): "p9"}, "unknown priority"),
        (_levels(severity=[]), DEFAULT_MATRIX, "at least one"),
    ],
)
def test_a_broken_scale_or_matrix_is_refused_and_nothing_changes(
    ctx: Context,
    levels: dict[Scale, list[Level]],
    matrix: dict[tuple[str, str], str],
    message: str,
) -> None:
    """Each rule of a scale or the matrix, broken, is a 400; the stored
    configuration stays as it was."""
    before = triage.scales(ctx)

    with pytest.raises(InvalidInput, match=message):
        triage.replace_scales(ctx, SYSTEM, levels, matrix)

    assert triage.scales(ctx) == before


def test_a_level_in_use_cannot_be_removed(ctx: Context) -> None:
    """An open incident at P5 keeps P5 on the priority scale."""
    make_service(ctx)
    integration, _ = make_integration(ctx)
    [outcome] = alerts.ingest(ctx, integration, [trigger(severity="info")])
    incident_triage.set_priority(
        ctx, SYSTEM, outcome.incident_number or 0, "low", "low", "Cosmetic"
    )
    matrix = {pair: min(p, "p4") for pair, p in DEFAULT_MATRIX.items()}

    with pytest.raises(Conflict, match="p5"):
        triage.replace_scales(
            ctx,
            SYSTEM,
            _levels(priority=list(DEFAULT_SCALES[Scale.PRIORITY][:4])),
            matrix,
        )


def test_the_severities_intake_maps_onto_cannot_be_removed(ctx: Context) -> None:
    """sev1 to sev4 stay (intake maps alert severities onto them); they can
    be renamed."""
    renamed = [
        Level(level.key, f"Level {level.rank}", level.rank, level.description)
        for level in DEFAULT_SCALES[Scale.SEVERITY]
    ]

    with pytest.raises(InvalidInput, match="sev4"):
        triage.replace_scales(
            ctx,
            SYSTEM,
            _levels(severity=list(DEFAULT_SCALES[Scale.SEVERITY][:3])),
            DEFAULT_MATRIX,
        )
    result = triage.replace_scales(
        ctx, SYSTEM, _levels(severity=renamed), DEFAULT_MATRIX
    )

    assert result.severity[0].name == "Level 1"


def test_responders_cannot_change_the_scales(ctx: Context) -> None:
    """Editing levels needs an admin."""
    responder = actor_of(ctx, make_user(ctx))

    with pytest.raises(Forbidden):
        triage.replace_scales(ctx, responder, _levels(), DEFAULT_MATRIX)


def test_incident_types_are_unique_and_can_be_retired(ctx: Context) -> None:
    """A type's key and name are unique; a retired type is not offered for new
    incidents."""
    triage.create_type(ctx, SYSTEM, key="outage", name="Outage")
    with pytest.raises(Conflict):
        triage.create_type(ctx, SYSTEM, key="outage2", name="outage")
    with pytest.raises(InvalidInput):
        triage.create_type(ctx, SYSTEM, key="x", name="X", default_severity="sev9")

    triage.update_type(ctx, SYSTEM, "outage", active=False)

    with ctx.db.read() as session, pytest.raises(InvalidInput):
        triage.find_type(session, "outage")
    assert [t.active for t in triage.list_types(ctx)] == [False]


def test_a_schedule_as_triage_owner_tells_whoever_is_on_call(
    ctx: Context,
) -> None:
    """With a schedule as the team's triage owner, the person on call now is
    the one told about a new report."""
    dana = make_user(ctx, "dana@example.com")
    service_id = make_service(ctx)
    schedule_id = make_schedule(ctx, members=[dana])
    from tests.builders import team_id

    triage.set_owner(ctx, SYSTEM, team_id=team_id(ctx, "Ops"), schedule_id=schedule_id)
    reports.report_as_staff(
        ctx, actor_of(ctx, dana), title="Odd", service_id=service_id
    )

    with ctx.db.read() as session:
        recipients = session.scalars(select(OutboxMessage.recipient)).all()
    assert recipients == ["dana@example.com"]


def test_a_deactivated_owner_passes_the_report_to_the_next_owner(
    ctx: Context,
) -> None:
    """A deactivated user is never paged, so as a service's triage owner they
    stand aside: the team's owner (else the default one) gets the report, as
    if the service had none, instead of nobody."""
    from tests.builders import team_id
    from tocsin.services import people

    gone = make_user(ctx, "gone@example.com")
    dana = make_user(ctx, "dana@example.com")
    service_id = make_service(ctx)
    triage.set_owner(ctx, SYSTEM, service_id=service_id, user_id=gone.id)
    triage.set_owner(ctx, SYSTEM, team_id=team_id(ctx, "Ops"), user_id=dana.id)
    admin = actor_of(ctx, make_user(ctx, "root@example.com", role="admin"))
    people.set_active(ctx, admin, gone.id, False)

    reports.report_as_staff(
        ctx, actor_of(ctx, dana), title="Odd", service_id=service_id
    )

    with ctx.db.read() as session:
        recipients = session.scalars(select(OutboxMessage.recipient)).all()
    assert recipients == ["dana@example.com"]


def test_owner_input_is_checked(ctx: Context) -> None:
    """An owner is one user or one schedule that exists, for one scope."""
    user = make_user(ctx)
    service_id = make_service(ctx)

    with pytest.raises(InvalidInput):
        triage.set_owner(ctx, SYSTEM, service_id=service_id)
    with pytest.raises(InvalidInput):
        triage.set_owner(
            ctx, SYSTEM, service_id=service_id, user_id=user.id, schedule_id=1
        )
    with pytest.raises(NotFound):
        triage.set_owner(ctx, SYSTEM, service_id=service_id, schedule_id=4242)
    with pytest.raises(NotFound):
        triage.set_owner(ctx, SYSTEM, service_id=424242, user_id=user.id)

    first = triage.set_owner(ctx, SYSTEM, service_id=service_id, user_id=user.id)
    again = triage.set_owner(ctx, SYSTEM, service_id=service_id, user_id=user.id)
    assert first.id == again.id
    assert len(triage.list_owners(ctx, SYSTEM)) == 1
    triage.remove_owner(ctx, SYSTEM, service_id=service_id, team_id=None)
    assert triage.list_owners(ctx, SYSTEM) == []
