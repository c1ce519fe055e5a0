"""A session's students on SQLite: rows of ``session_students`` (sync: runs in a database thread).

One row per (session, student), its document laid out by ``docstore._students``. A post
(``docstore._posts``, run on ``PostRows``) reads the session's own (small) row to check that
it is in the view and active, and rewrites the student's row: its cost does not depend on
the class. Every read verifies
the row's checksum, naming the record when it does not match.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from .._backend_common import stored_version
from .._listing import roster
from .._mapping import MAX_DOCUMENT_BYTES, METADATA, from_document
from .._models import Session, Student
from .._page import Page
from .._students import SESSION_STUDENTS, record_id, student_from_record, student_not_found, student_record
from ._codec import decode, yielding
from ._tables import delete_document, get_document, insert_document, put_document

__all__ = [
    "PostRows",
    "count_students",
    "delete_students",
    "find_student",
    "insert_students",
    "load_students",
    "page_of_students",
    "replace_students",
    "set_code",
    "upsert_student",
    "with_students",
]


def _in_view(session_id: str, namespace: str | None) -> tuple[str, dict[str, Any]]:
    """Conditions on the ``session_students`` rows of a session that only a session in the view passes.

    The session itself must be in the view (a record whose session is gone or elsewhere
    is never served), and so must the record. Named parameters: callers add their own.
    """
    if namespace is None:
        return "session_id = :session AND EXISTS (SELECT 1 FROM sessions WHERE id = :session)", {"session": session_id}
    return (
        "session_id = :session AND namespace_id = :namespace AND EXISTS "
        "(SELECT 1 FROM sessions WHERE id = :session AND sessions.namespace_id = :namespace)",
        {"session": session_id, "namespace": namespace},
    )


def _record(path: Path, row: tuple[str, bytes, bytes]) -> dict[str, Any]:
    return decode(row[1], row[2], f"student record {row[0]!r} in {path}")


def load_students(
    connection: sqlite3.Connection, path: Path, session_id: str, namespace: str | None
) -> dict[str, Student]:
    """Every student of the session (in the view), by id."""
    where, arguments = _in_view(session_id, namespace)
    rows = connection.execute(
        f"SELECT id, doc, checksum FROM session_students WHERE {where} ORDER BY student_id", arguments
    ).fetchall()
    students = (student_from_record(_record(path, row)) for row in yielding(rows))
    return {student.id: student for student in students}


def with_students(
    connection: sqlite3.Connection, path: Path, document: Mapping[str, Any], namespace: str | None
) -> Session:
    """The session of a stored document, its class assembled from its records."""
    session = from_document(Session, document)
    return session.model_copy(update={"students": load_students(connection, path, session.id, namespace)})


def find_student(
    connection: sqlite3.Connection, path: Path, session_id: str, student_id: str, namespace: str | None
) -> Student | None:
    where, arguments = _in_view(session_id, namespace)
    row = connection.execute(
        f"SELECT id, doc, checksum FROM session_students WHERE {where} AND student_id = :student",
        {**arguments, "student": student_id},
    ).fetchone()
    return None if row is None else student_from_record(_record(path, row))


def page_of_students(
    connection: sqlite3.Connection,
    path: Path,
    session_id: str,
    namespace: str | None,
    limit: int,
    cursor: str | None,
) -> Page[Student]:
    """A page of the session's students by id (binary order: code points of UTF-8), keyset."""
    page = roster(limit, cursor)
    where, arguments = _in_view(session_id, namespace)
    sql = f"SELECT id, doc, checksum FROM session_students WHERE {where}"
    if page.after is not None:
        sql += " AND student_id > :last"
        arguments["last"] = page.after
    sql += f" ORDER BY student_id LIMIT {page.fetch}"
    rows = connection.execute(sql, arguments).fetchall()
    return page.page(rows, lambda rows: [student_from_record(_record(path, row)) for row in yielding(rows)])


def count_students(connection: sqlite3.Connection, session_id: str, namespace: str | None) -> int:
    where, arguments = _in_view(session_id, namespace)
    count: int = connection.execute(f"SELECT count(*) FROM session_students WHERE {where}", arguments).fetchone()[0]
    return count


def delete_students(connection: sqlite3.Connection, session_id: str) -> int:
    """Delete every record of the session (they are part of it, whatever a record claims)."""
    return connection.execute("DELETE FROM session_students WHERE session_id = ?", (session_id,)).rowcount


def insert_students(connection: sqlite3.Connection, records: list[dict[str, Any]]) -> None:
    for record in records:
        insert_document(connection, SESSION_STUDENTS, record)


