"""The README documents every setting and every CLI command."""

from __future__ import annotations

from pathlib import Path

import typer.main

from tocsin.cli import app
from tocsin.config import Settings

README = (Path(__file__).parent.parent / "README.md").read_text()


def command_paths(group: object, prefix: str = "tocsin") -> list[str]:
    paths = []
    for name, command in getattr(group, "commands", {}).items():
        path = f"{prefix} {name}"
        if hasattr(command, "commands"):
            paths.extend(command_paths(command, path))
        else:
            paths.append(path)
    return paths


def test_every_setting_is_in_the_configuration_table() -> None:
    missing = [
        name
        for name in Settings.model_fields
        if f"`TOCSIN_{name.upper()}`" not in README
    ]
    assert missing == []


def test_every_cli_command_is_in_the_readme() -> None:
    commands = command_paths(typer.main.get_command(app))

    assert "tocsin serve" in commands
    assert [c for c in commands if f"`{c}" not in README] == []
