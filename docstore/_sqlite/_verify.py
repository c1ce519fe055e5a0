"""``verify_store``: read every byte of a ``local://`` store and say what is damaged (``docstore check``)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from .._errors import PersistenceError
from ._codec import decode
from ._database import connect
from ._files import check_identity
from ._schema import APPLICATION_ID, DATABASE_FILE
from ._verify_students import verify_students

__all__ = ["verify_store"]

_TABLES = {
    "sessions": "sessions",
    "session_students": "session_students",
    "problems": "problems",
    "revisions": "revisions",
    "documents": "documents",
}


def verify_store(directory: Path) -> tuple[Path, list[str]]:
    """(the database file, what is damaged in it): SQLite's integrity check, then every checksum.

    Blocking. An empty list means the store is sound. Never writes to the file.
    """
    path = directory / DATABASE_FILE
    if not path.is_file():
        return path, [f"{path}: no docstore store here"]
    try:
        check_identity(path)
    except PersistenceError as exc:
        return path, [exc.message]
    problems: list[str] = []
    try:
        with contextlib.closing(connect(path)) as connection:
            connection.execute("PRAGMA query_only = ON")
            application_id = connection.execute("PRAGMA application_id").fetchone()[0]
            if application_id != APPLICATION_ID:
                return path, [f"{path}: not a docstore store (application_id {application_id:#x})"]
            connection.execute("BEGIN")  # one snapshot, while other processes go on writing
            for (line,) in connection.execute("PRAGMA integrity_check"):
                if line != "ok":
                    problems.append(f"{path}: {line}")
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            for collection, table in _TABLES.items():
                if table == "session_students" and version < 2:
                    continue  # a file of the earlier layout, converted when it is next opened
                problems += _verify_documents(connection, path, collection, table)
            if version >= 2:
                problems += verify_students(connection, path)
    except sqlite3.Error as exc:
        problems.append(f"{path}: {exc}")
    return path, problems


def _verify_documents(connection: sqlite3.Connection, path: Path, collection: str, table: str) -> list[str]:
    problems: list[str] = []
    key = "collection || '/' || id" if table == "documents" else "id"
    try:
        for document_id, blob, digest in connection.execute(f"SELECT {key}, doc, checksum FROM {table}"):
            try:
                decode(blob, digest, f"{path}: {collection} document {document_id!r}")
            except PersistenceError as exc:
                problems.append(exc.message)
    except sqlite3.Error as exc:
        problems.append(f"{path}: table {table}: {exc}")
    return problems
