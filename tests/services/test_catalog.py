"""Setting up teams, escalation policies, services and integrations: what is
stored and audited, what is refused (with nothing written), and that a policy
made here pages as it says."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text, update

from tests.builders import actor_of, make_user, team_id, trigger
from tests.conftest import START
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.engine.worker import Worker
from tocsin.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    TocsinError,
    Unauthenticated,
)
from tocsin.services import alerts, catalog, demo, integrations
from tocsin.services.catalog import StepInput
from tocsin.services.context import Context
from tocsin.store.models import (
    AuditRecord,
    EscalationPolicy,
    Integration,
    OutboxMessage,
    Service,
    Team,
    User,
)


def step(delay: int, *emails: str) -> StepInput:
    return StepInput(delay_minutes=delay, emails=emails)


def audit_actions(ctx: Context) -> list[str]:
    with ctx.db.read() as session:
        return list(
            session.scalars(select(AuditRecord.action).order_by(AuditRecord.id))
        )


def count(ctx: Context, model: type[object]) -> int:
    with ctx.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def paged(ctx: Context) -> list[str]:
    with ctx.db.read() as session:
        return sorted(session.scalars(select(OutboxMessage.recipient)))


@pytest.fixture
def people(ctx: Context) -> None:
    for email in ("ann@example.com", "bob@example.com", "cat@example.com"):
        make_user(ctx, email, teams=("Ops",), password=None)


@pytest.fixture
def policy(ctx: Context, people: None) -> str:
    catalog.create_policy(
        ctx,
        SYSTEM,
        "Ops default",
        team="Ops",
        steps=[
            step(5, "ann@example.com", "bob@example.com"),
            step(10, "cat@example.com"),
        ],
        repeat=1,
    )
    return "Ops default"


@pytest.fixture
def service(ctx: Context, policy: str) -> str:
    catalog.create_service(ctx, SYSTEM, "checkout", team="Ops", policy=policy)
    return "checkout"


# Teams


def test_a_new_team_is_listed_with_its_members_and_services(
    ctx: Context, service: str
) -> None:
    catalog.create_team(ctx, SYSTEM, "  Payments ")

    teams = catalog.list_teams(ctx)

    assert [(t.name, t.members, t.services) for t in teams] == [
        ("Ops", 3, 1),
        ("Payments", 0, 0),
    ]
    assert "team.create" in audit_actions(ctx)


def test_a_team_name_is_taken_once(ctx: Context) -> None:
    catalog.create_team(ctx, SYSTEM, "Ops")

    with pytest.raises(Conflict, match="a team named 'Ops' already exists"):
        catalog.create_team(ctx, SYSTEM, "Ops")

    assert count(ctx, Team) == 1


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "a team name of 1 to 200 characters is required"),
        ("   ", "a team name of 1 to 200 characters is required"),
        ("x" * 201, "a team name of 1 to 200 characters is required"),
        ("Ops\x00", "a team name cannot hold NUL or other control characters"),
        ("Ops\x1b[31m", "a team name cannot hold NUL or other control characters"),
        ("Ops\nDev", "a team name cannot hold NUL or other control characters"),
        ("Ops\x9b2J", "a team name cannot hold NUL or other control characters"),
        ("Ops\u202espO", "a team name cannot hold NUL or other control characters"),
    ],
)
def test_a_team_name_must_be_printable_and_short(
    ctx: Context, name: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        catalog.create_team(ctx, SYSTEM, name)

    assert refused.value.detail == message
    assert count(ctx, Team) == 0


def test_only_an_admin_sets_things_up(ctx: Context) -> None:
    rita = make_user(ctx, "rita@example.com", role="responder", password=None)

    with pytest.raises(Forbidden, match="this needs the admin role"):
        catalog.create_team(ctx, actor_of(ctx, rita), "Payments")

    assert [team.name for team in catalog.list_teams(ctx)] == ["Ops"]


# Escalation policies


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("5:ann@example.com", step(5, "ann@example.com")),
        (" 0 : ann@example.com , bob@example.com ",
         step(0, "ann@example.com", "bob@example.com")),
        ("0010:ann@example.com", step(10, "ann@example.com")),
    ],
)  # fmt: skip
def test_a_step_is_read_from_delay_and_emails(text: str, parsed: StepInput) -> None:
    assert catalog.parse_step(text) == parsed


@pytest.mark.parametrize(
    "text",
    ["ann@example.com", "5", "5:", "5:ann@example.com,", "-5:ann@example.com",
     "five:ann@example.com", "5;ann@example.com", "1.5:ann@example.com"],
)  # fmt: skip
def test_a_step_in_another_syntax_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        catalog.parse_step(text)

    assert refused.value.detail == (
        f"a step is DELAY_MINUTES:EMAIL[,EMAIL...], not {text!r}"
    )


def test_a_huge_delay_is_read_then_refused_as_out_of_range(
    ctx: Context, people: None
) -> None:
    huge = catalog.parse_step("9" * 5000 + ":ann@example.com")

    with pytest.raises(InvalidInput, match="the delay must be 0 to 1440 minutes"):
        catalog.create_policy(ctx, SYSTEM, "p", team="Ops", steps=[huge])


def test_a_policy_keeps_its_steps_in_order_with_who_they_page(
    ctx: Context, policy: str
) -> None:
    shown = catalog.get_policy(ctx, policy)

    assert (shown.name, shown.team, shown.repeat) == ("Ops default", "Ops", 1)
    assert [
        (s.delay_minutes, [(u.name, u.email) for u in s.targets]) for s in shown.steps
    ] == [
        (5, [("Ann", "ann@example.com"), ("Bob", "bob@example.com")]),
        (10, [("Cat", "cat@example.com")]),
    ]
    assert [p.name for p in catalog.list_policies(ctx)] == ["Ops default"]
    with ctx.db.read() as session:
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "escalation_policy.create")
        ).one()
    assert record.detail["steps"][0] == {
        "delay_minutes": 5,
        "emails": ["ann@example.com", "bob@example.com"],
    }


def test_a_policy_names_users_by_email_in_any_case(ctx: Context, people: None) -> None:
    made = catalog.create_policy(
        ctx, SYSTEM, "p", team="Ops", steps=[step(0, " ANN@example.com ")]
    )

    assert [u.email for u in made.steps[0].targets] == ["ann@example.com"]


def test_a_policy_name_is_taken_once(ctx: Context, policy: str) -> None:
    with pytest.raises(Conflict, match="an escalation policy named 'Ops default'"):
        catalog.create_policy(
            ctx, SYSTEM, policy, team="Ops", steps=[step(5, "ann@example.com")]
        )

    assert count(ctx, EscalationPolicy) == 1


def test_a_policy_name_taken_by_a_transaction_in_flight_is_refused(
    ctx: Context, people: None
) -> None:
    """Policy names have no unique index: on PostgreSQL the second creator waits
    for the first (an advisory lock) and then sees the name taken, instead of
    both checking at once and both inserting."""
    if ctx.db.is_sqlite:
        pytest.skip("SQLite runs one write transaction at a time (BEGIN IMMEDIATE)")
    outcome: list[TocsinError | None] = []

    def second() -> None:
        try:
            catalog.create_policy(
                ctx, SYSTEM, "p", team="Ops", steps=[step(5, "bob@example.com")]
            )
            outcome.append(None)
        except TocsinError as error:
            outcome.append(error)

    with ctx.db.write() as first:
        first.execute(select(func.pg_advisory_xact_lock(catalog.POLICY_NAMES_LOCK)))
        first.add(
            EscalationPolicy(name="p", team_id=team_id(ctx, "Ops"), created_at=START)
        )
        first.flush()
        thread = threading.Thread(target=second)
        thread.start()
        # Commit only once the second creator waits for us, or has gone ahead.
        while thread.is_alive() and not lock_waiters(ctx):
            thread.join(0.01)

    thread.join()
    assert [type(e) for e in outcome] == [Conflict]
    assert count(ctx, EscalationPolicy) == 1


def lock_waiters(ctx: Context) -> int:
    """Transactions waiting for the policy-names lock (a key below 2**32 is
    shown as `objid`)."""
    query = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
        " AND objid::bigint = :key AND NOT granted"
    )
    with ctx.db.engine.connect() as connection:
        waiting = connection.execute(query, {"key": catalog.POLICY_NAMES_LOCK})
        return int(waiting.scalar_one())


def deactivate(ctx: Context, email: str) -> None:
    with ctx.db.write() as session:
        session.execute(update(User).where(User.email == email).values(active=False))


@pytest.mark.parametrize(
    ("team", "steps", "repeat", "error", "message"),
    [
        ("Nobody", [step(5, "ann@example.com")], 0, NotFound, "no team named 'Nobody'"),
        ("Ops", [step(5, "who@example.com")], 0, NotFound,
         "no user with email who@example.com"),
        ("Ops", [step(5, "gone@example.com")], 0, InvalidInput,
         "gone@example.com is deactivated and cannot be paged"),
        ("Ops", [], 0, InvalidInput, "a policy has 1 to 20 steps"),
        ("Ops", [step(5, "ann@example.com")] * 21, 0, InvalidInput,
         "a policy has 1 to 20 steps"),
        ("Ops", [step(1441, "ann@example.com")], 0, InvalidInput,
         "step 1: the delay must be 0 to 1440 minutes"),
        ("Ops", [step(5, "ann@example.com"), step(-1, "bob@example.com")], 0,
         InvalidInput, "step 2: the delay must be 0 to 1440 minutes"),
        ("Ops", [step(5, "ann@example.com")], 10, InvalidInput,
         "repeat must be between 0 and 9"),
        ("Ops", [step(5, "ann@example.com")], -1, InvalidInput,
         "repeat must be between 0 and 9"),
        ("Ops", [step(5)], 0, InvalidInput, "step 1 pages 1 to 20 users"),
        ("Ops", [step(5, "ann@example.com", "ANN@example.com")], 0, InvalidInput,
         "step 1 names ann@example.com twice"),
        ("Ops", [step(5, "ann\x00@example.com")], 0, InvalidInput,
         "step 1: 'ann\\x00@example.com' is not an email address"),
    ],
)  # fmt: skip
def test_a_policy_that_cannot_page_as_written_is_refused_whole(
    ctx: Context,
    people: None,
    team: str,
    steps: list[StepInput],
    repeat: int,
    error: type[TocsinError],
    message: str,
) -> None:
    make_user(ctx, "gone@example.com", password=None)
    deactivate(ctx, "gone@example.com")
    before = audit_actions(ctx)

    with pytest.raises(error) as refused:
        catalog.create_policy(ctx, SYSTEM, "p", team=team, steps=steps, repeat=repeat)

    assert refused.value.detail == message
    assert count(ctx, EscalationPolicy) == 0
    assert audit_actions(ctx) == before


def test_an_unknown_policy_is_not_found(ctx: Context) -> None:
    with pytest.raises(NotFound, match="no escalation policy named 'nope'"):
        catalog.get_policy(ctx, "nope")


# Services


def test_a_service_is_stored_with_its_team_policy_and_description(
    ctx: Context, policy: str
) -> None:
    made = catalog.create_service(
        ctx,
        SYSTEM,
        "checkout",
        team="Ops",
        policy=policy,
        description=" Card payments\nat checkout ",
        auto_resolve=False,
    )

    shown = catalog.get_service(ctx, "checkout")
    assert shown == made
    assert (shown.team, shown.policy, shown.auto_resolve) == ("Ops", policy, False)
    assert shown.description == "Card payments\nat checkout"
    assert shown.integrations == ()
    assert catalog.get_policy(ctx, policy).services == ("checkout",)
    assert audit_actions(ctx)[-1] == "service.create"


def test_a_service_without_a_policy_has_none(ctx: Context, people: None) -> None:
    made = catalog.create_service(ctx, SYSTEM, "batch", team="Ops")

    assert made.policy is None
    assert [s.name for s in catalog.list_services(ctx)] == ["batch"]


@pytest.mark.parametrize(
    ("name", "team", "policy_name", "description", "error", "message"),
    [
        ("checkout", "Ops", None, "", Conflict,
         "a service named 'checkout' already exists"),
        ("billing", "Nobody", None, "", NotFound, "no team named 'Nobody'"),
        ("billing", "Ops", "nope", "", NotFound, "no escalation policy named 'nope'"),
        ("billing", "Ops", None, "x" * 2001, InvalidInput,
         "a description has at most 2000 characters"),
        ("billing", "Ops", None, "a\x00b", InvalidInput,
         "a description cannot hold NUL or control characters other than "
         "newlines and tabs"),
        ("bill\x00ing", "Ops", None, "", InvalidInput,
         "a service name cannot hold NUL or other control characters"),
        ("b" * 201, "Ops", None, "", InvalidInput,
         "a service name of 1 to 200 characters is required"),
    ],
)  # fmt: skip
def test_a_service_that_cannot_be_made_is_refused_whole(
    ctx: Context,
    service: str,
    name: str,
    team: str,
    policy_name: str | None,
    description: str,
    error: type[TocsinError],
    message: str,
) -> None:
    before = audit_actions(ctx)

    with pytest.raises(error) as refused:
        catalog.create_service(
            ctx, SYSTEM, name, team=team, policy=policy_name, description=description
        )

    assert refused.value.detail == message
    assert count(ctx, Service) == 1
    assert audit_actions(ctx) == before


def test_new_incidents_page_through_the_policy_set_later(
    ctx: Context, people: None
) -> None:
    catalog.create_service(ctx, SYSTEM, "checkout", team="Ops")
    catalog.create_policy(
        ctx, SYSTEM, "cat", team="Ops", steps=[step(5, "cat@example.com")]
    )
    new = catalog.add_integration(ctx, SYSTEM, "checkout", kind="events_v2")
    integration = integrations.authenticate(ctx, new.key, "events_v2")

    alerts.ingest(ctx, integration, [trigger("before")])
    changed = catalog.set_policy(ctx, SYSTEM, "checkout", "cat")
    alerts.ingest(ctx, integration, [trigger("after")])

    assert changed.policy == "cat"
    assert paged(ctx) == ["cat@example.com"]
    with ctx.db.read() as session:
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "service.set_policy")
        ).one()
    assert record.detail == {"policy": "cat", "previous_policy": None}


def test_set_policy_names_what_it_cannot_find(ctx: Context, service: str) -> None:
    with pytest.raises(NotFound, match="no escalation policy named 'nope'"):
        catalog.set_policy(ctx, SYSTEM, service, "nope")
    with pytest.raises(NotFound, match="no service named 'nope'"):
        catalog.set_policy(ctx, SYSTEM, "nope", "Ops default")

    assert catalog.get_service(ctx, service).policy == "Ops default"


def test_a_policy_made_here_pages_step_by_step(
    ctx: Context, clock: ManualClock, service: str
) -> None:
    """Step 1 pages at once; step 2 after step 1's five minutes."""
    new = catalog.add_integration(ctx, SYSTEM, service, kind="events_v2")
    integration = integrations.authenticate(ctx, new.key, "events_v2")

    alerts.ingest(ctx, integration, [trigger()])
    assert paged(ctx) == ["ann@example.com", "bob@example.com"]

    worker = Worker(ctx, {})
    clock.advance(minutes=4, seconds=59)
    worker.run_once()
    assert paged(ctx) == ["ann@example.com", "bob@example.com"]

    clock.advance(seconds=1)
    worker.run_once()
    assert paged(ctx) == ["ann@example.com", "bob@example.com", "cat@example.com"]