def replace_students(
    connection: sqlite3.Connection,
    path: Path,
    session: Mapping[str, Any],
    students: Mapping[str, Student],
    now: datetime,
    actor: str | None,
) -> None:
    """Make the session's class exactly ``students``: records not named are deleted.

    A student kept keeps their record's creation time and author, and its version moves on.
    """
    session_id = session["_id"]
    before: dict[str, dict[str, Any]] = {}
    for row in connection.execute(
        "SELECT id, doc, checksum FROM session_students WHERE session_id = ?", (session_id,)
    ).fetchall():
        record = _record(path, row)
        if isinstance(record.get("student_id"), str):
            before[record["student_id"]] = record
    # Only who leaves is deleted; who stays is rewritten in place (the live feed tells a change, not a leave).
    staying = [record_id(session_id, student.id) for student in students.values()]
    marks = ", ".join("?" * len(staying))
    connection.execute(
        f"DELETE FROM session_students WHERE session_id = ? AND id NOT IN ({marks or 'NULL'})", (session_id, *staying)
    )
    for student in students.values():
        previous = before.get(student.id)
        version = 1 if previous is None else stored_version(previous, "student record") + 1
        created = None if previous is None else previous[METADATA]
        record = student_record(
            session_id, session["namespace_id"], student, now=now, actor=actor, version=version, created=created
        )
        put_document(connection, SESSION_STUDENTS, record)


def _find_record(connection: sqlite3.Connection, path: Path, session_id: str, student_id: str) -> dict[str, Any] | None:
    row = connection.execute(
        "SELECT id, doc, checksum FROM session_students WHERE session_id = ? AND student_id = ?",
        (session_id, student_id),
    ).fetchone()
    return None if row is None else _record(path, row)


def set_code(
    connection: sqlite3.Connection,
    path: Path,
    session_id: str,
    student_id: str,
    code: str,
    now: datetime,
    actor: str | None,
) -> Student:
    """Set one student's code in their record; NOT_FOUND if the session has no such student."""
    record = _find_record(connection, path, session_id, student_id)
    if record is None:
        raise student_not_found(session_id, student_id)
    version = stored_version(record, "student record")
    record["code"] = code
    record["last_update"] = now
    record[METADATA] = {**record[METADATA], "updated_at": now, "modified_by": actor, "version": version + 1}
    student = student_from_record(record)  # a damaged record is never rewritten as if it were sound
    put_document(connection, SESSION_STUDENTS, record, max_bytes=MAX_DOCUMENT_BYTES)
    return student


def upsert_student(connection: sqlite3.Connection, path: Path, record: dict[str, Any], now: datetime) -> None:
    """Write a student's record (built by ``student_record``), replacing the one they had.

    A replaced record keeps its creation time and author, and its version moves on.
    """
    previous = _find_record(connection, path, record["session_id"], record["student_id"])
    if previous is not None:
        metadata = record[METADATA]
        metadata["version"] = stored_version(previous, "student record") + 1
        metadata["created_at"] = previous[METADATA].get("created_at", now)
        metadata["created_by"] = previous[METADATA].get("created_by")
    put_document(connection, SESSION_STUDENTS, record, max_bytes=MAX_DOCUMENT_BYTES)


class PostRows:
    """The unit of work of a post or a session's deletion on SQLite (``docstore._posts``):
    one view's rows, through the writer's connection, inside its transaction."""

    __slots__ = ("_actor", "_connection", "_namespace", "_path")

    def __init__(self, connection: sqlite3.Connection, path: Path, namespace: str | None, actor: str | None) -> None:
        self._connection = connection
        self._path = path
        self._namespace = namespace
        self._actor = actor

    def read_session(self, session_id: str, whole: bool) -> dict[str, Any] | None:
        return get_document(self._connection, self._path, "sessions", session_id, self._namespace)

    def set_code(self, session_id: str, student_id: str, code: str, now: datetime) -> Student:
        return set_code(self._connection, self._path, session_id, student_id, code, now, self._actor)

    def put_student(self, session: dict[str, Any], record: dict[str, Any], now: datetime) -> None:
        upsert_student(self._connection, self._path, record, now)

    def insert_revision(self, document: dict[str, Any]) -> None:
        insert_document(self._connection, "revisions", document)

    def mark_activity(self, session: dict[str, Any], now: datetime) -> None:
        # The session's own row rewritten with only last_activity moved: its version,
        # updated_at and author stay as the instructor's last change left them.
        session["last_activity"] = now
        put_document(self._connection, "sessions", session)

    def delete_session(self, session_id: str) -> bool:
        return delete_document(self._connection, "sessions", session_id, self._namespace)

    def delete_students(self, session_id: str) -> None:
        delete_students(self._connection, session_id)

    def delete_revisions(self, session_id: str) -> int:
        if self._namespace is None:
            return self._connection.execute("DELETE FROM revisions WHERE session_id = ?", (session_id,)).rowcount
        return self._connection.execute(
            "DELETE FROM revisions WHERE session_id = ? AND namespace_id = ?", (session_id, self._namespace)
        ).rowcount
