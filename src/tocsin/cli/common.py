"""What every command shares: the context, and errors turned into messages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape

from tocsin.config import get_settings
from tocsin.errors import TocsinError
from tocsin.services.context import Context

console = Console()
errors = Console(stderr=True)


def context() -> Context:
    return Context.from_settings(get_settings())


@contextmanager
def opened() -> Iterator[Context]:
    """A context for one command, whose database connections close at its end."""
    ctx = context()
    try:
        yield ctx
    finally:
        ctx.db.dispose()


@contextmanager
def reported() -> Iterator[None]:
    """Print a Tocsin error as one line on stderr and exit 1."""
    try:
        yield
    except TocsinError as error:
        errors.print(
            f"[red]error:[/red] {escape(error.detail)}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(1) from error
