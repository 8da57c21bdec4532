"""Schema migrations, run in-process so an installed Tocsin needs no alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from tocsin.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema to `revision`, in one transaction where the backend can."""
    config = alembic_config(database)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current(database: Database) -> str | None:
    """The revision the schema is at; None for a database never migrated."""
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head(database: Database) -> str:
    """The newest revision this Tocsin knows."""
    head = ScriptDirectory.from_config(alembic_config(database)).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found: is the package installed whole?")
    return head


def is_known(database: Database, revision: str) -> bool:
    """Whether `revision` is one of this Tocsin's migrations."""
    script = ScriptDirectory.from_config(alembic_config(database))
    return revision in {known.revision for known in script.walk_revisions()}


def is_downgrade(database: Database, revision: str, current: str | None) -> bool:
    """Whether `revision` lies below `current`, where an upgrade does nothing.

    A relative revision counting down (`-1`, `head-1`) always does. Raises
    alembic's CommandError for a revision it cannot resolve."""
    # Alembic counts relative revisions with + and -; revision ids have neither.
    if "-" in revision:
        return True
    if current is None or "+" in revision:
        return False

    script = ScriptDirectory.from_config(alembic_config(database))
    targets = script.get_revisions(revision)
    below = {known.revision for known in script.iterate_revisions(current, "base")}
    below.discard(current)
    return not targets or all(target.revision in below for target in targets)


def downgrade(database: Database, revision: str) -> None:
    config = alembic_config(database)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def revision(database: Database, message: str) -> None:
    """Autogenerate a migration from the models (for developers)."""
    config = alembic_config(database)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
