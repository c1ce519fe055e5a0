"""One SQLite database file, used off the event loop: a writer thread with group commit, reader threads.

Why threads: ``sqlite3`` calls block, and a store must never stall the application's
event loop. Every call (query, decoding, validation into domain types) runs as a
function of a connection in a thread; the loop only awaits its future.

Writes: one thread owns the write connection. It takes every write queued so far
and runs them in one ``BEGIN IMMEDIATE`` transaction, each inside its own savepoint
(a write that fails is rolled back alone), then commits once: concurrent writers
share one fsync (``synchronous=FULL``: acknowledged means on disk). A failed commit
fails every write of the group, and none of them is visible.

Reads: a small pool of threads, each with its own connection; WAL lets them read
while a write commits, in this process or any other. They are fed as the writer is: a
queue in, the caller's own answer settled from the thread (``run_in_executor`` chained a
second future through ``wrap_future``: ~15 us more a read).

Either way the caller awaits an ``Answer`` (``_answer.py``), which the thread settles with one
``call_soon_threadsafe`` and which wakes the caller in that same loop iteration.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import queue
import sqlite3
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from .._errors import ErrorCode, PersistenceError
from ._answer import Answer
from ._errors import translate
from ._revision_rows import RevisionRows

__all__ = ["BUSY_TIMEOUT_MS", "Database", "connect", "connect_readonly", "writable"]

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], T]

# How long a write waits for another process's transaction before it is TIMEOUT.
BUSY_TIMEOUT_MS = 30_000
_READERS = 4
_MAX_GROUP = 500  # writes committed together at most
_STOP = object()


def connect(path: Path) -> sqlite3.Connection:
    """A connection with docstore's settings (autocommit mode: transactions are explicit)."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # FULL: the WAL is fsync'd at every commit, so an acknowledged write survives power loss.
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("PRAGMA cache_size = -16000")  # 16 MB per connection
    return connection


def writable(path: Path) -> bool:
    """Whether this process may write the database file and create files beside it (WAL needs both).

    False on a read-only mount (even for root) and for another user's store: such a store
    is opened read-only (``connect_readonly``), so the tools that only read still work; its
    writes are STORAGE_ERROR, as on a disk that turned read-only under an open store.
    """
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A connection that never writes: ``mode=ro``, else ``immutable`` where SQLite cannot even
    keep its shared-memory file beside the database (a read-only mount: nobody can write there)."""
    uri = f"file:{quote(str(path.resolve()))}"
    failure: sqlite3.Error | None = None
    for query in ("mode=ro", "mode=ro&immutable=1"):
        connection = sqlite3.connect(
            f"{uri}?{query}", uri=True, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        try:
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return connection
        except sqlite3.Error as exc:
            connection.close()
            failure = exc
    assert failure is not None
    raise failure


class _Job:
    __slots__ = ("future", "loop", "one_statement", "work")

    def __init__(
        self, work: Work[Any], loop: asyncio.AbstractEventLoop, future: Answer[Any], one_statement: bool
    ) -> None:
        self.work = work
        self.loop = loop
        self.future = future
        self.one_statement = one_statement

    def settle(self, result: Any = None, error: BaseException | None = None) -> None:
        # RuntimeError: the caller's event loop is closed; no one is waiting, and the writer must go on.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.future.settle, result, error)


def _answer_group(outcomes: list[tuple[_Job, Any, BaseException | None]]) -> None:
    """The answers of a group: one ``call_soon_threadsafe`` (one wake of the loop) per event loop, not per write."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Answer[Any], Any, BaseException | None]]] = {}
    for job, result, failure in outcomes:
        by_loop.setdefault(job.loop, []).append((job.future, result, failure))
    for loop, answers in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed: no one there is waiting
            loop.call_soon_threadsafe(_settle_all, answers)


def _settle_all(answers: list[tuple[Answer[Any], Any, BaseException | None]]) -> None:
    for position, (answer, result, error) in enumerate(answers):
        try:
            answer.settle(result, error)
        except BaseException:
            # What a caller's step let through (KeyboardInterrupt, SystemExit): the others are still
            # answered, in the next iteration, as separate futures' callbacks would have been.
            if rest := answers[position + 1 :]:
                answer.get_loop().call_soon(_settle_all, rest)
            raise


def _close_all(*descriptors: int) -> None:
    for descriptor in descriptors:
        with contextlib.suppress(OSError):
            os.close(descriptor)


