"""``SqliteDocumentStore``: whole collections of stored documents, for tools."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from typing import Any

from .._arguments import check_batch_size
from .._errors import PersistenceError
from .._interfaces import BatchResult, CollectionStats
from .._mapping import check_collection_name, require_id
from .._upsert_plan import Step, batch_of, check_batch, plan_upsert
from ._codec import checksum, decode, yielding
from ._database import Database
from ._repository import OFF_LOOP_BATCH
from ._schema import INDEXES, REPOSITORY_COLLECTIONS
from ._tables import delete_document, get_document, put_document, stored_checksums

__all__ = ["SqliteDocumentStore"]


def _table(collection: str) -> tuple[str, str, list[Any]]:
    if collection in REPOSITORY_COLLECTIONS:
        return collection, "1", []
    return "documents", "collection = ?", [collection]


def _against_stored(step: Step) -> bool:
    """Whether ``step`` leaves a stored row alone because its checksum matched (the row is trusted)."""
    return step.action == "unchanged" and step.follows is None


def _damaged(connection: sqlite3.Connection, collection: str, expected: dict[str, bytes]) -> set[str]:
    """Which of the rows ``expected`` (id: the blob its checksum says it holds) are damaged.

    A row holding exactly the expected blob is sound without hashing it (the common case: a
    rerun of an import or a restore); only one that differs has its checksum checked.
    """
    table, where, arguments = _table(collection)
    ids = list(expected)
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        sql = f"SELECT id, doc, checksum FROM {table} WHERE {where} AND id IN ({marks})"
        for document_id, blob, digest in connection.execute(sql, [*arguments, *chunk]):
            if blob == expected[document_id]:
                continue
            if type(blob) is not bytes or type(digest) is not bytes or checksum(blob) != digest:
                found.add(document_id)
    return found


def _decoded(row: Any, where: str) -> dict[str, Any] | PersistenceError:
    """The document of a row, or the error saying it is damaged (the scan goes on past it)."""
    try:
        return decode(row[1], row[2], where)
    except PersistenceError as error:
        return error


class SqliteDocumentStore:
    """``DocumentStore`` over one SQLite file. The blob is the document as given (a
    session's join code in its normal form, ``tool_document``), so ``iter_documents``
    yields exactly that, and its checksum doubles as the content hash that makes
    ``upsert_documents`` idempotent."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def collection_names(self) -> list[str]:
        def names(connection: sqlite3.Connection) -> list[str]:
            others = [row[0] for row in connection.execute("SELECT DISTINCT collection FROM documents")]
            return sorted({*REPOSITORY_COLLECTIONS, *others})

        return await self._db.read(names)

    async def collection_stats(self) -> dict[str, CollectionStats]:
        def stats(connection: sqlite3.Connection) -> dict[str, CollectionStats]:
            result: dict[str, CollectionStats] = {}
            for name in REPOSITORY_COLLECTIONS:
                count = connection.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
                result[name] = CollectionStats(count, sorted(["_id_", *INDEXES[name]]))
            for name, count in connection.execute("SELECT collection, count(*) FROM documents GROUP BY collection"):
                result[name] = CollectionStats(count, ["_id_"])
            return dict(sorted(result.items()))

        return await self._db.read(stats)

    async def iter_documents(self, collection: str, *, batch_size: int = 1000) -> AsyncIterator[dict[str, Any]]:
        """Every sound document by ``_id``; then, if any was damaged, STORAGE_ERROR naming each (``damaged``).

        A damaged document does not stop the scan: a restore must read every sound document
        past it to repair the store (``_restore_journal.documents_past_damage``), and nothing
        else lists a collection's ids. A caller still never mistakes a partial scan for a
        whole one: the error comes at the end.
        """
        check_collection_name(collection)
        check_batch_size(batch_size)
        table, where, arguments = _table(collection)
        path = self._db.path
        last: str | None = None
        damaged: list[tuple[str, PersistenceError]] = []
        while True:
            # Keyset batches, each its own short read: a long export never holds a snapshot open.
            after = " AND id > ?" if last is not None else ""
            sql = f"SELECT id, doc, checksum FROM {table} WHERE {where}{after} ORDER BY id LIMIT {batch_size}"
            values = [*arguments, last] if last is not None else arguments

            def read(connection: sqlite3.Connection, sql: str = sql, values: list[Any] = values) -> list[Any]:
                rows = connection.execute(sql, values).fetchall()
                # The id names a damaged document (``docstore export`` says which one).
                return [
                    (row[0], _decoded(row, f"{collection} document {row[0]!r} in {path}")) for row in yielding(rows)
                ]

            batch = await self._db.read(read)
            for document_id, document in batch:
                if isinstance(document, PersistenceError):
                    damaged.append((document_id, document))
                else:
                    yield document
            if len(batch) < batch_size:
                break
            last = batch[-1][0]
        if damaged:
            first = damaged[0][1]
            more = f" (and {len(damaged) - 1} more damaged {collection} documents)" if len(damaged) > 1 else ""
            raise PersistenceError(first.code, first.message + more, damaged=tuple(i for i, _ in damaged))

    async def get_document(self, collection: str, document_id: str) -> dict[str, Any] | None:
        check_collection_name(collection)
        document_id = require_id(document_id)
        path = self._db.path

        def read(connection: sqlite3.Connection) -> dict[str, Any] | None:
            try:
                return get_document(connection, path, collection, document_id)
            except PersistenceError as error:
                # The row was found and did not decode (SQLite's own failures are sqlite3 errors,
                # translated by ``Database``): this document is damaged, and the error says so.
                raise PersistenceError(error.code, error.message, damaged=(document_id,)) from None

        return await self._db.read(read)

    async def upsert_documents(
        self, collection: str, documents: Sequence[dict[str, Any]], *, dry_run: bool = False
    ) -> BatchResult:
        """Insert new documents, replace changed ones, leave identical ones alone (``_upsert_plan``).

        One transaction for the batch: the stored checksums are read, the batch planned and
        written in it, each document in a savepoint of its own so that one refused by a
        constraint (its session's join code held by another active session) is an entry in
        ``failed`` and the others are written.
        """
        check_collection_name(collection)
        given = batch_of(documents)
        # Checking and encoding a large batch takes a while: not on the event loop.
        if len(given) > OFF_LOOP_BATCH:
            checked, refused = await asyncio.to_thread(check_batch, collection, given)
        else:
            checked, refused = check_batch(collection, given)
        if not checked:
            return plan_upsert(checked, refused, {}, checksum).result()

        def upsert(connection: sqlite3.Connection) -> BatchResult:
            stored = stored_checksums(connection, collection, list(dict.fromkeys(c.document["_id"] for c in checked)))
            # The blob's checksum is the content hash: the one ``put_document`` stores.
            plan = plan_upsert(checked, refused, stored, checksum)
            damaged = _damaged(
                connection, collection, {s.document["_id"]: s.encoded for s in plan.steps if _against_stored(s)}
            )
            if damaged:
                # A damaged row still holds the checksum of the document it was: the same document
                # given again must replace it, not be left "unchanged" over the damage.
                stored.update(dict.fromkeys(damaged, b""))
                plan = plan_upsert(checked, refused, stored, checksum)
            if dry_run:
                return plan.result()
            failed: dict[int, str] = {}
            for step in plan.runnable(plan.writes, failed):
                connection.execute("SAVEPOINT document")
                try:
                    put_document(connection, collection, step.document)
                except PersistenceError as exc:
                    connection.execute("ROLLBACK TO document")
                    failed[step.position] = exc.message
                connection.execute("RELEASE document")
            return plan.result(failed)

        if dry_run:
            return await self._db.read(upsert)
        return await self._db.write(upsert)

    async def delete_document(self, collection: str, document_id: str) -> bool:
        check_collection_name(collection)
        document_id = require_id(document_id)
        return await self._db.write(lambda connection: delete_document(connection, collection, document_id))
