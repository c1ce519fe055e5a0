"""How the feed's log numbers its changes, in a store of before and in a new one.

A store written by the release before (schema 2) numbers changes with AUTOINCREMENT, and
that release reads the feed's head from ``sqlite_sequence``. ``fixtures/v2-store`` was
written by that release itself (``fixtures/make_v2_store.py``, run from a worktree of
0683afd); ``fixtures/v2-store.expected.json`` holds every document as it read them back,
a feed position it handed out and the changes its feed delivered after that position.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from docstore import CodeRevision, ErrorCode, PersistenceError, Session, open_store
from docstore._sqlite import _files
from docstore._sqlite._feed import trim_changes

from .helpers import DATABASE_FILE

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED: dict[str, Any] = json.loads((FIXTURES / "v2-store.expected.json").read_text())


@pytest.fixture
def v2_store(tmp_path: Path) -> Path:
    """A copy of the fixture whose changes are dated now: the log keeps changes ``RETENTION_S``
    (an hour), so left at the date the fixture was written, an open would trim them all and
    the position of before would be EXPIRED, as the release before would also say."""
    copy = tmp_path / "v2"
    shutil.copytree(FIXTURES / "v2-store", copy)
    connection = sqlite3.connect(copy / DATABASE_FILE)
    try:
        with connection:
            connection.execute("UPDATE changes SET at = (julianday('now') - 2440587.5) * 86400.0")
    finally:
        connection.close()
    return copy


def _schema(directory: Path) -> tuple[int, str]:
    """The file's ``user_version`` and how its ``changes`` table is declared."""
    connection = sqlite3.connect(f"file:{directory / DATABASE_FILE}?mode=ro", uri=True)
    try:
        version: int = connection.execute("PRAGMA user_version").fetchone()[0]
        sql: str = connection.execute("SELECT sql FROM sqlite_master WHERE name = 'changes'").fetchone()[0]
        return version, sql
    finally:
        connection.close()


def _change(change: Any) -> list[Any]:
    return [change.kind, change.student_id, None if change.revision is None else change.revision.id]


async def test_a_store_of_before_opens_with_every_document(v2_store: Path) -> None:
    async with open_store(f"local://{v2_store}") as root:
        documents = {
            name: [document async for document in root.documents.iter_documents(name)]
            for name in sorted(await root.documents.collection_names())
        }
    assert json.loads(json.dumps(documents, default=str, sort_keys=True)) == EXPECTED["documents"]


async def test_a_feed_position_of_before_resumes_without_loss(v2_store: Path) -> None:
    session_id = EXPECTED["session"]
    async with open_store(f"local://{v2_store}") as root:
        store = root.for_namespace("default")
        async with store.sessions.watch(session_id, after=EXPECTED["position"]) as feed:
            delivered = [_change(await asyncio.wait_for(anext(feed), 10)) for _ in EXPECTED["after"]]
            assert delivered == EXPECTED["after"]
            # What this release writes comes next, after everything of before.
            new_id = await store.revisions.save_revision(CodeRevision(session_id=session_id, student_id="bo", code="2"))
            assert _change(await asyncio.wait_for(anext(feed), 10)) == ["revision_saved", "bo", new_id]


async def test_a_store_of_before_keeps_its_numbering_so_its_release_still_reads_it(v2_store: Path) -> None:
    """Not converted: a process of the release before, still running or started later, reads
    the head from ``sqlite_sequence`` and would misread a log numbered otherwise."""
    async with open_store(f"local://{v2_store}") as root:
        await root.revisions.save_revision(CodeRevision(session_id=EXPECTED["session"], student_id="bo", code="3"))
    version, sql = _schema(v2_store)
    assert version == 2
    assert "AUTOINCREMENT" in sql
    connection = sqlite3.connect(v2_store / DATABASE_FILE)
    try:
        head = connection.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()[0]
        assert head == connection.execute("SELECT max(seq) FROM changes").fetchone()[0]
    finally:
        connection.close()


async def test_a_new_store_numbers_its_changes_without_autoincrement(tmp_path: Path) -> None:
    """AUTOINCREMENT rewrote its ``sqlite_sequence`` row on every write: a B-tree page more a save."""
    async with open_store(f"local://{tmp_path}") as store:
        await store.revisions.save_revision(CodeRevision(session_id="s", student_id="a", code="x"))
    version, sql = _schema(tmp_path)
    assert version == 3
    assert "AUTOINCREMENT" not in sql
    connection = sqlite3.connect(tmp_path / DATABASE_FILE)
    try:
        assert connection.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone() is None
    finally:
        connection.close()


async def test_the_release_before_refuses_a_new_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It reads the head from ``sqlite_sequence``: it must never run on a log numbered otherwise.
    (Its own check, run here as it is in that release: the newest schema it knows is 2.)"""
    async with open_store(f"local://{tmp_path}") as store:
        await store.revisions.save_revision(CodeRevision(session_id="s", student_id="a", code="x"))
    monkeypatch.setattr(_files, "SCHEMA_VERSION", 2)
    with pytest.raises(PersistenceError) as refused:
        async with open_store(f"local://{tmp_path}"):
            pass
    assert refused.value.code is ErrorCode.STORAGE_ERROR
    assert "written by a newer docstore (schema 3, this one knows 2)" in refused.value.message


async def test_numbers_only_grow_across_a_trim_that_takes_every_change(tmp_path: Path) -> None:
    url = f"local://{tmp_path}"
    async with open_store(url) as store:
        session_id = await store.sessions.create_session(Session(join_code="TRIM03"))
        async with store.sessions.watch(session_id) as feed:
            await store.revisions.save_revision(CodeRevision(session_id=session_id, student_id="a", code="1"))
            position = (await asyncio.wait_for(anext(feed), 10)).position
    connection = sqlite3.connect(tmp_path / DATABASE_FILE, isolation_level=None)
    try:
        head = connection.execute("SELECT max(seq) FROM changes").fetchone()[0]
        connection.execute("BEGIN IMMEDIATE")
        assert trim_changes(connection, max_changes=0, retention_s=0) == head
        connection.execute("COMMIT")
        assert connection.execute("SELECT count(*) FROM changes").fetchone()[0] == 0
    finally:
        connection.close()
    async with open_store(url) as store, store.sessions.watch(session_id, after=position) as feed:
        new_id = await store.revisions.save_revision(CodeRevision(session_id=session_id, student_id="a", code="2"))
        assert _change(await asyncio.wait_for(anext(feed), 10)) == ["revision_saved", "a", new_id]
        assert int(await asyncio.to_thread(_newest, tmp_path)) == head + 1


def _newest(directory: Path) -> int:
    connection = sqlite3.connect(directory / DATABASE_FILE)
    try:
        newest: int = connection.execute("SELECT max(seq) FROM changes").fetchone()[0]
        return newest
    finally:
        connection.close()
