"""The mongomock fast paths return exactly what mongomock's own matching returns."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymongo import IndexModel
from pymongo.errors import PyMongoError

from docstore._memory import _latest_per_group as latest
from docstore._memory import _mongomock_adapter as adapter
from docstore._memory._mongomock_adapter import MockDatabase
from docstore._memory._mongomock_fast_paths import first_per_group_shape

values = st.one_of(
    st.sampled_from(["a", "b", "c"]), st.none(), st.integers(0, 2), st.lists(st.sampled_from(["a", "b"]), max_size=2)
)
documents = st.lists(st.fixed_dictionaries({"k": values, "n": st.sampled_from(["x", "y"])}), max_size=25)
writes = st.lists(st.tuples(st.sampled_from(["insert", "update", "delete"]), st.integers(0, 30), values), max_size=10)


async def matches(collection: Any, filter: dict[str, Any]) -> list[Any]:
    return sorted(d["_id"] for d in await collection.find(filter).to_list(None))


@settings(max_examples=200, deadline=None)
@given(initial=documents, later=writes, wanted=st.sampled_from(["a", "b", "c"]))
async def test_indexed_lookups_equal_a_full_scan(initial: list[dict[str, Any]], later: list[Any], wanted: str) -> None:
    database = MockDatabase("t")
    fast = database["fast"]
    await fast.create_indexes([IndexModel([("k", 1), ("n", 1)])])
    plain = database["plain"]  # no index declared: always mongomock's scan
    for index, document in enumerate(initial):
        for collection in (fast, plain):
            await collection.insert_one({"_id": index, **document})
    await fast.find({"k": wanted}).to_list(None)  # builds the equality index
    for kind, target, value in later:
        for collection in (fast, plain):
            if kind == "insert":
                if await collection.find_one({"_id": 100 + target}) is None:
                    await collection.insert_many([{"_id": 100 + target, "k": value, "n": "x"}])
            elif kind == "update":
                await collection.update_one({"_id": target}, {"$set": {"k": value}})
            else:
                await collection.delete_one({"_id": target})
        for filter in ({"k": wanted}, {"k": wanted, "n": "x"}, {"_id": target}, {"_id": {"$in": [target, 1, 2]}}):
            assert await matches(fast, filter) == await matches(plain, filter), filter


async def test_a_unique_index_sees_an_insert_while_the_equality_index_exists() -> None:
    collection = MockDatabase("t")["c"]
    await collection.create_indexes([IndexModel([("code", 1)], unique=True, sparse=True)])
    await collection.insert_one({"_id": 1, "code": "A"})
    assert await collection.find_one({"code": "A"}) is not None  # the equality index is built now
    try:
        await collection.insert_one({"_id": 2, "code": "A"})
    except Exception as error:
        assert "Duplicate" in str(error)
    else:
        raise AssertionError("the unique index let a duplicate in")
    assert await matches(collection, {"code": "A"}) == [1]


# -- the overview's $group/$first, answered from the equality index ------------------------
WHEN = datetime(2026, 1, 6, tzinfo=UTC)
sort_values = st.one_of(
    st.integers(0, 5).map(lambda i: WHEN + timedelta(seconds=i)),  # the usual: aware datetimes
    st.integers(0, 5).map(lambda i: (WHEN + timedelta(seconds=i)).replace(tzinfo=None)),
    st.sampled_from(["t1", "t2"]),
    st.none(),
    st.integers(0, 3),
    st.booleans(),
    st.binary(max_size=2),
)
revision_documents = st.lists(
    st.fixed_dictionaries(
        {
            "session_id": st.one_of(st.sampled_from(["s1", "s2"]), st.lists(st.sampled_from(["s1"]), max_size=1)),
            "student_id": st.one_of(st.sampled_from(["a", "b", "c"]), st.none(), st.integers(0, 1)),
            "timestamp": sort_values,
            "namespace_id": st.sampled_from(["n1", "n2"]),
        }
    ),
    max_size=20,
)


def overview(scoped: bool) -> list[dict[str, Any]]:
    match = {"session_id": "s1", "namespace_id": "n1"} if scoped else {"session_id": "s1"}
    order = {"session_id": 1, "student_id": 1, "timestamp": -1, "_id": -1}
    if scoped:
        order = {"namespace_id": 1, **order}
    return [{"$match": match}, {"$sort": order}, {"$group": {"_id": "$student_id", "latest": {"$first": "$$ROOT"}}}]


def by_group(rows: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return sorted((repr(row["_id"]), row["latest"]["_id"]) for row in rows)


@settings(max_examples=300, deadline=None)
@given(initial=revision_documents, scoped=st.booleans(), typed_ids=st.booleans())
async def test_the_overview_equals_mongomock_s_own_aggregation(
    initial: list[dict[str, Any]], scoped: bool, typed_ids: bool
) -> None:
    database = MockDatabase("t")
    fast = database["fast"]
    await fast.create_indexes([IndexModel([("session_id", 1), ("student_id", 1), ("timestamp", -1)])])
    plain = database["plain"]  # no index declared: mongomock's own aggregation
    for index, document in enumerate(initial):
        for collection in (fast, plain):
            await collection.insert_one({"_id": index if typed_ids else f"r{index:03d}", **document})
    pipeline = overview(scoped)
    fast_rows = await (await fast.aggregate(pipeline)).to_list(None)
    plain_rows = await (await plain.aggregate(pipeline)).to_list(None)
    assert by_group(fast_rows) == by_group(plain_rows)
    assert sorted(map(repr, fast_rows)) == sorted(map(repr, plain_rows))  # the same documents, as read


async def test_the_overview_is_answered_without_mongomock_s_aggregation(monkeypatch: pytest.MonkeyPatch) -> None:
    collection = MockDatabase("t")["revisions"]
    await collection.create_indexes([IndexModel([("session_id", 1), ("student_id", 1), ("timestamp", -1)])])
    for i in range(60):
        when = WHEN + timedelta(seconds=i)
        await collection.insert_one(
            {"_id": f"r{i:03d}", "session_id": "s1", "student_id": f"k{i % 3}", "timestamp": when}
        )

    def refused(*_: Any) -> None:
        raise AssertionError("mongomock aggregated the whole session")

    monkeypatch.setattr(adapter, "process_pipeline", refused)
    rows = await (await collection.aggregate(overview(False))).to_list(None)
    assert by_group(rows) == [("'k0'", "r057"), ("'k1'", "r058"), ("'k2'", "r059")]


# Most of a class's revisions: the kinds the kept answers hold (odd ones send a read to mongomock).
usual_revisions = st.lists(
    st.fixed_dictionaries(
        {
            "session_id": st.sampled_from(["s1", "s2"]),
            "student_id": st.sampled_from(["a", "b", "c"]),
            "timestamp": st.integers(0, 40).map(lambda i: WHEN + timedelta(seconds=i)),
            "namespace_id": st.sampled_from(["n1", "n2"]),
        }
    ),
    max_size=20,
)
revision_writes = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.integers(0, 30), usual_revisions.map(lambda docs: docs[:3])),
        st.tuples(st.just("insert"), st.integers(0, 30), revision_documents.map(lambda docs: docs[:2])),
        st.tuples(st.just("set"), st.integers(0, 19), st.sampled_from(["newest", "oldest", "student", "session"])),
        st.tuples(st.just("set"), st.integers(0, 19), st.sampled_from(["newest", "oldest"])),
        st.tuples(st.just("delete"), st.integers(0, 30), st.just(None)),
        st.tuples(st.just("read"), st.just(0), st.just(None)),
    ),
    max_size=12,
)


async def apply_revision_write(collection: Any, kind: str, target: int, value: Any) -> None:
    """One write of ``revision_writes``; a refused one (a duplicate id) is refused on both sides."""
    with contextlib.suppress(PyMongoError):
        if kind == "insert":
            # Ids may repeat, within one insert_many too: mongomock writes those before the duplicate.
            batch = [{"_id": f"r{target + n:03d}", **document} for n, document in enumerate(value)]
            if batch:
                await collection.insert_many(batch)
        elif kind == "set":
            # A revision made its student's newest or oldest, moved to another student or session.
            changes = {
                "newest": {"timestamp": WHEN + timedelta(seconds=1000 + target)},
                "oldest": {"timestamp": WHEN - timedelta(seconds=1000)},
                "student": {"student_id": "a"},
                "session": {"session_id": "s1"},
            }
            await collection.update_one({"_id": f"r{target:03d}"}, {"$set": changes[value]})
        elif kind == "delete":
            await collection.delete_one({"_id": f"r{target:03d}"})


@settings(max_examples=300, deadline=None)
@given(
    initial=st.one_of(usual_revisions, usual_revisions, revision_documents), later=revision_writes, scoped=st.booleans()
)
async def test_the_overview_kept_between_writes_equals_mongomock_s_own_aggregation(
    initial: list[dict[str, Any]], later: list[Any], scoped: bool
) -> None:
    """An answer is kept and brought up to date by inserts (``_latest_per_group``): after any
    mix of inserts (some refused as duplicates), updates of a sort value, a group or the
    session, and deletes, it is still what mongomock's own aggregation gives."""
    database = MockDatabase("t")
    fast = database["fast"]
    await fast.create_indexes([IndexModel([("session_id", 1), ("student_id", 1), ("timestamp", -1)])])
    plain = database["plain"]  # no index declared: mongomock's own aggregation
    for collection in (fast, plain):
        await apply_revision_write(collection, "insert", 0, initial)
    pipeline = overview(scoped)
    for kind, target, value in [("read", 0, None), *later, ("read", 0, None)]:
        for collection in (fast, plain):
            await apply_revision_write(collection, kind, target, value)
        fast_rows = await (await fast.aggregate(pipeline)).to_list(None)
        plain_rows = await (await plain.aggregate(pipeline)).to_list(None)
        assert by_group(fast_rows) == by_group(plain_rows), (kind, target, value)
        assert sorted(map(repr, fast_rows)) == sorted(map(repr, plain_rows))


