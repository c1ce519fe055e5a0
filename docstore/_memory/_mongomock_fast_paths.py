"""Fast paths for mongomock's commonest lookups, on one collection object at a time.

mongomock tests every document against every filter. Two shapes of filter are
most of docstore's traffic, and both get a shortcut here; in both cases mongomock
still applies the whole filter to what the shortcut finds, so results are exactly
mongomock's:

- ``_id`` equality or ``_id: {"$in": [...]}``: looked up in the store (writing n
  documents one by one was O(n^2) without it).
- plain string equalities (``{"session_id": s, "namespace_id": ns}``): an
  equality index on a field that starts one of the collection's indexes. It maps
  a value to the ids of every document that *may* hold it (a superset: a failed
  insert leaves an id behind, which the filter then rejects). Inserts are added
  before they are written, so mongomock's own unique-index checks, which run in
  the middle of a write, already see them; any other write drops the index, to be
  rebuilt on the next lookup. The instructor overview then reads its session's
  revisions, not the whole collection.
- the instructor overview's aggregation (``$match`` of string equalities, ``$sort``
  ending in (group field, then newest first), ``$group`` taking each group's
  ``$first`` document): answered from the equality index by one pass over the
  stored documents, without copying them, kept and brought up to date by the ids
  inserted since (``_latest_per_group``), then the winners read by id. mongomock
  would copy every revision of the session, sort them in Python and group them:
  ~300 ms for 6,000. Any document the pass cannot compare exactly as MongoDB does
  (a group key that is not text, a sort value that is not a datetime or text,
  a field holding a list) sends the whole aggregation back to mongomock.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from mongomock.filtering import filter_applies

from ._latest_per_group import LatestPerGroup

__all__ = ["FastPaths", "first_per_group_shape"]


def _ids_in(filter: Any) -> list[Any] | None:
    """The ids a filter pins ``_id`` to, or None when it does not."""
    if not isinstance(filter, dict) or "_id" not in filter:
        return None
    wanted = filter["_id"]
    if isinstance(wanted, str | int) and not isinstance(wanted, bool):
        return [wanted]
    if isinstance(wanted, dict) and list(wanted) == ["$in"] and isinstance(wanted["$in"], list | tuple):
        ids = wanted["$in"]
        if all(isinstance(i, str | int) and not isinstance(i, bool) for i in ids):
            return list(dict.fromkeys(ids))
    return None


def _string_equalities(filter: Any) -> dict[str, str] | None:
    """The filter as {field: text} when it holds nothing else."""
    if not isinstance(filter, dict) or not filter:
        return None
    for key, value in filter.items():
        if type(key) is not str or "." in key or key.startswith("$") or type(value) is not str:
            return None
    return filter


def _size(ids: dict[Any, None]) -> int:
    return len(ids)


def first_per_group_shape(pipeline: list[dict[str, Any]]) -> tuple[dict[str, str], list[str], str] | None:
    """(match, descending sort fields, group field) of an overview-shaped pipeline, else None.

    The shape: ``$match`` of string equalities; ``$sort`` ascending on matched fields,
    then ascending on the group field, then descending on the rest; ``$group`` by that
    field keeping ``$first: "$$ROOT"`` and nothing else.
    """
    if len(pipeline) != 3 or [next(iter(stage)) for stage in pipeline] != ["$match", "$sort", "$group"]:
        return None
    match = _string_equalities(pipeline[0]["$match"])
    order, group = pipeline[1]["$sort"], pipeline[2]["$group"]
    if match is None or not isinstance(order, dict) or not isinstance(group, dict) or len(group) != 2:
        return None
    by = group.get("_id")
    firsts = [value for key, value in group.items() if key != "_id"]
    if not (isinstance(by, str) and by.startswith("$") and firsts == [{"$first": "$$ROOT"}]):
        return None
    field = by[1:]
    keys = list(order.items())
    position = next((i for i, (key, _) in enumerate(keys) if key == field), None)
    if position is None or field in match or keys[position][1] != 1:
        return None
    if any(key not in match for key, _ in keys[:position]):
        return None  # a sort field before the group that is not pinned by the match
    descending = [key for key, direction in keys[position + 1 :] if direction == -1]
    if len(descending) != len(keys) - position - 1 or "." in field or any("." in key for key in descending):
        return None
    return match, descending, field


class _Unindexable(Exception):
    """A document holds a list or sub-document in the field: MongoDB equality could
    match inside it, so this field is left to mongomock."""


class FastPaths:
    def __init__(self, collection: Any) -> None:
        self._store = collection._store
        self._scan = collection._iter_documents
        self._fields: set[str] = set()
        # field -> value -> ids (a dict used as an ordered set); None: to rebuild
        self._indexes: dict[str, dict[str, dict[Any, None]] | None] = {}
        self._latest = LatestPerGroup()  # the overview's answers
        collection._iter_documents = self._iter_documents  # this collection object only

    def index_fields(self, fields: Iterable[str]) -> None:
        self._fields |= {field for field in fields if "." not in field and field != "_id"}

    def rewriting(self) -> None:
        """Call before a write that keeps every indexed field: the overview's answers are dropped."""
        self._latest.forget()

    @property
    def fields(self) -> frozenset[str]:
        """The fields that may get an equality index: a write that changes none of them keeps them."""
        return frozenset(self._fields)

    def before_insert(self, documents: list[dict[str, Any]]) -> None:
        """Call before inserting: the documents join the indexes first (see the module doc)."""
        self._latest.inserting(documents)
        for field, index in list(self._indexes.items()):
            if index is None:
                continue
            try:
                for document in documents:
                    self._add(index, field, document)
            except _Unindexable:
                self._indexes[field] = None

    def changed(self) -> None:
        """Call before and after any other write: the indexes are rebuilt when next needed."""
        self._latest.forget()
        for field in self._indexes:
            self._indexes[field] = None

    @staticmethod
    def _add(index: dict[str, dict[Any, None]], field: str, document: dict[str, Any]) -> None:
        value = document.get(field)
        if isinstance(value, list | dict) or "_id" not in document:
            raise _Unindexable(field)
        if isinstance(value, str):
            index.setdefault(value, {})[document["_id"]] = None

    def _index(self, field: str) -> dict[str, dict[Any, None]] | None:
        index = self._indexes.get(field)
        if index is None:
            index = {}
            try:
                for document in self._store.documents:
                    self._add(index, field, document)
            except _Unindexable:
                return None  # stays stale: the next lookup tries again, after the data changed
            self._indexes[field] = index
        return index

    def first_ids_per_group(self, match: dict[str, str], descending: list[str], field: str) -> list[Any] | None:
        """The id of each group's first document under ``match``, newest first on ``descending``; or None.

        One pass over the stored documents the equality index names, read in place (no
        copies), then only over those inserted since (``_latest_per_group``). None when
        mongomock must answer: no index, a TTL index (mongomock expires documents on
        access), or a value this pass would not order as MongoDB does.
        """
        indexed = [name for name in match if name in self._fields]
        index = self._index(indexed[0]) if indexed else None
        if index is None or self._store._ttl_indexes:
            return None
        candidates = index.get(match[indexed[0]], {})
        return self._latest.first_ids(self._store._documents, candidates, match, descending, field)

    def _iter_documents(self, filter: Any) -> Iterator[Any]:
        ids = _ids_in(filter)
        if ids is None:
            equalities = _string_equalities(filter) or {}
            # The most selective of the indexed fields: mongomock's unique check of
            # (session_id, student_id) then reads one record, not the whole class.
            candidates: list[dict[Any, None]] = []
            for field, value in equalities.items():
                index = self._index(field) if field in self._fields else None
                if index is not None:
                    candidates.append(index.get(value, {}))
            if not candidates:
                return self._scan(filter)  # type: ignore[no-any-return]
            smallest: dict[Any, None] = min(candidates, key=_size)
            ids = list(smallest)
        documents = [self._store[i] for i in ids if i in self._store]
        return (document for document in documents if filter_applies(filter, document))  # type: ignore[no-untyped-call]
