"""``check_document`` names where a refused value sits (its paths are spelt out only for an error)."""

from __future__ import annotations

from typing import Any

import pytest

from docstore import ErrorCode, PersistenceError
from docstore._mapping import check_document


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ({"a": [1, {"b": [0, 2**64]}]}, "a[1].b[1]: integer"),
        ({"a": {"b": [{"c.d": 1}]}}, "key 'c.d' at a.b[0] may"),
        ({"$x": 1}, "key '$x' at top level"),
        ({"x": [float("nan")]}, "x[0]: nan is not a finite number"),
        ({"x": {"y": float("-inf")}}, "x.y: -inf is not a finite number"),
        ({"l": [[["t", {5: 1}]]]}, "key 5 at l[0][0][1] is not a string"),
    ],
)
def test_the_message_names_the_path(document: dict[str, Any], says: str) -> None:
    with pytest.raises(PersistenceError) as raised:
        check_document(document)
    assert raised.value.code is ErrorCode.INVALID_DATA
    assert says in raised.value.message


def test_text_none_and_booleans_pass_at_any_position() -> None:
    check_document({"a": ["t", None, True, {"b": "u", "c": None, "d": False}], "e": 1.5, "f": 2**63 - 1})