# Integrations


def test_an_integration_key_works_once_made_and_is_shown_only_by_prefix(
    ctx: Context, service: str
) -> None:
    new = catalog.add_integration(ctx, SYSTEM, service, kind="alertmanager")

    found = integrations.authenticate(ctx, new.key, "alertmanager")
    assert (found.name, found.kind) == ("alertmanager", "alertmanager")
    [listed] = catalog.get_service(ctx, service).integrations
    assert listed == new.integration
    assert listed.key_prefix == new.key[:6]
    with ctx.db.read() as session:
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "integration.create")
        ).one()
    assert new.key not in str(record.detail)


def test_integration_names_are_unique_within_a_service(
    ctx: Context, service: str, people: None
) -> None:
    catalog.create_service(ctx, SYSTEM, "billing", team="Ops")
    catalog.add_integration(ctx, SYSTEM, service, kind="events_v2")

    with pytest.raises(Conflict, match="already has an integration 'events_v2'"):
        catalog.add_integration(ctx, SYSTEM, service, kind="events_v2")
    catalog.add_integration(ctx, SYSTEM, service, kind="events_v2", name="second")
    catalog.add_integration(ctx, SYSTEM, "billing", kind="events_v2")

    assert count(ctx, Integration) == 3


@pytest.mark.parametrize(
    ("service_name", "kind", "name", "error", "message"),
    [
        ("nope", "events_v2", "", NotFound, "no service named 'nope'"),
        ("checkout", "pagerduty", "", InvalidInput,
         "integration kind must be one of alertmanager, events_v2, grafana, generic"),
        ("checkout", "generic", "x" * 201, InvalidInput,
         "an integration name of 1 to 200 characters is required"),
    ],
)  # fmt: skip
def test_an_integration_that_cannot_be_made_is_refused(
    ctx: Context,
    service: str,
    service_name: str,
    kind: str,
    name: str,
    error: type[TocsinError],
    message: str,
) -> None:
    with pytest.raises(error) as refused:
        catalog.add_integration(ctx, SYSTEM, service_name, kind=kind, name=name)

    assert refused.value.detail == message
    assert count(ctx, Integration) == 0


