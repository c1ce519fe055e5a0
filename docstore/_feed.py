"""A session's feed read from an ordered change log: what ``memory://`` and ``local://`` share.

A backend with a log of its own (an in-process list, a SQLite ``changes`` table) gives
a ``ChangeLog``; ``LogFeed`` does the rest once for both: refusing bad positions on
entering, reading only the session's new entries, waiting for more without polling the
class, and ending after the session's deletion.

A watcher holds nothing but its position: one that never reads blocks no writer and no
other watcher. When the log has been trimmed past its position it gets EXPIRED (never a
silent gap) and resumes by reading a snapshot and watching again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple, Protocol

from pydantic import ValidationError

from ._backend_common import not_found
from ._changes import SessionChange, SessionFeed, decode_position, encode_position
from ._errors import ErrorCode, PersistenceError
from ._mapping import require_id

__all__ = ["ChangeLog", "LogEntry", "LogFeed", "LogRead", "copied", "merge_posts"]

# (sequence, the change's fields but its position)
LogEntry = tuple[int, dict[str, Any]]
_READ_BATCH = 256


class LogRead(NamedTuple):
    """What one read of the log found, in one snapshot."""

    entries: Sequence[LogEntry]  # the session's changes after the position asked, oldest first
    head: int  # the newest sequence committed so far (0: none yet)
    trimmed: int  # the newest sequence the retention has dropped for this session (0: none)


class ChangeLog(Protocol):
    """An ordered log of committed changes, one sequence for the whole store."""

    #: Identity of this log (stable for the store's life): positions of another log are refused.
    name: str

    async def read(self, session_id: str, namespace: str | None, after: int, limit: int) -> LogRead:
        """The session's changes after ``after`` (only ``namespace``'s, when given), with the head and trim point."""
        ...

    async def holds(self, session_id: str, namespace: str | None) -> bool:
        """Whether the log still holds a change of this session (in ``namespace``, when given)."""
        ...

    def arm(self) -> asyncio.Future[None]:
        """A future set when a change is committed after this call (possibly earlier: a spurious wake is fine).

        Armed *before* a read, so a commit between the read and the wait is never slept through.
        The caller cancels it when it no longer waits.
        """
        ...


def copied(fields: dict[str, Any]) -> dict[str, Any]:
    """A change's fields with its own copies of the models: changing one never changes another feed's."""
    return {
        key: value.model_copy(deep=True) if hasattr(value, "model_copy") else value for key, value in fields.items()
    }


def merge_posts(entries: Sequence[LogEntry]) -> list[LogEntry]:
    """One ``revision_saved`` change (with the student after it) per ``record_code``.

    A log that records writes row by row (a trigger per table, a change stream per
    collection) sees a post as two consecutive entries of one transaction: the student's
    record and the revision. They are one change to a watcher, at the later position.
    The pair is recognized by what only a post writes: the student's code and
    ``last_update`` equal to the revision's code and timestamp, at consecutive sequences.
    """
    merged: list[LogEntry] = []
    for sequence, fields in entries:
        if merged and merged[-1][0] == sequence - 1:
            post = _as_post(merged[-1][1], fields)
            if post is not None:
                merged[-1] = (sequence, post)
                continue
        merged.append((sequence, fields))
    return merged


def _as_post(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any] | None:
    """The one change of a ``record_code`` whose two halves are ``first`` and ``second``, else None."""
    by_kind = {first["kind"]: first, second["kind"]: second}
    saved, changed = by_kind.get("revision_saved"), by_kind.get("student_changed")
    if saved is None or changed is None or saved.get("student") is not None:
        return None
    student, revision = changed.get("student"), saved.get("revision")
    if (
        student is None
        or revision is None
        or (student.id, student.code, student.last_update) != (revision.student_id, revision.code, revision.timestamp)
    ):
        return None
    return {**saved, "student": student}


class LogFeed(SessionFeed):
    """One session's feed over a ``ChangeLog``, confined to a namespace view."""

    def __init__(
        self,
        log: ChangeLog,
        session_id: str,
        after: str | None,
        namespace: str | None,
        visible: Callable[[], Awaitable[bool]],
    ) -> None:
        self._log = log
        self._session_id = require_id(session_id, "session id")
        self._after = after
        self._namespace = namespace
        self._visible = visible  # whether the session exists in this view now
        self._last = 0
        self._buffer: list[SessionChange] = []
        self._ended = False

    async def _open(self) -> None:
        if self._after is None:
            if not await self._visible():
                raise not_found("Session", self._session_id)
            self._last = (await self._log.read(self._session_id, self._namespace, 0, 0)).head
            self.position = encode_position(self._log.name, self._session_id, self._last)
            return
        sequence = decode_position(self._after, self._log.name, self._session_id)
        found = await self._log.read(self._session_id, self._namespace, sequence, 0)
        if sequence > found.head:
            raise PersistenceError(ErrorCode.INVALID_DATA, "unknown feed position (not yet written in this store)")
        # A deleted session can still be followed up to its deletion, in its own namespace only.
        if not await self._visible() and not await self._log.holds(self._session_id, self._namespace):
            raise not_found("Session", self._session_id)
        self._last = sequence
        self._check_not_expired(found.trimmed)
        self.position = self._after

    def _check_not_expired(self, trimmed: int) -> None:
        if self._last < trimmed:
            raise PersistenceError(
                ErrorCode.EXPIRED,
                "the feed position is older than the changes this store keeps; read a snapshot and watch again",
            )

    async def _next(self) -> SessionChange | None:
        while not self._buffer:
            if self._ended:
                return None
            waiter = self._log.arm()
            try:
                found = await self._log.read(self._session_id, self._namespace, self._last, _READ_BATCH)
                # Checked on the same snapshot: entries trimmed before this read are a gap, never skipped silently.
                self._check_not_expired(found.trimmed)
                if not found.entries:
                    await waiter
                    continue
            finally:
                waiter.cancel()
            for sequence, fields in found.entries:
                position = encode_position(self._log.name, self._session_id, sequence)
                try:
                    self._buffer.append(SessionChange(position=position, **fields))
                except ValidationError as exc:  # a log entry that does not read back: the store's damage
                    detail = exc.errors()[0]["msg"]
                    raise PersistenceError(
                        ErrorCode.STORAGE_ERROR,
                        f"change {sequence} of session {self._session_id!r} is damaged: {detail}",
                    ) from None
                self._last = sequence
            self._buffer.reverse()  # popped from the end: oldest first
        change = self._buffer.pop()
        self.position = change.position
        if change.kind == "session_deleted":
            self._ended = True
            self._buffer.clear()
        return change

    async def _close(self) -> None:
        self._buffer.clear()
