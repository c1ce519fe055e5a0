"""The database threads: a write awaited alone is its own transaction, writes queued together share one;
a read of one statement needs no transaction around it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from docstore import ErrorCode, PersistenceError
from docstore._sqlite._database import Database, connect


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    path = tmp_path / "writer.sqlite3"
    connection = connect(path)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("CREATE TABLE t (v INTEGER UNIQUE)")
    db = Database(path)
    db.start(connection)
    yield db
    await asyncio.to_thread(db.close)


def statements(database: Database) -> list[str]:
    seen: list[str] = []
    assert database._writer_connection is not None
    database._writer_connection.set_trace_callback(seen.append)
    return seen


async def values(database: Database) -> list[int]:
    return await database.read(lambda c: [row[0] for row in c.execute("SELECT v FROM t ORDER BY v")])


async def test_a_write_awaited_alone_is_one_transaction_without_savepoints(database: Database) -> None:
    seen = statements(database)
    await database.write(lambda c: c.execute("INSERT INTO t VALUES (1)"))
    assert seen == ["BEGIN IMMEDIATE", "INSERT INTO t VALUES (1)", "COMMIT"]


async def test_a_failing_write_alone_leaves_nothing_and_the_writer_goes_on(database: Database) -> None:
    def half_then_fail(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO t VALUES (2)")
        connection.execute("INSERT INTO t VALUES (2)")  # the unique index refuses it

    with pytest.raises(PersistenceError) as raised:
        await database.write(half_then_fail)
    assert raised.value.code is ErrorCode.STORAGE_ERROR or raised.value.code is ErrorCode.ALREADY_EXISTS
    assert await values(database) == []
    await database.write(lambda c: c.execute("INSERT INTO t VALUES (3)"))
    assert await values(database) == [3]


async def test_writes_queued_together_fail_alone(database: Database) -> None:
    def fail(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO t VALUES (10)")
        raise ValueError("this write fails")

    def insert(value: int) -> Callable[[sqlite3.Connection], object]:
        return lambda connection: connection.execute(f"INSERT INTO t VALUES ({value})")

    writes = [database.write(insert(value)) for value in (11, 12)]
    outcomes = await asyncio.gather(writes[0], database.write(fail), writes[1], return_exceptions=True)
    assert isinstance(outcomes[1], PersistenceError)
    assert not isinstance(outcomes[0], BaseException) and not isinstance(outcomes[2], BaseException)
    assert await values(database) == [11, 12]


async def test_a_one_statement_read_skips_the_transaction_around_it(database: Database) -> None:
    await database.write(lambda c: c.execute("INSERT INTO t VALUES (7)"))
    assert await database.read(lambda c: c.in_transaction) is True  # several statements: one snapshot
    assert await database.read(lambda c: c.in_transaction, one_statement=True) is False  # SQLite's own
    assert await database.read(lambda c: c.execute("SELECT v FROM t").fetchall(), one_statement=True) == [(7,)]


async def test_a_write_of_one_statement_alone_is_sqlite_s_own_transaction(database: Database) -> None:
    seen = statements(database)
    await database.write(lambda c: c.execute("INSERT INTO t VALUES (21)"), one_statement=True)
    assert seen == ["INSERT INTO t VALUES (21)"]  # autocommit: committed (and synced) by itself
    assert await values(database) == [21]
    with pytest.raises(PersistenceError):
        await database.write(lambda c: c.execute("INSERT INTO t VALUES (21)"), one_statement=True)
    assert await values(database) == [21]
    assert database._writer_connection is not None and not database._writer_connection.in_transaction
