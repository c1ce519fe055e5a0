"""``Page[T]``: one page of a listing, and the opaque cursor that continues it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar, overload

from ._errors import ErrorCode, PersistenceError

__all__ = ["Page", "decode_cursor", "encode_cursor"]

T = TypeVar("T")


class Page(Sequence[T], Generic[T]):
    """A sequence of items plus ``next_cursor`` (``None`` on the last page)."""

    __slots__ = ("_items", "next_cursor")

    def __init__(self, items: Sequence[T], next_cursor: str | None = None) -> None:
        self._items = list(items)
        self.next_cursor = next_cursor

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...
    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Page):
            return self._items == other._items and self.next_cursor == other.next_cursor
        if isinstance(other, list):
            return self._items == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Page({self._items!r}, next_cursor={self.next_cursor!r})"


# A cursor is (sort field, sort order, last sort value, last id), so it cannot be
# replayed against another ordering by mistake.


def encode_cursor(sort_by: str, sort_order: str, value: Any, item_id: str) -> str:
    if isinstance(value, datetime):
        packed: Any = {"dt": value.isoformat()}
    else:
        packed = value
    raw = json.dumps([sort_by, sort_order, packed, item_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort_by: str, sort_order: str) -> tuple[Any, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        field, order, packed, item_id = json.loads(base64.urlsafe_b64decode(padded))
        if isinstance(packed, dict):
            packed = datetime.fromisoformat(packed["dt"])
    except (ValueError, TypeError, KeyError) as exc:
        raise PersistenceError(ErrorCode.INVALID_DATA, "malformed cursor") from exc
    if (field, order) != (sort_by, sort_order) or not isinstance(item_id, str):
        raise PersistenceError(ErrorCode.INVALID_DATA, "cursor belongs to another ordering of this listing")
    if packed is not None and not isinstance(packed, str | int | float | datetime):
        raise PersistenceError(ErrorCode.INVALID_DATA, "malformed cursor")
    return packed, item_id
