"""Files of the ``local://`` engine: a framed record format, the write journal, the snapshot.

A record on disk is ``[length u32][crc32 u32][BSON payload]``. A crash can leave a
torn record only at the end of a file; reading stops there and the tail is cut,
so a half-written record is never applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import bson
from bson.codec_options import CodecOptions

__all__ = ["AWARE", "NAIVE", "Journal", "fsync_dir", "read_records", "write_records"]

_HEADER = struct.Struct("<II")
# Journal entries are replayed through the engine: datetimes come back aware (UTC), as
# callers hand them in. Snapshots are loaded straight into mongomock's store, which
# keeps naive UTC datetimes.
AWARE: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=True)
NAIVE: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=False)


def encode_record(payload: dict[str, Any]) -> bytes:
    body = bson.encode(payload)
    return _HEADER.pack(len(body), zlib.crc32(body)) + body


def read_records(path: Path, codec: CodecOptions[dict[str, Any]] = AWARE) -> tuple[list[dict[str, Any]], int]:
    """All whole records of a file, and the offset where the last whole one ends."""
    records: list[dict[str, Any]] = []
    if not path.exists():
        return records, 0
    data = path.read_bytes()
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, crc = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        body = data[start : start + length]
        if len(body) < length or zlib.crc32(body) != crc:
            break  # torn or damaged tail: everything before it stands
        records.append(bson.decode(body, codec_options=codec))
        offset = start + length
    return records, offset


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write_records(path: Path, records: Iterator[dict[str, Any]]) -> None:
    """Write a whole file atomically: to a temporary name, fsync, rename, fsync the folder."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    with open(temporary, "wb") as out:
        for record in records:
            out.write(encode_record(record))
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """Append-only log of writes with group commit.

    ``append`` writes the record to the file at once (so the file order is the
    order in which writes were applied); ``commit`` waits for an fsync that covers
    it. Many writers waiting together share one fsync.
    """

    def __init__(self, path: Path, valid_length: int) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.ftruncate(self._fd, valid_length)  # cut a torn tail before appending
        os.lseek(self._fd, valid_length, os.SEEK_SET)
        fsync_dir(path.parent)
        self.records = 0
        self._appended = 0
        self._synced = 0
        self._sync_task: asyncio.Future[None] | None = None
        self._failure: OSError | None = None
        self._threshold: tuple[int, Callable[[], None]] | None = None

    def when_records(self, count: int, callback: Callable[[], None]) -> None:
        """Call ``callback`` (once) when this journal has taken ``count`` records."""
        self._threshold = (count, callback)

    def prepare(self, collection: str, method: str, args: Sequence[Any], kwargs: dict[str, Any]) -> bytes:
        if self._failure is not None:
            # Memory may hold a write the file does not: refuse everything until reopened.
            raise OSError(f"the journal {self.path} could not be written ({self._failure}); reopen the store")
        return encode_record({"c": collection, "m": method, "a": list(args), "k": kwargs})

    def append(self, prepared: bytes) -> None:
        try:
            _write_all(self._fd, prepared)
        except OSError as exc:  # disk full, I/O error: the write that raised is not acknowledged
            self._failure = exc
            raise
        self._appended += 1
        self.records += 1
        if self._threshold is not None and self.records >= self._threshold[0]:
            callback, self._threshold = self._threshold[1], None
            callback()

    async def commit(self) -> None:
        target = self._appended
        while self._synced < target:
            if self._sync_task is None or self._sync_task.done():
                self._sync_task = asyncio.ensure_future(self._sync())
            await asyncio.shield(self._sync_task)

    async def _sync(self) -> None:
        upto, fd = self._appended, self._fd
        if fd >= 0:  # closed meanwhile: close() made it all durable
            await asyncio.to_thread(os.fsync, fd)
        self._synced = max(self._synced, upto)

    async def settle(self) -> None:
        """Wait for an fsync in flight, so that the file can be closed under no one."""
        if self._sync_task is not None and not self._sync_task.done():
            with contextlib.suppress(Exception):  # its writers see the error; closing goes on
                await asyncio.shield(self._sync_task)

    def close(self) -> None:
        """fsync and close. Everything appended is durable from here on: writers still
        waiting in ``commit`` return (their records are in this file or, after a
        compaction, in the snapshot)."""
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
            self._synced = self._appended
