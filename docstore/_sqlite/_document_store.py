"""``SqliteDocumentStore``: whole collections of stored documents, for tools."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from typing import Any

from .._arguments import check_sequence
from .._errors import ErrorCode, PersistenceError
from .._interfaces import BatchResult, CollectionStats
from .._mapping import check_collection_name, check_document, require_id, sized_encoding, tool_document
from .._students import embedded_students
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
        check_collection_name(collection)
        if type(batch_size) is not int or batch_size < 1:
            raise PersistenceError(ErrorCode.INVALID_DATA, "batch_size must be a positive int")
        table, where, arguments = _table(collection)
        path = self._db.path
        last: str | None = None
        while True:
            # Keyset batches, each its own short read: a long export never holds a snapshot open.
            after = " AND id > ?" if last is not None else ""
            sql = f"SELECT id, doc, checksum FROM {table} WHERE {where}{after} ORDER BY id LIMIT {batch_size}"
            values = [*arguments, last] if last is not None else arguments

            def read(connection: sqlite3.Connection, sql: str = sql, values: list[Any] = values) -> list[Any]:
                rows = connection.execute(sql, values).fetchall()
                # The id names a damaged document (``docstore export`` says which one).
                return [
                    (row[0], decode(row[1], row[2], f"{collection} document {row[0]!r} in {path}"))
                    for row in yielding(rows)
                ]

            batch = await self._db.read(read)
            for _, document in batch:
                yield document
            if len(batch) < batch_size:
                return
            last = batch[-1][0]

    async def get_document(self, collection: str, document_id: str) -> dict[str, Any] | None:
        check_collection_name(collection)
        document_id = require_id(document_id)
        path = self._db.path
        return await self._db.read(lambda connection: get_document(connection, path, collection, document_id))

    async def upsert_documents(
        self, collection: str, documents: Sequence[dict[str, Any]], *, dry_run: bool = False
    ) -> BatchResult:
        """Insert new documents, replace changed ones, leave identical ones alone, each on its own.

        One transaction for the batch; a document refused (its id not a string, its
        session's join code held by another active session) is an entry in ``failed``.
        """
        check_collection_name(collection)
        given = check_sequence(documents, "documents", "dict")
        result = BatchResult()

        def prepare() -> list[tuple[int, dict[str, Any], bytes]]:
            prepared: list[tuple[int, dict[str, Any], bytes]] = []
            for position, document in enumerate(given):
                document = tool_document(collection, document)
                if not isinstance(document, dict) or type(document.get("_id")) is not str or not document["_id"]:
                    result.failed.append((position, "_id must be a non-empty string"))
                    continue
                refused = embedded_students(document) if collection == "sessions" else None
                if refused is not None:
                    result.failed.append((position, refused))
                    continue
                what = f"document {document['_id']!r}"
                try:
                    check_document(document, what, size=False)
                    blob = sized_encoding(document, what)  # measured and hashed from one encoding
                except PersistenceError as exc:
                    result.failed.append((position, exc.message))
                    continue
                prepared.append((position, document, checksum(blob)))
            return prepared

        # Checking and encoding a large batch takes a while: not on the event loop.
        prepared = await asyncio.to_thread(prepare) if len(given) > OFF_LOOP_BATCH else prepare()
        if not prepared:
            return result

        def upsert(connection: sqlite3.Connection) -> BatchResult:
            done = BatchResult(failed=list(result.failed))
            known = stored_checksums(connection, collection, [document["_id"] for _, document, _ in prepared])
            for position, document, digest in prepared:
                stored = known.get(document["_id"])
                if stored == digest:
                    done.unchanged += 1
                    continue
                if not dry_run:
                    connection.execute("SAVEPOINT document")
                    try:
                        put_document(connection, collection, document)
                    except PersistenceError as exc:
                        connection.execute("ROLLBACK TO document")
                        connection.execute("RELEASE document")
                        done.failed.append((position, exc.message))
                        continue
                    connection.execute("RELEASE document")
                known[document["_id"]] = digest  # a later copy in the same batch is unchanged
                if stored is None:
                    done.inserted += 1
                else:
                    done.updated += 1
            done.failed.sort()
            return done

        if dry_run:
            return await self._db.read(upsert)
        return await self._db.write(upsert)

    async def delete_document(self, collection: str, document_id: str) -> bool:
        check_collection_name(collection)
        document_id = require_id(document_id)
        return await self._db.write(lambda connection: delete_document(connection, collection, document_id))