class Database:
    """The open file: ``read(work)`` and ``write(work)`` run ``work(connection)`` in a thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer_connection: sqlite3.Connection | None = None
        # Writes queued for the writer thread, which sleeps in ``os.read`` of a pipe: a caller wakes it
        # with ``os.write``, which lets go of the GIL for the system call, so the writer wakes to a free
        # GIL. (A ``queue.SimpleQueue.put`` woke it while the caller held the GIL: the writer went
        # back to sleep on the GIL, one more switch a write; ~4 us of CPU an awaited write.)
        self._jobs: collections.deque[Any] = collections.deque()
        # Whether the writer may be asleep in ``os.read``: only then is a wake written. Otherwise it is
        # committing, or waiting for the GIL to return from settling the last write, and it looks
        # at the queue before it sleeps: a wake then only woke it for nothing on the GIL (awaited
        # saves: the writer took a save 17.9 us (p50) after it was queued with the wake, 16.5
        # without, and the caller made one system call fewer).
        self._writer_asleep = False
        self._wake_read, self._wake_write = os.pipe()
        # A full pipe holds wakes enough: the writer reads before it sleeps again. Never a blocked loop.
        os.set_blocking(self._wake_write, False)
        # Closed by ``close`` once the writer is gone, or when this object is collected unclosed.
        self._close_pipe = weakref.finalize(self, _close_all, self._wake_read, self._wake_write)
        self._writer: threading.Thread | None = None
        self._reads: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._reader_threads: list[threading.Thread] = []
        # Released by a reader as it waits for work: a read finding none idle starts another reader.
        self._idle_readers = threading.Semaphore(0)
        self._local = threading.local()
        self._reader_connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self.readonly = False
        # What the reader threads share: revisions of rows already validated, by content.
        self.revision_rows = RevisionRows()

    # -- lifecycle -----------------------------------------------------------------
    def start(self, writer_connection: sqlite3.Connection) -> None:
        # A store this process may not write is read through read-only connections, and every
        # write is refused up front (``open_database_file`` opened it the same way).
        self.readonly = not writable(self.path)
        self._writer_connection = writer_connection
        self._writer = threading.Thread(target=self._write_loop, name="docstore-sqlite-write", daemon=True)
        self._writer.start()

    def close(self) -> None:
        """Finish queued writes, stop the threads, close every connection (blocking: run in a thread)."""
        with self._lock:  # after this, no write can be queued behind the stop
            if self._closed:
                return
            self._closed = True
            self._queue_job(_STOP)
        if self._writer is not None:
            self._writer.join()
        self._refuse_queued()
        self._close_pipe()
        with self._lock:  # ``_closed`` is set: no read can be queued behind the stops
            readers = list(self._reader_threads)
            for _ in readers:
                self._reads.put(_STOP)
        for reader in readers:
            reader.join()
        with self._lock:
            connections, self._reader_connections = self._reader_connections, []
        for connection in connections:
            connection.close()
        if self._writer_connection is not None:
            self._writer_connection.close()
            self._writer_connection = None
        self.revision_rows.clear()

    def _refuse_queued(self) -> None:
        """Fail what was queued but never taken (the writer never started, or stopped)."""
        while self._jobs:
            item = self._jobs.popleft()
            if isinstance(item, _Job):
                item.settle(error=PersistenceError(ErrorCode.STORAGE_ERROR, "the store is shut down"))

    def _queue_job(self, item: Any) -> None:
        """Hand ``item`` to the writer (the caller holds ``_lock``): queued first, then the wake if it sleeps."""
        self._jobs.append(item)
        if self._writer_asleep:
            with contextlib.suppress(BlockingIOError):  # a full pipe: wakes enough are pending
                os.write(self._wake_write, b"\0")

    # -- reads -----------------------------------------------------------------------
    async def read(self, work: Work[T], *, one_statement: bool = False) -> T:
        """``work(connection)`` in a reader thread, inside one read transaction (a consistent snapshot).

        ``one_statement``: ``work`` runs a single SELECT, which SQLite reads from one
        snapshot by itself; no BEGIN/COMMIT around it (two statements fewer per read).
        """
        if self._closed:
            raise PersistenceError(ErrorCode.STORAGE_ERROR, "the store is shut down")
        loop = asyncio.get_running_loop()
        future: Answer[T] = Answer(loop)
        with self._lock:
            if self._closed:
                raise PersistenceError(ErrorCode.STORAGE_ERROR, "the store is shut down")
            self._reads.put(_Job(work, loop, future, one_statement))
            if not self._idle_readers.acquire(blocking=False) and len(self._reader_threads) < _READERS:
                reader = threading.Thread(
                    target=self._read_loop, name=f"docstore-sqlite-read-{len(self._reader_threads)}", daemon=True
                )
                self._reader_threads.append(reader)
                reader.start()
        # A cancelled caller cancels its wait: a read not begun yet is skipped, one running is dropped.
        return await future

    def _read_loop(self) -> None:
        while (job := self._reads.get()) is not _STOP:
            # Its caller gave up while it waited: nobody wants the answer. (Read from this thread: at
            # worst a caller that gives up just now has its read run and the answer dropped.)
            if job.future.cancelled():
                del job
                self._idle_readers.release()
                continue
            run = self._read_one if job.one_statement else self._read
            try:
                result = run(job.work)
            except BaseException as exc:  # translated by _read/_read_one: the caller's to raise
                job.settle(error=exc)
            else:
                job.settle(result)
                del result
            del job  # nothing of a read outlives it in an idle thread
            self._idle_readers.release()

    def _reader(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = connect_readonly(self.path) if self.readonly else connect(self.path)
            connection.execute("PRAGMA query_only = ON")
            self._local.connection = connection
            with self._lock:
                self._reader_connections.append(connection)
        return connection

    def _read(self, work: Work[T]) -> T:
        try:
            connection = self._reader()
            connection.execute("BEGIN")
            try:
                return work(connection)
            finally:
                connection.execute("COMMIT")
        except BaseException as exc:
            raise translate(exc, self.path) from None

    def _read_one(self, work: Work[T]) -> T:
        try:
            return work(self._reader())
        except BaseException as exc:
            raise translate(exc, self.path) from None

    # -- writes ----------------------------------------------------------------------
    async def write(self, work: Work[T], *, one_statement: bool = False) -> T:
        """``work(connection)`` in the writer thread, committed (durably) before this returns.

        ``one_statement``: ``work`` runs a single statement; alone in its group, it runs in
        SQLite's own transaction (autocommit: one commit, one sync) without BEGIN/COMMIT.
        """
        if self.readonly:
            raise PersistenceError(
                ErrorCode.STORAGE_ERROR,
                f"{self.path} is read-only here (no write permission): opened for reading only",
            )
        loop = asyncio.get_running_loop()
        future: Answer[T] = Answer(loop)
        with self._lock:
            if self._closed:
                raise PersistenceError(ErrorCode.STORAGE_ERROR, "the store is shut down")
            self._queue_job(_Job(work, loop, future, one_statement))
        # A cancelled caller cancels only its wait: the writer runs a queued job whatever becomes of
        # its answer (``Answer.settle`` skips a cancelled one), so the write is done or not as a whole.
        # Not ``asyncio.shield``: its second future cost every write one more loop iteration (~5 us).
        return await future

    def _write_loop(self) -> None:
        stopping = False
        while not stopping:
            # Every job is queued before ``_writer_asleep`` is looked at, and the queue is looked at
            # again after it is set: a job queued before that is found, one queued after is woken
            # for. A wake whose job was taken already only loops once more.
            while not self._jobs:
                self._writer_asleep = True
                if not self._jobs:
                    os.read(self._wake_read, 4096)
                self._writer_asleep = False
            group: list[_Job] = []
            while self._jobs and len(group) < _MAX_GROUP:
                item = self._jobs.popleft()
                if item is _STOP:
                    stopping = True
                    break
                group.append(item)
            if group:
                self._commit_group(group)

    def _commit_group(self, group: list[_Job]) -> None:
        if len(group) == 1:
            self._commit_one(group[0])
            return
        connection = self._writer_connection
        assert connection is not None
        outcomes: list[tuple[_Job, Any, BaseException | None]] = []
        try:
            connection.execute("BEGIN IMMEDIATE")
            for job in group:
                connection.execute("SAVEPOINT job")
                try:
                    result = job.work(connection)
                except BaseException as exc:
                    # Only this write is undone. If SQLite already rolled back the whole
                    # transaction (a full disk can), the savepoint is gone: the group fails below.
                    connection.execute("ROLLBACK TO job")
                    connection.execute("RELEASE job")
                    outcomes.append((job, None, translate(exc, self.path)))
                    continue
                connection.execute("RELEASE job")
                outcomes.append((job, result, None))
            connection.execute("COMMIT")
        except BaseException as exc:
            error = translate(exc, self.path)
            if connection.in_transaction:
                # If this fails too, there is nothing more to undo: the transaction is gone either way.
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
            # Nothing of the group was committed: every write in it fails.
            outcomes = [(job, None, own or error) for job, _, own in outcomes]
            outcomes += [(job, None, error) for job in group[len(outcomes) :]]
        _answer_group(outcomes)

    def _commit_one(self, job: _Job) -> None:
        """A group of one write (every awaited write one after another): its transaction is its own.

        No savepoint: a failing write rolls back the whole transaction, which held nothing
        else. Two statements fewer per write, the same outcomes as ``_commit_group``; two more
        fewer for a write of one statement.
        """
        connection = self._writer_connection
        assert connection is not None
        try:
            if job.one_statement:
                result = job.work(connection)  # autocommit: the statement is its own transaction
            else:
                connection.execute("BEGIN IMMEDIATE")
                result = job.work(connection)
                connection.execute("COMMIT")
        except BaseException as exc:
            if connection.in_transaction:
                with contextlib.suppress(sqlite3.Error):  # the transaction is gone either way
                    connection.execute("ROLLBACK")
            job.settle(error=translate(exc, self.path))
            return
        job.settle(result)
