"""``Page[T]``: one page of a listing, and the opaque cursor that continues it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar, overload

from pydantic import BaseModel, ConfigDict

from ._errors import ErrorCode, PersistenceError
from ._models_deferred import DEFER_BUILD

__all__ = ["MAX_PAGE_SIZE", "Page", "check_page_arguments", "decode_cursor", "encode_cursor"]

MAX_PAGE_SIZE = 1000
# Offsets and the numbers inside a cursor reach SQL and BSON as signed 64-bit integers.
_INT64 = range(-(2**63), 2**63)

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a listing: ``items`` plus ``next_cursor`` (``None`` on the last page).

    Behaves as a read-only sequence of its items (``len``, indexing, iteration, ``==`` a
    list) and serializes as ``{"items": [...], "next_cursor": ...}`` with pydantic
    (``page.model_dump(mode="json")``, FastAPI, ``TypeAdapter(Page[ProblemSpec])``).
    """

    # Built on first use, as the domain models (``_models_deferred.py``).
    model_config = ConfigDict(frozen=True, defer_build=DEFER_BUILD)

    items: list[T]
    next_cursor: str | None = None

    def __init__(self, items: Sequence[T] = (), next_cursor: str | None = None) -> None:
        # Positional form kept: Page(items, cursor) reads as what it is. (Validation from
        # data, as in TypeAdapter(Page[X]), does not call __init__.)
        super().__init__(items=list(items), next_cursor=next_cursor)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> Page[T]: ...
    def __getitem__(self, index: int | slice) -> T | Page[T]:
        if isinstance(index, slice):
            # A slice is still a page of the same listing: it keeps where the listing goes on.
            return type(self)(self.items[index], self.next_cursor)
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[T]:  # type: ignore[override]  # a page iterates its items, not its fields
        return iter(self.items)

    def __contains__(self, item: object) -> bool:
        return item in self.items

    def __bool__(self) -> bool:
        return bool(self.items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Page):
            return self.items == other.items and self.next_cursor == other.next_cursor
        if isinstance(other, list):
            return self.items == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Page({self.items!r}, next_cursor={self.next_cursor!r})"


# A cursor is (sort field, sort order, last sort value, last id), so it cannot be
# replayed against another ordering by mistake.


# What ``json.dumps(value, separators=(",", ":"))`` gives, without building an encoder per call
# (half of a cursor's cost, and every page makes one).
_compact_json = json.JSONEncoder(separators=(",", ":")).encode


def encode_cursor(sort_by: str, sort_order: str, value: Any, item_id: str) -> str:
    """The opaque cursor that continues a listing after the item (``value``, ``item_id``)."""
    if isinstance(value, datetime):
        packed: Any = {"dt": value.isoformat()}
    else:
        packed = value
    raw = _compact_json([sort_by, sort_order, packed, item_id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def check_page_arguments(sort_order: object, limit: object, offset: object) -> None:
    """The paging arguments every listing takes; INVALID_DATA naming the bad one."""
    if sort_order not in ("asc", "desc"):
        raise PersistenceError(ErrorCode.INVALID_DATA, f"sort_order must be 'asc' or 'desc', not {sort_order!r}")
    if type(limit) is not int or not 0 < limit <= MAX_PAGE_SIZE:
        raise PersistenceError(ErrorCode.INVALID_DATA, f"limit must be an int from 1 to {MAX_PAGE_SIZE}")
    if type(offset) is not int or not 0 <= offset < 2**63:
        raise PersistenceError(ErrorCode.INVALID_DATA, "offset must be an int from 0 to 2**63 - 1")


def decode_cursor(cursor: object, sort_by: str, sort_order: str) -> tuple[Any, str]:
    """(last sort value, last id) of a cursor made by ``encode_cursor`` for the same ordering."""
    if not isinstance(cursor, str) or len(cursor) > 4096:
        raise PersistenceError(ErrorCode.INVALID_DATA, "cursor must be a string made by a previous page")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        field, order, packed, item_id = json.loads(base64.urlsafe_b64decode(padded))
        if isinstance(packed, dict):
            packed = datetime.fromisoformat(packed["dt"])
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise PersistenceError(ErrorCode.INVALID_DATA, "malformed cursor") from exc
    if (field, order) != (sort_by, sort_order) or not isinstance(item_id, str):
        raise PersistenceError(ErrorCode.INVALID_DATA, "cursor belongs to another ordering of this listing")
    if packed is not None and not isinstance(packed, str | int | float | datetime):
        raise PersistenceError(ErrorCode.INVALID_DATA, "malformed cursor")
    if isinstance(packed, int) and packed not in _INT64:  # hand-made: no engine stores it
        raise PersistenceError(ErrorCode.INVALID_DATA, "malformed cursor")
    return packed, item_id
