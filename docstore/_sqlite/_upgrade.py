"""Upgrade: a ``local://DIR`` written by the journal engine (before SQLite) is converted once.

The old layout, read here and nowhere else::

    LOCK             flock'd by the process that had the store open
    snapshot.bson    [u32 length][u32 crc32][BSON] records: a header {format, generation},
                     then {"c": collection, "docs": [...]} batches (naive UTC datetimes)
    journal-G.bin    the same framing: {"c", "m", "a", "k"}, one PyMongo write call each,
                     applied after snapshot generation G (failed writes included)

The snapshot is loaded into an in-memory MongoDB dialect (mongomock) with the same
unique indexes, and the journal replayed through it as the old engine did, so a
write that failed then (a taken join code, a refused document) fails again and
leaves nothing. Every document of every collection then goes into a new SQLite
file, built under a temporary name and renamed into place; the old files move to
``DIR/pre-sqlite/``. A crash at any point leaves either the old files (the next
open converts again) or the new database.

What the old reader did silently is refused here: a damaged record in the middle
of a file, or a snapshot that is missing, empty or cut short while a journal
depends on it, is STORAGE_ERROR naming the file (nothing is converted or moved).
Only a torn record at the very end of the journal (a write never acknowledged) is
dropped.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import sqlite3
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bson
import bson.errors
from bson.codec_options import CodecOptions

from .._errors import ErrorCode, PersistenceError
from .._students import SESSION_STUDENTS
from ._convert import split_session
from ._database import connect
from ._errors import translate
from ._schema import DATABASE_FILE, create_schema
from ._tables import put_document

__all__ = ["OLD_FILES_DIRECTORY", "upgrade_if_needed"]

OLD_FILES_DIRECTORY = "pre-sqlite"
_SNAPSHOT = "snapshot.bson"
_LOCK = "LOCK"
_JOURNAL = re.compile(r"journal-(\d+)\.bin")
_HEADER = struct.Struct("<II")
_FORMAT = 1
_LOCK_WAIT_S = 60.0
_NAIVE: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=False)
_AWARE: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=True)
# Fields the journal engine kept beside the documents it was given.
_DERIVED = ("_content_hash", "active_join_code")


def _damaged(path: Path, why: str) -> PersistenceError:
    return PersistenceError(
        ErrorCode.STORAGE_ERROR,
        f"cannot upgrade the pre-SQLite store: {path} {why}; nothing was converted "
        "(restore the file from a backup, or move it away to convert without it)",
    )


def _journals(directory: Path) -> dict[int, Path]:
    found: dict[int, Path] = {}
    for path in directory.iterdir():
        match = _JOURNAL.fullmatch(path.name)
        if match:
            found[int(match[1])] = path
    return found


def needs_upgrade(directory: Path) -> bool:
    return (directory / _SNAPSHOT).exists() or bool(_journals(directory))


def read_records(path: Path, codec: CodecOptions[dict[str, Any]], *, torn_tail_allowed: bool) -> list[dict[str, Any]]:
    """Every record of an old-format file; a damaged one is an error, never the end of the file."""
    data = path.read_bytes()
    records: list[dict[str, Any]] = []
    offset = 0
    while offset < len(data):
        if offset + _HEADER.size > len(data):
            if torn_tail_allowed:
                break
            raise _damaged(path, f"is cut short at byte {offset}")
        length, crc = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        if start + length > len(data):
            if torn_tail_allowed:
                break  # the last write was torn by a crash: it was never acknowledged
            raise _damaged(path, f"is cut short at byte {offset}")
        body = data[start : start + length]
        if zlib.crc32(body) != crc:
            raise _damaged(path, f"has a damaged record at byte {offset} (checksum mismatch)")
        try:
            records.append(bson.decode(body, codec_options=codec))
        except (bson.errors.BSONError, ValueError, OverflowError) as exc:
            raise _damaged(path, f"has a damaged record at byte {offset} ({exc})") from None
        offset = start + length
    return records


def _old_documents(directory: Path) -> dict[str, list[dict[str, Any]]]:
    """Every collection of the old store, as the journal engine would have loaded it."""
    from mongomock import MongoClient  # the old engine's database, only ever needed here
    from pymongo import ASCENDING, IndexModel

    snapshot_path = directory / _SNAPSHOT
    journals = _journals(directory)
    generation = 0
    database: Any = MongoClient(tz_aware=True)["upgrade"]
    # Only a unique index changes what a replayed write does (a refused write is refused
    # again); the old engine had one besides _id: one active session per join code.
    database["sessions"].create_indexes(
        [IndexModel([("active_join_code", ASCENDING)], name="active_join_code_unique", unique=True, sparse=True)]
    )
    if snapshot_path.exists():
        snapshot = read_records(snapshot_path, _NAIVE, torn_tail_allowed=False)
        if not snapshot:
            raise _damaged(snapshot_path, "is empty")
        header = snapshot[0]
        if header.get("format") != _FORMAT or not isinstance(header.get("generation"), int):
            raise _damaged(snapshot_path, f"has an unknown header {header!r}")
        generation = header["generation"]
        for record in snapshot[1:]:
            store = database[record["c"]]._store  # as the old engine loaded them: trusted, no re-check
            for document in record["docs"]:
                store[document["_id"]] = document
    newer = [number for number in journals if number > generation]
    if newer:
        raise _damaged(
            snapshot_path, f"is missing or older than {journals[max(newer)].name} (snapshot generation {generation})"
        )
    journal = journals.get(generation)
    if journal is not None:
        for entry in read_records(journal, _AWARE, torn_tail_allowed=True):
            collection = database[entry["c"]]
            # Failed writes were journaled too: they fail again here, as they did then.
            with contextlib.suppress(Exception):
                getattr(collection, entry["m"])(*entry["a"], **entry["k"])
    result: dict[str, list[dict[str, Any]]] = {}
    for name in database.list_collection_names():
        documents = list(database[name].find({}))
        for document in documents:
            for field in _DERIVED:
                document.pop(field, None)
        result[name] = documents
    return result


def _build(directory: Path, collections: dict[str, list[dict[str, Any]]]) -> None:
    """Write the new database under a temporary name, durably, then rename it into place."""
    target = directory / DATABASE_FILE
    building = directory / (DATABASE_FILE + ".upgrading")
    for leftover in (building, Path(f"{building}-journal")):
        leftover.unlink(missing_ok=True)
    connection = connect(building)
    try:
        connection.execute("BEGIN IMMEDIATE")
        create_schema(connection)
        for name, documents in collections.items():
            for document in documents:
                if type(document.get("_id")) is not str:
                    raise _damaged(directory, f"holds a {name} document whose _id is not a string: {document['_id']!r}")
                if name == "sessions":
                    # Straight to the current layout: students become records of their own.
                    _put_session(connection, document)
                else:
                    put_document(connection, name, document)
        connection.execute("COMMIT")
    finally:
        connection.close()
    _fsync(building)
    os.replace(building, target)
    _fsync(directory)


def _put_session(connection: sqlite3.Connection, document: dict[str, Any]) -> None:
    try:
        session, records = split_session(document)
    except PersistenceError:
        session, records = document, []  # kept as the old engine held it: reads name it, as they did
    put_document(connection, "sessions", session)
    for record in records:
        put_document(connection, SESSION_STUDENTS, record)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _move_old_files(directory: Path) -> None:
    keep = directory / OLD_FILES_DIRECTORY
    keep.mkdir(exist_ok=True)
    for path in sorted(directory.iterdir()):
        if path.name in (_SNAPSHOT, _SNAPSHOT + ".tmp", _LOCK) or _JOURNAL.fullmatch(path.name):
            os.replace(path, keep / path.name)
    _fsync(keep)
    _fsync(directory)


@contextlib.contextmanager
def _old_lock(directory: Path) -> Iterator[None]:
    """The old engine's LOCK: held by an old process that still has the store open, or another upgrader."""
    fd = os.open(directory / _LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + _LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    raise PersistenceError(
                        ErrorCode.UNAVAILABLE,
                        f"{directory} is open in another process (pid {holder}) running a docstore from before "
                        "SQLite; close it there, then open the store again to upgrade it",
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def upgrade_if_needed(directory: Path) -> bool:
    """Convert an old-format store in ``directory`` (blocking); whether there was one."""
    if not needs_upgrade(directory):
        return False
    try:
        with _old_lock(directory):
            if not needs_upgrade(directory):
                return False  # another process converted it while this one waited
            if not (directory / DATABASE_FILE).exists():
                _build(directory, _old_documents(directory))
            _move_old_files(directory)
    except PersistenceError:
        raise
    except Exception as exc:
        raise translate(exc, directory) from None
    return True
