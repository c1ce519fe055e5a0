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

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from ._changes import SessionChange, SessionFeed, decode_position, encode_position
from ._errors import ErrorCode, PersistenceError
from ._mapping import require_id

__all__ = ["ChangeLog", "LogEntry", "LogFeed"]

# (sequence, the change's fields but its position)
LogEntry = tuple[int, dict[str, Any]]
_READ_BATCH = 256


class ChangeLog(Protocol):
    """An ordered log of committed changes, one sequence for the whole store."""

    #: Identity of this log (stable for the store's life): positions of another log are refused.
    name: str

    async def head(self) -> int:
        """The sequence of the newest change committed so far (0: none yet)."""
        ...

    async def trimmed_through(self, session_id: str) -> int:
        """The newest sequence the retention has dropped for this session (0: nothing dropped)."""
        ...

    async def read(self, session_id: str, namespace: str | None, after: int, limit: int) -> Sequence[LogEntry]:
        """The session's changes after ``after``, oldest first (only ``namespace``'s, when given)."""
        ...

    async def holds(self, session_id: str, namespace: str | None) -> bool:
        """Whether the log still holds a change of this session (in ``namespace``, when given)."""
        ...

    async def wait(self, after: int) -> None:
        """Return once a change newer than ``after`` may have been committed (may return early)."""
        ...


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
        head = await self._log.head()
        if self._after is None:
            if not await self._visible():
                raise PersistenceError(ErrorCode.NOT_FOUND, f"Session {self._session_id!r} not found")
            self._last = head
            self.position = encode_position(self._log.name, self._session_id, head)
            return
        sequence = decode_position(self._after, self._log.name, self._session_id)
        if sequence > head:
            raise PersistenceError(ErrorCode.INVALID_DATA, "unknown feed position (not yet written in this store)")
        # A deleted session can still be followed up to its deletion, in its own namespace only.
        if not await self._visible() and not await self._log.holds(self._session_id, self._namespace):
            raise PersistenceError(ErrorCode.NOT_FOUND, f"Session {self._session_id!r} not found")
        self._last = sequence
        self._check_not_expired(await self._log.trimmed_through(self._session_id))
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
            head = await self._log.head()
            entries = await self._log.read(self._session_id, self._namespace, self._last, _READ_BATCH)
            # Checked after the read: entries trimmed while reading are a gap, never skipped silently.
            self._check_not_expired(await self._log.trimmed_through(self._session_id))
            if not entries:
                await self._log.wait(max(head, self._last))
                continue
            for sequence, fields in entries:
                position = encode_position(self._log.name, self._session_id, sequence)
                self._buffer.append(SessionChange(position=position, **fields))
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
