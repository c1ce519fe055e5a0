"""A student's post and a session's cascade delete (``docstore._posts``), on a unit of work of
the test's own: the sequence every engine runs and the decisions it makes, driven both ways
(``run`` as SQLite's writer thread does, ``run_async`` as the MongoDB dialect does)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from docstore import ErrorCode, PersistenceError, Student
from docstore._posts import (
    PostUnit,
    Steps,
    activity_due,
    delete_session,
    record_code,
    revision_post,
    run,
    run_async,
    update_code,
    upsert_student,
)
from docstore._sqlite._student_rows import PostRows

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


class Unit:
    """A unit of work that answers from a dict and records what it was asked."""

    def __init__(self, session: dict[str, Any] | None, *, students: tuple[str, ...] = ("ana",)) -> None:
        self.session = session
        self.students = students
        self.calls: list[tuple[Any, ...]] = []

    def read_session(self, session_id: str, whole: bool) -> dict[str, Any] | None:
        self.calls.append(("read_session", session_id, whole))
        return None if self.session is None else dict(self.session)

    def set_code(self, session_id: str, student_id: str, code: str, now: datetime) -> Student:
        self.calls.append(("set_code", session_id, student_id, code))
        if student_id not in self.students:
            raise PersistenceError(ErrorCode.NOT_FOUND, f"student {student_id!r} not found")
        return Student(id=student_id, code=code)

    def put_student(self, session: dict[str, Any], record: dict[str, Any], now: datetime) -> None:
        self.calls.append(("put_student", record["namespace_id"]))

    def insert_revision(self, document: dict[str, Any]) -> None:
        self.calls.append(("insert_revision", document["namespace_id"]))

    def mark_activity(self, session: dict[str, Any], now: datetime) -> None:
        self.calls.append(("mark_activity",))

    def delete_session(self, session_id: str) -> bool:
        self.calls.append(("delete_session", session_id))
        return self.session is not None

    def delete_students(self, session_id: str) -> None:
        self.calls.append(("delete_students", session_id))

    def delete_revisions(self, session_id: str) -> int:
        self.calls.append(("delete_revisions", session_id))
        return 3


class AsyncUnit:
    """The same answers, as coroutines (the MongoDB dialect's form)."""

    def __init__(self, inner: Unit) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        async def call(*args: Any) -> Any:
            return method(*args)

        return call


def session(**fields: Any) -> dict[str, Any]:
    return {"_id": "s", "active": True, "namespace_id": "room", "last_activity": NOW - timedelta(hours=1), **fields}


@pytest.fixture(params=["run", "run_async"])
def drive(request: pytest.FixtureRequest) -> Any:
    """Runs an operation on a unit with one driver or the other; both must agree."""

    async def driven(steps: Steps[Any], unit: Unit) -> Any:
        if request.param == "run":
            return run(steps, unit)
        return await run_async(steps, AsyncUnit(unit))

    return driven


async def test_record_code_reads_sets_code_files_the_revision_and_marks_activity(drive: Any) -> None:
    unit = Unit(session())
    post = revision_post("s", "ana", "x = 1", None, None, "teacher")
    revision = await drive(record_code(post), unit)
    assert unit.calls == [
        ("read_session", "s", False),
        ("set_code", "s", "ana", "x = 1"),
        ("insert_revision", "room"),  # the session's namespace, though posted through the root store
        ("mark_activity",),
    ]
    assert revision.namespace_id == "room" and revision.code == "x = 1"
    assert post.revision.namespace_id == "default"  # the checked post is left as it was


async def test_a_post_within_a_step_of_the_last_activity_marks_nothing(drive: Any) -> None:
    unit = Unit(session(last_activity=datetime.now(UTC)))
    await drive(record_code(revision_post("s", "ana", "x", None, "room", None)), unit)
    assert ("mark_activity",) not in unit.calls


@pytest.mark.parametrize(
    ("stored", "code"),
    [
        pytest.param(None, ErrorCode.NOT_FOUND, id="not-in-view"),
        pytest.param(session(active=False), ErrorCode.PERMISSION_DENIED, id="ended"),
        pytest.param(session(active="yes"), ErrorCode.STORAGE_ERROR, id="damaged-active"),
        pytest.param(session(namespace_id=None), ErrorCode.STORAGE_ERROR, id="no-namespace"),
    ],
)
async def test_a_session_that_takes_no_post_refuses_it_before_any_write(
    drive: Any, stored: dict[str, Any] | None, code: ErrorCode
) -> None:
    for steps in (
        record_code(revision_post("s", "ana", "x", None, None, None)),
        update_code("s", "ana", "x", NOW),
        upsert_student("s", {"student_id": "ana"}, NOW),
    ):
        unit = Unit(stored)
        with pytest.raises(PersistenceError) as caught:
            await drive(steps, unit)
        assert caught.value.code is code
        assert [call[0] for call in unit.calls] == ["read_session"]


async def test_a_missing_student_writes_no_revision(drive: Any) -> None:
    unit = Unit(session(), students=())
    with pytest.raises(PersistenceError) as caught:
        await drive(record_code(revision_post("s", "bo", "x", None, None, None)), unit)
    assert caught.value.code is ErrorCode.NOT_FOUND
    assert [call[0] for call in unit.calls] == ["read_session", "set_code"]


async def test_update_code_and_upsert_student(drive: Any) -> None:
    unit = Unit(session())
    student = await drive(update_code("s", "ana", "y", NOW), unit)
    assert student.code == "y"
    assert [call[0] for call in unit.calls] == ["read_session", "set_code", "mark_activity"]
    unit = Unit(session())
    record: dict[str, Any] = {"student_id": "cy", "namespace_id": ""}
    stored = await drive(upsert_student("s", record, NOW), unit)
    assert unit.calls == [("read_session", "s", True), ("put_student", "room"), ("mark_activity",)]
    assert record["namespace_id"] == "room" and stored["_id"] == "s"


async def test_delete_session_cascades_or_not_and_says_not_found(drive: Any) -> None:
    unit = Unit(session())
    assert await drive(delete_session("s", True), unit) == 3
    assert unit.calls == [("delete_session", "s"), ("delete_students", "s"), ("delete_revisions", "s")]
    unit = Unit(session())
    assert await drive(delete_session("s", False), unit) == 0
    assert [call[0] for call in unit.calls] == ["delete_session", "delete_students"]
    unit = Unit(None)
    with pytest.raises(PersistenceError) as caught:
        await drive(delete_session("s", True), unit)
    assert caught.value.code is ErrorCode.NOT_FOUND and unit.calls == [("delete_session", "s")]


def test_a_post_is_checked_before_anything_is_written() -> None:
    for arguments, message in [
        (("", "ana", "x"), "session id must be a non-empty string"),
        (("s", "a" * 257, "x"), "student id is longer than 256 characters"),
        (("s", "a\x00b", "x"), "student id may not contain NUL"),
        (("s", "ana", 5), "code must be a string"),
        (("s", "ana", "\ud800"), "cannot be stored"),
    ]:
        with pytest.raises(PersistenceError) as caught:
            revision_post(*arguments, None, None, None)
        assert caught.value.code is ErrorCode.INVALID_DATA and message in caught.value.message


def test_activity_is_due_once_a_step_has_passed() -> None:
    assert activity_due({"last_activity": NOW - timedelta(seconds=1.5)}, NOW)
    assert not activity_due({"last_activity": NOW - timedelta(seconds=0.5)}, NOW)
    assert not activity_due({"last_activity": NOW - timedelta(seconds=1)}, NOW)
    assert activity_due({}, NOW) and activity_due({"last_activity": "yesterday"}, NOW)


def test_local_rows_are_a_post_unit() -> None:
    """mypy checks the engine's unit against the Protocol here (its methods, their types)."""
    connection = sqlite3.connect(":memory:")
    try:
        unit: PostUnit = PostRows(connection, Path("x"), None, None)
        assert unit.read_session is not None
    finally:
        connection.close()
