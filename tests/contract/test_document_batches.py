"""``Store.documents.upsert_documents`` answers the same on every engine: one check, one planner
(``docstore._upsert_plan``), so a bad document is refused with the same words and a batch is
planned the same way (a repeated id is taken in order) whatever runs it.

Before the planner, ``local://`` re-implemented the check with other messages (every refusal
of a document's type or id was "_id must be a non-empty string") and the MongoDB dialect
refused the second copy of a new id as a duplicate key where ``local://`` wrote it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from docstore import Session, Store, open_store

# (the document, the reason every engine gives for refusing it)
REFUSALS = [
    pytest.param({"title": "no id"}, "the document has no _id", id="no-id"),
    pytest.param({"_id": 5}, "_id must be a non-empty string, not int", id="int-id"),
    pytest.param({"_id": None}, "_id must be a non-empty string, not NoneType", id="none-id"),
    pytest.param({"_id": ""}, "_id must be a non-empty string, not str", id="empty-id"),
    pytest.param({"_id": {"$gt": ""}}, "_id must be a non-empty string, not dict", id="operator-id"),
    pytest.param("not a document", "a document must be a dict, not str", id="text"),
    pytest.param(["_id", "d"], "a document must be a dict, not list", id="list"),
    pytest.param(None, "a document must be a dict, not NoneType", id="none"),
    pytest.param(
        {"_id": "d", "x": {"a.b": 1}}, "key 'a.b' at x may not start with '$' or contain '.'", id="dotted-key"
    ),
    pytest.param({"_id": "d", "n": 2**70}, f"n: integer {2**70} does not fit in 64 bits", id="huge-int"),
    pytest.param({"_id": "d", "f": float("nan")}, "f: nan is not a finite number (not JSON)", id="nan"),
]


@pytest.mark.parametrize(("bad", "reason"), REFUSALS)
async def test_a_bad_document_is_refused_with_the_same_words_on_every_engine(
    store: Store, bad: Any, reason: str
) -> None:
    result = await store.documents.upsert_documents("notes", [{"_id": "good"}, bad])
    assert result.failed == [(1, reason)]
    assert (result.inserted, result.updated, result.unchanged) == (1, 0, 0)


async def test_a_session_document_carrying_students_is_refused_with_the_same_words(store: Store) -> None:
    session_id = await store.sessions.create_session(Session(join_code="BATCH1"))
    stored = await store.documents.get_document("sessions", session_id)
    assert stored is not None
    result = await store.documents.upsert_documents("sessions", [{**stored, "students": {}}, stored])
    assert result.failed == [(0, "students live in session_students; convert with docstore restore/import")]
    assert result.unchanged + result.updated == 1  # a repository's document holds no content hash on MongoDB


async def test_a_repeated_id_is_taken_in_batch_order(store: Store) -> None:
    """As if each document were upserted after the one before: a copy equal to the one before
    it is unchanged, another one replaces it; the last copy is what is stored."""
    await store.documents.upsert_documents("notes", [{"_id": "kept", "n": 0}])
    batch = [
        {"_id": "twice", "n": 1},
        {"_id": "twice", "n": 1},
        {"_id": "changed", "n": 1},
        {"_id": "changed", "n": 2},
        {"_id": "kept", "n": 0},
        {"_id": "kept", "n": 3},
        {"_id": "kept", "n": 3},
    ]
    result = await store.documents.upsert_documents("notes", batch)
    assert (result.inserted, result.updated, result.unchanged, result.failed) == (2, 2, 3, [])
    assert await store.documents.get_document("notes", "changed") == {"_id": "changed", "n": 2}
    assert await store.documents.get_document("notes", "kept") == {"_id": "kept", "n": 3}
    again = await store.documents.upsert_documents("notes", batch)
    assert (again.inserted, again.updated, again.unchanged) == (0, 4, 3)  # n 3 -> 0 -> 3, 1 -> 2
    assert await store.documents.get_document("notes", "kept") == {"_id": "kept", "n": 3}


async def test_copies_of_a_refused_document_are_refused_with_it(store: Store) -> None:
    await store.sessions.create_session(Session(join_code="TAKEN1"))
    template = await store.documents.get_document("sessions", (await store.sessions.list_all_sessions()).items[0].id)
    assert template is not None
    clash = {**template, "_id": "clash"}  # an active session with a code another one holds
    result = await store.documents.upsert_documents("sessions", [clash, clash, {**clash, "title": "other"}])
    assert [position for position, _ in result.failed] == [0, 1, 2]
    assert "position 0" in result.failed[1][1] and "position 0" in result.failed[2][1]
    assert (result.inserted, result.updated, result.unchanged) == (0, 0, 0)
    assert await store.documents.get_document("sessions", "clash") is None


async def test_memory_and_local_give_the_same_result_for_the_same_batch(tmp_path: Path) -> None:
    batch: list[Any] = [
        {"_id": "a", "n": 1},
        None,
        {"_id": 7},
        {"_id": "a", "n": 1},
        {"_id": "b", "x": {"$set": 1}},
        {"_id": "b", "n": 2},
        {"_id": "b", "n": 3},
        {"title": "no id"},
    ]
    results = []
    for url in ("memory://", f"local://{tmp_path / 'store'}"):
        async with open_store(url) as store:
            first = await store.documents.upsert_documents("notes", batch)
            dry = await store.documents.upsert_documents("notes", [*batch, {"_id": "c"}], dry_run=True)
            stored = [document async for document in store.documents.iter_documents("notes")]
            results.append((first, dry, stored))
    assert results[0] == results[1]
