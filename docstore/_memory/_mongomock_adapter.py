"""mongomock-motor, made to speak the part of PyMongo's async API that Beanie 2 and docstore use.

mongomock-motor imitates Motor; Beanie 2 calls PyMongo's native async driver,
which differs in a few places. Each difference is bridged here, on wrapper
objects, so nothing global is patched (mongomock's private methods are replaced on
each collection object, never on its class). The privates relied on, and the pinned
versions they were checked against, are listed in ``_pins``:

- ``list_collection_names(authorizedCollections=..., nameOnly=...)``: mongomock
  rejects those keywords; they are dropped.
- ``await collection.aggregate(...)`` and ``await collection.list_indexes()``:
  PyMongo async returns the cursor from a coroutine, Motor returns it directly.
- ``bulk_write``: mongomock's builder predates the ``sort`` argument that
  PyMongo's ``UpdateOne`` now passes; operations are applied one by one (which is
  atomic anyway: mongomock never yields to the event loop).
- text indexes: mongomock cannot build them; docstore searches with a word
  regex on this engine, so the index is skipped.
- ``client.append_metadata``: Beanie calls it on the client; a no-op here.
- reading a cursor: mongomock re-slices its whole result list on every
  ``next()``, which makes reading n documents O(n^2) (over a minute for 100k).
  ``MockCursor`` computes the results once; ``aggregate`` runs a leading
  ``$match`` through it instead of copying the whole collection first, and
  answers the instructor overview's ``$group``/``$first`` from the equality index
  (``first_per_group_shape``), copying 30 documents instead of a session's thousands.
- lookups: mongomock tests every document against every filter, so writing n
  documents one by one (an import's upserts) is O(n^2) and the instructor
  overview scans the whole collection. ``_mongomock_fast_paths`` gives each
  collection id lookups and equality indexes; mongomock still applies the filter.

- document size: mongomock lets an update grow a document without limit;
  MongoDB refuses one whose result passes 16 MB (``OperationFailure`` 17419,
  INVALID_DATA). ``_limit_document_size`` refuses it here too, with the stored
  document left as it was.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import bson
import bson.errors
from mongomock.aggregate import process_pipeline
from mongomock_motor import AsyncMongoMockClient
from mongomock_motor.patches import _patch_collection_internals
from pymongo import (
    DeleteMany,
    DeleteOne,
    IndexModel,
    InsertOne,
    ReplaceOne,
    UpdateMany,
    UpdateOne,
)
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure, PyMongoError
from pymongo.results import BulkWriteResult

from .._mapping import MAX_DOCUMENT_BYTES
from ._cursor_page import cursor_results
from ._mongomock_fast_paths import FastPaths, first_per_group_shape
from ._pins import request_parts

__all__ = ["MockCollection", "MockDatabase"]


class _ClientShim:
    def append_metadata(self, *_: Any, **__: Any) -> None:
        """Beanie announces itself to the driver; nothing to announce to here."""


# What MongoDB answers an update whose result is too large ("BSONObjectTooLarge").
_TOO_LARGE = 17419


class _Refused(DuplicateKeyError):
    """Carries a refusal out of mongomock's uniqueness check.

    That check runs on every inserted or changed document, once it is in the store,
    and mongomock puts the document back as it was when it raises DuplicateKeyError:
    the one place where a refusal after the fact leaves nothing changed.
    ``MockCollection`` re-raises ``error``, what MongoDB would have raised.
    """

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error), getattr(error, "code", None))
        self.error = error


def _limit_document_size(sync: Any) -> None:
    """Refuse, on this mongomock collection object, a write that leaves a document too large.

    One ``bson.encode`` of the written document: mongomock has just deep-copied it
    for its own rollback, which costs more (measured in ``scripts/bench_size_check.py``).
    """
    ensure_uniques: Callable[[dict[str, Any]], None] = sync._ensure_uniques

    def checked(document: dict[str, Any]) -> None:
        try:
            size = len(bson.encode(document))
        except (bson.errors.BSONError, UnicodeError, OverflowError, ValueError) as exc:
            raise _Refused(exc) from None
        if size > MAX_DOCUMENT_BYTES:
            raise _Refused(
                OperationFailure(
                    f"Resulting document after update is larger than {MAX_DOCUMENT_BYTES} ({size:,} bytes)",
                    _TOO_LARGE,
                )
            )
        ensure_uniques(document)

    sync._ensure_uniques = checked  # this collection object only, like the fast paths


class MockCursor:
    """A ``find()`` cursor whose results are computed once, then handed out."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self._results: list[Any] | None = None

    def sort(self, *args: Any, **kwargs: Any) -> MockCursor:
        self._cursor.sort(*args, **kwargs)
        return self

    def skip(self, count: int) -> MockCursor:
        self._cursor.skip(count)
        return self

    def limit(self, count: int) -> MockCursor:
        self._cursor.limit(count)
        return self

    def batch_size(self, _: int) -> MockCursor:
        return self  # results are in memory already: nothing to batch

    def _all(self) -> list[Any]:
        if self._results is None:
            # mongomock's own result computation, called once rather than once per document,
            # copying no document past the page (``_cursor_page``).
            self._results = cursor_results(self._cursor)
        return self._results

    async def to_list(self, length: int | None = None) -> list[Any]:
        results = self._all()
        return results[:length] if length else list(results)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        for document in self._all():
            yield document


