"""Listings, written once for every engine: the sort keys, the paging arguments, the cursor.

A listing (``list_all_sessions``, ``list_active_sessions``, ``list_problems``) is a
keyset page on (sort key, id); a student's revisions (``get_revisions``) are a stream on
(timestamp, id); a session's roster (``list_students``) is a keyset page on the student id.
Which arguments a caller may pass, what a cursor holds, how many rows an
engine fetches and where the next page starts are decided here; an engine only turns a
``Listing``, a ``Stream`` or a ``Roster`` into its query and hands back the rows it read.

The sort keys come from the ``Literal`` types of the seam (``SessionSortKey``,
``ProblemSortKey``), so a key added there is accepted everywhere, and one removed there
is refused everywhere, without another list to keep in step.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, get_args

from ._arguments import check_limit, check_sort_key
from ._interfaces import ProblemSortKey, SessionSortKey, SortOrder
from ._mapping import invalid
from ._models import CodeRevision, Student
from ._page import Page, check_page_arguments, decode_cursor, encode_cursor
from ._time import parse_after

__all__ = [
    "PROBLEM_SORT_KEYS",
    "SESSION_SORT_KEYS",
    "Listing",
    "Roster",
    "Stream",
    "listing",
    "revision_stream",
    "roster",
]

R = TypeVar("R")  # a row as the engine read it (a document, a SQLite row)
T = TypeVar("T")

SESSION_SORT_KEYS: tuple[str, ...] = get_args(SessionSortKey)
PROBLEM_SORT_KEYS: tuple[str, ...] = get_args(ProblemSortKey)


@dataclass(frozen=True)
class Listing:
    """A checked keyset listing: order, page size, offset and where the previous page ended."""

    sort_by: str
    sort_order: SortOrder
    limit: int
    offset: int
    after: tuple[Any, str] | None  # (sort value, id) of the previous page's last item

    @property
    def fetch(self) -> int:
        """Rows to read: one more than the page tells whether a next page exists."""
        return self.limit + 1

    def page(
        self, rows: list[R], items: Callable[[list[R]], list[T]], document: Callable[[R], Mapping[str, Any]]
    ) -> Page[T]:
        """The page of the ``fetch`` rows read; ``items`` validates the page's rows, ``document``
        gives a row's stored document (the cursor holds its stored sort value, as stored)."""
        page = items(rows[: self.limit])
        next_cursor = None
        if len(rows) > self.limit:
            last = document(rows[self.limit - 1])
            next_cursor = encode_cursor(self.sort_by, self.sort_order, last.get(self.sort_by), last["_id"])
        return Page(page, next_cursor)


def listing(
    sort_by: object, sort_keys: Collection[str], sort_order: object, limit: object, offset: object, cursor: object
) -> Listing:
    """The listing's arguments checked (INVALID_DATA naming the bad one), the cursor decoded."""
    key = check_sort_key(sort_by, sort_keys)
    check_page_arguments(sort_order, limit, offset)
    after = None if cursor is None else decode_cursor(cursor, key, str(sort_order))
    return Listing(key, sort_order, limit, offset, after)  # type: ignore[arg-type]  # checked just above


@dataclass(frozen=True)
class Stream:
    """A checked revision stream: oldest first, after a time and/or a cursor, maybe paged."""

    limit: int | None
    after: datetime | None
    position: tuple[datetime, str] | None  # (timestamp, id) of the previous page's last revision

    @property
    def fetch(self) -> int | None:
        """Rows to read (one more than the page tells whether a next page exists); None: all."""
        return None if self.limit is None else self.limit + 1

    def page(self, rows: list[R], items: Callable[[list[R]], list[CodeRevision]]) -> Page[CodeRevision]:
        """The page of the rows read: only the page's rows are validated (``items``)."""
        if self.limit is None or len(rows) <= self.limit:
            return Page(items(rows))
        page = items(rows[: self.limit])
        return Page(page, encode_cursor("timestamp", "asc", page[-1].timestamp, page[-1].id))


def revision_stream(limit: object, after: object, cursor: object) -> Stream:
    """``get_revisions``' arguments checked (after, then cursor, then limit), the cursor decoded."""
    since = None if after is None else parse_after(after)
    position = None
    if cursor is not None:
        timestamp, last_id = decode_cursor(cursor, "timestamp", "asc")
        if not isinstance(timestamp, datetime):
            raise invalid("malformed cursor")
        position = (timestamp, last_id)
    return Stream(None if limit is None else check_limit(limit), since, position)


@dataclass(frozen=True)
class Roster:
    """A checked page of a session's students by id (code point order of UTF-8 on every engine)."""

    limit: int
    after: str | None  # the id of the previous page's last student

    @property
    def fetch(self) -> int:
        """Rows to read: one more than the page tells whether a next page exists."""
        return self.limit + 1

    def page(self, rows: list[R], items: Callable[[list[R]], list[Student]]) -> Page[Student]:
        """The page of the ``fetch`` rows read: only the page's rows are validated (``items``)."""
        page = items(rows[: self.limit])
        next_cursor = None
        if len(rows) > self.limit:
            next_cursor = encode_cursor("student_id", "asc", page[-1].id, page[-1].id)
        return Page(page, next_cursor)


def roster(limit: object, cursor: object) -> Roster:
    """``list_students``' paging arguments checked, the cursor decoded to the last student id."""
    check_page_arguments("asc", limit, 0)
    after = None
    if cursor is not None:
        last, _ = decode_cursor(cursor, "student_id", "asc")
        if not isinstance(last, str):
            raise invalid("malformed cursor")
        after = last
    return Roster(limit, after)  # type: ignore[arg-type]  # checked just above
