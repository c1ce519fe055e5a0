"""``verify_store``: read every byte of a ``local://`` store and say what is damaged (``docstore check``)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from .._errors import PersistenceError
from ._codec import decode
from ._database import connect_readonly
from ._feed import CHANGE_KINDS
from ._files import check_identity
from ._schema import APPLICATION_ID, DATABASE_FILE, REPOSITORY_COLLECTIONS
from ._verify_students import verify_students

__all__ = ["verify_store"]

# Every repository table the schema has (session_students included), and the rest.
_TABLES = {**{name: name for name in REPOSITORY_COLLECTIONS}, "documents": "documents"}


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
        # Read-only (``mode=ro``): a check never writes, and works on a store it may not write.
        with contextlib.closing(connect_readonly(path)) as connection:
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
            problems += _verify_changes(connection, path)
    except sqlite3.Error as exc:
        problems.append(f"{path}: {exc}")
    return path, problems


def _verify_documents(connection: sqlite3.Connection, path: Path, collection: str, table: str) -> list[str]:
    """Every document's checksum, then that it sits in its own row.

    The checksum covers a document's bytes, not the row they sit in: a document and its
    checksum copied over another row (a botched hand edit, a restore gone wrong) would verify,
    and be served under the other row's id and namespace. So the row's key columns are
    compared with what the document says of itself.
    """
    problems: list[str] = []
    shown = "collection || '/' || id" if table == "documents" else "id"
    namespace = "NULL" if table == "documents" else "namespace_id"
    try:
        rows = connection.execute(f"SELECT {shown}, id, {namespace}, doc, checksum FROM {table}")
        for document_id, row_id, row_namespace, blob, digest in rows:
            what = f"{path}: {collection} document {document_id!r}"
            try:
                document = decode(blob, digest, what)
            except PersistenceError as exc:
                problems.append(exc.message)
                continue
            if document.get("_id") != row_id:
                problems.append(f"{what} is damaged: it holds document {document.get('_id')!r}")
            elif table != "documents" and document.get("namespace_id") != row_namespace:
                problems.append(
                    f"{what} is damaged: it holds a document of namespace {document.get('namespace_id')!r}"
                    f" in a row of namespace {row_namespace!r}"
                )
    except sqlite3.Error as exc:
        problems.append(f"{path}: table {table}: {exc}")
    return problems


def _verify_changes(connection: sqlite3.Connection, path: Path) -> list[str]:
    """The live feed's log: every state it copied reads back (a store of before the feed has none)."""
    if connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'changes'").fetchone() is None:
        return []
    problems: list[str] = []
    kinds = ", ".join(f"'{kind}'" for kind in sorted(CHANGE_KINDS))
    for sequence, session_id, kind in connection.execute(
        f"SELECT seq, session_id, kind FROM changes WHERE kind NOT IN ({kinds}) OR typeof(session_id) != 'text'"
    ):
        problems.append(f"{path}: change {sequence} of session {session_id!r} (the live feed's log) is damaged: "
                        f"kind {kind!r}")  # fmt: skip
    try:
        rows = connection.execute("SELECT seq, session_id, doc, checksum FROM changes WHERE doc IS NOT NULL")
        for sequence, session_id, blob, digest in rows:
            try:
                decode(blob, digest, f"{path}: change {sequence} of session {session_id!r} (the live feed's log)")
            except PersistenceError as exc:
                problems.append(exc.message)
    except sqlite3.Error as exc:
        problems.append(f"{path}: table changes: {exc}")
    return problems
