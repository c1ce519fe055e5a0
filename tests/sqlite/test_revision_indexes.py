"""local:// keeps one secondary index on revisions, and every revision query is served by it.

A save updates every index of its table: each one more is a B-tree seek and page write
per save (and a WAL frame to sync on disk). The (session, student, timestamp, id,
namespace) index answers every query the repositories and the namespace views send,
so a second one, (namespace, session), only cost writes; these tests prove both.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from docstore import CodeRevision, Session, open_store
from docstore._sqlite import _database, _files

from .helpers import DATABASE_FILE

OLD_INDEX = "revisions__ns_session"


def _indexes(directory: Path) -> set[str]:
    connection = sqlite3.connect(directory / DATABASE_FILE)
    try:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'revisions'")
        return {row[0] for row in rows if not row[0].startswith("sqlite_autoindex")}
    finally:
        connection.close()


async def test_revisions_have_one_secondary_index(tmp_path: Path) -> None:
    async with open_store(f"local://{tmp_path}") as store:
        await store.revisions.save_revision(CodeRevision(session_id="s", student_id="a", code="x"))
    assert _indexes(tmp_path) == {"revisions__session_student_timestamp"}


async def test_an_older_file_loses_the_unused_index_on_open(tmp_path: Path) -> None:
    async with open_store(f"local://{tmp_path}") as store:
        revision_id = await store.revisions.save_revision(CodeRevision(session_id="s", student_id="a", code="x"))
    connection = sqlite3.connect(tmp_path / DATABASE_FILE)
    connection.execute(f"CREATE INDEX {OLD_INDEX} ON revisions(namespace_id, session_id)")  # as the release before
    connection.close()
    assert OLD_INDEX in _indexes(tmp_path)
    async with open_store(f"local://{tmp_path}") as store:
        found = await store.revisions.get_revision(revision_id)
        assert found is not None and found.code == "x"
    assert _indexes(tmp_path) == {"revisions__session_student_timestamp"}


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement docstore's connections run, with its arguments written in."""
    seen: list[str] = []
    original = _database.connect

    def traced(path: Path) -> sqlite3.Connection:
        connection = original(path)
        connection.set_trace_callback(seen.append)
        return connection

    monkeypatch.setattr(_database, "connect", traced)  # the readers
    monkeypatch.setattr(_files, "connect", traced)  # the writer
    return seen


async def test_every_revision_query_seeks_the_one_index(tmp_path: Path, statements: list[str]) -> None:
    async with open_store(f"local://{tmp_path}") as root:
        session_id = await root.sessions.create_session(Session(join_code="PLAN01"))
        views: list[Any] = [root, root.for_namespace("default")]
        for store in views:
            revisions = store.revisions
            first = await revisions.save_revision(CodeRevision(session_id=session_id, student_id="a", code="1"))
            await revisions.save_revision(CodeRevision(session_id=session_id, student_id="a", code="1b"))
            await revisions.save_revisions([CodeRevision(session_id=session_id, student_id="b", code="2")])
            await revisions.get_revision(first)
            page = await revisions.get_revisions(session_id, "a", limit=1)
            await revisions.get_revisions(session_id, "a", limit=1, cursor=page.next_cursor, after="2020-01-01")
            await revisions.get_latest_revision(session_id, "a")
            await revisions.get_latest_revisions(session_id)
            await revisions.get_all_session_revisions(session_id)
            await revisions.count_revisions(session_id)
            await revisions.count_revisions(session_id, "a")
            await revisions.delete_revisions(session_id, "nobody")
            await revisions.delete_revisions(session_id)
        await root.sessions.delete_session(session_id)
    verbs = ("SELECT", "DELETE", "WITH")
    queries = [sql for sql in statements if " revisions" in sql and sql.split(None, 1)[0].upper() in verbs]
    assert len(queries) >= 21, queries  # 8 reads and 2 deletes per view, the cascade
    connection = sqlite3.connect(tmp_path / DATABASE_FILE)
    try:
        for sql in queries:
            plan = [row[3] for row in connection.execute("EXPLAIN QUERY PLAN " + sql)]
            on_revisions = [step for step in plan if "revisions" in step]
            assert on_revisions, (sql, plan)
            for step in on_revisions:
                # A seek of the primary key or of the one index; never a scan, never the old index.
                assert step.startswith("SEARCH revisions USING"), (sql, plan)
                assert "session_student_timestamp" in step or "(id=?)" in step, (sql, plan)
            assert not any("TEMP B-TREE" in step for step in plan), (sql, plan)
    finally:
        connection.close()
