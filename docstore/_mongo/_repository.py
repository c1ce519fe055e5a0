"""The base of the dialect's repositories, and ``StoreState``, the part of the backend they see.

``Repository`` is the base of ``MongoProblemRepository``, ``MongoRevisionRepository`` and
``StudentPosts`` (which ``MongoSessionRepository`` builds on): a view's namespace scope
on every filter, a new item checked and stamped (``_backend_common.stamped``), an atomic update
with compare-and-set on the version that tells NOT_FOUND from CONFLICT, counts, and
keyset paging on (sort field, ``_id``). ``StoreState`` is what ``MongoBackend`` hands
them. ``damaged`` and ``stored_version`` (``docstore._backend_common``) are re-exported for the
dialect's modules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

from pymongo import ASCENDING, DESCENDING, ReturnDocument

from .._arguments import check_version, revalidated
from .._backend_common import damaged, not_found, stamped, stored_version
from .._errors import ErrorCode, PersistenceError
from .._interfaces import SortOrder
from .._listing import Listing
from .._mapping import METADATA, from_document, require_id
from .._models import StoredItem
from .._naive_times import naive_times_suffice
from .._page import Page
from .._stored_reads import naive_items
from .._time import utc_now
from ._naive_reads import NaiveReader, aware_value

__all__ = ["Repository", "StoreState", "damaged", "stored_version"]

T = TypeVar("T", bound=StoredItem)
S = TypeVar("S", bound=StoredItem)
R = TypeVar("R")


class StoreState(Protocol):
    """The part of the backend that its repositories see (``MongoBackend`` implements it)."""

    def collection(self, name: str) -> Any:
        """The named collection: Beanie's bound one where there is one (the store refuses calls once shut down)."""

    @property
    def supports_text_search(self) -> bool: ...

    @property
    def database(self) -> Any:
        """The database (its change streams feed ``watch``)."""

    async def run_atomically(self, work: Callable[[Any], Awaitable[R]]) -> tuple[R, bool]:
        """Run ``work(session)`` in a transaction where the engine has them; (result, whether it did)."""

    async def check_student_layout(self) -> None:
        """STORAGE_ERROR while the store still holds students inside sessions (``docstore init`` migrates)."""

    def reader(self, name: str) -> NaiveReader | None:
        """The named collection's reader decoding datetimes naive (``_naive_reads``); None where there is none."""


