"""Documents waiting to be written to one collection by the importer, with where each came from.

Pipelined where a write waits on another process (``mongodb://``, ``http(s)://``: the
server does the work): a full batch is handed to the store as a task of its own, and the next
batch is read and converted while it is written. At most two batches are in flight: the one
being written and the one being built; the next hand-off waits for the write before it.

Not on the engines that write in this process: ``memory://`` writes on the event loop itself
(nothing to overlap), and ``local://``'s writer thread is Python between its SQLite calls, so
it needs the GIL the reading holds: pipelined, each batch's write took 106 ms instead of 65
and a 100,000-revision import was slower, in wall and in CPU time (README's Performance).

What the pipeline keeps of the sequential import:

- **The order of the rejects file.** A record rejected while a batch is being written is a
  reject line only once that write has reported its own refusals (``Importer.deferred``);
  at most a batch's worth of them wait (then the reading waits for the write).
- **Counts.** A batch's documents are counted (imported, updated, unchanged) only when the
  store has answered for all of them; a write that fails raises out of the import before
  anything read after it is handed to the store.
- **Stopping.** Leaving the ``async with`` by an exception (Ctrl-C, SIGTERM, a failed write)
  cancels the write in flight and waits until it has stopped, so nothing runs on after the
  import; each batch is one ``upsert_documents``, which an engine applies whole or not at all
  (a database transaction) or document by document (MongoDB), and the next run finishes it.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._students import SESSION_STUDENTS
from ._reader import json_path

if TYPE_CHECKING:
    from ._importer import _Importer as Importer

__all__ = ["STUDENTS", "Batch", "Origin"]

STUDENTS = "students"  # the report's kind of the session_students records
# Where a document came from: (file, the parts of its JSON path, raw record). The path is
# spelt out (``json_path``) only for a reject: formatting one per record cost ~5% of an import.
Origin = tuple[str, tuple[str | int, ...], Any]
# While a batch is written, the reading lets the loop run once every this many records: each
# step of a write (checking it, the transaction) is a hand-off the loop must see to start the next.
_POLL_EVERY = 64
# The engines (``StorageConfig.engine``) whose writes are pipelined; the others write each batch
# before the next record is read. A module constant: the tests and A/B runs set it.
PIPELINED_ENGINES = frozenset({"mongodb", "remote"})


class Batch:
    """Documents waiting to be written to one collection, with where each came from.

    Used as ``async with``: leaving normally writes what is left and waits for every write;
    leaving by an exception cancels the write in flight and waits until it has stopped.
    """

    def __init__(self, importer: Importer, collection: str, kind: str, size: int) -> None:
        self.importer = importer
        self.collection = collection
        self.kind = kind
        self.size = size
        self.documents: list[dict[str, Any]] = []
        self.origins: list[Origin] = []
        # A session's student records, written once the session is (position by position).
        self.students: list[list[dict[str, Any]]] = []
        self._writing: asyncio.Task[None] | None = None
        self._pipelined = importer.store.config.engine in PIPELINED_ENGINES

    async def __aenter__(self) -> Batch:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if error is None:
            await self.flush()
            return
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.cancel()
            await asyncio.wait([writing])
            if not writing.cancelled():
                writing.exception()  # retrieved: the error that stops the import is the one raised already
        self._release_rejects()

    async def add(self, document: dict[str, Any], origin: Origin, students: list[dict[str, Any]] | None = None) -> None:
        self.documents.append(document)
        self.origins.append(origin)
        self.students.append(students or [])
        if len(self.documents) >= self.size:
            await self._hand_off()
        elif self._writing is not None and len(self.documents) % _POLL_EVERY == 0:
            await self._poll()

    async def rejected(self) -> None:
        """After a record was rejected: a write in flight goes on, and the rejects waiting for it stay bounded."""
        if self._writing is None:
            return
        waiting = len(self.importer.deferred or ())
        if waiting >= self.size:
            await self._settle()
        elif waiting % _POLL_EVERY == 0:
            await self._poll()

    async def flush(self) -> None:
        """Wait for the write in flight, then write what is left."""
        await self._settle()
        if self.documents:
            batch = self._take()
            await self._write(*batch)

    def _take(self) -> tuple[list[dict[str, Any]], list[Origin], list[list[dict[str, Any]]]]:
        batch = self.documents, self.origins, self.students
        self.documents, self.origins, self.students = [], [], []
        return batch

    async def _hand_off(self) -> None:
        await self._settle()
        if not self._pipelined:
            await self._write(*self._take())
            return
        self.importer.deferred = []  # rejects from here on wait until this write has reported its own
        self._writing = asyncio.ensure_future(self._write(*self._take()))
        await asyncio.sleep(0)  # the write starts: its first step hands the batch to the store

    async def _poll(self) -> None:
        await asyncio.sleep(0)  # the write's next step starts
        if self._writing is not None and self._writing.done():
            await self._settle()

    async def _settle(self) -> None:
        """Wait for the write in flight (raising its error), then write the rejects that waited for it."""
        writing, self._writing = self._writing, None
        try:
            if writing is not None:
                await writing
        finally:
            self._release_rejects()

    def _release_rejects(self) -> None:
        deferred, self.importer.deferred = self.importer.deferred, None
        for line in deferred or ():
            self.importer.rejects.reject(*line)

    async def _write(
        self, documents: list[dict[str, Any]], origins: list[Origin], students: list[list[dict[str, Any]]]
    ) -> None:
        store = self.importer.store.documents
        result = await store.upsert_documents(self.collection, documents, dry_run=self.importer.dry_run)
        counts = self.importer.report.kind(self.kind)
        counts.imported += result.inserted
        counts.updated += result.updated
        counts.unchanged += result.unchanged
        failed = set()
        for position, why in result.failed:
            failed.add(position)
            file, parts, record = origins[position]
            self.importer.refused(self.kind, file, json_path(*parts), f"refused by the database: {why}", record)
        await self._write_students(students, origins, failed)

    async def _write_students(
        self, students: list[list[dict[str, Any]]], origins: list[Origin], failed: set[int]
    ) -> None:
        """The student records of the sessions just written (none of a session the database refused)."""
        records: list[dict[str, Any]] = []
        where: list[tuple[str, str, Any]] = []
        for position, of_session in enumerate(students):
            if of_session and position not in failed:
                records += of_session
                file, parts, _ = origins[position]
                where += [(file, f"{json_path(*parts)}.students", None)] * len(of_session)
        if not records:
            return
        counts = self.importer.report.kind(STUDENTS)
        counts.read += len(records)
        store = self.importer.store.documents
        result = await store.upsert_documents(SESSION_STUDENTS, records, dry_run=self.importer.dry_run)
        counts.imported += result.inserted
        counts.updated += result.updated
        counts.unchanged += result.unchanged
        for position, why in result.failed:
            file, path, _ = where[position]
            self.importer.refused(STUDENTS, file, path, f"refused by the database: {why}", records[position])
