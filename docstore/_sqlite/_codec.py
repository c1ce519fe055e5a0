"""Stored documents as bytes: BSON blobs with a checksum, and the sort keys of indexed columns.

BSON keeps what JSON would lose (datetimes, 64-bit ints) and is what the MongoDB
dialect stores, so a document reads back exactly as it was written. Every blob is
stored with a BLAKE2b checksum that every read verifies: a damaged page of the
file is an error naming the file, never a wrong answer.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import bson
import bson.errors
from bson.codec_options import CodecOptions

from .._errors import ErrorCode, PersistenceError

__all__ = [
    "NULL_TEXT",
    "NULL_TIME",
    "YIELD_EVERY",
    "checksum",
    "decode",
    "decode_verified",
    "encode",
    "text_key",
    "time_key",
    "verify",
    "yielding",
]

# tzinfo=UTC: datetimes come back as the domain types make them (and it decodes fastest).
_CODEC: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=True, tzinfo=UTC)
# Naive datetimes decode in less than half the time (no tzinfo attached in C per value):
# for a document about to be validated into a domain type, whose datetime fields all
# become aware UTC in validation anyway (see ``_naive_times.naive_times_suffice``).
_NAIVE: CodecOptions[dict[str, Any]] = CodecOptions()
# Sort keys of a missing value. MongoDB sorts null before every other value; SQLite sorts
# an INTEGER before any TEXT, and this integer before every millisecond timestamp of
# years 1-9999, so a column never holds NULL and (column, id) row values always compare.
NULL_TEXT = 0
NULL_TIME = -(2**63)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# How long a read works in Python before it lets the event loop's thread have the GIL.
YIELD_EVERY = 0.002
T = TypeVar("T")


def checksum(blob: bytes) -> bytes:
    return hashlib.blake2b(blob, digest_size=16).digest()


def encode(document: dict[str, Any]) -> tuple[bytes, bytes]:
    """The blob of a checked document and its checksum."""
    blob = bson.encode(document)
    return blob, checksum(blob)


def verify(blob: bytes, stored_checksum: bytes, where: str) -> None:
    """Nothing if ``blob`` is the one its checksum was made of; else STORAGE_ERROR naming ``where``."""
    if type(blob) is not bytes or type(stored_checksum) is not bytes:
        # SQLite columns take any type: TEXT written behind docstore's back is damage, not a TypeError.
        kinds = f"{type(blob).__name__} and {type(stored_checksum).__name__}"
        raise PersistenceError(ErrorCode.STORAGE_ERROR, f"{where} is damaged (document and checksum are {kinds})")
    if checksum(blob) != stored_checksum:
        raise PersistenceError(ErrorCode.STORAGE_ERROR, f"{where} is damaged (checksum mismatch)")


def decode_verified(blob: bytes, where: str, *, aware: bool = True) -> dict[str, Any]:
    """The document of a blob whose checksum ``verify`` accepted; STORAGE_ERROR if it is no BSON."""
    try:
        return bson.decode(blob, codec_options=_CODEC if aware else _NAIVE)
    except (bson.errors.BSONError, ValueError, OverflowError) as exc:
        raise PersistenceError(ErrorCode.STORAGE_ERROR, f"{where} is damaged ({exc})") from None


def decode(blob: bytes, stored_checksum: bytes, where: str, *, aware: bool = True) -> dict[str, Any]:
    """The document of a blob, after verifying its checksum; STORAGE_ERROR naming ``where`` if damaged.

    ``aware=False``: datetimes come back naive (meaning UTC), for a caller that makes them aware.
    """
    verify(blob, stored_checksum, where)
    return decode_verified(blob, where, aware=aware)


def yielding(items: Iterable[T], every: float = YIELD_EVERY) -> Iterator[T]:
    """``items``, handing the GIL over once ``every`` seconds have gone by since the last time.

    Decoding and validating runs in a thread, but a thread busy in Python keeps the GIL
    for CPython's whole switch interval (5 ms) at a time, and the event loop waits for
    it. ``time.sleep(0)`` releases it at once, so a large read lets the loop run between
    small slices instead of stalling it. By the clock, not by count: each ``sleep(0)`` is
    a system call that a busy machine answers in up to a millisecond, and a read of a few
    hundred rows (a student's history) needs none or one, not one per 32 rows.
    """
    last = time.perf_counter()
    for item in items:
        yield item
        now = time.perf_counter()
        if now - last >= every:
            time.sleep(0)
            last = time.perf_counter()


def time_key(value: Any) -> Any:
    """The sort key of a datetime field: milliseconds since 1970 (what MongoDB compares)."""
    if value is None:
        return NULL_TIME
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        delta = value - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    return text_key(value)


def text_key(value: Any) -> Any:
    """The sort key of a text field (SQLite compares UTF-8 bytes, as MongoDB does)."""
    if value is None:
        return NULL_TEXT
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str | int | float):
        return value
    return str(value)
