"""The live feed of ``local://``: a ``changes`` table written by triggers, read by every process.

Why triggers: a change must be recorded in the transaction of the write that makes it,
whoever writes (a repository, a tool through ``store.documents``, another process, an
older docstore that predates the feed would not, but the upgrade adds the triggers on
open). SQLite runs them inside that transaction, so a change is committed exactly when
its write is: a kill -9 loses neither or both.

    changes(seq, session_id, namespace_id, kind, student_id, ref, doc, checksum, at)

The once-a-second activity mark of posts (``last_activity`` alone rewritten: a fixed-width
BSON date, so the document keeps its length, and no column but ``last_activity`` moves) is
not a change of the session, as on every engine. Students' states are copied (``doc``,
with its checksum, verified on read); a revision is referenced by id (``ref``: revisions
never change). ``seq`` only grows, even across trimming, so it orders every process's commits:
each trigger numbers its change one past the newest, or past the trim point when a trim took
them all (``_NEXT``). A log of before (schema 2) was numbered by AUTOINCREMENT, which rewrote
its ``sqlite_sequence`` row on every write (a B-tree page more a save); such a log is kept as it
is, since the release before reads its head from that row (``numbered_by_autoincrement``).

Watchers learn of commits without reading the class: one thread per store asks
``PRAGMA data_version`` (it changes when another connection commits, in this process or
another) every ``POLL_S`` while someone waits, then they read only ``seq > last`` rows of
their session, off the event loop.

Retention: at most ``MAX_CHANGES`` rows and ``RETENTION_S`` seconds, trimmed by the store
every ``TRIM_EVERY_S`` (and on open); a feed behind the trim point gets EXPIRED.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, get_args

from .._changes import RETENTION_S, ChangeKind
from .._errors import ErrorCode, PersistenceError
from .._feed import LogEntry, LogRead, copied, merge_posts
from .._mapping import from_document
from .._models import CodeRevision, Session
from .._students import student_from_record
from ._codec import decode
from ._database import Database, connect

__all__ = [
    "CHANGES_SCHEMA",
    "CHANGE_KINDS",
    "MAX_CHANGES",
    "RETENTION_S",
    "SqliteChangeLog",
    "create_change_log",
    "log_name",
    "numbered_by_autoincrement",
    "trim_changes",
]

MAX_CHANGES = 200_000
TRIM_EVERY_S = 60.0
POLL_S = 0.005
# Bytes of copied documents one read decodes at most (a few changes of big programs).
READ_BUDGET = 1024 * 1024
_NOW = "((julianday('now') - 2440587.5) * 86400.0)"
CHANGE_KINDS = frozenset(get_args(ChangeKind))
# A change's number: one past the newest, or past the trim point when the log is empty, never one
# used before (only the trim deletes changes, and it records how far it went).
_NEXT = "coalesce((SELECT max(seq) FROM changes), (SELECT value FROM feed_meta WHERE key = 'trimmed_through'), 0) + 1"

CHANGES_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    namespace_id TEXT,
    kind TEXT NOT NULL,
    student_id TEXT,
    ref TEXT,
    doc BLOB,
    checksum BLOB,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS changes__session_seq ON changes(session_id, seq);
CREATE TABLE IF NOT EXISTS feed_meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS changes__session_created AFTER INSERT ON sessions BEGIN
    INSERT INTO changes (seq, session_id, namespace_id, kind, doc, checksum, at)
    VALUES ({_NEXT}, NEW.id, NEW.namespace_id, 'session_changed', NEW.doc, NEW.checksum, {_NOW});
END;
CREATE TRIGGER IF NOT EXISTS changes__session_changed AFTER UPDATE OF doc ON sessions
WHEN OLD.doc IS NOT NEW.doc AND NOT (
    OLD.last_activity IS NOT NEW.last_activity AND length(OLD.doc) = length(NEW.doc)
    AND OLD.active IS NEW.active AND OLD.join_code IS NEW.join_code
    AND OLD.instructor_id IS NEW.instructor_id AND OLD.namespace_id IS NEW.namespace_id
) BEGIN
    INSERT INTO changes (seq, session_id, namespace_id, kind, doc, checksum, at)
    VALUES ({_NEXT}, NEW.id, NEW.namespace_id,
            CASE WHEN OLD.active = 1 AND NEW.active = 0 THEN 'session_ended' ELSE 'session_changed' END,
            NEW.doc, NEW.checksum, {_NOW});
END;
CREATE TRIGGER IF NOT EXISTS changes__session_deleted AFTER DELETE ON sessions BEGIN
    INSERT INTO changes (seq, session_id, namespace_id, kind, at)
    VALUES ({_NEXT}, OLD.id, OLD.namespace_id, 'session_deleted', {_NOW});
END;
CREATE TRIGGER IF NOT EXISTS changes__student_joined AFTER INSERT ON session_students BEGIN
    INSERT INTO changes (seq, session_id, namespace_id, kind, student_id, doc, checksum, at)
    VALUES ({_NEXT}, NEW.session_id, NEW.namespace_id, 'student_joined', NEW.student_id, NEW.doc, NEW.checksum,
            {_NOW});
END;
CREATE TRIGGER IF NOT EXISTS changes__student_changed AFTER UPDATE OF doc ON session_students
WHEN OLD.doc IS NOT NEW.doc BEGIN
    INSERT INTO changes (seq, session_id, namespace_id, kind, student_id, doc, checksum, at)
    VALUES ({_NEXT}, NEW.session_id, NEW.namespace_id, 'student_changed', NEW.student_id, NEW.doc, NEW.checksum,
            {_NOW});
END;
CREATE TRIGGER IF NOT EXISTS changes__student_removed AFTER DELETE ON session_students BEGIN
    INSERT INTO changes (seq, session_id, namespace_id, kind, student_id, at)
    VALUES ({_NEXT}, OLD.session_id, OLD.namespace_id, 'student_removed', OLD.student_id, {_NOW});
END;
CREATE TRIGGER IF NOT EXISTS changes__revision_saved AFTER INSERT ON revisions BEGIN
    INSERT INTO changes (seq, session_id, namespace_id, kind, student_id, ref, at)
    VALUES ({_NEXT}, NEW.session_id, NEW.namespace_id, 'revision_saved', NEW.student_id, NEW.id, {_NOW});
END;
"""


