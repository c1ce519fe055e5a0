"""``verify_store``: read every byte of a ``local://`` store and say what is damaged (``docstore check``)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

from .._errors import PersistenceError
from ._codec import decode
from ._database import connect_readonly
from ._feed import CHANGE_KINDS
from ._files import check_identity
from ._schema import APPLICATION_ID, DATABASE_FILE, REPOSITORY_COLLECTIONS
from ._verify_students import verify_students

__all__ = ["INTEGRITY_CHECK", "LOG_CHECK", "STUDENTS_CHECK", "verify_store"]

# progress(step, done, total) of ``verify_store``: "integrity check" in pages, "checking <collection>"
# in documents, the students' and the log's checks in records and changes (``docstore check`` prints it).
Progress = Callable[[str, int, int], None]
INTEGRITY_CHECK = "integrity check"
STUDENTS_CHECK = "checking student records"
LOG_CHECK = "checking the live feed's log"
_EVERY = 1000  # rows between two progress calls

# Every repository table the schema has (session_students included), and the rest.
_TABLES = {**{name: name for name in REPOSITORY_COLLECTIONS}, "documents": "documents"}


def verify_store(directory: Path, progress: Progress | None = None) -> tuple[Path, list[str]]:
    """(the database file, what is damaged in it): SQLite's integrity check, then every checksum.

    Blocking. An empty list means the store is sound. Never writes to the file. ``progress``
    (called from this thread) hears of each step as it goes: a large store takes minutes.
    """
    report = progress or _silent
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
            pages = connection.execute("PRAGMA page_count").fetchone()[0]
            report(INTEGRITY_CHECK, 0, pages)  # one statement: its start and its end
            for (line,) in connection.execute("PRAGMA integrity_check"):
                if line != "ok":
                    problems.append(f"{path}: {line}")
            report(INTEGRITY_CHECK, pages, pages)
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            for collection, table in _TABLES.items():
                if table == "session_students" and version < 2:
                    continue  # a file of the earlier layout, converted when it is next opened
                problems += _verify_documents(connection, path, collection, table, report)
            if version >= 2:
                records = connection.execute("SELECT count(*) FROM session_students").fetchone()[0]
                report(STUDENTS_CHECK, 0, records)
                problems += verify_students(connection, path)
                report(STUDENTS_CHECK, records, records)
            problems += _verify_changes(connection, path, report)
    except sqlite3.Error as exc:
        problems.append(f"{path}: {exc}")
    return path, problems


def _silent(_step: str, _done: int, _total: int) -> None:
    return None


def _verify_documents(
    connection: sqlite3.Connection, path: Path, collection: str, table: str, report: Progress = _silent
) -> list[str]:
    """Every document's checksum, then that it sits in its own row.

    The checksum covers a document's bytes, not the row they sit in: a document and its
    checksum copied over another row (a botched hand edit, a restore gone wrong) would verify,
    and be served under the other row's id and namespace. So the row's key columns are
    compared with what the document says of itself.
    """
    problems: list[str] = []
    shown = "collection || '/' || id" if table == "documents" else "id"
    namespace = "NULL" if table == "documents" else "namespace_id"
    step, done = ("checking other collections" if table == "documents" else f"checking {collection}"), 0
    try:
        total = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        report(step, 0, total)
        rows = connection.execute(f"SELECT {shown}, id, {namespace}, doc, checksum FROM {table}")
        for document_id, row_id, row_namespace, blob, digest in rows:
            done += 1
            if done % _EVERY == 0:
                report(step, done, max(total, done))
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
        report(step, done, max(total, done))
    except sqlite3.Error as exc:
        problems.append(f"{path}: table {table}: {exc}")
    return problems


def _verify_changes(connection: sqlite3.Connection, path: Path, report: Progress = _silent) -> list[str]:
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
    done = 0
    try:
        total = connection.execute("SELECT count(*) FROM changes WHERE doc IS NOT NULL").fetchone()[0]
        report(LOG_CHECK, 0, total)
        rows = connection.execute("SELECT seq, session_id, doc, checksum FROM changes WHERE doc IS NOT NULL")
        for sequence, session_id, blob, digest in rows:
            done += 1
            if done % _EVERY == 0:
                report(LOG_CHECK, done, max(total, done))
            try:
                decode(blob, digest, f"{path}: change {sequence} of session {session_id!r} (the live feed's log)")
            except PersistenceError as exc:
                problems.append(exc.message)
        report(LOG_CHECK, done, max(total, done))
    except sqlite3.Error as exc:
        problems.append(f"{path}: table changes: {exc}")
    return problems
