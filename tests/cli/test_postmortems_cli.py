"""`tocsin postmortem` and `tocsin action-item`: starting, editing and
exporting a postmortem and tracking its action items from a shell."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.builders import make_integration, make_service, make_user, trigger
from tests.cli.conftest import Run
from tocsin.services import alerts
from tocsin.services.context import Context


@pytest.fixture
def number(ctx: Context) -> int:
    make_user(ctx, "ann@example.com", teams=("Ops",), password=None)
    make_user(ctx, "vera@example.com", role="viewer", teams=("Ops",), password=None)
    make_service(ctx, "checkout", team="Ops")
    integration, _ = make_integration(ctx, "checkout")
    [outcome] = alerts.ingest(ctx, integration, [trigger("disk-full")])
    assert outcome.incident_number is not None
    return outcome.incident_number


def test_a_postmortem_from_the_shell(tocsin: Run, number: int, tmp_path: Path) -> None:
    """Create, edit a section from a file, set the whys, and export HTML."""
    lessons = tmp_path / "lessons.md"
    lessons.write_text("Rotate **logs** <script>x</script>", encoding="utf-8")
    out = tmp_path / "pm.html"

    created = tocsin("postmortem", "create", str(number), "--title", "Disk full")
    edited = tocsin("postmortem", "edit", "1", "lessons", "--file", str(lessons))
    whys = tocsin("postmortem", "whys", "1", "Disk filled", "No rotation")
    shown = tocsin("postmortem", "show", "1")
    exported = tocsin("postmortem", "export", "1", "--format", "html", "-o", str(out))
    listed = tocsin("postmortem", "list")

    codes = [r.exit_code for r in (created, edited, whys, shown, exported, listed)]
    assert codes == [0] * 6, [r.output for r in (created, edited, whys, exported)]
    assert "postmortem 1: Disk full" in created.stdout
    assert "2. Why? No rotation" in shown.stdout
    page = out.read_text(encoding="utf-8")
    assert "<strong>logs</strong>" in page
    assert "<script>" not in page
    assert f"#{number}" in listed.stdout


def test_action_items_from_the_shell(tocsin: Run, number: int) -> None:
    """Add an owned item, list it across incidents, and mark it done."""
    tocsin("postmortem", "create", str(number))

    added = tocsin(
        "action-item", "add", "1", "Alert on disk growth", "--kind", "detect",
        "--owner", "ann@example.com", "--due", "2026-03-09T09:00Z",
        "--tracker", "https://tracker.example/OPS-1",
    )  # fmt: skip
    listed = tocsin("action-item", "list", "--status", "pending")
    done = tocsin("action-item", "update", "1", "--status", "done")
    pending = tocsin("action-item", "list", "--status", "pending")

    assert added.exit_code == 0, added.output
    # Rich wraps cells in the runner's narrow terminal: look for whole words.
    assert "Alert" in listed.stdout
    assert "detect" in listed.stdout
    assert done.exit_code == 0
    assert "Alert" not in pending.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("postmortem", "create", "99"),
        ("postmortem", "edit", "1", "blame", "--text", "x"),
        ("postmortem", "edit", "1", "lessons"),
        ("action-item", "add", "1", "x", "--kind", "detect", "--tracker",
         "javascript:alert(1)"),
        ("action-item", "add", "1", "x", "--kind", "nope"),
        ("action-item", "add", "1", "x", "--kind", "detect", "--as",
         "vera@example.com"),
        ("postmortem", "export", "1", "--format", "docx", "-o", "x.docx"),
    ],
)  # fmt: skip
def test_refusals_are_one_error_line(
    tocsin: Run, number: int, args: tuple[str, ...]
) -> None:
    """Bad input or a viewer: exit 1 and one `error:` line."""
    tocsin("postmortem", "create", str(number))

    result = tocsin(*args)

    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1


def test_templates_from_the_shell(tocsin: Run, number: int) -> None:
    """A saved default template shapes the next draft."""
    saved = tocsin(
        "postmortem", "template", "save", "short", "--section",
        "lessons=One lesson.", "--default",
    )  # fmt: skip
    listed = tocsin("postmortem", "template", "list")
    tocsin("postmortem", "create", str(number))
    shown = tocsin("postmortem", "show", "1")

    assert saved.exit_code == 0, saved.output
    assert "short" in listed.stdout
    assert "One lesson." in shown.stdout


def test_review_from_the_shell(tocsin: Run, ctx: Context, number: int) -> None:
    """Submit to Bob, comment, approve as Bob, publish; `show` lists the review."""
    make_user(ctx, "bob@example.com", teams=("Ops",), password=None)
    tocsin("postmortem", "create", str(number))

    steps = [
        tocsin("postmortem", "submit", "1", "bob@example.com"),
        tocsin("postmortem", "comment", "1", "Looks right", "--as", "bob@example.com"),
        tocsin("postmortem", "publish", "1", "--as", "ann@example.com"),
        tocsin("postmortem", "approve", "1", "--as", "bob@example.com"),
        tocsin("postmortem", "publish", "1", "--as", "ann@example.com"),
    ]
    shown = tocsin("postmortem", "show", "1")

    assert [s.exit_code for s in steps] == [0, 0, 1, 0, 0]
    assert "waiting for approval from Bob" in steps[2].stderr
    assert "Status: published" in shown.stdout
    assert "reviewer bob@example.com approved" in shown.stdout
    assert "Looks right" in shown.stdout
