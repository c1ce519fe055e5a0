"""Opening the database file of a ``local://DIR`` store: create it, or recognize it, never clobber it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .._errors import ErrorCode, PersistenceError
from ._convert import convert_sessions
from ._database import connect, connect_readonly, writable
from ._errors import translate
from ._feed import create_change_log, numbered_by_autoincrement, trim_changes
from ._join_codes import derive_join_codes
from ._schema import APPLICATION_ID, DATABASE_FILE, LOG_OF_BEFORE_VERSION, SCHEMA_VERSION, create_schema

__all__ = ["SQLITE_HEADER", "open_database_file"]

SQLITE_HEADER = b"SQLite format 3\x00"


def _refuse(path: Path, why: str) -> PersistenceError:
    return PersistenceError(ErrorCode.STORAGE_ERROR, f"{path} {why}; refusing to open it (nothing was changed)")


def check_identity(path: Path) -> None:
    """Refuse a file that is not an SQLite database (before SQLite could write to it)."""
    with open(path, "rb") as file:
        header = file.read(len(SQLITE_HEADER))
    if header and header != SQLITE_HEADER:
        raise _refuse(path, "is not a docstore store (not an SQLite database)")


def open_database_file(directory: Path, *, create: bool) -> sqlite3.Connection:
    """The write connection of the store in ``directory``, schema in place (blocking)."""
    path = directory / DATABASE_FILE
    if not path.exists():
        if not create:
            raise PersistenceError(ErrorCode.UNAVAILABLE, f"no docstore store at {directory} (create=False)")
    else:
        check_identity(path)
        if not writable(path):
            return _open_readonly(path)
    try:
        connection = connect(path)
    except sqlite3.Error as exc:
        raise translate(exc, path) from None
    try:
        _prepare(connection, path)
    except BaseException as exc:
        connection.close()
        raise translate(exc, path) from None
    return connection


def _open_readonly(path: Path) -> sqlite3.Connection:
    """A store this process may not write (a read-only mount, another user's files): read-only, as it is."""
    try:
        connection = connect_readonly(path)
    except sqlite3.Error as exc:
        raise translate(exc, path) from None
    try:
        _check_header(connection, path)
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version < LOG_OF_BEFORE_VERSION:
            raise _refuse(
                path, f"needs an upgrade (schema {version} to {SCHEMA_VERSION}), which needs write permission"
            )
    except BaseException as exc:
        connection.close()
        raise translate(exc, path) from None
    return connection


def _check_header(connection: sqlite3.Connection, path: Path) -> None:
    application_id = connection.execute("PRAGMA application_id").fetchone()[0]
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if application_id not in (0, APPLICATION_ID):
        raise _refuse(path, f"is an SQLite database of another application (application_id {application_id:#x})")
    if application_id == 0:
        tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if tables:
            raise _refuse(path, "is an SQLite database that docstore did not write")
    if version > SCHEMA_VERSION:
        raise _refuse(path, f"was written by a newer docstore (schema {version}, this one knows {SCHEMA_VERSION})")


def _prepare(connection: sqlite3.Connection, path: Path) -> None:
    _check_header(connection, path)
    mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode != "wal":
        raise PersistenceError(ErrorCode.STORAGE_ERROR, f"{path}: cannot use WAL mode (journal_mode is {mode})")
    # One transaction: the schema, and the conversion of an older file with it. Another
    # process opening at once waits here, then finds the new version (read inside the lock).
    connection.execute("BEGIN IMMEDIATE")
    try:
        before = connection.execute("PRAGMA user_version").fetchone()[0]
        create_schema(connection)
        if before < 2:
            convert_sessions(connection, path)
        derive_join_codes(connection, path)  # the join-code rule's own marker, not user_version
        # After the conversion: what an upgrade moves is not a change of any live feed.
        create_change_log(connection)
        if before == LOG_OF_BEFORE_VERSION and numbered_by_autoincrement(connection):
            # A file of before stays one: a process of the release before may have it open, or open it next.
            connection.execute(f"PRAGMA user_version = {LOG_OF_BEFORE_VERSION}")
        trim_changes(connection)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
