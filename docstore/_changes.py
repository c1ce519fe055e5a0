"""The live feed's vocabulary: ``SessionChange``, its kinds, and the opaque positions.

``store.sessions.watch(session_id, after=None)`` gives a ``SessionFeed``: an async context
manager (the feed is open once entered) and an async iterator of ``SessionChange``, in
commit order. Each change carries the full new state of what changed, so the pattern

    async with store.sessions.watch(session_id) as feed:     # 1. open the feed
        snapshot = await store.sessions.get_session(session_id)  # 2. read a snapshot
        async for change in feed:                             # 3. apply changes
            ...

never misses anything, and applying a change older than the snapshot is harmless.

A position names one change of one session's feed in one store. ``after=position``
continues right after it; a position that is malformed, unknown to this store, of another
session or from the future is INVALID_DATA, and one older than what the backend still
keeps (its retention) is EXPIRED: read a snapshot again and watch from now.
"""

from __future__ import annotations

import base64
import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict

from ._errors import ErrorCode, PersistenceError
from ._models import CodeRevision, Session, Student
from ._models_deferred import DEFER_BUILD

__all__ = [
    "RETENTION_S",
    "ChangeKind",
    "SessionChange",
    "SessionFeed",
    "decode_position",
    "decode_token_position",
    "encode_position",
    "position_text",
]

ChangeKind = Literal[
    "student_joined",  # a student's record was created: ``student``
    "student_changed",  # a student's record changed (name, code): ``student``
    "student_removed",  # ``update_session`` replaced the class without them: ``student_id`` only
    "revision_saved",  # a revision was saved: ``revision`` (and ``student`` after it, for ``record_code``)
    "session_changed",  # the session's own fields changed (or it was created): ``session``
    "session_ended",  # ``end_session``: ``session``
    "session_deleted",  # ``delete_session``: nothing more; the feed ends after it
]


class SessionChange(BaseModel):
    """One committed change of a session, with the full new state of what changed."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=DEFER_BUILD)  # built on first use

    position: str
    kind: ChangeKind
    session_id: str
    student_id: str | None = None
    student: Student | None = None
    revision: CodeRevision | None = None
    # Without students: a class's students come as student_* changes.
    session: Session | None = None


# How long a feed keeps positions (seconds) on the engines that keep a log (memory://,
# local://): a watcher that comes back within it loses nothing. MongoDB's is its oplog's.
RETENTION_S = 3600.0

# A position is base64url of the JSON triple [log, session id, where]: the log's name (or
# "mongo" for a change stream), the session whose feed it continues, and where in that log
# (a sequence number; a resume token's data). One envelope and one limit for every feed: a
# MongoDB resume token is longer than a sequence, so the limit is the token's.
_MAX_POSITION = 4096


def encode_position(log: str, session_id: str, where: int | str) -> str:
    """The opaque position ``where`` (a sequence, a resume token's data) of ``session_id``'s feed in ``log``."""
    raw = json.dumps([log, session_id, where], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_position(position: object, log: str, session_id: str) -> int:
    """The sequence a position made by ``encode_position`` stands for; INVALID_DATA if it is not one of ours."""
    sequence = _where(position, log, session_id, lambda where: type(where) is int and where >= 0)
    assert isinstance(sequence, int)  # checked by _where
    return sequence


def decode_token_position(position: object, log: str, session_id: str) -> str:
    """The resume token's data a position made by ``encode_position`` holds; INVALID_DATA if it is not one of ours."""
    data = _where(position, log, session_id, lambda where: isinstance(where, str))
    assert isinstance(data, str)  # checked by _where
    return data


def position_text(position: object) -> str:
    """A position checked as text before it is read or sent (a remote client puts it in a
    header): a string of 1 to ``_MAX_POSITION`` printable ASCII characters (base64url)."""
    if not isinstance(position, str) or not position or len(position) > _MAX_POSITION:
        raise PersistenceError(ErrorCode.INVALID_DATA, "a feed position is a string made by an earlier change")
    if not (position.isascii() and position.isprintable()):
        raise PersistenceError(ErrorCode.INVALID_DATA, "malformed feed position")
    return position


def _where(position: object, log: str, session_id: str, valid: Callable[[object], bool]) -> object:
    position = position_text(position)
    try:
        padded = position + "=" * (-len(position) % 4)
        found_log, found_session, where = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError, RecursionError):
        raise PersistenceError(ErrorCode.INVALID_DATA, "malformed feed position") from None
    if not isinstance(found_log, str):
        raise PersistenceError(ErrorCode.INVALID_DATA, "malformed feed position")
    if found_log != log:
        raise PersistenceError(ErrorCode.INVALID_DATA, "the feed position belongs to another store")
    if not valid(where):
        raise PersistenceError(ErrorCode.INVALID_DATA, "malformed feed position")
    if found_session != session_id:
        raise PersistenceError(ErrorCode.INVALID_DATA, "the feed position belongs to another session's feed")
    return where


class SessionFeed(ABC):
    """What ``SessionRepository.watch`` returns: enter it, then iterate it.

    Leaving the ``async with`` (or cancelling the task iterating it) frees everything
    the feed held. After a ``session_deleted`` change the iteration ends.
    """

    _entered = False
    _closed = False
    #: Where the feed stands once entered: the position of the last change handed out, or
    #: of the point it started from. ``watch(session_id, after=feed.position)`` continues
    #: from there, with nothing lost and nothing repeated.
    position: str | None = None

    async def __aenter__(self) -> Self:
        if self._entered:
            raise PersistenceError(ErrorCode.INVALID_DATA, "a feed is entered once; call watch() again")
        self._entered = True
        await self._open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SessionChange:
        if not self._entered:
            raise PersistenceError(
                ErrorCode.INVALID_DATA, "enter the feed first: `async with store.sessions.watch(...)`"
            )
        if self._closed:
            raise StopAsyncIteration
        change = await self._next()
        if change is None:
            await self.aclose()
            raise StopAsyncIteration
        return change

    async def aclose(self) -> None:
        """Close the feed (idempotent)."""
        if not self._closed:
            self._closed = True
            await self._close()

    @abstractmethod
    async def _open(self) -> None:
        """Check the session and the position; start following (raises PersistenceError to refuse)."""

    @abstractmethod
    async def _next(self) -> SessionChange | None:
        """The next change, waiting for one; None when the feed has ended (the session was deleted)."""

    @abstractmethod
    async def _close(self) -> None:
        """Free what the feed holds."""