def test_a_disabled_integration_is_refused_at_once_though_remembered(
    ctx: Context, service: str
) -> None:
    new = catalog.add_integration(ctx, SYSTEM, service, kind="events_v2")
    integrations.authenticate(ctx, new.key, "events_v2")

    disabled = catalog.disable_integration(ctx, SYSTEM, service, "events_v2")
    again = catalog.disable_integration(ctx, SYSTEM, service, "events_v2")

    assert disabled.disabled
    assert again.disabled
    with pytest.raises(Unauthenticated, match="disabled"):
        integrations.authenticate(ctx, new.key, "events_v2")
    assert audit_actions(ctx).count("integration.disable") == 1


def test_a_rotated_key_replaces_the_old_one_at_once(ctx: Context, service: str) -> None:
    new = catalog.add_integration(ctx, SYSTEM, service, kind="generic", name="cron")
    integrations.authenticate(ctx, new.key, "generic")

    rotated = catalog.rotate_key(ctx, SYSTEM, service, "cron")

    assert rotated.key != new.key
    assert rotated.integration.id == new.integration.id
    with pytest.raises(Unauthenticated, match="unknown integration key"):
        integrations.authenticate(ctx, new.key, "generic")
    assert integrations.authenticate(ctx, rotated.key, "generic").name == "cron"
    with ctx.db.read() as session:
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "integration.rotate_key")
        ).one()
    assert record.detail["old_key_prefix"] == new.key[:6]
    assert record.detail["key_prefix"] == rotated.key[:6]


def test_disable_and_rotate_name_what_they_cannot_find(
    ctx: Context, service: str
) -> None:
    with pytest.raises(NotFound, match="service 'checkout' has no integration 'x'"):
        catalog.disable_integration(ctx, SYSTEM, service, "x")
    with pytest.raises(NotFound, match="no service named 'nope'"):
        catalog.rotate_key(ctx, SYSTEM, "nope", "x")


def test_loading_the_demo_again_never_revives_a_rotated_key(ctx: Context) -> None:
    first = demo.load(ctx)
    catalog.rotate_key(ctx, SYSTEM, demo.SERVICE, "demo events_v2")

    again = demo.load(ctx)

    assert again.rotated == ("events_v2",)
    assert "events_v2" not in again.keys
    assert again.keys["alertmanager"] == first.keys["alertmanager"]
    with pytest.raises(Unauthenticated):
        integrations.authenticate(ctx, first.keys["events_v2"], "events_v2")
    assert len(catalog.get_service(ctx, demo.SERVICE).integrations) == 4
