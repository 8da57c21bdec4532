"""`tocsin ai ...`: training with progress, evaluation with a confusion
matrix, suggestions, similar incidents and the report; refusals as one
`error:` line."""

from __future__ import annotations

import pytest

from tests.builders import make_integration, make_service, make_user, trigger
from tests.cli.conftest import Run
from tocsin.domain.access import SYSTEM
from tocsin.services import alerts, incidents
from tocsin.services.context import Context


@pytest.fixture
def setup(ctx: Context) -> None:
    make_user(ctx, "ann@example.com", teams=("Ops",), password=None)
    make_service(ctx, "checkout", team="Ops")


def _open(ctx: Context, title: str, key: str) -> int:
    integration, _ = make_integration(ctx, "checkout", "alertmanager")
    [outcome] = alerts.ingest(ctx, integration, [trigger(key, title)])
    assert outcome.incident_number is not None
    return outcome.incident_number


def test_train_then_suggest(tocsin: Run, setup: None) -> None:
    """Training says what it learned from; a suggestion names value,
    confidence, source and reasons."""
    trained = tocsin("ai", "train")
    suggested = tocsin("ai", "suggest", "--title", "cart is down for every customer")

    assert trained.exit_code == 0, trained.output
    assert "synthetic, 2000 examples (0 resolved incidents)" in trained.stdout
    assert suggested.exit_code == 0, suggested.output
    assert "severity: sev1" in suggested.stdout
    assert "synthetic) because mentions" in suggested.stdout


def test_evaluate_prints_scores_and_confusion_matrices(
    tocsin: Run, setup: None
) -> None:
    """Both the model and the rules get accuracy, macro-F1 and a matrix."""
    result = tocsin("ai", "evaluate", "--field", "severity")

    assert result.exit_code == 0, result.output
    assert "severity on synthetic data: trained on 1500, held out 500" in result.stdout
    assert result.stdout.count("macro-F1") == 2
    assert "rules (rows: answers)" in result.stdout


def test_evaluate_refuses_a_negative_seed(tocsin: Run, setup: None) -> None:
    result = tocsin("ai", "evaluate", "--seed", "-1")

    assert result.exit_code == 1
    assert "error: seed must be 0 or more" in result.stderr


def test_similar_lists_resolved_incidents(
    tocsin: Run, ctx: Context, setup: None
) -> None:
    """A resolved incident about the same thing is listed; an unrelated one
    is not."""
    old = _open(ctx, "Primary database connection pool exhausted", "a")
    other = _open(ctx, "Typo on the pricing page", "b")
    incidents.resolve(ctx, SYSTEM, old)
    incidents.resolve(ctx, SYSTEM, other)
    new = _open(ctx, "database connection pool exhausted again", "c")

    result = tocsin("ai", "similar", str(new))

    assert result.exit_code == 0, result.output
    assert f"#{old} " in result.stdout
    assert f"#{other} " not in result.stdout


def test_report_and_refusals(tocsin: Run, setup: None) -> None:
    """The report prints a table; a bad field or an unknown incident is one
    error line and exit 1."""
    assert tocsin("ai", "report").exit_code == 0

    for args, fragment in (
        (("ai", "evaluate", "--field", "colour"), "field must be one of"),
        (("ai", "similar", "99"), "no incident #99"),
        (("ai", "train", "--as", "ann@example.com"), "error: "),
    ):
        result = tocsin(*args)
        assert result.exit_code == 1
        assert result.stderr.startswith("error: ")
        assert fragment in result.stderr


def test_report_names_the_model_in_use(tocsin: Run, setup: None) -> None:
    """Before training the report says the rules answer; after, it names the
    synthetic set, when it was trained and on how many examples."""
    before = tocsin("ai", "report")
    assert tocsin("ai", "train").exit_code == 0
    after = tocsin("ai", "report")

    assert before.exit_code == 0, before.output
    assert "suggestions come from the rules (no model trained yet)" in before.stdout
    assert after.exit_code == 0, after.output
    assert "suggestions come from the synthetic set (and 0 resolved" in after.stdout
    assert "on 2000 examples; the rules suggest the owning service" in " ".join(
        after.stdout.split()
    )


def test_draft_prints_the_text_and_its_source(
    tocsin: Run, ctx: Context, setup: None
) -> None:
    """The draft is printed with where it came from; a bad kind is refused."""
    number = _open(ctx, "Checkout is slow", "d")

    result = tocsin("ai", "draft", str(number), "--kind", "postmortem")
    refused = tocsin("ai", "draft", str(number), "--kind", "poem")

    assert result.exit_code == 0, result.output
    assert "Postmortem summary" in result.stdout
    assert "(template)" in result.stdout
    assert refused.exit_code == 1
    assert "kind must be one of" in refused.stderr


def test_a_draft_keeps_its_lines_whatever_the_terminal_width(
    tocsin: Run, ctx: Context, setup: None
) -> None:
    """A draft is text to paste and edit: a long line is printed whole, not
    cut into two at the terminal's width."""
    title = "Checkout is slow for " + "every customer in every region " * 4
    number = _open(ctx, title.strip(), "wide")

    result = tocsin("ai", "draft", str(number), "--kind", "update")

    assert result.exit_code == 0, result.output
    assert f"Update on incident #{number}: {title.strip()}\n" in result.stdout
