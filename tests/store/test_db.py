"""Database.read_once: the rows SQLAlchemy would return, whether the statement
runs on the driver's bare cursor or, when its values need converting, through
SQLAlchemy."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, insert, select

from tocsin.store.db import Database, table_of
from tocsin.store.models import Counter, Team

COUNTERS = table_of(Counter)
TEAMS = table_of(Team)
CREATED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

BY_NAME = select(COUNTERS.c.name, COUNTERS.c.value).where(
    COUNTERS.c.name == bindparam("name"), COUNTERS.c.value > 0
)
BY_NAMES = (
    select(COUNTERS.c.name, COUNTERS.c.value)
    .where(COUNTERS.c.name.in_(bindparam("names", expanding=True)))
    .order_by(COUNTERS.c.name)
)
TEAM_CREATED = select(TEAMS.c.name, TEAMS.c.created_at).where(
    TEAMS.c.name == bindparam("name")
)


def store(db: Database) -> None:
    with db.write() as session:
        session.execute(
            insert(COUNTERS), [{"name": "a", "value": 1}, {"name": "b", "value": 2}]
        )
        session.execute(insert(TEAMS).values(name="Ops", created_at=CREATED))


def test_a_plain_statement_reads_what_sqlalchemy_reads(db: Database) -> None:
    store(db)

    rows = db.read_once(BY_NAME, {"name": "b"})

    with db.engine.connect() as connection:
        expected = list(connection.execute(BY_NAME, {"name": "b"}))
    assert rows == expected == [("b", 2)]
    assert db.read_once(BY_NAME, {"name": "missing"}) == []


def test_a_list_parameter_goes_through_sqlalchemy(db: Database) -> None:
    store(db)

    assert db.read_once(BY_NAMES, {"names": ["b", "a", "c"]}) == [("a", 1), ("b", 2)]


def test_a_column_that_needs_converting_comes_back_converted(db: Database) -> None:
    store(db)

    [(name, created)] = db.read_once(TEAM_CREATED, {"name": "Ops"})

    assert name == "Ops"
    assert created == CREATED
    assert created.tzinfo is not None


def test_each_read_sees_what_was_committed_before_it(db: Database) -> None:
    store(db)
    assert db.read_once(BY_NAME, {"name": "c"}) == []

    with db.write() as session:
        session.execute(insert(COUNTERS).values(name="c", value=3))

    assert db.read_once(BY_NAME, {"name": "c"}) == [("c", 3)]