def create_change_log(connection: sqlite3.Connection) -> None:
    """The table, its triggers and the log's identity, in the caller's transaction (idempotent)."""
    statement = ""
    for line in CHANGES_SCHEMA.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            connection.execute(statement)
            statement = ""
    connection.execute("INSERT OR IGNORE INTO feed_meta (key, value) VALUES ('log_id', ?)", (uuid.uuid4().hex,))


def numbered_by_autoincrement(connection: sqlite3.Connection) -> bool:
    """Whether the log is one of before (schema 2): numbered by AUTOINCREMENT, its head in ``sqlite_sequence``."""
    row = connection.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'changes'").fetchone()
    return row is not None and "AUTOINCREMENT" in str(row[0]).upper()


def log_name(connection: sqlite3.Connection) -> str:
    return str(connection.execute("SELECT value FROM feed_meta WHERE key = 'log_id'").fetchone()[0])


def trim_changes(
    connection: sqlite3.Connection, *, max_changes: int = MAX_CHANGES, retention_s: float = RETENTION_S
) -> int:
    """Drop what the retention no longer keeps; the newest sequence dropped so far (in a write transaction).

    Kept: what is among the newest ``max_changes`` and younger than ``retention_s``. Found by
    walking the log in sequence order up to its first change young enough, so a trim costs
    the changes it drops, not the whole log (one ``OR`` over the table scanned every row, on
    every open and every ``TRIM_EVERY_S``: 19 ms at 100,000 changes). Where clocks of two
    processes disagree, a change older than one before it is dropped with the next trim
    that reaches it: the log only keeps more, never less, than the rule says.
    """
    head = _head(connection, numbered_by_autoincrement(connection))
    first_young = connection.execute(
        f"SELECT seq FROM changes WHERE at >= {_NOW} - ? ORDER BY seq LIMIT 1", (retention_s,)
    ).fetchone()
    limit = max(head - max_changes, head if first_young is None else first_young[0] - 1)
    # Not max(seq): with a WHERE, SQLite aggregates every row of the range.
    newest = connection.execute("SELECT seq FROM changes WHERE seq <= ? ORDER BY seq DESC LIMIT 1", (limit,)).fetchone()
    cutoff = None if newest is None else newest[0]
    if cutoff is not None:
        connection.execute("DELETE FROM changes WHERE seq <= ?", (cutoff,))
        connection.execute(
            "INSERT INTO feed_meta (key, value) VALUES ('trimmed_through', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)",
            (cutoff,),
        )
    return _trimmed(connection)


