"""The declared index set and the planner that brings a database's indexes up to date.

Two ideas, pure functions over plain data (no driver, no server), so CI checks
them without MongoDB:

- ``DECLARED``: every index docstore wants, by collection, as ``IndexSpec``; and
  ``SHARD_KEYS``, the key of each collection ``docstore init --shard`` shards.
- ``plan_index_changes``: what to create, rebuild or drop so that a database's
  existing indexes (``index_information()``) match the declared ones. A changed
  index keeps its name, so it is dropped and made again: sending it as it is would
  fail with IndexKeySpecsConflict / IndexOptionsConflict (MongoDB never updates an
  index in place).

Whether a declared index serves a query (``QueryShape``, ``serving_index``) is
``_query_shapes.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any, Literal

from pymongo import ASCENDING, DESCENDING, TEXT, IndexModel

from .._listing import PROBLEM_SORT_KEYS, SESSION_SORT_KEYS
from .._students import SESSION_STUDENTS

__all__ = [
    "ACTIVE_JOIN_CODE",
    "DECLARED",
    "PROBLEMS",
    "PROBLEM_INDEXES",
    "REVISIONS",
    "REVISION_INDEXES",
    "SESSIONS",
    "SESSION_INDEXES",
    "SESSION_STUDENTS",
    "SHARD_KEYS",
    "STUDENT_INDEXES",
    "IndexChange",
    "IndexSpec",
    "plan_index_changes",
]

SESSIONS = "sessions"
PROBLEMS = "problems"
REVISIONS = "revisions"

# The join code of an *active* session (normalized), absent otherwise: a unique index on
# (it, namespace_id), partial on its presence, makes "one active session per join code in
# a namespace" a guarantee of the database itself, on every engine (mongomock honours
# partial indexes). A sparse compound index would not do: it holds every session.
ACTIVE_JOIN_CODE = "active_join_code"

Direction = int | str  # 1, -1 or "text"
Key = tuple[tuple[str, Direction], ...]

# Options that make two indexes with the same keys different (what MongoDB compares).
_COMPARED_OPTIONS = ("unique", "sparse", "partialFilterExpression", "expireAfterSeconds", "collation")
_TEXT_OPTIONS = ("weights", "default_language", "language_override")


@dataclass(frozen=True)
class IndexSpec:
    """One declared index: its name, its keys in order, and the options that matter."""

    name: str
    keys: Key
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_text(self) -> bool:
        return any(direction == TEXT for _, direction in self.keys)

    def model(self) -> IndexModel:
        return IndexModel(list(self.keys), name=self.name, **dict(self.options))

    def differences(self, existing: Mapping[str, Any]) -> list[str]:
        """How an existing index of this name differs from this declaration (``[]``: same)."""
        changes: list[str] = []
        if self.is_text:
            # A text index is stored as (_fts, _ftsx) plus weights: compare what was declared.
            weights = {name: 1 for name, direction in self.keys if direction == TEXT}
            weights.update(self.options.get("weights", {}))
            if dict(existing.get("weights", {})) != weights:
                changes.append(f"weights {existing.get('weights')} -> {weights}")
            prefix = [(name, _direction(d)) for name, d in self.keys if d != TEXT]
            stored_prefix = [
                (name, _direction(d)) for name, d in existing.get("key", []) if name not in ("_fts", "_ftsx")
            ]
            if stored_prefix != prefix:
                changes.append(f"keys {stored_prefix} -> {prefix}")
            for option in ("default_language", "language_override"):
                if option in self.options and existing.get(option) != self.options[option]:
                    changes.append(f"{option} {existing.get(option)!r} -> {self.options[option]!r}")
            return changes
        stored = [(name, _direction(direction)) for name, direction in existing.get("key", [])]
        wanted = [(name, _direction(direction)) for name, direction in self.keys]
        if stored != wanted:
            changes.append(f"keys {_show(stored)} -> {_show(wanted)}")
        for option in _COMPARED_OPTIONS:
            have, want = existing.get(option), self.options.get(option)
            if bool(have) != bool(want) or (want and have != want):
                changes.append(f"{option} {have!r} -> {want!r}")
        return changes

    def same_keys(self, existing: Mapping[str, Any]) -> bool:
        """Whether MongoDB would refuse this index next to ``existing`` (same keys; any two text indexes)."""
        stored = [(name, _direction(direction)) for name, direction in existing.get("key", [])]
        if self.is_text:
            return any(name == "_fts" for name, _ in stored)  # one text index per collection
        return stored == [(name, _direction(direction)) for name, direction in self.keys]


def _direction(value: Any) -> Direction:
    # Servers hand directions back as 1.0 or Int64 now and then.
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def _show(keys: Sequence[tuple[str, Direction]]) -> str:
    return "{" + ", ".join(f"{name}: {direction}" for name, direction in keys) + "}"


def _index(name: str, *keys: tuple[str, Direction], **options: Any) -> IndexSpec:
    return IndexSpec(name, tuple(keys), options)


# -- the declared index set ---------------------------------------------------------
#
# Sessions: every listing filters on `active` (a query without an `active` filter asks
# for `active: {$in: [False, True]}`, two point ranges that MongoDB merges in sort order
# (SORT_MERGE) instead of sorting), optionally on `instructor_id`, and sorts on one of
# three keys with `_id` as the keyset tie-break. Scoped views add `namespace_id` first.
_SESSION_SORTS = SESSION_SORT_KEYS


def _session_listing_indexes() -> list[IndexSpec]:
    indexes: list[IndexSpec] = []
    for scoped, by_instructor, sort in product((False, True), (False, True), _SESSION_SORTS):
        keys: list[tuple[str, Direction]] = [("namespace_id", ASCENDING)] if scoped else []
        keys.append(("active", ASCENDING))
        if by_instructor:
            keys.append(("instructor_id", ASCENDING))
        keys += [(sort, DESCENDING), ("_id", DESCENDING)]
        name = "_".join(
            part
            for part in ("ns" if scoped else "", "active", "instructor" if by_instructor else "", "by", sort)
            if part
        )
        indexes.append(IndexSpec(name, tuple(keys)))
    return indexes


SESSION_INDEXES = [
    _index(
        "active_join_code_unique",
        (ACTIVE_JOIN_CODE, ASCENDING),
        ("namespace_id", ASCENDING),
        unique=True,
        partialFilterExpression={ACTIVE_JOIN_CODE: {"$exists": True}},
    ),
    *_session_listing_indexes(),
]

# Problems: one index per (filter field, sort key), scoped and unscoped. A listing that
# combines filters is served by the index of one of them; the others are checked on
# the fetched documents (``RESIDUAL_OK``): the library is small and rarely written,
# so one index per combination (32) would cost more than it saves.
_PROBLEM_FILTERS = ("", "difficulty", "tags", "created_by")
# Each key in the direction its listings mostly read (newest first, titles A to Z); an
# index serves both directions. A sort key added to ``ProblemSortKey`` fails here until
# it has one.
_PROBLEM_DIRECTIONS = {"created_at": DESCENDING, "title": ASCENDING}
_PROBLEM_SORTS = tuple((key, _PROBLEM_DIRECTIONS[key]) for key in PROBLEM_SORT_KEYS)


def _problem_listing_indexes() -> list[IndexSpec]:
    indexes: list[IndexSpec] = []
    for scoped, filtered, (sort, direction) in product((False, True), _PROBLEM_FILTERS, _PROBLEM_SORTS):
        keys: list[tuple[str, Direction]] = [("namespace_id", ASCENDING)] if scoped else []
        if filtered:
            keys.append((filtered, ASCENDING))
        keys += [(sort, direction), ("_id", direction)]
        name = "_".join(part for part in ("ns" if scoped else "", filtered, "by", sort) if part)
        indexes.append(IndexSpec(name, tuple(keys)))
    return indexes


PROBLEM_INDEXES = [
    *_problem_listing_indexes(),
    # "none": no stemming and no stop words, so $text matches exactly the words that
    # the embedded engines match with a word regex (same results everywhere).
    _index(
        "text_title_description",
        ("title", TEXT),
        ("description", TEXT),
        default_language="none",
        weights={"title": 10, "description": 1},
    ),
]

# Revisions: one order serves everything. (session, student, newest first) is what the
# overview's $sort+$group $first needs for a DISTINCT_SCAN; a student's history walks
# it backwards (oldest first); a whole session's revisions read it backwards too
# (student descending, then oldest first). It also starts with the shard key.
_NEWEST_FIRST: tuple[tuple[str, Direction], ...] = (
    ("session_id", ASCENDING),
    ("student_id", ASCENDING),
    ("timestamp", DESCENDING),
    ("_id", DESCENDING),
)
REVISION_INDEXES = [
    IndexSpec("session_student_newest", _NEWEST_FIRST),
    IndexSpec("ns_session_student_newest", (("namespace_id", ASCENDING), *_NEWEST_FIRST)),
]

# Session students (``docstore._students``): one record per (session, student). Every
# query names the session: the unique (session, student) index makes "one record per
# student" the database's guarantee, finds one student, lists a class by student id
# (keyset) and counts it; scoped views put the namespace first. It starts with the
# shard key.
_SESSION_STUDENT: tuple[tuple[str, Direction], ...] = (("session_id", ASCENDING), ("student_id", ASCENDING))
STUDENT_INDEXES = [
    IndexSpec("session_student_unique", _SESSION_STUDENT, {"unique": True}),
    IndexSpec("ns_session_student", (("namespace_id", ASCENDING), *_SESSION_STUDENT)),
]

DECLARED: dict[str, list[IndexSpec]] = {
    SESSIONS: SESSION_INDEXES,
    SESSION_STUDENTS: STUDENT_INDEXES,
    PROBLEMS: PROBLEM_INDEXES,
    REVISIONS: REVISION_INDEXES,
}

# The shard key of each collection that is sharded (``docstore init --shard``). Sessions
# and problems stay unsharded: sessions need a unique index on the active join code
# (a sharded collection only enforces uniqueness on indexes prefixed by its shard key),
# and both are small. Revisions grow with every keystroke batch; every query that
# matters names the session, and most the student too. Session students share that
# key: a session's class is one contiguous key range (its listing and count go to
# the shards holding it, mostly one), yet a huge class (1,000 x 16 KB) can still be
# split by student instead of growing one jumbo chunk, as {session_id} alone would.
# Every write of a record names both fields (an upsert on a sharded collection must
# give the whole shard key).
SHARD_KEYS: dict[str, tuple[tuple[str, Direction], ...]] = {
    SESSION_STUDENTS: _SESSION_STUDENT,
    REVISIONS: _SESSION_STUDENT,
}


# -- the upgrade planner ---------------------------------------------------------------
Action = Literal["create", "rebuild", "replace", "drop", "keep-unknown"]


@dataclass(frozen=True)
class IndexChange:
    """One step of an index upgrade on one collection."""

    collection: str
    action: Action
    name: str
    reason: str = ""
    spec: IndexSpec | None = None
    # A creation that must wait for the drop of an older index with the same keys.
    after_drop: str | None = None

    @property
    def safe_at_startup(self) -> bool:
        """Made by ``initialize()`` on its own: a new index never breaks a running service."""
        return self.action == "create" and self.after_drop is None

    @property
    def pending(self) -> bool:
        """Whether this step changes anything (unknown indexes kept on purpose do not)."""
        return self.action != "keep-unknown"

    def describe(self) -> str:
        text = f"{self.collection}.{self.name}: {self.action}"
        return f"{text} ({self.reason})" if self.reason else text


def plan_index_changes(
    collection: str,
    declared: Iterable[IndexSpec],
    existing: Mapping[str, Mapping[str, Any]],
    *,
    drop_unknown: bool = False,
    text_indexes: bool = True,
) -> list[IndexChange]:
    """The steps that make ``existing`` (``index_information()``) match ``declared``.

    Drops come first (an index must go before another with its keys can be made),
    then rebuilds, then creations. ``text_indexes=False`` for engines that cannot
    hold them (mongomock): declared text indexes are then neither made nor missed.
    """
    wanted = [spec for spec in declared if text_indexes or not spec.is_text]
    by_name = {spec.name: spec for spec in wanted}
    drops: list[IndexChange] = []
    rebuilds: list[IndexChange] = []
    creates: list[IndexChange] = []
    replaced: set[str] = set()
    for spec in wanted:
        if spec.name in existing:
            changes = spec.differences(existing[spec.name])
            if changes:
                rebuilds.append(IndexChange(collection, "rebuild", spec.name, "; ".join(changes), spec))
            continue
        # The same keys under another (older) name: MongoDB refuses a second index with
        # identical keys, so the old one goes, whatever --drop-unknown says.
        twin = next(
            (
                name
                for name, info in existing.items()
                if name not in by_name and name != "_id_" and spec.same_keys(info)
            ),
            None,
        )
        if twin is not None:
            replaced.add(twin)
            drops.append(IndexChange(collection, "replace", twin, f"same keys as {spec.name}, which replaces it"))
            creates.append(IndexChange(collection, "create", spec.name, f"replaces {twin}", spec, after_drop=twin))
        else:
            creates.append(IndexChange(collection, "create", spec.name, "missing", spec))
    for name in existing:
        if name == "_id_" or name in by_name or name in replaced:
            continue
        if not text_indexes and any(d == TEXT for _, d in existing[name].get("key", [])):
            continue
        if drop_unknown:
            drops.append(IndexChange(collection, "drop", name, "no longer declared"))
        else:
            drops.append(IndexChange(collection, "keep-unknown", name, "not declared; --drop-unknown drops it"))
    return drops + rebuilds + creates
