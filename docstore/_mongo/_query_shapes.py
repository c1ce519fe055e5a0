"""Query coverage: whether a declared index serves a query, and whether mongos can route it.

Pure functions over plain data (no driver, no server), so CI checks them without
MongoDB: a query's ``QueryShape`` (its equality fields, then its sort) is served by an
index whose equality fields come first (any order), then its sort fields in order or
in exact reverse: no collection scan, no blocking sort.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING

from ._indexes import DECLARED, PROBLEMS, REVISIONS, SHARD_KEYS, IndexSpec

__all__ = [
    "RESIDUAL_OK",
    "SCATTER_GATHER",
    "QueryShape",
    "serves",
    "serving_index",
    "shape_of",
    "targets_one_shard",
]

# Repository queries on a sharded collection that do not name the start of its shard
# key: mongos sends them to every shard (README lists them).
SCATTER_GATHER: dict[str, tuple[str, ...]] = {
    REVISIONS: ("get_revision(revision_id): one revision by its id alone",),
}


def targets_one_shard(shape: QueryShape) -> bool:
    """Whether mongos can route ``shape`` by the shard key (always, when unsharded)."""
    key = SHARD_KEYS.get(shape.collection)
    return key is None or key[0][0] in shape.equality


# -- query coverage -------------------------------------------------------------------
# Collections whose listings combine filters served by one field's index, the rest
# checked on fetched documents (see PROBLEM_INDEXES).
RESIDUAL_OK = frozenset({PROBLEMS})


@dataclass(frozen=True)
class QueryShape:
    """What a query needs from an index: its equality fields, then its sort, in order."""

    collection: str
    equality: frozenset[str]
    sort: tuple[tuple[str, int], ...] = ()
    description: str = ""

    def __str__(self) -> str:
        sort = ", ".join(f"{name} {direction:+d}" for name, direction in self.sort)
        return f"{self.collection}: {{{', '.join(sorted(self.equality))}}} sort [{sort}] ({self.description})"


def serves(index: IndexSpec, shape: QueryShape, *, residual_ok: bool = False) -> bool:
    """Whether ``index`` reads ``shape``'s results without a scan of everything or a sort.

    Its first fields are exactly the equality fields (any order; with ``residual_ok``
    a non-empty part of them that includes ``namespace_id``), and the fields after
    them are the sort fields in order, all in the same or all in the opposite direction.
    Equality fields may also appear among the sort fields (a point range sorts trivially).
    """
    if index.is_text:
        return False
    keys = [(name, int(direction)) for name, direction in index.keys]
    names = [name for name, _ in keys]
    if index.options.get("unique") and set(names) <= shape.equality:
        return True  # at most one document matches: nothing to sort
    filters = shape.equality - {"namespace_id"}
    if residual_ok:
        candidates = [
            n
            for n in range(len(keys) + 1)
            if set(names[:n]) <= shape.equality
            and ("namespace_id" not in shape.equality or "namespace_id" in names[:n])
            and (not filters or set(names[:n]) & filters)
        ]
    else:
        candidates = [len(shape.equality)] if set(names[: len(shape.equality)]) == shape.equality else []
    for prefix in candidates:
        rest = [(name, direction) for name, direction in keys[prefix:]]
        sort = [(name, direction) for name, direction in shape.sort if name not in set(names[:prefix])]
        if len(rest) < len(sort):
            continue
        head = rest[: len(sort)]
        if head == sort or head == [(name, -direction) for name, direction in sort]:
            return True
    return False


def serving_index(shape: QueryShape, declared: Mapping[str, Sequence[IndexSpec]] = DECLARED) -> IndexSpec | None:
    """The declared index that serves ``shape``, or None. Lookups by ``_id`` use ``_id_``."""
    if "_id" in shape.equality:
        return IndexSpec("_id_", (("_id", ASCENDING),))
    residual_ok = shape.collection in RESIDUAL_OK
    for index in declared.get(shape.collection, []):
        if serves(index, shape, residual_ok=residual_ok):
            return index
    return None


def shape_of(
    collection: str, filter: Mapping[str, Any], sort: Sequence[tuple[str, int]] = (), description: str = ""
) -> QueryShape:
    """The shape of a query: fields it pins to points, and its sort.

    A field compared with a value, ``$in`` or ``$all`` is an equality field (point
    ranges); ranges, ``$or`` branches (the keyset "after" clause) and ``$exists``
    only narrow the scan of the index that the equality fields pick.
    """
    return QueryShape(collection, frozenset(_equality_fields(filter)), tuple(sort), description)


def _equality_fields(filter: Mapping[str, Any]) -> set[str]:
    fields: set[str] = set()
    for key, value in filter.items():
        if key == "$and":
            for part in value:
                fields |= _equality_fields(part)
        elif key.startswith("$"):
            continue  # $or: a keyset clause; $text: the text index's business
        elif _is_point(value):
            fields.add(key)
    return fields


def _is_point(condition: Any) -> bool:
    """A value, or ``$in``/``$all`` of values: point ranges of an index."""
    if not isinstance(condition, Mapping) or not any(op.startswith("$") for op in condition):
        return True
    return set(condition) <= {"$in", "$all"}
