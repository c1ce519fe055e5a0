"""Schema 1 to 2: students move out of their session's document into ``session_students``.

A file written by the release before (``user_version`` 1) holds every student inside
its session's document. The first open by this release converts it, in the one
``BEGIN IMMEDIATE`` transaction that also brings the schema up to date
(``_files.open_database_file``): every session is split by
``docstore._students.students_of_legacy_session`` (the split every upgrade path shares)
and the version is set to 2 in the same commit. A crash at any point leaves the file as
it was, and the next open converts it again; a process that waited for the lock finds
version 2 and converts nothing.

A session row that does not read back (checksum) or cannot be split (its students are
not a map) is left as it was, so nothing is lost and nothing guessed: reading it is
STORAGE_ERROR naming it, as before, and ``docstore check`` names it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from .._errors import PersistenceError
from .._students import SESSION_STUDENTS, students_of_legacy_session
from ._codec import decode, yielding
from ._tables import put_document

__all__ = ["convert_sessions", "split_session"]


def split_session(document: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(session document without students, its student records); unchanged and none if it has none."""
    if "students" not in document:
        return document, []
    return students_of_legacy_session(document)


def _convert_one(connection: sqlite3.Connection, document: dict[str, Any]) -> None:
    session, records = split_session(document)
    put_document(connection, "sessions", session)
    for record in records:
        put_document(connection, SESSION_STUDENTS, record)


def convert_sessions(connection: sqlite3.Connection, path: Path) -> int:
    """Split every session that still holds students (in the caller's transaction); how many were."""
    converted = 0
    ids = [row[0] for row in connection.execute("SELECT id FROM sessions ORDER BY id")]
    # One session at a time: a class of the old layout may be up to 16 MB.
    for session_id in yielding(ids):
        row = connection.execute("SELECT doc, checksum FROM sessions WHERE id = ?", (session_id,)).fetchone()
        try:
            document = decode(row[0], row[1], f"sessions document {session_id!r} in {path}")
        except PersistenceError:
            continue  # damaged: left as it is, never guessed at
        if "students" not in document:
            continue
        connection.execute("SAVEPOINT convert_session")
        try:
            _convert_one(connection, document)
        except PersistenceError:
            connection.execute("ROLLBACK TO convert_session")  # left as it was (see the module's docstring)
        else:
            converted += 1
        connection.execute("RELEASE convert_session")
    return converted
