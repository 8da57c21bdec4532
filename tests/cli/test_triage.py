"""`tocsin report ...`, `tocsin incident declare|severity|priority|impact|
stage` and `tocsin triage ...`: the same services as the API, with one
`error:` line and exit 1 for every refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import Result

from tests.builders import make_service, make_user
from tests.cli.conftest import Run
from tocsin.domain.access import SYSTEM
from tocsin.services import incidents, reports, triage
from tocsin.services.context import Context
from tocsin.store.models import Incident, TimelineEntry
from tocsin.store.models.triage import DeclarationTrigger


@pytest.fixture
def setup(ctx: Context) -> None:
    make_user(ctx, "ann@example.com", teams=("Ops",), password=None)
    make_user(ctx, "vera@example.com", role="viewer", teams=("Ops",), password=None)
    make_service(ctx, "checkout", team="Ops")


def assert_refused(result: Result, fragment: str) -> None:
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert fragment in result.stderr
    assert result.stderr.count("\n") == 1


def test_declare_then_change_severity_priority_impact_and_stage(
    tocsin: Run, ctx: Context, setup: None
) -> None:
    """A declared incident's triage can be run entirely from the shell."""
    declared = tocsin(
        "incident",
        "declare",
        "--service",
        "checkout",
        "--title",
        "Checkout down",
        "--severity",
        "sev2",
        "--reason",
        "Support calls",
        "--as",
        "ann@example.com",
    )
    severity = tocsin(
        "incident",
        "severity",
        "1",
        "sev1",
        "--reason",
        "Everyone is affected",
    )
    priority = tocsin(
        "incident",
        "priority",
        "1",
        "--impact",
        "high",
        "--urgency",
        "low",
        "--reason",
        "Stable",
    )
    impact = tocsin(
        "incident",
        "impact",
        "1",
        "--customers",
        "4000",
        "--estimated",
        "--financial",
        "--affected",
        "checkout",
    )
    stage = tocsin("incident", "stage", "1", "identified", "--note", "Bad deploy")

    for result in (declared, severity, priority, impact, stage):
        assert result.exit_code == 0, result.output
    assert "incident #1 sev1 p3 triggered (identified)" in stage.stdout
    detail = incidents.get(ctx, SYSTEM, 1)
    assert detail.customers_affected == 4000
    assert detail.impact_financial is True
    with ctx.db.read() as session:
        entry = session.scalars(
            select(TimelineEntry).where(TimelineEntry.kind == "severity_changed")
        ).one()
    assert entry.actor_label == "cli"
    assert entry.data["reason"] == "Everyone is affected"

    shown = tocsin("incident", "show", "1", "--as", "ann@example.com").stdout
    facts = shown.split("Timeline")[0]
    assert "p3 (impact high, urgency low)" in facts
    assert "identified" in facts
    assert "Support calls" in facts
    assert "about 4000" in facts
    assert "financial" in facts


def test_bad_declarations_are_one_error_line(
    tocsin: Run, ctx: Context, setup: None
) -> None:
    """Unknown service or severity, and a viewer declaring: refused, nothing
    stored."""
    base = ["incident", "declare", "--title", "x", "--reason", "y"]

    assert_refused(tocsin(*base, "--service", "nope"), "no service named 'nope'")
    assert_refused(tocsin(*base, "--service", "checkout", "--severity", "sev9"), "sev9")
    assert_refused(
        tocsin(*base, "--service", "checkout", "--as", "vera@example.com"),
        "responder",
    )
    with ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 0


def test_report_add_list_and_dismiss(tocsin: Run, ctx: Context, setup: None) -> None:
    """A staff report needs --as; it is listed and can be dismissed."""
    without = tocsin("report", "add", "--title", "Slow")
    added = tocsin(
        "report",
        "add",
        "--title",
        "Search is slow",
        "--service",
        "checkout",
        "--as",
        "vera@example.com",
    )
    listed = tocsin("report", "list", "--status", "untriaged")
    dismissed = tocsin("report", "dismiss", "1", "--reason", "Known, fixing")
    again = tocsin("report", "dismiss", "1", "--reason", "Again")

    assert_refused(without, "--as EMAIL")
    assert added.exit_code == 0, added.output
    assert "report R-1 untriaged" in added.stdout
    assert "Search is slow" in listed.stdout
    assert "report R-1 dismissed" in dismissed.stdout
    assert_refused(again, "triaged already")


def test_report_declare(tocsin: Run, ctx: Context, setup: None) -> None:
    """Declaring from a report opens the incident and links it."""
    ann = make_user(ctx, "al@example.com", teams=("Ops",), password=None)
    from tests.builders import actor_of

    reports.report_as_staff(ctx, actor_of(ctx, ann), title="Payments fail")

    declared = tocsin(
        "report",
        "declare",
        "1",
        "--reason",
        "Real",
        "--service",
        "checkout",
        "--severity",
        "sev1",
    )

    assert declared.exit_code == 0, declared.output
    assert "incident #1 sev1" in declared.stdout


def test_triage_types_owners_and_triggers(
    tocsin: Run, ctx: Context, setup: None
) -> None:
    """Configuration commands store what they say and refuse bad rules."""
    assert tocsin("triage", "type", "add", "outage", "--name", "Outage").exit_code == 0
    owner = tocsin(
        "triage", "owner", "set", "--team", "Ops", "--user", "ann@example.com"
    )
    added = tocsin(
        "triage",
        "trigger",
        "add",
        "Prod DB",
        "--severity",
        "sev1",
        "--match",
        "env=prod",
        "--count",
        "3",
        "--window",
        "5",
        "--type",
        "outage",
    )
    bad = tocsin(
        "triage", "trigger", "add", "Broken", "--severity", "sev1", "--match", "env"
    )
    listed = tocsin("triage", "trigger", "list")
    owners = tocsin("triage", "owner", "list")
    types = tocsin("triage", "type", "list")

    assert owner.exit_code == 0, owner.output
    assert added.exit_code == 0, added.output
    assert_refused(bad, "matcher")
    assert "Prod DB" in listed.stdout
    assert "3 in 5 min" in listed.stdout
    assert "ann@example.com" in owners.stdout
    assert "Outage" in types.stdout
    assert tocsin("triage", "trigger", "remove", "Prod DB").exit_code == 0
    with ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(DeclarationTrigger)) == 0


def test_export_load_and_matrix_set(tocsin: Run, ctx: Context, tmp_path: Path) -> None:
    """The exported scales load back; a matrix edit that breaks the order of
    priorities is refused."""
    exported = tocsin("triage", "export")
    document = json.loads(exported.stdout)
    document["severity"][3]["description"] = "Barely noticeable"
    path = tmp_path / "scales.json"
    path.write_text(json.dumps(document))

    loaded = tocsin("triage", "load", str(path))
    good = tocsin("triage", "matrix", "set", "high", "medium", "p1")
    bad = tocsin("triage", "matrix", "set", "low", "low", "p1")
    garbage = tocsin("triage", "load", str(tmp_path / "missing.json"))

    assert loaded.exit_code == 0, loaded.output
    assert good.exit_code == 0, good.output
    assert_refused(bad, "cannot be lower")
    assert_refused(garbage, "cannot read")
    assert triage.scales(ctx).severity[3].description == "Barely noticeable"
    assert "Barely noticeable" in tocsin("triage", "show").stdout
