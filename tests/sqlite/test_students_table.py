"""local:// keeps each student in a row of ``session_students``: what that table promises beyond the contract."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from docstore import ErrorCode, Session, Student, _posts, open_store
from docstore._sqlite import _student_rows
from docstore._sqlite._verify import verify_store
from docstore._students import record_id

from ..contract.helpers import expect_error
from .helpers import DATABASE_FILE, flip_byte_in


def _row(directory: Path, table: str, row_id: str) -> tuple[bytes, bytes]:
    connection = sqlite3.connect(directory / DATABASE_FILE)
    try:
        row: tuple[bytes, bytes] = connection.execute(
            f"SELECT doc, checksum FROM {table} WHERE id = ?", (row_id,)
        ).fetchone()
        return row
    finally:
        connection.close()


async def test_a_post_within_the_step_leaves_the_session_row_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    async with open_store(f"local://{tmp_path}") as store:
        session_id = await store.sessions.create_session(
            Session(join_code="ROW001", students={"ana": Student(id="ana")}, last_activity=long_ago)
        )
        await store.sessions.record_code(session_id, "ana", "one")  # moves last_activity: older than the step
        after_first = _row(tmp_path, "sessions", session_id)
        # Deterministic "within the step", however slow the machine: a step of an hour.
        monkeypatch.setattr(_posts, "_STEP", timedelta(hours=1))  # the rule of every engine
        await store.sessions.record_code(session_id, "ana", "two")
        await store.sessions.update_student_code(session_id, "ana", "three")
        await store.sessions.upsert_student(session_id, Student(id="bo"))
        assert _row(tmp_path, "sessions", session_id) == after_first  # not one byte rewritten
        session = await store.sessions.get_session(session_id)
        assert session is not None and session.last_activity > long_ago and session.students["ana"].code == "three"


async def test_records_written_through_documents_are_served_by_the_repositories(tmp_path: Path) -> None:
    async with open_store(f"local://{tmp_path}") as store:
        session_id = await store.sessions.create_session(Session(join_code="ROW002"))
        record = {
            "_id": record_id(session_id, "a.b$"),
            "session_id": session_id,
            "student_id": "a.b$",
            "namespace_id": "default",
            "name": "Imported",
            "code": "x = 1",
            "extra": {},
            "_metadata": {"created_at": datetime.now(UTC), "updated_at": datetime.now(UTC), "version": 1},
        }
        result = await store.documents.upsert_documents("session_students", [record])
        assert result.inserted == 1 and not result.failed
        student = await store.sessions.get_student(session_id, "a.b$")
        assert student is not None and student.name == "Imported"
        await store.sessions.record_code(session_id, "a.b$", "x = 2")  # found by its derived columns
        assert await store.sessions.count_students(session_id) == 1
        # A second record of the same (session, student) under another _id is refused, named.
        clash = {**record, "_id": "another"}
        refused = await store.documents.upsert_documents("session_students", [clash])
        assert refused.failed and "a.b$" in refused.failed[0][1]


async def test_a_sessions_document_with_students_is_refused_per_document(tmp_path: Path) -> None:
    async with open_store(f"local://{tmp_path}") as store:
        session_id = await store.sessions.create_session(Session(join_code="ROW003"))
        stored = await store.documents.get_document("sessions", session_id)
        assert stored is not None
        result = await store.documents.upsert_documents("sessions", [{**stored, "students": {}}, stored])
        assert [position for position, _ in result.failed] == [0] and "session_students" in result.failed[0][1]
        assert result.unchanged == 1


async def test_check_names_damaged_and_orphaned_student_records(tmp_path: Path) -> None:
    async with open_store(f"local://{tmp_path}") as store:
        session_id = await store.sessions.create_session(
            Session(join_code="ROW004", students={"hurt": Student(id="hurt", code="MARKER-HURT")})
        )
        gone = await store.sessions.create_session(Session(join_code="ROW005", students={"left": Student(id="left")}))
        orphan = await store.documents.get_document("session_students", record_id(gone, "left"))
        bad = await store.documents.get_document("session_students", record_id(session_id, "hurt"))
        assert orphan is not None and bad is not None
        await store.sessions.delete_session(gone)
        await store.documents.upsert_documents("session_students", [orphan])  # its session is missing
        assert await store.sessions.get_student(gone, "left") is None  # never served
        await store.sessions.create_session(Session(join_code="ROW006", students={"fine": Student(id="fine")}))
        other = await store.sessions.create_session(Session(join_code="ROW007", students={"odd": Student(id="odd")}))
        odd = await store.documents.get_document("session_students", record_id(other, "odd"))
        assert odd is not None
        await store.documents.upsert_documents("session_students", [{**odd, "name": 5}])
    assert verify_store(tmp_path)[1] == [
        f"{tmp_path / DATABASE_FILE}: student record {record_id(gone, 'left')!r}: its session {gone!r} is missing",
        f"{tmp_path / DATABASE_FILE}: stored student record {record_id(other, 'odd')!r} is damaged: name: "
        "Input should be a valid string",
    ]
    flip_byte_in(tmp_path / DATABASE_FILE, b"MARKER-HURT")
    problems = verify_store(tmp_path)[1]
    assert any(repr(record_id(session_id, "hurt")) in p and "checksum" in p for p in problems), problems
    async with open_store(f"local://{tmp_path}") as store:
        error = await expect_error(ErrorCode.STORAGE_ERROR, store.sessions.get_student(session_id, "hurt"))
        assert record_id(session_id, "hurt") in error.message
        light = await store.sessions.get_session(session_id, include_students=False)
        assert light is not None  # the session's own row is sound


@pytest.mark.parametrize("namespace", [None, "cs101"])
def test_every_student_query_seeks_the_unique_index(namespace: str | None) -> None:
    """One student, a page, a count, the whole class: index seeks, never a scan of the table."""
    from docstore._sqlite._schema import create_schema

    connection = sqlite3.connect(":memory:")
    create_schema(connection)
    where, arguments = _student_rows._in_view("s", namespace)
    for sql in (
        f"SELECT doc FROM session_students WHERE {where} ORDER BY student_id",
        f"SELECT doc FROM session_students WHERE {where} AND student_id = :student",
        f"SELECT doc FROM session_students WHERE {where} AND student_id > :last ORDER BY student_id LIMIT 5",
        f"SELECT count(*) FROM session_students WHERE {where}",
        "SELECT doc FROM session_students WHERE session_id = 's' AND student_id = 'a'",
    ):
        plan = [
            row[3]
            for row in connection.execute("EXPLAIN QUERY PLAN " + sql, {**arguments, "student": "a", "last": "a"})
        ]
        assert plan[0].startswith("SEARCH session_students USING") and "(session_id=?" in plan[0], (sql, plan)
        assert not any("SCAN" in step or "TEMP B-TREE" in step for step in plan), (sql, plan)
    connection.close()
