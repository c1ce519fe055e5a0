"""``Store.documents.upsert_documents`` refuses bad documents one by one, as its contract says.

"Each document is refused or written on its own (``BatchResult.failed``)": the attack
pass found that on the MongoDB dialect one bad document raised a raw TypeError/KeyError
(or a PersistenceError for the whole batch) instead, and that documents which
``check_document`` refuses (dotted keys, non-string ids) were written. Every backend now
asks ``_mapping.check_stored_document`` of each document first.
"""

from __future__ import annotations

from typing import Any

import pytest

from docstore import ErrorCode, PersistenceError, Store

from .helpers import expect_error


def _nested(depth: int) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for _ in range(depth):
        document = {"a": document}
    return document


DEEP = _nested(101)
BAD_DOCUMENTS = [
    pytest.param({"title": "no id"}, id="no-id"),
    pytest.param({"_id": {"$gt": ""}}, id="operator-id"),
    pytest.param({"_id": 5}, id="int-id"),
    pytest.param({"_id": None}, id="none-id"),
    pytest.param({"_id": "d", "x": {"a.b": 1}}, id="dotted-key"),
    pytest.param({"_id": "d", "$where": "1"}, id="operator-key"),
    pytest.param({"_id": "d", "n": 2**70}, id="huge-int"),
    pytest.param("not a document", id="text"),
    pytest.param(["_id", "d"], id="list"),
    pytest.param(None, id="none"),
    pytest.param({"_id": ""}, id="empty-id"),
    pytest.param({"_id": "d", "x": 2**63}, id="int-just-past-64-bits"),
    pytest.param({"_id": "d", "text": "\ud800"}, id="lone-surrogate"),
    pytest.param({"_id": "d", "deep": DEEP}, id="nested-deeper-than-100"),
    pytest.param({"_id": "d", "big": "x" * (16 * 1024 * 1024)}, id="over-16-mib"),
]


@pytest.mark.parametrize("bad", BAD_DOCUMENTS)
async def test_a_bad_document_is_refused_alone_and_the_rest_is_written(store: Store, bad: Any) -> None:
    good = {"_id": "good", "title": "kept"}
    try:
        result = await store.documents.upsert_documents("notes", [good, bad])
    except PersistenceError as error:
        pytest.fail(f"the whole batch failed: {error}")
    assert [position for position, _ in result.failed] == [1]
    assert result.inserted == 1
    assert await store.documents.get_document("notes", "good") == good


@pytest.mark.parametrize(
    "documents",
    [pytest.param(5, id="int"), pytest.param({"_id": "x"}, id="one-dict"), pytest.param("ab", id="text")],
)
async def test_upsert_documents_of_something_not_a_sequence_is_invalid_data(store: Store, documents: Any) -> None:
    await expect_error(ErrorCode.INVALID_DATA, store.documents.upsert_documents("notes", documents))


async def test_bad_documents_anywhere_in_a_batch_are_reported_at_their_positions(store: Store) -> None:
    batch: list[Any] = [{"_id": "a"}, None, {"_id": "b"}, {"_id": 5}, {"_id": "c", "$x": 1}, {"_id": "d"}]
    result = await store.documents.upsert_documents("notes", batch)
    assert [position for position, _ in result.failed] == [1, 3, 4]
    assert all(reason for _, reason in result.failed)
    assert result.inserted == 3
    again = await store.documents.upsert_documents("notes", batch)
    assert (again.inserted, again.unchanged, len(again.failed)) == (0, 3, 3)


async def test_a_dry_run_reports_bad_documents_too(store: Store) -> None:
    result = await store.documents.upsert_documents("notes", [{"_id": "a"}, {"_id": ""}], dry_run=True)
    assert [position for position, _ in result.failed] == [1]
    assert await store.documents.get_document("notes", "a") is None
