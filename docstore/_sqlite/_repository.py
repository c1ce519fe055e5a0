"""What the three SQLite repositories share: scope, metadata stamping, read-modify-write, paging."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

import bson

from .._arguments import check_version, revalidated
from .._backend_common import not_found, stamped, stored_version
from .._errors import ErrorCode, PersistenceError
from .._listing import Listing
from .._mapping import MAX_DOCUMENT_BYTES, METADATA, from_document
from .._models import CodeRevision, StoredItem
from .._naive_times import naive_times_suffice
from .._namespace_rules import held_in_view
from .._page import Page
from .._time import utc_now
from ._codec import decode, decode_verified, text_key, time_key, yielding
from ._database import Database
from ._tables import Row, get_document, put_document

__all__ = ["OFF_LOOP_BATCH", "UNCHANGED", "Filter", "SqliteRepository"]

T = TypeVar("T", bound=StoredItem)
S = TypeVar("S", bound=StoredItem)
# A WHERE clause and its arguments.
Filter = tuple[list[str], list[Any]]
_TIME_COLUMNS = frozenset({"created_at", "last_activity", "timestamp"})
# Batches larger than this are checked and encoded in a thread: at ~50 us a document,
# a few hundred would hold the event loop for tens of milliseconds.
OFF_LOOP_BATCH = 32


# What a change returns to leave the stored document as it is (no write, no version + 1).
UNCHANGED = False


def sort_key(column: str, value: Any) -> Any:
    return time_key(value) if column in _TIME_COLUMNS else text_key(value)


class SqliteRepository(Generic[T]):
    collection_name: str
    model: type[T]

    def __init__(self, database: Database, namespace: str | None, actor: str | None) -> None:
        self._db = database
        self._namespace = namespace
        self._actor = actor

    @property
    def _path(self) -> Path:
        return self._db.path

    # -- namespace scope -------------------------------------------------------------
    def _scope(self, conditions: list[str] | None = None, arguments: list[Any] | None = None) -> Filter:
        """Add the namespace condition: a scoped view never sees another namespace."""
        conditions = list(conditions or [])
        arguments = list(arguments or [])
        if self._namespace is not None:
            conditions.append("namespace_id = ?")
            arguments.append(self._namespace)
        return conditions, arguments

    # -- new items -------------------------------------------------------------------
    def _prepared(self, item: object) -> T:
        """A caller's new item, checked, with the view's namespace and fresh metadata."""
        return self._stamp(revalidated(self.model, item))

    def _stamp(self, item: S) -> S:
        """A copy of ``item`` ready to insert: namespace of the view, fresh metadata."""
        return stamped(item, self._namespace, self._actor)

    def _touch(self, document: dict[str, Any]) -> None:
        """Bookkeeping of a write: version + 1, updated_at, modified_by."""
        metadata = document.setdefault(METADATA, {})
        metadata["updated_at"] = utc_now()
        metadata["modified_by"] = self._actor
        metadata["version"] += 1  # checked to be an int by the read before it

    # -- read-modify-write (runs in the writer thread, inside the write's transaction) --
    def _modify(
        self,
        connection: sqlite3.Connection,
        item_id: str,
        change: Callable[[dict[str, Any]], bool | None],
        expected_version: int | None = None,
    ) -> dict[str, Any]:
        """Apply ``change`` to the stored document and write it back; NOT_FOUND / CONFLICT.

        A ``change`` that returns ``UNCHANGED`` leaves the row as it is: nothing is written.
        Damaged metadata is STORAGE_ERROR naming the item, before any change: the version
        is what every write increments and every versioned write compares.
        """
        document = get_document(connection, self._path, self.collection_name, item_id, self._namespace)
        if document is None:
            raise not_found(self.model.__name__, item_id)
        version = stored_version(document, self.model.__name__)
        if expected_version is not None and version != expected_version:
            raise PersistenceError(
                ErrorCode.CONFLICT, f"{self.model.__name__} {item_id!r} is at version {version}, not {expected_version}"
            )
        if change(document) is UNCHANGED:
            return document
        self._touch(document)
        blob = bson.encode(document)
        # Refused over the limit, as MongoDB refuses the update; the transaction keeps the item.
        put_document(connection, self.collection_name, document, max_bytes=MAX_DOCUMENT_BYTES, blob=blob)
        # What is stored, not what was given: the caller's tuple is stored as a list, an
        # IntEnum as an int, a datetime as UTC milliseconds; the answer is what a read gives.
        return decode_verified(blob, f"{self.model.__name__} {item_id!r}")

    async def _update_fields(self, item_id: str, fields: dict[str, Any], expected_version: int | None) -> T:
        expected_version = check_version(expected_version)

        def update(connection: sqlite3.Connection) -> T:
            document = self._modify(connection, item_id, lambda doc: doc.update(fields), expected_version)
            return from_document(self.model, document)

        return await self._db.write(update)

    # -- reads -----------------------------------------------------------------------
    async def _get(self, item_id: str) -> T | None:
        def get(connection: sqlite3.Connection) -> T | None:
            document = get_document(connection, self._path, self.collection_name, item_id, self._namespace)
            return None if document is None else held_in_view([from_document(self.model, document)], self._namespace)[0]

        return await self._db.read(get, one_statement=True)

    def _document(self, row: Row) -> dict[str, Any]:
        """The stored document of a row, checksum verified, datetimes aware (what ``decode_row`` gives)."""
        return decode(row[0], row[1], f"a {self.collection_name} document in {self._path}")

    def _items(self, rows: list[Row]) -> list[T]:
        """The domain items of rows: each checksum verified, then validated in full.

        Decoded with naive datetimes first (the model makes them aware UTC); only a
        document with free-form values, where a datetime would stay naive, is decoded
        again with aware ones. The checksum proves the bytes are those written, not that
        a repository wrote them (``Store.documents`` writes anything): so every row is
        validated, and a damaged one is STORAGE_ERROR naming it.
        """
        model = self.model
        where = f"a {self.collection_name} document in {self._path}"  # once, not per row
        if model is CodeRevision:
            revisions: list[Any] = self._db.revision_rows.revisions(rows, where)  # model is CodeRevision
            return held_in_view(revisions, self._namespace)
        items: list[T] = []
        for blob, digest in yielding(rows):
            document = decode(blob, digest, where, aware=False)
            if not naive_times_suffice(model, document):
                document = decode(blob, digest, where)
            items.append(from_document(model, document))
        return held_in_view(items, self._namespace)

    async def _count(self, where: Filter, table: str | None = None) -> int:
        conditions, arguments = self._scope(*where)
        sql = f"SELECT count(*) FROM {table or self.collection_name}"
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)

        def count(connection: sqlite3.Connection) -> int:
            result: int = connection.execute(sql, arguments).fetchone()[0]
            return result

        return await self._db.read(count, one_statement=True)

    async def _page(self, where: Filter, listing: Listing) -> Page[T]:
        """One page by keyset on (sort_by, id), ordered as the MongoDB dialect orders (null first)."""
        conditions, arguments = self._scope(*where)
        sort_by = listing.sort_by
        if listing.after is not None:
            value, last_id = listing.after
            # A row-value comparison: SQLite seeks the (sort_by, id) index to it.
            conditions.append(f"({sort_by}, id) {'>' if listing.sort_order == 'asc' else '<'} (?, ?)")
            arguments += [sort_key(sort_by, value), last_id]
        direction = "ASC" if listing.sort_order == "asc" else "DESC"
        sql = f"SELECT doc, checksum FROM {self.collection_name}"
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        sql += f" ORDER BY {sort_by} {direction}, id {direction} LIMIT ? OFFSET ?"
        arguments += [listing.fetch, listing.offset]

        def page(connection: sqlite3.Connection) -> Page[T]:
            # The cursor holds the stored value, aware (``_document``).
            return listing.page(connection.execute(sql, arguments).fetchall(), self._items, self._document)

        return await self._db.read(page, one_statement=True)
