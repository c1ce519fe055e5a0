"""Errors raised by docstore.

One exception type, one code: callers branch on ``error.code``, never on the
driver's exception classes, so business code is the same on every engine.

    Exception
     └── PersistenceError(code: ErrorCode, message, *, retryable, cause)
           code is one of:
             NOT_FOUND          update/delete of an item that does not exist
             ALREADY_EXISTS     id taken, or an active session's join code taken
             UNAVAILABLE        no server / store locked by another process
             INVALID_DATA       wrong type, unknown field, operator-looking key
             TIMEOUT            the server did not answer in time
             PERMISSION_DENIED  authentication or authorization failed
             CONFLICT           ``expected_version`` did not match
             EXPIRED            a feed position older than what the store keeps: re-read, watch again
             STORAGE_ERROR      anything else; also any call after ``shutdown()``

Reads of a missing item are not errors: they return ``None``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

__all__ = ["HTTP_STATUS", "TRANSIENT_CODES", "ErrorCode", "PersistenceError"]


class ErrorCode(StrEnum):
    """Why a storage call failed: what callers branch on (see the module docstring for each)."""

    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    UNAVAILABLE = "UNAVAILABLE"
    INVALID_DATA = "INVALID_DATA"
    TIMEOUT = "TIMEOUT"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    CONFLICT = "CONFLICT"
    EXPIRED = "EXPIRED"
    STORAGE_ERROR = "STORAGE_ERROR"


# How each code crosses HTTP (the remote backend and ``docstore serve``); a status
# outside this table coming back from a server is STORAGE_ERROR.
HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.ALREADY_EXISTS: 409,
    ErrorCode.CONFLICT: 412,
    ErrorCode.EXPIRED: 410,
    ErrorCode.INVALID_DATA: 422,
    ErrorCode.PERMISSION_DENIED: 403,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.TIMEOUT: 504,
    ErrorCode.STORAGE_ERROR: 500,
}

# What waiting can fix: the server is down, unreachable or too slow to answer (lazy connect
# retries these, a remote feed reconnects on them). A conflict may succeed later too, but
# only if the caller reads again first.
TRANSIENT_CODES = frozenset({ErrorCode.UNAVAILABLE, ErrorCode.TIMEOUT})
_RETRYABLE = TRANSIENT_CODES | {ErrorCode.CONFLICT}  # where the same call again later can succeed


class PersistenceError(Exception):
    """The one error docstore raises for a failed storage call.

        raise PersistenceError(ErrorCode.NOT_FOUND, "session 's1' not found")

    ``code`` is what to branch on; ``message`` says what happened (never a password);
    ``retryable`` tells whether the same call may succeed later. ``damaged``: the ids of
    the stored documents the call found damaged (unreadable: a ``local://`` checksum
    mismatch), a STORAGE_ERROR of a ``Store.documents`` read; empty for any other
    failure. It crosses the remote wire, so a tool tells damage from a failed store by
    it, never by the message's words (a restore goes past damage, not past a failure).
    """

    def __init__(self, code: ErrorCode, message: str, *, damaged: tuple[str, ...] = ()) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message
        self.damaged = tuple(damaged)

    @property
    def retryable(self) -> bool:
        """True when the same call may succeed if tried again later."""
        return self.code in _RETRYABLE

    def __reduce__(self) -> Any:
        # Keep the code (and what was damaged) when pickled (multiprocessing, task queues).
        if not self.damaged:
            return (type(self), (self.code, self.message))
        return (_damage_error, (type(self), self.code, self.message, self.damaged))


def _damage_error(kind: type[PersistenceError], code: ErrorCode, message: str, damaged: tuple[str, ...]) -> Any:
    """A pickled ``PersistenceError`` with ``damaged`` back (``__reduce__`` passes positional arguments only)."""
    return kind(code, message, damaged=damaged)