class Repository(Generic[T]):
    collection_name: str
    model: type[T]

    def __init__(self, state: StoreState, namespace: str | None, actor: str | None) -> None:
        self._state = state
        self._namespace = namespace
        self._actor = actor

    @property
    def _collection(self) -> Any:
        return self._state.collection(self.collection_name)

    # -- namespace scope -------------------------------------------------------
    def _scoped(self, filter: dict[str, Any]) -> dict[str, Any]:
        """Add the namespace condition: a scoped view never sees another namespace."""
        if self._namespace is not None:
            filter["namespace_id"] = self._namespace
        return filter

    def _prepared(self, item: object) -> T:
        """A caller's new item, checked, with the view's namespace and fresh metadata."""
        return self._stamp(self._check_item(item))

    def _stamp(self, item: S) -> S:
        """A copy of ``item`` ready to insert: namespace of the view, fresh metadata."""
        return stamped(item, self._namespace, self._actor)

    def _check_item(self, item: object) -> T:
        return revalidated(self.model, item)

    # -- writes ----------------------------------------------------------------
    def _touch(self, set_fields: Mapping[str, Any]) -> dict[str, Any]:
        """The update document for a write: its fields, plus version+1 and updated_at."""
        return {
            "$set": {
                **set_fields,
                f"{METADATA}.updated_at": utc_now(),
                f"{METADATA}.modified_by": self._actor,
            },
            "$inc": {f"{METADATA}.version": 1},
        }

    async def _update_one(
        self,
        item_id: object,
        update: dict[str, Any],
        *,
        expected_version: int | None = None,
        condition: Mapping[str, Any] | None = None,
        what: str | None = None,
    ) -> T:
        """Apply ``update`` atomically to one item; NOT_FOUND or CONFLICT when it does not match."""
        raw = await self._update_raw(item_id, update, expected_version=expected_version, condition=condition, what=what)
        return from_document(self.model, raw)

    async def _update_raw(
        self,
        item_id: object,
        update: dict[str, Any],
        *,
        expected_version: int | None = None,
        condition: Mapping[str, Any] | None = None,
        what: str | None = None,
        projection: Mapping[str, Any] | None = None,
        session: Any = None,
    ) -> dict[str, Any]:
        """``_update_one`` returning the stored document (only ``projection`` of it, if given)."""
        item_id = require_id(item_id)
        filter = self._scoped({"_id": item_id, **(condition or {})})
        if check_version(expected_version) is not None:
            filter[f"{METADATA}.version"] = expected_version
        try:
            raw: dict[str, Any] | None = await self._collection.find_one_and_update(
                filter, update, projection=projection, return_document=ReturnDocument.AFTER, session=session
            )
        except (TypeError, ValueError, KeyError) as exc:
            # The arguments were checked before: the engine choked on the stored document
            # (an update path through a list, say). MongoDB says so with a WriteError.
            raise damaged(self.model.__name__, item_id, f"cannot apply the update: {exc}") from None
        if raw is not None:
            return raw
        current = await self._collection.find_one(self._scoped({"_id": item_id}), {METADATA: 1}, session=session)
        if current is None:
            raise not_found(self.model.__name__, item_id)
        if expected_version is not None:
            version = stored_version(current, self.model.__name__)
            if version != expected_version:
                raise PersistenceError(
                    ErrorCode.CONFLICT,
                    f"{self.model.__name__} {item_id!r} is at version {version}, not {expected_version}",
                )
        raise PersistenceError(ErrorCode.NOT_FOUND, what) if what else not_found(self.model.__name__, item_id)

    # -- reads -----------------------------------------------------------------
    async def _find_one(self, filter: dict[str, Any]) -> T | None:
        raw = await self._collection.find_one(self._scoped(filter))
        return None if raw is None else from_document(self.model, raw)

    async def _count(self, filter: dict[str, Any]) -> int:
        filter = self._scoped(filter)
        # Counting everything (the operator's unscoped view) reads the collection's
        # metadata instead of scanning every document.
        count: int = await (
            self._collection.count_documents(filter) if filter else self._collection.estimated_document_count()
        )
        return count

    async def _page(
        self, filter: dict[str, Any], listing: Listing, *, projection: Mapping[str, Any] | None = None
    ) -> Page[T]:
        """One page by keyset on (sort_by, _id): a deep page costs what the first one does."""
        filter = self._scoped(filter)
        sort_by, sort_order = listing.sort_by, listing.sort_order
        if listing.after is not None:
            value, last_id = listing.after
            filter = {"$and": [filter, _after(sort_by, sort_order, value, last_id)]}
        direction = ASCENDING if sort_order == "asc" else DESCENDING
        order = [(sort_by, direction), ("_id", direction)]
        reader = self._state.reader(self.collection_name)
        if reader is not None:
            # Decoded naive where that gives the same items (``_naive_reads``); the cursor holds
            # the sort value the driver would have decoded.
            rows = await reader.find(
                filter, projection, self._naive_suffices, sort=order, skip=listing.offset, limit=listing.fetch
            )
            return listing.page(rows, self._naive_items, partial(_as_decoded, sort_by))
        found = self._collection.find(filter, projection).sort(order).skip(listing.offset).limit(listing.fetch)
        raws: list[dict[str, Any]] = await found.to_list(None)
        return listing.page(raws, self._items, _as_stored)

    def _naive_suffices(self, document: Mapping[str, Any]) -> bool:
        return naive_times_suffice(self.model, document)

    def _items(self, raws: list[dict[str, Any]]) -> list[T]:
        return [from_document(self.model, raw) for raw in raws]

    def _naive_items(self, rows: list[dict[str, Any]]) -> list[T]:
        """``_items`` of rows a naive read returned: the model's derived validator (``_stored_reads``)."""
        return naive_items(self.model, rows)


def _as_stored(raw: dict[str, Any]) -> dict[str, Any]:
    return raw


def _as_decoded(sort_by: str, row: dict[str, Any]) -> dict[str, Any]:
    """A row read naive, its sort value as the driver would have decoded it (for the cursor)."""
    return {**row, sort_by: aware_value(row.get(sort_by))}


def _after(field: str, order: SortOrder, value: Any, last_id: str) -> dict[str, Any]:
    """Items strictly after (value, last_id) in the (field, _id) ordering.

    ``None`` sorts before every other value in MongoDB, hence the special cases.
    """
    beyond, id_beyond = ("$gt", "$gt") if order == "asc" else ("$lt", "$lt")
    tie = {field: value, "_id": {id_beyond: last_id}}
    if value is None:
        if order == "asc":
            return {"$or": [tie, {field: {"$ne": None}}]}
        return tie
    clauses: list[dict[str, Any]] = [{field: {beyond: value}}, tie]
    if order == "desc":
        clauses.append({field: None})
    return {"$or": clauses}
