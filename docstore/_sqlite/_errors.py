"""SQLite and file exceptions -> ``PersistenceError``, naming the database file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .._errors import ErrorCode, PersistenceError

__all__ = ["translate"]


def translate(exc: BaseException, path: Path) -> PersistenceError:
    """The ``PersistenceError`` for anything raised while working on the file at ``path``."""
    if isinstance(exc, PersistenceError):
        return exc
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OverflowError):
        # An integer beyond 64 bits that no check caught: the caller's value, not the file.
        return PersistenceError(ErrorCode.INVALID_DATA, "an integer beyond 64 bits cannot be stored or compared")
    if isinstance(exc, UnicodeError):
        # Text SQLite cannot hold (a lone surrogate in an id): the caller's value, not the file.
        return PersistenceError(ErrorCode.INVALID_DATA, f"text that cannot be stored: {type(exc).__name__}")
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        # busy_timeout ran out: another process held the write lock all that time.
        return PersistenceError(ErrorCode.TIMEOUT, f"{path}: {text}")
    if isinstance(exc, sqlite3.DatabaseError) and ("malformed" in text or "not a database" in text):
        return PersistenceError(ErrorCode.STORAGE_ERROR, f"{path} is damaged: {text}")
    # Disk full, read-only file, I/O error, anything else: the write did not happen.
    return PersistenceError(ErrorCode.STORAGE_ERROR, f"{path}: {type(exc).__name__}: {text}"[:500])