def _head(connection: sqlite3.Connection, autoincrement: bool) -> int:
    """The newest number given (0: none yet), whether or not that change is still kept."""
    if autoincrement:
        row = connection.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()
        return int(row[0]) if row else 0
    return int(connection.execute(f"SELECT {_NEXT} - 1").fetchone()[0])


def _trimmed(connection: sqlite3.Connection) -> int:
    row = connection.execute("SELECT value FROM feed_meta WHERE key = 'trimmed_through'").fetchone()
    return int(row[0]) if row else 0


class SqliteChangeLog:
    """``ChangeLog`` over the ``changes`` table of one store file."""

    def __init__(self, database: Database, name: str, *, autoincrement: bool) -> None:
        self.name = f"local-{name}"
        self._database = database
        self._autoincrement = autoincrement  # a log of before: ``numbered_by_autoincrement``
        self._path: Path = database.path
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()
        self._lock = threading.Lock()
        self._poller: threading.Thread | None = None
        self._closed = False
        # Wakes so far, and the reads in flight (by what they ask) with the wake they started in.
        self._generation = 0
        self._reading: dict[tuple[Any, ...], tuple[int, asyncio.Future[LogRead]]] = {}

    async def holds(self, session_id: str, namespace: str | None) -> bool:
        sql = "SELECT 1 FROM changes WHERE session_id = ?" + (" AND namespace_id = ?" if namespace else "") + " LIMIT 1"
        arguments = [session_id, namespace] if namespace else [session_id]
        return await self._database.read(lambda c: c.execute(sql, arguments).fetchone() is not None)

    async def read(self, session_id: str, namespace: str | None, after: int, limit: int) -> LogRead:
        scope = " AND c.namespace_id = ?" if namespace is not None else ""
        sql = (
            "SELECT c.seq, c.kind, c.student_id, c.doc, c.checksum, r.doc, r.checksum FROM changes c "
            "LEFT JOIN revisions r ON r.id = c.ref "
            f"WHERE c.session_id = ? AND c.seq > ?{scope} ORDER BY c.seq LIMIT ?"
        )
        arguments: list[Any] = [session_id, after, *([namespace] if namespace is not None else []), limit + 1]

        def fetch(connection: sqlite3.Connection) -> LogRead:
            # One read transaction: the entries, the head and the trim point agree.
            head, trimmed = _head(connection, self._autoincrement), _trimmed(connection)
            if limit == 0:
                return LogRead([], head, trimmed)
            # At most READ_BUDGET bytes of documents a read (plus one row to see where a post ends):
            # a feed that is behind holds a few changes, never a whole batch of big programs.
            entries: list[LogEntry] = []
            budget = limit
            size = 0
            for row in connection.execute(sql, arguments):
                entries.append(self._entry(session_id, row))
                size += len(row[3] or b"") + len(row[5] or b"")
                if len(entries) > budget:
                    break
                if size > READ_BUDGET and budget > len(entries):
                    budget = max(len(entries), 2)
            if len(entries) > budget:
                # Cut at the budget, never between the two halves of a post: they are read together next time.
                split_post = len(merge_posts(entries[budget - 1 : budget + 1])) == 1
                entries = entries[: budget - 1] if split_post and budget > 1 else entries[:budget]
            return LogRead(merge_posts(entries), head, trimmed)

        return await self._shared((session_id, namespace, after, limit), lambda: self._database.read(fetch))

    async def _shared(self, key: tuple[Any, ...], read: Callable[[], Awaitable[LogRead]]) -> LogRead:
        """One read for every feed of this process that asks the same at once (10 dashboards
        of one class: one query per commit, not ten).

        A caller joins only a read that started in the current wake generation: a commit
        that read may have missed was detected after the caller armed, which wakes it.
        """
        with self._lock:
            generation = self._generation
            found = self._reading.get(key)
        if found is not None and found[0] >= generation:
            result = await asyncio.shield(found[1])
            # Each feed's changes are its own: a joiner gets copies of the models.
            return result._replace(entries=[(sequence, copied(fields)) for sequence, fields in result.entries])
        future: asyncio.Future[LogRead] = asyncio.get_running_loop().create_future()
        with self._lock:
            self._reading[key] = (generation, future)
        try:
            result = await read()
            future.set_result(result)
            return result
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here: a read nobody joined must not warn when collected
            raise
        finally:
            with self._lock:
                if self._reading.get(key, (0, None))[1] is future:
                    del self._reading[key]

    def _entry(self, session_id: str, row: tuple[Any, ...]) -> LogEntry:
        sequence, kind, student_id, doc, checksum, revision_doc, revision_checksum = row
        fields: dict[str, Any] = {"kind": kind, "session_id": session_id}
        where = f"a change of session {session_id!r} in {self._path}"
        if kind not in CHANGE_KINDS or (student_id is not None and type(student_id) is not str):
            # Columns outside the checksummed document: checked by value (a flipped byte in `kind`).
            raise PersistenceError(ErrorCode.STORAGE_ERROR, f"{where} is damaged (change {sequence}: kind {kind!r})")
        if kind in ("session_changed", "session_ended") and doc is not None:
            session = from_document(Session, decode(doc, checksum, where))
            fields["session"] = session.model_copy(update={"students": {}})
        elif kind in ("student_joined", "student_changed") and doc is not None:
            fields["student_id"] = student_id
            fields["student"] = student_from_record(decode(doc, checksum, where))
        elif kind == "student_removed":
            fields["student_id"] = student_id
        elif kind == "revision_saved":
            fields["student_id"] = student_id
            if revision_doc is not None:  # deleted since: the change is still told, without the revision
                fields["revision"] = from_document(CodeRevision, decode(revision_doc, revision_checksum, where))
        return sequence, fields

    # -- waiting ---------------------------------------------------------------------
    def arm(self) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._closed:
                waiter.set_result(None)
                return waiter
            self._waiters.add((loop, waiter))
            if self._poller is None:
                self._poller = threading.Thread(target=self._poll, name="docstore-sqlite-feed", daemon=True)
                self._poller.start()
        waiter.add_done_callback(lambda done: self._forget(loop, done))
        return waiter

    def _forget(self, loop: asyncio.AbstractEventLoop, waiter: asyncio.Future[None]) -> None:
        with self._lock:
            self._waiters.discard((loop, waiter))

    def _poll(self) -> None:
        """While anyone waits: wake them whenever another connection has committed."""
        connection = connect(self._path)
        try:
            version = connection.execute("PRAGMA data_version").fetchone()[0]
            # Whoever armed before this first look may have missed a commit just before it.
            self._wake()
            while True:
                with self._lock:
                    if self._closed or not self._waiters:
                        self._poller = None
                        return
                time.sleep(POLL_S)
                now = connection.execute("PRAGMA data_version").fetchone()[0]
                if now != version:
                    version = now
                    self._wake()
        except sqlite3.Error:
            self._wake()  # the feeds find out what is wrong on their next read
            with self._lock:
                self._poller = None
        finally:
            connection.close()

    def _wake(self) -> None:
        with self._lock:
            self._generation += 1
            waiters = list(self._waiters)
        for loop, waiter in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is closed: no one waits there any more
                loop.call_soon_threadsafe(_release, waiter)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._wake()


def _release(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
