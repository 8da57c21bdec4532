"""The command lists read as one summary per command."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from tocsin.cli import app


def _commands(group: typer.Typer, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [(*path, c.name or "") for c in group.registered_commands]
    for subgroup in group.registered_groups:
        if subgroup.typer_instance is not None and subgroup.name:
            found += _commands(subgroup.typer_instance, (*path, subgroup.name))
    return found


def test_every_command_has_a_one_line_summary() -> None:
    """A docstring's first paragraph spans several source lines; in the list of
    commands it must not keep those breaks, which wrapped it into ragged rows."""
    commands = _commands(app)

    assert len(commands) > 50
    for group in (app, *(g.typer_instance for g in app.registered_groups)):
        assert group is not None
        for command in group.registered_commands:
            assert command.short_help, command.name
            assert "\n" not in command.short_help, command.name


def test_the_group_list_shows_the_summary_on_unbroken_rows() -> None:
    result = CliRunner().invoke(app, ["ai", "--help"], env={"COLUMNS": "200"})

    assert result.exit_code == 0
    row = next(line for line in result.output.splitlines() if " train " in line)
    assert "it is used at once" in row
