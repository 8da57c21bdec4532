"""`tocsin team|policy|service|integration`: a service set up from the shell
pages the right person for a real Events v2 trigger, keys are printed once with
a snippet that works, and every refusal is one line on stderr with nothing
written."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import Result

from tests.cli.conftest import Run
from tocsin.app import create_app
from tocsin.services.context import Context
from tocsin.store.models import (
    AuditRecord,
    EscalationPolicy,
    Integration,
    OutboxMessage,
    Service,
    Team,
)

BASE_URL = "https://tocsin.example.com"
# What a refused command must leave as it was.
TABLES = (Team, EscalationPolicy, Service, Integration, AuditRecord)


@pytest.fixture
def tocsin_at(tocsin: Run, monkeypatch: pytest.MonkeyPatch) -> Run:
    """`tocsin` with a public base URL of its own, as the snippets show it."""
    monkeypatch.setenv("TOCSIN_BASE_URL", BASE_URL)
    return tocsin


@pytest.fixture
def people(tocsin: Run) -> None:
    for email, name in (
        ("alice@example.com", "Alice"),
        ("bob@example.com", "Bob"),
        ("carol@example.com", "Carol"),
    ):
        ok(tocsin("user", "add", email, "--name", name))


@pytest.fixture
def checkout(tocsin: Run, people: None) -> str:
    """Team Payments, policy `Payments default` (Alice and Bob, then Carol) and
    the service `checkout` paging through it."""
    ok(tocsin("team", "add", "Payments"))
    ok(
        tocsin(
            "policy", "add", "Payments default", "--team", "Payments",
            "--step", "5:alice@example.com,bob@example.com",
            "--step", "10:carol@example.com", "--repeat", "1",
        )
    )  # fmt: skip
    ok(
        tocsin(
            "service", "add", "checkout", "--team", "Payments",
            "--policy", "Payments default", "--description", "Card payments",
        )
    )  # fmt: skip
    return "checkout"


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def refused(result: Result, message: str) -> None:
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"error: {message}\n"


def printed_key(result: Result) -> str:
    [key] = re.findall(r"^key ([0-9a-f]{32})$", result.stdout, re.MULTILINE)
    return key


def curl_body(result: Result) -> dict[str, object]:
    """The JSON a printed curl line sends."""
    [body] = re.findall(r"-d '(.*?)'", result.stdout, re.DOTALL)
    loaded: dict[str, object] = json.loads(body)
    return loaded


def count(ctx: Context, model: type[object]) -> int:
    with ctx.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_service_set_up_from_the_shell_pages_its_first_step(
    tocsin_at: Run, ctx: Context, checkout: str
) -> None:
    added = ok(tocsin_at("integration", "add", checkout, "--kind", "events_v2"))
    key = printed_key(added)
    body = curl_body(added)
    assert body["routing_key"] == key
    assert f"curl -sS {BASE_URL}/v2/enqueue" in added.stdout

    with TestClient(create_app(ctx)) as client:
        response = client.post("/v2/enqueue", json=body)

    assert response.status_code == 202, response.text
    with ctx.db.read() as session:
        paged = sorted(session.scalars(select(OutboxMessage.recipient)))
    assert paged == ["alice@example.com", "bob@example.com"]


def test_the_alertmanager_snippet_is_a_receiver_with_the_key(
    tocsin_at: Run, checkout: str
) -> None:
    added = ok(tocsin_at("integration", "add", checkout, "--kind", "alertmanager"))

    yaml_text = added.stdout.split("In alertmanager.yml:\n", 1)[1]
    config = yaml.safe_load(yaml_text)
    [receiver] = config["receivers"]
    [webhook] = receiver["webhook_configs"]
    assert config["route"]["receiver"] == receiver["name"]
    assert webhook["url"] == f"{BASE_URL}/api/v1/intake/alertmanager"
    assert webhook["http_config"]["authorization"]["credentials"] == (
        printed_key(added)
    )


@pytest.mark.parametrize(
    ("kind", "path"),
    [("grafana", "/api/v1/intake/grafana/"), ("generic", "/api/v1/intake/generic")],
)
def test_grafana_and_generic_snippets_name_their_endpoint(
    tocsin_at: Run, checkout: str, kind: str, path: str
) -> None:
    added = ok(tocsin_at("integration", "add", checkout, "--kind", kind))

    assert f"{BASE_URL}{path}" in added.stdout
    assert added.stdout.count(printed_key(added)) == 2


def test_the_generic_snippet_is_accepted_by_the_generic_endpoint(
    tocsin: Run, ctx: Context, checkout: str
) -> None:
    added = ok(tocsin("integration", "add", checkout, "--kind", "generic"))

    with TestClient(create_app(ctx)) as client:
        response = client.post(
            "/api/v1/intake/generic",
            json=curl_body(added),
            headers={"Authorization": f"Bearer {printed_key(added)}"},
        )

    assert response.status_code == 200, response.text
    assert response.json()["outcomes"][0]["result"] == "created"


def test_lists_and_shows_name_what_was_set_up(
    tocsin: Run, ctx: Context, checkout: str
) -> None:
    key = printed_key(ok(tocsin("integration", "add", checkout, "--kind", "grafana")))

    teams = ok(tocsin("team", "list")).stdout
    policies = ok(tocsin("policy", "list")).stdout
    policy = ok(tocsin("policy", "show", "Payments default")).stdout
    services = ok(tocsin("service", "list")).stdout
    service = ok(tocsin("service", "show", checkout)).stdout

    assert re.search(r"Payments\s*│\s*0\s*│\s*1", teams)
    assert re.search(r"Payments default\s*│\s*Payments\s*│\s*2\s*│\s*1", policies)
    assert "Alice <alice@example.com>, Bob <bob@example.com>" in policy
    assert re.search(r"step 2\s+Carol <carol@example.com>\s+then waits 10 min", policy)
    assert "the steps run 2 times" in policy
    assert re.search(r"checkout\s*│\s*Payments\s*│\s*Payments default", services)
    assert "Card payments" in service
    assert f"{key[:6]}..." in service
    assert key not in service


def test_a_user_name_with_terminal_escapes_is_refused(
    tocsin: Run, ctx: Context
) -> None:
    """A name reaches terminals and mail subjects: escapes never get in."""
    refused(
        tocsin("user", "add", "eve@example.com", "--name", "Eve\x1b[2J\x1b]0;x\x07"),
        "a name cannot contain control characters",
    )

    assert ok(tocsin("policy", "list")).stdout.count("eve") == 0


def test_user_add_refuses_a_team_that_does_not_exist(tocsin: Run, ctx: Context) -> None:
    refused(
        tocsin("user", "add", "eve@example.com", "--name", "Eve", "--team", "Typo"),
        "no team named 'Typo'; create it with `tocsin team add`",
    )


def test_a_service_with_no_policy_says_it_pages_nobody(
    tocsin: Run, ctx: Context
) -> None:
    ok(tocsin("team", "add", "Ops"))

    added = ok(tocsin("service", "add", "batch", "--team", "Ops", "--no-auto-resolve"))
    shown = ok(tocsin("service", "show", "batch")).stdout

    assert "its incidents page nobody" in added.stdout
    assert "its incidents page nobody" in shown
    assert re.search(r"auto-resolve\s+no", shown)


def test_set_policy_switches_the_policy(
    tocsin: Run, ctx: Context, checkout: str
) -> None:
    ok(
        tocsin(
            "policy", "add", "Carol only", "--team", "Payments",
            "--step", "0:carol@example.com",
        )
    )  # fmt: skip

    result = ok(tocsin("service", "set-policy", checkout, "Carol only"))

    assert result.stdout == "service checkout pages through Carol only\n"
    with ctx.db.read() as session:
        policy = session.scalars(
            select(EscalationPolicy.name)
            .join(Service, Service.escalation_policy_id == EscalationPolicy.id)
            .where(Service.name == checkout)
        ).one()
    assert policy == "Carol only"


def test_a_disabled_integration_key_is_refused(
    tocsin: Run, ctx: Context, checkout: str
) -> None:
    added = ok(tocsin("integration", "add", checkout, "--kind", "events_v2"))

    result = ok(tocsin("integration", "disable", checkout, "events_v2"))

    assert result.stdout == "integration events_v2 of service checkout is disabled\n"
    with TestClient(create_app(ctx)) as client:
        response = client.post("/v2/enqueue", json=curl_body(added))
    assert response.status_code == 401


@pytest.mark.parametrize("command", ["disable", "rotate"])
def test_disable_and_rotate_say_when_other_processes_follow(
    tocsin: Run, command: str
) -> None:
    result = ok(tocsin("integration", command, "--help"))

    words = " ".join(result.stdout.split())
    assert "at once in this process" in words
    assert "drops it within 5 seconds" in words


def test_a_rotated_key_replaces_the_printed_one(
    tocsin: Run, ctx: Context, checkout: str
) -> None:
    added = ok(tocsin("integration", "add", checkout, "--kind", "events_v2"))

    rotated = ok(tocsin("integration", "rotate", checkout, "events_v2"))

    old, new = printed_key(added), printed_key(rotated)
    assert old != new
    with TestClient(create_app(ctx)) as client:
        refused_old = client.post("/v2/enqueue", json=curl_body(added))
        accepted_new = client.post("/v2/enqueue", json=curl_body(rotated))
    assert refused_old.status_code == 401
    assert accepted_new.status_code == 202
    assert count(ctx, Integration) == 1


def test_writes_are_audited_as_the_operator(
    tocsin: Run, ctx: Context, checkout: str
) -> None:
    ok(tocsin("integration", "add", checkout, "--kind", "events_v2"))

    with ctx.db.read() as session:
        records = session.execute(
            select(AuditRecord.action, AuditRecord.actor_label)
            .where(AuditRecord.action.not_in(["user.create"]))
            .order_by(AuditRecord.id)
        ).all()
    assert [tuple(r) for r in records] == [
        ("team.create", "cli"),
        ("escalation_policy.create", "cli"),
        ("service.create", "cli"),
        ("integration.create", "cli"),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("team", "add", "Payments"), "a team named 'Payments' already exists"),
        (("team", "add", "x" * 201), "a team name of 1 to 200 characters is required"),
        (("team", "add", "Pay\x00"),
         "a team name cannot hold NUL or other control characters"),
        (("policy", "add", "p", "--team", "Nobody", "--step", "5:alice@example.com"),
         "no team named 'Nobody'"),
        (("policy", "add", "p", "--team", "Payments", "--step", "5:who@example.com"),
         "no user with email who@example.com"),
        (("policy", "add", "p", "--team", "Payments", "--step", "alice@example.com"),
         "a step is DELAY_MINUTES:EMAIL[,EMAIL...], not 'alice@example.com'"),
        (("policy", "add", "p", "--team", "Payments", "--step", "5:alice@example.com",
          "--repeat", "10"), "repeat must be between 0 and 9"),
        (("policy", "add", "Payments default", "--team", "Payments",
          "--step", "5:alice@example.com"),
         "an escalation policy named 'Payments default' already exists"),
        (("policy", "show", "nope"), "no escalation policy named 'nope'"),
        (("service", "add", "checkout", "--team", "Payments"),
         "a service named 'checkout' already exists"),
        (("service", "add", "billing", "--team", "Payments", "--policy", "nope"),
         "no escalation policy named 'nope'"),
        (("service", "add", "bill\x00", "--team", "Payments"),
         "a service name cannot hold NUL or other control characters"),
        (("service", "show", "nope"), "no service named 'nope'"),
        (("service", "set-policy", "checkout", "nope"),
         "no escalation policy named 'nope'"),
        (("integration", "add", "nope", "--kind", "events_v2"),
         "no service named 'nope'"),
        (("integration", "add", "checkout", "--kind", "nagios"),
         "integration kind must be one of alertmanager, events_v2, grafana, generic"),
        (("integration", "disable", "checkout", "nope"),
         "service 'checkout' has no integration 'nope'"),
        (("integration", "rotate", "checkout", "nope"),
         "service 'checkout' has no integration 'nope'"),
    ],
)  # fmt: skip
def test_a_refusal_is_one_line_and_writes_nothing(
    tocsin: Run, ctx: Context, checkout: str, args: tuple[str, ...], message: str
) -> None:
    before = [count(ctx, m) for m in TABLES]

    refused(tocsin(*args), message)

    after = [count(ctx, m) for m in TABLES]
    assert after == before