class _Results:
    """An already computed command cursor (what ``await aggregate()`` returns)."""

    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    async def to_list(self, length: int | None = None) -> list[Any]:
        return self._rows[:length] if length else list(self._rows)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        for row in self._rows:
            yield row


class MockCollection:
    def __init__(self, database: MockDatabase, sync: Any) -> None:
        self.database = database
        self.name: str = sync.name
        # mongomock's collection, with mongomock-motor's fixes (duplicate-key details) and the fast paths.
        self._sync: Any = _patch_collection_internals(sync)
        self._fast = FastPaths(self._sync)
        _limit_document_size(self._sync)

    # -- reads ---------------------------------------------------------------
    def find(self, filter: Any = None, *args: Any, **kwargs: Any) -> MockCursor:
        return MockCursor(self._sync.find(filter, *args, **kwargs))

    async def find_one(self, *args: Any, **kwargs: Any) -> Any:
        return self._sync.find_one(*args, **kwargs)

    async def count_documents(self, filter: Any, **kwargs: Any) -> int:
        result: int = self._sync.count_documents(filter, **kwargs)
        return result

    async def estimated_document_count(self, **_: Any) -> int:
        result: int = self._sync.estimated_document_count()
        return result

    async def distinct(self, *args: Any, **kwargs: Any) -> list[Any]:
        result: list[Any] = self._sync.distinct(*args, **kwargs)
        return result

    async def aggregate(self, pipeline: list[dict[str, Any]], **_: Any) -> _Results:
        shape = first_per_group_shape(pipeline)
        if shape is not None:
            ids = self._fast.first_ids_per_group(*shape)
            if ids is not None:  # the overview: each group's first document, read by id
                field = shape[2]
                name = next(key for key in pipeline[2]["$group"] if key != "_id")
                found = {document["_id"]: document for document in await self.find({"_id": {"$in": ids}}).to_list(None)}
                return _Results([{name: found[i], "_id": found[i][field]} for i in ids if i in found])
        match: dict[str, Any] = {}
        if pipeline and "$match" in pipeline[0]:
            match, pipeline = pipeline[0]["$match"], pipeline[1:]
        documents = await self.find(match).to_list(None)
        return _Results(process_pipeline(documents, self._sync.database, pipeline, None))  # type: ignore[no-untyped-call]

    async def list_indexes(self, **_: Any) -> _Results:
        return _Results(list(self._sync.list_indexes()))

    async def index_information(self, **_: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._sync.index_information()
        return result

    # -- indexes ---------------------------------------------------------------
    async def create_indexes(self, indexes: Sequence[IndexModel], **_: Any) -> list[str]:
        supported = [i for i in indexes if not _is_text_index(i)]
        self._fast.index_fields(next(iter(i.document["key"])) for i in supported)
        # Every field of a unique index too: mongomock checks uniqueness on each write.
        self._fast.index_fields(field for i in supported if i.document.get("unique") for field in i.document["key"])
        # One by one with the options as arguments: mongomock's create_indexes drops a
        # partialFilterExpression (the join-code index's), its create_index keeps it.
        names: list[str] = []
        for index in supported:
            options = {name: value for name, value in index.document.items() if name != "key"}
            names.append(self._sync.create_index(list(index.document["key"].items()), **options))
        return names

    async def drop_index(self, name: str, **_: Any) -> None:
        self._sync.drop_index(name)

    # -- writes ----------------------------------------------------------------
    async def _write(self, method: str, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("session", None)  # no sessions (nor transactions) in mongomock
        inserting = method in ("insert_one", "insert_many")
        keeping = not inserting and _keeps_indexed_fields(method, args, kwargs, self._fast.fields)
        if inserting:
            self._fast.before_insert([args[0]] if method == "insert_one" else args[0])
        elif not keeping:
            self._fast.changed()
        else:
            self._fast.rewriting()  # a sort value or a group may move all the same
        try:
            return getattr(self._sync, method)(*args, **kwargs)
        except _Refused as refused:
            # Rolled back by mongomock: the stored document is as it was.
            raise refused.error from None
        finally:
            if not inserting and not keeping:
                self._fast.changed()

    async def insert_one(self, document: Any, **kwargs: Any) -> Any:
        return await self._write("insert_one", document, **kwargs)

    async def insert_many(self, documents: Any, **kwargs: Any) -> Any:
        return await self._write("insert_many", list(documents), **kwargs)

    async def update_one(self, filter: Any, update: Any, **kwargs: Any) -> Any:
        return await self._write("update_one", filter, update, **kwargs)

    async def update_many(self, filter: Any, update: Any, **kwargs: Any) -> Any:
        return await self._write("update_many", filter, update, **kwargs)

    async def replace_one(self, filter: Any, replacement: Any, **kwargs: Any) -> Any:
        return await self._write("replace_one", filter, replacement, **kwargs)

    async def delete_one(self, filter: Any, **kwargs: Any) -> Any:
        return await self._write("delete_one", filter, **kwargs)

    async def delete_many(self, filter: Any, **kwargs: Any) -> Any:
        return await self._write("delete_many", filter, **kwargs)

    async def find_one_and_update(self, filter: Any, update: Any, **kwargs: Any) -> Any:
        return await self._write("find_one_and_update", filter, update, **kwargs)

    async def find_one_and_replace(self, filter: Any, replacement: Any, **kwargs: Any) -> Any:
        return await self._write("find_one_and_replace", filter, replacement, **kwargs)

    async def find_one_and_delete(self, filter: Any, **kwargs: Any) -> Any:
        return await self._write("find_one_and_delete", filter, **kwargs)

    async def drop(self, **kwargs: Any) -> None:
        await self._write("drop", **kwargs)

    async def bulk_write(self, requests: Sequence[Any], *, ordered: bool = True, **_: Any) -> BulkWriteResult:
        counts = {"nInserted": 0, "nUpserted": 0, "nMatched": 0, "nModified": 0, "nRemoved": 0}
        upserted: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for index, request in enumerate(requests):
            try:
                await self._apply_bulk_request(index, request, counts, upserted)
            except PyMongoError as exc:
                details = getattr(exc, "details", None) or {}
                errors.append({"index": index, "code": getattr(exc, "code", None) or 1, "errmsg": str(exc), **details})
                if ordered:
                    break
        result = {**counts, "upserted": upserted, "writeErrors": errors, "writeConcernErrors": []}
        if errors:
            raise BulkWriteError(result)
        return BulkWriteResult(result, acknowledged=True)

    async def _apply_bulk_request(
        self, index: int, request: Any, counts: dict[str, int], upserted: list[dict[str, Any]]
    ) -> None:
        # PyMongo's requests keep their parts in private slots: read in one place (``_pins``).
        filter, document, upsert = request_parts(request)
        if isinstance(request, InsertOne):
            await self._write("insert_one", document)
            counts["nInserted"] += 1
            return
        if isinstance(request, DeleteOne | DeleteMany):
            method = "delete_one" if isinstance(request, DeleteOne) else "delete_many"
            counts["nRemoved"] += (await self._write(method, filter)).deleted_count
            return
        if isinstance(request, ReplaceOne):
            result = await self._write("replace_one", filter, document, upsert=upsert)
        elif isinstance(request, UpdateOne | UpdateMany):
            method = "update_one" if isinstance(request, UpdateOne) else "update_many"
            result = await self._write(method, filter, document, upsert=upsert)
        else:
            raise TypeError(f"unsupported bulk request {request!r}")
        if result.upserted_id is not None:
            counts["nUpserted"] += 1
            upserted.append({"index": index, "_id": result.upserted_id})
        else:
            counts["nMatched"] += result.matched_count
            counts["nModified"] += result.modified_count


class MockDatabase:
    """An in-memory database with PyMongo's async surface (what Beanie and docstore use)."""

    def __init__(self, name: str) -> None:
        self._inner: Any = AsyncMongoMockClient(tz_aware=True)[name]
        self.name = name
        self.client = _ClientShim()
        self._collections: dict[str, MockCollection] = {}

    def __getitem__(self, name: str) -> MockCollection:
        return self.get_collection(name)

    def get_collection(self, name: str, **_: Any) -> MockCollection:
        if name not in self._collections:
            self._collections[name] = MockCollection(self, self._inner.delegate[name])
        return self._collections[name]

    async def list_collection_names(self, **_: Any) -> list[str]:
        # authorizedCollections / nameOnly / filter: mongomock knows none of them.
        names: list[str] = await self._inner.list_collection_names()
        return names

    async def command(self, command: Any, **_: Any) -> dict[str, Any]:
        name = next(iter(command)) if isinstance(command, dict) else command
        if name == "ping":
            return {"ok": 1.0}
        if name == "buildInfo":
            return {"ok": 1.0, "version": "7.0.0", "versionArray": [7, 0, 0, 0]}
        raise NotImplementedError(f"the in-memory engine does not run the command {name!r}")


def _keeps_indexed_fields(method: str, args: Sequence[Any], kwargs: dict[str, Any], fields: frozenset[str]) -> bool:
    """Whether a write leaves every equality index valid: an update by operators, no upsert
    (it could add a document), touching none of the indexed fields (a student's post)."""
    if method not in ("update_one", "update_many", "find_one_and_update") or kwargs.get("upsert"):
        return False
    update = args[1] if len(args) > 1 else None
    if not isinstance(update, dict) or not update:
        return False
    touched: set[str] = set()
    for operator, paths in update.items():
        if not isinstance(operator, str) or not operator.startswith("$") or not isinstance(paths, dict):
            return False  # a replacement or a pipeline: anything may change
        if operator == "$rename":
            return False  # names its targets in the values
        touched |= {str(path).split(".")[0] for path in paths}
    return not touched & (fields | {"_id"})


def _is_text_index(index: IndexModel) -> bool:
    return any(direction == "text" for _, direction in index.document["key"].items())
