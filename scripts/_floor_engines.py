"""The two engines ``bench_floor.py`` measures, behind one face: the floor (hand-written SQLite
with the standard library, as careful as a programmer would write it) and ``local://``.

Why apart: the engines are the fixed part of the comparison; the bench is how they are driven.
"""

from __future__ import annotations

import asyncio
import atexit
import importlib
import json
import shutil
import sqlite3
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import docstore

__all__ = ["SESSION", "STUDENTS", "Engine", "Floor", "LocalEngine", "load_before", "make_engine"]

STUDENTS = 30
SESSION = "floor-session"


# -- the floor ---------------------------------------------------------------------------
class Floor:
    """Hand-written SQLite: the fastest honest way to keep revisions durable with the stdlib."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(folder / "floor.sqlite3", isolation_level=None, check_same_thread=False)
        self.connection.execute("PRAGMA journal_mode = WAL")
        self.connection.execute("PRAGMA synchronous = FULL")
        self.connection.execute(
            "CREATE TABLE IF NOT EXISTS revisions (id TEXT PRIMARY KEY, session TEXT, student TEXT, "
            "timestamp TEXT, doc TEXT)"
        )
        self.connection.execute("CREATE INDEX IF NOT EXISTS by_stream ON revisions(session, student, timestamp)")

    async def close(self) -> None:
        await asyncio.to_thread(self.connection.close)

    def _insert(self, document: dict[str, Any]) -> None:
        # Autocommit: the INSERT is its own transaction, one commit (one sync) per save.
        row = (document["id"], document["session_id"], document["student_id"], document["timestamp"])
        self.connection.execute("INSERT INTO revisions VALUES (?, ?, ?, ?, ?)", (*row, json.dumps(document)))

    async def save(self, student_id: str, code: str) -> None:
        document = {
            "id": uuid.uuid4().hex,
            "session_id": SESSION,
            "student_id": student_id,
            "code": code,
            "timestamp": datetime.now(UTC).isoformat(),
        }
        await asyncio.to_thread(self._insert, document)

    def insert_many(self, documents: list[dict[str, Any]]) -> None:
        rows = [(d["id"], d["session_id"], d["student_id"], d["timestamp"], json.dumps(d)) for d in documents]
        self.connection.execute("BEGIN")
        self.connection.executemany("INSERT INTO revisions VALUES (?, ?, ?, ?, ?)", rows)
        self.connection.execute("COMMIT")

    def _history(self, session_id: str, student_id: str) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            "SELECT doc FROM revisions WHERE session = ? AND student = ? ORDER BY timestamp", (session_id, student_id)
        ).fetchall()
        return [json.loads(row[0]) for row in rows]

    async def history(self, student_id: str) -> int:
        return len(await asyncio.to_thread(self._history, SESSION, student_id))

    def _overview(self, session_id: str) -> dict[str, dict[str, Any]]:
        # The same loose index scan docstore uses: one seek per student, not a walk of the session.
        rows = self.connection.execute(
            """
            WITH RECURSIVE students(student) AS (
                SELECT min(student) FROM revisions WHERE session = ?1
                UNION ALL
                SELECT (SELECT min(student) FROM revisions WHERE session = ?1 AND student > students.student)
                FROM students WHERE students.student IS NOT NULL
            )
            SELECT revisions.doc FROM students JOIN revisions ON revisions.rowid = (
                SELECT rowid FROM revisions WHERE session = ?1 AND student = students.student
                ORDER BY timestamp DESC LIMIT 1
            )
            WHERE students.student IS NOT NULL
            """,
            (session_id,),
        ).fetchall()
        documents = [json.loads(row[0]) for row in rows]
        return {document["student_id"]: document for document in documents}

    async def overview(self) -> int:
        return len(await asyncio.to_thread(self._overview, SESSION))


# -- the two engines behind one face -------------------------------------------------------
class Engine(Protocol):
    """A store under test: save one revision, read a history, read an overview."""

    async def save(self, student_id: str, code: str) -> None: ...
    async def history(self, student_id: str) -> int: ...
    async def overview(self) -> int: ...
    async def close(self) -> None: ...


class LocalEngine:
    """``local://`` of this checkout, or of the package ``load_before`` imported (``package``)."""

    def __init__(self, folder: Path, package: ModuleType = docstore) -> None:
        self.store = package.open_store(f"local://{folder}")
        self.revision = package.CodeRevision

    async def open(self) -> LocalEngine:
        await self.store.initialize()
        return self

    async def save(self, student_id: str, code: str) -> None:
        await self.store.revisions.save_revision(self.revision(session_id=SESSION, student_id=student_id, code=code))

    async def history(self, student_id: str) -> int:
        return len(await self.store.revisions.get_revisions(SESSION, student_id))

    async def overview(self) -> int:
        return len(await self.store.revisions.get_latest_revisions(SESSION))

    async def close(self) -> None:
        await self.store.shutdown()


_BEFORE: list[ModuleType] = []


def load_before(checkout: Path) -> ModuleType:
    """docstore as checked out in ``checkout`` (e.g. a ``git worktree`` of an earlier commit), imported
    beside this one as ``docstore_before``: engine "before" of ``make_engine``, for an A/B in one process.

    Its modules import each other relatively, so the package runs under another name as it is.
    """
    package = checkout / "docstore"
    if not (package / "__init__.py").is_file():
        raise SystemExit(f"--against {checkout}: no docstore package there")
    links = Path(tempfile.mkdtemp(prefix="docstore-before-"))
    atexit.register(shutil.rmtree, links, True)
    (links / "docstore_before").symlink_to(package.resolve(), target_is_directory=True)
    sys.path.insert(0, str(links))
    _BEFORE[:] = [importlib.import_module("docstore_before")]
    return _BEFORE[0]


async def make_engine(name: str, folder: Path) -> Engine:
    """ "floor", "local" (this checkout) or "before" (the checkout ``load_before`` imported)."""
    if name == "floor":
        return Floor(folder)
    if name == "before":
        return await LocalEngine(folder, _BEFORE[0]).open()
    return await LocalEngine(folder).open()