async def test_a_kept_overview_reads_only_the_revisions_inserted_since(monkeypatch: pytest.MonkeyPatch) -> None:
    """The point of keeping answers: the next read looks at what was inserted since, not the session."""
    collection = MockDatabase("t")["revisions"]
    await collection.create_indexes([IndexModel([("session_id", 1), ("student_id", 1), ("timestamp", -1)])])
    for i in range(60):
        document = {"_id": f"r{i:03d}", "session_id": "s1", "student_id": f"k{i % 3}", "timestamp": WHEN}
        await collection.insert_one({**document, "timestamp": WHEN + timedelta(seconds=i)})
    await (await collection.aggregate(overview(False))).to_list(None)
    looked_at: list[Any] = []
    real_take = latest._take

    def take(best: Any, documents: Any, ids: Any, *rest: Any) -> None:
        ids = list(ids)
        looked_at.extend(ids)
        real_take(best, documents, ids, *rest)

    monkeypatch.setattr(latest, "_take", take)
    when = WHEN + timedelta(seconds=100)
    await collection.insert_one({"_id": "new", "session_id": "s1", "student_id": "k1", "timestamp": when})
    rows = await (await collection.aggregate(overview(False))).to_list(None)
    assert by_group(rows) == [("'k0'", "r057"), ("'k1'", "new"), ("'k2'", "r059")]
    assert looked_at == ["new"]
    await collection.update_one({"_id": "r057"}, {"$set": {"timestamp": when}})  # a sort value moves
    rows = await (await collection.aggregate(overview(False))).to_list(None)
    assert by_group(rows) == [("'k0'", "r057"), ("'k1'", "new"), ("'k2'", "r059")]
    assert len(looked_at) == 1 + 61  # the update dropped the answer: a full pass


@pytest.mark.parametrize(
    "pipeline",
    [
        overview(False)[:2],
        [overview(False)[0], {"$sort": {"student_id": 1, "timestamp": 1}}, overview(False)[2]],  # oldest first
        [overview(False)[0], {"$sort": {"timestamp": -1, "student_id": 1}}, overview(False)[2]],  # group not first
        [{"$match": {"session_id": {"$in": ["s1"]}}}, *overview(False)[1:]],  # not string equalities
        [*overview(False)[:2], {"$group": {"_id": "$student_id", "n": {"$sum": 1}}}],
        [*overview(False)[:2], {"$group": {"_id": "$student_id", "latest": {"$last": "$$ROOT"}}}],
    ],
)
def test_other_pipelines_are_left_to_mongomock(pipeline: list[dict[str, Any]]) -> None:
    assert first_per_group_shape(pipeline) is None
    assert first_per_group_shape(overview(True)) == (
        {"session_id": "s1", "namespace_id": "n1"},
        ["timestamp", "_id"],
        "student_id",
    )
