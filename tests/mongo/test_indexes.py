"""The declared indexes serve every query the repositories send (checked without a server).

The queries are recorded from the real repositories on memory:// (the same MongoDB
queries as on a server); each one's shape (equality fields, then sort) must be read
in order by a declared index: its equality fields first, then its sort fields in
order or in exact reverse. ``tests/contract/test_query_plans.py`` asks a real
server's planner the same question when one is configured.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from docstore import open_store
from docstore._memory import _mongomock_adapter
from docstore._mongo._indexes import DECLARED, REVISION_INDEXES, SHARD_KEYS, IndexSpec
from docstore._mongo._query_shapes import (
    SCATTER_GATHER,
    QueryShape,
    serves,
    serving_index,
    shape_of,
    targets_one_shard,
)

from ..contract.test_query_plans import exercise


class ShapeRecorder:
    """Every filter and sort the repositories hand to a collection."""

    def __init__(self) -> None:
        self.shapes: list[QueryShape] = []

    def record(self, collection: str, filter: Any, sort: Any, what: str) -> None:
        self.shapes.append(shape_of(collection, filter or {}, _sort_pairs(sort), what))


def _sort_pairs(sort: Any) -> list[tuple[str, int]]:
    if not sort:
        return []
    if isinstance(sort, dict):
        return [(name, direction) for name, direction in sort.items() if isinstance(direction, int)]
    return [(name, direction) for name, direction in sort if isinstance(direction, int)]


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[ShapeRecorder]:
    recorder = ShapeRecorder()
    collection_class = _mongomock_adapter.MockCollection
    cursor_class = _mongomock_adapter.MockCursor
    original_find = collection_class.find
    original_aggregate = collection_class.aggregate

    def find(self: Any, filter: Any = None, *args: Any, **kwargs: Any) -> Any:
        cursor = original_find(self, filter, *args, **kwargs)
        cursor._docstore_recorded = (self.name, filter)  # type: ignore[attr-defined]
        recorder.record(self.name, filter, None, "find")
        return cursor

    def sort(self: Any, *args: Any, **kwargs: Any) -> Any:
        name, filter = getattr(self, "_docstore_recorded", (None, None))
        if name is not None:
            recorder.shapes.pop()  # the unsorted find recorded above is this one
            recorder.record(name, filter, args[0] if args else kwargs.get("key_or_list"), "find+sort")
        self._cursor.sort(*args, **kwargs)
        return self

    async def aggregate(self: Any, pipeline: list[dict[str, Any]], **kwargs: Any) -> Any:
        match = pipeline[0].get("$match", {}) if pipeline else {}
        sort = next((stage["$sort"] for stage in pipeline if "$sort" in stage), None)
        if kwargs.get("hint") is None:
            recorder.record(self.name, match, sort, "aggregate")
        return await original_aggregate(self, pipeline, **kwargs)

    def recording(method: str) -> Any:
        original = getattr(collection_class, method)

        async def call(self: Any, filter: Any = None, *args: Any, **kwargs: Any) -> Any:
            recorder.record(self.name, filter, kwargs.get("sort"), method)
            return await original(self, filter, *args, **kwargs)

        return call

    monkeypatch.setattr(collection_class, "find", find)
    monkeypatch.setattr(cursor_class, "sort", sort)
    monkeypatch.setattr(collection_class, "aggregate", aggregate)
    for method in ("find_one", "count_documents", "find_one_and_update", "update_one", "delete_one", "delete_many"):
        monkeypatch.setattr(collection_class, method, recording(method), raising=False)
    yield recorder


@pytest.mark.parametrize("scoped", [False, True])
async def test_every_recorded_query_shape_has_a_serving_index(recorder: ShapeRecorder, scoped: bool) -> None:
    async with open_store("memory://") as store:
        recorder.shapes.clear()
        await exercise(store.for_namespace("cs101") if scoped else store, thorough=True)
    shapes = [shape for shape in recorder.shapes if shape.equality or shape.sort]
    assert len(shapes) > 100, "the exercise recorded too few queries"
    unserved = sorted({str(shape) for shape in shapes if serving_index(shape) is None})
    assert not unserved, "\n".join(unserved)
    # On a sharded collection every query names the shard key, but the one README lists
    # as scatter-gather (a revision by its id alone).
    scattered = {str(shape) for shape in shapes if not targets_one_shard(shape)}
    assert scattered and all(shape.startswith("revisions: {_id") for shape in scattered), scattered
    # Session students: every query names the session (the start of their shard key).
    students = [shape for shape in shapes if shape.collection == "session_students"]
    assert len(students) >= 8 and all("session_id" in shape.equality for shape in students), students
    assert len(SCATTER_GATHER["revisions"]) == 1 and "get_revision" in SCATTER_GATHER["revisions"][0]


def test_the_coverage_rule_can_fail() -> None:
    index = IndexSpec("a_b", (("a", 1), ("b", -1), ("_id", -1)))
    assert serves(index, QueryShape("c", frozenset({"a"}), (("b", -1), ("_id", -1))))
    assert serves(index, QueryShape("c", frozenset({"a"}), (("b", 1), ("_id", 1))))  # read backwards
    assert serves(index, QueryShape("c", frozenset({"a"})))
    assert not serves(index, QueryShape("c", frozenset({"a"}), (("b", 1), ("_id", -1))))  # mixed directions
    assert not serves(index, QueryShape("c", frozenset({"b"}), (("_id", -1),)))  # not a prefix
    assert not serves(index, QueryShape("c", frozenset(), (("b", -1),)))  # sort behind an unbound field
    assert not serves(index, QueryShape("c", frozenset({"a", "z"})))  # an equality field it lacks
    # The examples: an unscoped count on `active` and the overview's sort.
    assert serving_index(QueryShape("sessions", frozenset({"active"}))) is not None
    old_set = {"revisions": [IndexSpec("s", (("session_id", 1), ("student_id", 1), ("timestamp", 1), ("_id", 1)))]}
    overview = QueryShape(
        "revisions", frozenset({"session_id"}), (("session_id", 1), ("student_id", 1), ("timestamp", -1), ("_id", -1))
    )
    assert serving_index(overview, old_set) is None
    assert serving_index(overview) is not None


def test_residual_filters_need_one_indexed_field_besides_the_namespace() -> None:
    problems = DECLARED["problems"]
    combined = QueryShape("problems", frozenset({"namespace_id", "difficulty", "tags"}), (("created_at", -1),))
    assert any(serves(index, combined, residual_ok=True) for index in problems)
    only_namespace = IndexSpec("ns_by_created_at", (("namespace_id", 1), ("created_at", -1), ("_id", -1)))
    assert not serves(only_namespace, combined, residual_ok=True)


def test_shapes_read_equality_fields_from_filters() -> None:
    shape = shape_of(
        "sessions",
        {"$and": [{"namespace_id": "n", "active": {"$in": [False, True]}}, {"$or": [{"created_at": {"$lt": 1}}]}]},
    )
    assert shape.equality == {"namespace_id", "active"}
    assert shape_of("problems", {"tags": {"$exists": True}}).equality == frozenset()
    assert shape_of("problems", {"tags": {"$all": ["a", "b"]}}).equality == {"tags"}


def test_every_shard_key_has_an_index_that_starts_with_it() -> None:
    for collection, key in SHARD_KEYS.items():
        assert any(index.keys[: len(key)] == key for index in DECLARED[collection]), collection
    assert REVISION_INDEXES[0].keys[:2] == SHARD_KEYS["revisions"]
    # A unique index on a sharded collection must start with its shard key.
    [unique] = [index for index in DECLARED["session_students"] if index.options.get("unique")]
    assert unique.keys == SHARD_KEYS["session_students"] == (("session_id", 1), ("student_id", 1))


def test_index_names_are_unique_and_within_the_limit() -> None:
    for collection, indexes in DECLARED.items():
        names = [index.name for index in indexes]
        assert len(names) == len(set(names)), collection
        assert len(indexes) < 64, collection  # MongoDB's limit per collection
        keys = [index.keys for index in indexes]
        assert len(keys) == len(set(keys)), f"{collection}: two indexes with the same keys"


async def test_join_code_lookups_read_the_unique_index_of_code_and_namespace(recorder: ShapeRecorder) -> None:
    async with open_store("memory://") as store:
        for view, equality, sort in (
            (store, frozenset({"active_join_code"}), (("namespace_id", 1),)),  # every namespace: the first by name
            (store.for_namespace("cs101"), frozenset({"active_join_code", "namespace_id"}), (("namespace_id", 1),)),
        ):
            recorder.shapes.clear()
            await view.sessions.get_session_by_join_code("ab12")
            (shape,) = recorder.shapes
            assert (shape.equality, shape.sort) == (equality, sort)
            index = serving_index(shape)
            assert index is not None and index.name == "active_join_code_unique"
            assert index.keys == (("active_join_code", 1), ("namespace_id", 1)) and index.options["unique"]
