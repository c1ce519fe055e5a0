"""``check_stored_document``: the reason a tool's document cannot be stored, shared by every backend."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from docstore._mapping import MAX_DEPTH, MAX_DOCUMENT_BYTES, check_stored_document


def nested(depth: int) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for _ in range(depth):
        document = {"a": document}
    return document


GOOD = [
    {"_id": "x"},
    {"_id": "x", "n": 2**63 - 1, "m": -(2**63), "f": 1.5, "b": True, "none": None},
    {"_id": "x", "when": datetime(2026, 1, 1, tzinfo=UTC), "tags": ["a", {"b": [1, 2]}], "data": b"\x00"},
    {"_id": "x", "deep": nested(MAX_DEPTH - 2)},  # 100 levels of documents, as MongoDB allows
    {"_id": "é%.$"},  # the id is a value, not a key: anything non-empty goes
]

BAD = [
    ("text", "dict"),
    (None, "dict"),
    (["_id", "x"], "dict"),
    ({"title": "t"}, "no _id"),
    ({"_id": ""}, "non-empty string"),
    ({"_id": 5}, "non-empty string"),
    ({"_id": None}, "non-empty string"),
    ({"_id": {"$gt": ""}}, "non-empty string"),
    ({"_id": "x", "$where": "1"}, "'$where'"),
    ({"_id": "x", "a": {"b.c": 1}}, "'b.c'"),
    ({"_id": "x", 5: 1}, "not a string"),
    ({"_id": "x", "deep": nested(MAX_DEPTH + 1)}, "deeper"),
    ({"_id": "x", "n": 2**63}, "64 bits"),
    ({"_id": "x", "n": -(2**63) - 1}, "64 bits"),
    ({"_id": "x", "f": float("nan")}, "finite"),
    ({"_id": "x", "f": [float("-inf")]}, "finite"),
    ({"_id": "x", "s": "\ud800"}, "cannot be stored"),
    ({"_id": "x", "when": datetime(2026, 1, 1)}, "timezone-aware"),
    ({"_id": "x", "o": object()}, "cannot be stored"),
    ({"_id": "x", "big": "x" * MAX_DOCUMENT_BYTES}, "bytes"),
]


@pytest.mark.parametrize("document", GOOD)
def test_a_storable_document_has_no_reason(document: dict[str, Any]) -> None:
    assert check_stored_document(document) is None


@pytest.mark.parametrize(("document", "says"), BAD)
def test_a_bad_document_has_a_reason_that_says_why(document: Any, says: str) -> None:
    reason = check_stored_document(document)
    assert reason is not None and says in reason


def test_a_cycle_is_a_reason_not_a_hang_or_a_crash() -> None:
    document: dict[str, Any] = {"_id": "x"}
    document["self"] = document
    assert "deeper" in (check_stored_document(document) or "")


@given(
    st.recursive(
        st.none() | st.booleans() | st.text() | st.integers() | st.floats(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=20,
    )
)
def test_never_raises(value: Any) -> None:
    reason = check_stored_document({"_id": "x", "v": value})
    assert reason is None or isinstance(reason, str)
