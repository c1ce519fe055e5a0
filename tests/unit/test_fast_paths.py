"""The mongomock fast paths return exactly what mongomock's own matching returns."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pymongo import IndexModel

from docstore._mongo._mongomock_adapter import MockDatabase

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
