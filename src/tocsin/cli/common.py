"""What every command shares: the context, errors turned into messages, and text
made safe for a terminal."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.text import Text
from sqlalchemy.exc import OperationalError
from typer.core import TyperGroup

from tocsin.config import get_settings
from tocsin.errors import ConfigError, InvalidInput, TocsinError
from tocsin.services.context import Context
from tocsin.store import migrate
from tocsin.store.db import Database

console = Console()
errors = Console(stderr=True)

# C0 and C1 controls and DEL (a terminal acts on them: ESC starts a colour, a
# title change, a cursor move) and the Unicode controls that reorder what follows
# them on screen. Newlines and tabs stay: Rich lays them out itself.
_UNSAFE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 but tab and newline, DEL, C1
    r"\u200e\u200f\u202a-\u202e\u2066-\u2069]"  # direction marks and overrides
)


def printable(value: str) -> str:
    """`value` with every control character that could drive the terminal or
    reorder the line replaced by a visible escape, such as `\\x1b`."""
    return _UNSAFE.sub(_escape, value)


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def plain(value: str) -> Text:
    """Text from users or monitoring, printable and never read as Rich markup."""
    return Text(printable(value))


def context(*, migrated: bool = True, signs_links: bool = False) -> Context:
    """The context for one command.

    Raises ConfigError when the settings do not load; with `signs_links`, when no
    key signs emailed action links; with `migrated`, when the database cannot be
    reached or its schema is not the one this Tocsin expects.
    """
    settings = get_settings()
    if signs_links:
        settings.effective_secret_key()
    ctx = Context.from_settings(settings)
    if migrated:
        try:
            check_schema(ctx.db)
        except ConfigError:
            ctx.db.dispose()
            raise

    return ctx


@contextmanager
def opened() -> Iterator[Context]:
    """A context for one command, whose database connections close at its end."""
    ctx = context()
    try:
        yield ctx
    finally:
        ctx.db.dispose()


def schema_revision(database: Database) -> str | None:
    """The revision the schema is at (None if never migrated). Raises ConfigError
    when the database cannot be reached."""
    try:
        return migrate.current(database)
    except OperationalError as error:
        # Drivers explain over several indented lines; one line is enough here.
        reason = " ".join(str(error.orig).split())
        raise ConfigError(
            f"cannot open the database {_shown(database)}: {reason}"
        ) from error


def check_schema(database: Database) -> None:
    """Refuse (ConfigError) a database this Tocsin cannot work on as it is."""
    missing = _missing_sqlite_file(database)
    if missing is not None:
        raise ConfigError(
            f"no database at {missing}: run `tocsin db upgrade` to make one, or set "
            "TOCSIN_DATABASE_URL to where it is"
        )

    current = schema_revision(database)
    head = migrate.head(database)
    if current == head:
        return
    if current is None:
        raise ConfigError(
            f"the database {_shown(database)} has no schema: run `tocsin db upgrade`"
        )
    if migrate.is_known(database, current):
        raise ConfigError(
            f"the database schema is at {current}, this Tocsin needs {head}: "
            "run `tocsin db upgrade`"
        )
    raise ConfigError(
        f"the database schema is at {current}, which this Tocsin does not know: "
        "a newer Tocsin has migrated it"
    )


def ensure_sqlite_folder(database: Database) -> None:
    """Make the folder and the SQLite file, readable by their owner only."""
    path = _sqlite_path(database)
    if path is not None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # The file holds pages with working action links: only its owner may
        # read it. SQLite gives the -wal and -shm files the same mode.
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _missing_sqlite_file(database: Database) -> Path | None:
    # SQLite would create an empty file on connect, and the folder is likely
    # missing anyway when a command runs away from the checkout.
    path = _sqlite_path(database)
    if path is None or path.exists():
        return None

    return path.resolve()


def _sqlite_path(database: Database) -> Path | None:
    url = database.url
    if not database.is_sqlite or url.database in (None, "", ":memory:"):
        return None
    if url.query.get("uri") or url.database.startswith("file:"):
        return None

    return Path(url.database)


def _shown(database: Database) -> str:
    return database.url.render_as_string(hide_password=True)


def print_error(error: TocsinError) -> None:
    """One `error:` line on stderr per line of the error's detail."""
    for line in error.detail.splitlines() or [""]:
        errors.print(
            Text.assemble(("error:", "red"), " ", printable(line)),
            highlight=False,
            soft_wrap=True,
        )


@contextmanager
def reported() -> Iterator[None]:
    """Print a Tocsin error as one line on stderr and exit 1."""
    try:
        yield
    except TocsinError as error:
        print_error(error)
        raise typer.Exit(1) from error


class Commands(TyperGroup):
    """The root group: a Tocsin error from any command ends it with `error: ...`
    on stderr and exit status 1. Anything else is a bug and keeps its traceback."""

    # Typer passes the context class of the click it bundles, which it does not
    # export; the group only hands it on.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # Python hands bytes that are not UTF-8 on as lone surrogates, which
        # no database or terminal takes: refuse them before any command runs.
        for arg in args:
            try:
                arg.encode("utf-8")
            except UnicodeEncodeError as error:
                print_error(InvalidInput(f"an argument is not valid UTF-8: {arg!r}"))
                raise typer.Exit(1) from error
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        with reported():
            return super().invoke(ctx)
