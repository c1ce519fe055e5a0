from __future__ import annotations

from datetime import UTC, datetime

import pytest

from docstore import ErrorCode, Page, PersistenceError
from docstore._page import decode_cursor, encode_cursor


def test_page_is_a_sequence_with_a_cursor() -> None:
    page = Page([1, 2, 3], next_cursor="abc")
    assert len(page) == 3 and page[0] == 1 and list(page) == [1, 2, 3] and page[-1] == 3
    assert page.next_cursor == "abc"


@pytest.mark.parametrize("value", [datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC), "ABC", None, 42])
def test_cursor_round_trips(value: object) -> None:
    cursor = encode_cursor("created_at", "desc", value, "id-1")
    assert decode_cursor(cursor, "created_at", "desc") == (value, "id-1")


@pytest.mark.parametrize("cursor", ["", "!!!", "e30", encode_cursor("title", "asc", "x", "i")])
def test_bad_or_foreign_cursors_are_invalid_data(cursor: str) -> None:
    with pytest.raises(PersistenceError) as caught:
        decode_cursor(cursor, "created_at", "desc")
    assert caught.value.code is ErrorCode.INVALID_DATA


def test_page_serializes_and_validates_as_a_pydantic_model() -> None:
    import json

    from pydantic import TypeAdapter

    from docstore import ProblemSpec

    page = Page([ProblemSpec(id="p", title="Loops")], "next")
    dumped = json.loads(json.dumps(page.model_dump(mode="json")))
    assert dumped["next_cursor"] == "next" and dumped["items"][0]["id"] == "p"
    again = TypeAdapter(Page[ProblemSpec]).validate_python(dumped)
    assert again == page and isinstance(again[0], ProblemSpec)


def test_a_slice_of_a_page_keeps_its_cursor() -> None:
    page = Page([1, 2, 3], "next")
    assert page[:2] == Page([1, 2], "next") and page[1:].next_cursor == "next"
    assert page == [1, 2, 3] and bool(Page([])) is False and 2 in page
