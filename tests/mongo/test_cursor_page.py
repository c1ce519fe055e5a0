"""The memory engine's ``find()`` cursors copy no document past their page (``_memory/_cursor_page.py``)
and return exactly what mongomock's own ``_compute_results`` returns."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from typing import Any

import mongomock
from hypothesis import given, settings
from hypothesis import strategies as st

from docstore import ProblemSpec, open_store
from docstore._memory._cursor_page import cursor_results
from docstore._memory._mongomock_adapter import MockCursor

_START = datetime(2026, 1, 1)
_documents = st.lists(
    st.fixed_dictionaries(
        {
            "n": st.integers(-3, 3) | st.none() | st.text(max_size=2),
            "tag": st.sampled_from(["a", "b", "c"]),
            "at": st.integers(0, 5).map(lambda minutes: _START + timedelta(minutes=minutes)),
            "tags": st.lists(st.sampled_from(["x", "y", "z"]), max_size=3),
        }
    ),
    max_size=25,
)
_filters = st.sampled_from([{}, {"tag": "a"}, {"tags": {"$in": ["x", "y"]}}, {"n": {"$gt": 0}}, {"tag": {"$ne": "c"}}])
_sorts = st.sampled_from([None, [("n", 1)], [("at", -1), ("_id", -1)], [("tag", 1), ("n", -1)]])


def _collection(documents: list[dict[str, Any]], tz_aware: bool) -> Any:
    database: Any = mongomock.MongoClient(tz_aware=tz_aware)["cursor_page"]
    collection = database["things"]
    for number, document in enumerate(documents):
        collection.insert_one({"_id": f"{number:03d}", **document})
    return collection


def _cursor(collection: Any, filter: dict[str, Any], sort: Any, skip: int, limit: int, projection: Any) -> Any:
    cursor = collection.find(filter, projection)
    if sort is not None:
        cursor = cursor.sort(sort)
    return cursor.skip(skip).limit(limit)


@settings(max_examples=150, deadline=None)
@given(
    documents=_documents,
    filter=_filters,
    sort=_sorts,
    skip=st.integers(0, 30) | st.sampled_from([sys.maxsize - 3, sys.maxsize, 2**63, 2**70]),
    limit=st.integers(-5, 30),
    projection=st.sampled_from([None, {"n": 1, "tags": 1}, {"at": 0}]),
    tz_aware=st.booleans(),
)
def test_a_page_is_what_mongomock_computes(
    documents: list[dict[str, Any]],
    filter: dict[str, Any],
    sort: Any,
    skip: int,
    limit: int,
    projection: Any,
    tz_aware: bool,
) -> None:
    collection = _collection(documents, tz_aware)
    expected = list(
        _cursor(collection, filter, sort, skip, limit, projection)._compute_results(with_limit_and_skip=True)
    )
    found = cursor_results(_cursor(collection, filter, sort, skip, limit, projection))
    assert found == expected
    # Same values, same types (aware or naive datetimes), same key order.
    assert [list(document.items()) for document in found] == [list(document.items()) for document in expected]
    assert [{type(value) for value in document.values()} for document in found] == [
        {type(value) for value in document.values()} for document in expected
    ]


def test_a_page_copies_no_document_past_its_end() -> None:
    """A page of 3 among 20 matches copies 3 documents (mongomock alone copies all 20)."""
    collection = _collection([{"n": n, "tag": "a", "at": _START, "tags": []} for n in range(20)], True)
    copied: list[Any] = []
    copy = collection._copy_only_fields

    def counted(document: Any, fields: Any, as_class: Any) -> Any:
        copied.append(document["_id"])
        return copy(document, fields, as_class)

    collection._copy_only_fields = counted
    page = MockCursor(_cursor(collection, {"tag": "a"}, [("n", -1)], 0, 3, None))._all()
    assert [document["n"] for document in page] == [19, 18, 17]
    assert copied == ["019", "018", "017"]


async def test_a_filtered_page_of_problems_reads_as_before() -> None:
    """Through the engine: a listing's pages, by offset and by cursor, as the whole sorted list cut up."""
    async with open_store("memory://") as store:
        for number in range(30):
            await store.problems.save_problem(
                ProblemSpec(
                    title=f"P{number}", difficulty=("beginner", "advanced")[number % 2], tags=["t", f"u{number % 3}"]
                )
            )
        whole = await store.problems.list_problems(difficulty="beginner", tags=["u1", "u2"], limit=200)
        assert len(whole.items) == 10
        by_offset = [
            item
            for offset in range(0, 10, 3)
            for item in (
                await store.problems.list_problems(difficulty="beginner", tags=["u1", "u2"], limit=3, offset=offset)
            ).items
        ]
        by_cursor, cursor = [], None
        while True:
            page = await store.problems.list_problems(difficulty="beginner", tags=["u1", "u2"], limit=4, cursor=cursor)
            by_cursor += page.items
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert by_offset == by_cursor == whole.items
