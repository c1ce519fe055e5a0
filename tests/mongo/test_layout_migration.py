"""MongoDB's layout migration (``docstore init``): students out of their sessions, into ``session_students``.

The old store is real: ``fixtures/v1_memory`` is an export of a memory:// store written
by the release before (``make_v1_store.py``, run on a worktree of f1272aa): students
inside their session's document, keyed by ``student_field`` names, hostile ids
included. Each test plants it, document by document, into the collections of a
memory:// store of this release (what a MongoDB database of the old release is when
the new one first opens it), then migrates it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bson import json_util

from docstore import ErrorCode, PersistenceError, Session, Store, Student, open_store
from docstore._mapping import student_field
from docstore._memory import _mongomock_adapter
from docstore._mongo._migration import META
from docstore._mongo._sessions import with_active_join_code
from docstore._students import student_from_record, students_of_legacy_session

from ..contract.helpers import expect_error

FIXTURE = Path(__file__).parent / "fixtures" / "v1_memory"
OPTIONS = json_util.JSONOptions(json_mode=json_util.JSONMode.CANONICAL, tz_aware=True)


def fixture_documents(collection: str) -> list[dict[str, Any]]:
    lines = (FIXTURE / f"{collection}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json_util.loads(line, json_options=OPTIONS) for line in lines]


def expected_classes() -> dict[str, dict[str, Student]]:
    """Each old session's students, as the old release stored them."""
    classes: dict[str, dict[str, Student]] = {}
    for document in fixture_documents("sessions"):
        _, records = students_of_legacy_session(document)
        classes[document["_id"]] = {record["student_id"]: student_from_record(record) for record in records}
    return classes


def backend_of(store: Store) -> Any:
    return store._shared.backend


async def plant_v1(store: Store) -> None:
    """Make ``store`` hold the old release's database: its documents, no layout marker."""
    backend = backend_of(store)
    for collection in ("sessions", "revisions", "problems"):
        documents = fixture_documents(collection)
        if collection == "sessions":
            documents = [with_active_join_code(document) for document in documents]
        await backend.collection(collection).insert_many(documents)
    await backend.collection(META).delete_many({})
    await backend.initialize()  # this release starting on that database


@pytest.fixture
async def old_store() -> AsyncIterator[Store]:
    store = open_store("memory://")
    await store.initialize()
    await plant_v1(store)
    yield store
    await store.shutdown()


def say_into(lines: list[str]) -> Any:
    return lines.append


async def migrate(store: Store, lines: list[str] | None = None) -> Any:
    administration: Any = store.index_administration()
    return await administration.migrate_layout(say_into([] if lines is None else lines))


async def stored_records(store: Store) -> list[dict[str, Any]]:
    return [document async for document in store.documents.iter_documents("session_students")]


async def sessions_holding_students(store: Store) -> list[str]:
    found = backend_of(store).collection("sessions").find({"students": {"$exists": True}}, {"_id": 1})
    return [row["_id"] for row in await found.to_list(None)]


async def assert_full_views_match_the_old_release(store: Store) -> None:
    for session_id, students in expected_classes().items():
        session = await store.sessions.get_session(session_id)
        assert session is not None and session.students == students, session_id
        light = await store.sessions.get_session(session_id, include_students=False)
        assert light == session.model_copy(update={"students": {}})


async def assert_reads_match_the_old_release(store: Store) -> None:
    classes = expected_classes()
    await assert_full_views_match_the_old_release(store)
    for session_id, students in classes.items():
        assert await store.sessions.count_students(session_id) == len(students)
        listed = [student.id for student in await store.sessions.list_students(session_id, limit=500)]
        assert listed == sorted(students)
        for student_id, student in students.items():
            assert await store.sessions.get_student(session_id, student_id) == student
    # The namespaced sessions stay in their namespace, students included.
    cs101 = store.for_namespace("cs101")
    assert (await cs101.sessions.get_session("v1-session-00")) is not None
    assert await cs101.sessions.get_student("v1-session-01", "s01-0") is None
    assert await store.for_namespace("other").sessions.count_students("v1-session-00") == 0


async def test_the_fixture_is_the_old_layout() -> None:
    sessions = fixture_documents("sessions")
    assert all("students" in document for document in sessions)
    hostile = next(document for document in sessions if document["_id"] == "v1-session-05")
    assert student_field("x.y$z") in hostile["students"] and "x.y$z" not in hostile["students"]
    assert sum(len(students) for students in expected_classes().values()) == 39


async def test_a_pending_store_says_so_reads_its_students_and_refuses_student_writes(old_store: Store) -> None:
    assert (await old_store.health()).details["migration"] == "pending"
    # The instructor's full view still reads the old layout; one student, a page and a
    # count read records only, so they wait for `docstore init` like student writes do.
    await assert_full_views_match_the_old_release(old_store)
    writes = [
        old_store.sessions.record_code("v1-session-01", "s01-0", "x"),
        old_store.sessions.update_student_code("v1-session-01", "s01-0", "x"),
        old_store.sessions.upsert_student("v1-session-01", Student(id="new")),
        old_store.sessions.update_session("v1-session-01", {"students": {}}),
        old_store.sessions.create_session(Session(join_code="NEW001", students={"a": Student(id="a")})),
    ]
    for write in writes:
        error = await expect_error(ErrorCode.STORAGE_ERROR, write)
        assert "run docstore init to migrate" in error.message
    assert await stored_records(old_store) == []  # nothing mixed in
    # What touches no student still works.
    await old_store.sessions.create_session(Session(join_code="NEW002"))
    await old_store.sessions.update_session("v1-session-01", {"problem_text": "still served"})


async def test_migration_moves_every_student_and_marks_the_store(old_store: Store) -> None:
    lines: list[str] = []
    report = await migrate(old_store, lines)
    assert (report.sessions, report.students, report.left) == (13, 39, [])
    assert lines[0].startswith("layout: moving students") and lines[-1] == "layout: up to date (version 2)"
    assert await sessions_holding_students(old_store) == []
    assert len(await stored_records(old_store)) == 39
    assert (await old_store.health()).details["migration"] == "up to date"
    await assert_reads_match_the_old_release(old_store)
    # Students write again, into their records; the overview is unchanged in meaning.
    before = await old_store.revisions.get_latest_revisions("v1-session-01")
    revision = await old_store.sessions.record_code("v1-session-01", "s01-0", "after")
    after = await old_store.revisions.get_latest_revisions("v1-session-01")
    assert set(after) == set(before) and after["s01-0"].id == revision.id
    assert (await old_store.sessions.get_student("v1-session-01", "s01-0")) is not None


async def test_migration_is_idempotent(old_store: Store) -> None:
    await migrate(old_store)
    first = await stored_records(old_store)
    report = await migrate(old_store)
    assert (report.sessions, report.students, report.left) == (0, 0, [])
    assert await stored_records(old_store) == first


async def test_migration_resumes_after_a_kill(old_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed after 4 sessions, between a session's copy and its $unset: the next run finishes."""
    original = _mongomock_adapter.MockCollection.update_one
    cleared = 0

    async def killed_after_four(self: Any, filter: Any, update: Any, **kwargs: Any) -> Any:
        nonlocal cleared
        if "$unset" in update and "students" in update["$unset"]:
            if cleared == 4:
                raise RuntimeError("killed")
            cleared += 1
        return await original(self, filter, update, **kwargs)

    monkeypatch.setattr(_mongomock_adapter.MockCollection, "update_one", killed_after_four)
    with pytest.raises(PersistenceError):
        await migrate(old_store)
    monkeypatch.setattr(_mongomock_adapter.MockCollection, "update_one", original)
    # Four sessions done, the fifth copied but still holding its students; no marker.
    assert len(await sessions_holding_students(old_store)) == 9
    assert (await old_store.health()).details["migration"] == "pending"
    await expect_error(ErrorCode.STORAGE_ERROR, old_store.sessions.record_code("v1-session-01", "s01-0", "x"))
    report = await migrate(old_store)
    assert report.sessions == 9 and report.left == []
    assert len(await stored_records(old_store)) == 39
    await assert_reads_match_the_old_release(old_store)
    assert (await old_store.health()).details["migration"] == "up to date"


async def old_writer_adds(store: Store, session_id: str, student: Student) -> None:
    """What the previous release does on upsert_student: the student into the session, version + 1."""
    await (
        backend_of(store)
        .collection("sessions")
        .update_one(
            {"_id": session_id},
            {
                "$set": {f"students.{student_field(student.id)}": student.model_dump()},
                "$inc": {"_metadata.version": 1},
            },
        )
    )


async def test_an_old_writer_during_the_copy_is_carried_over(old_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """An old-release post lands between a session's copy and its $unset: the session is copied again."""
    original = _mongomock_adapter.MockCollection.replace_one
    late = Student(id="late.comer", name="Late")

    async def racing(self: Any, filter: Any, replacement: Any, **kwargs: Any) -> Any:
        result = await original(self, filter, replacement, **kwargs)
        if filter.get("session_id") == "v1-session-02" and late.id not in str(filter):
            await old_writer_adds(old_store, "v1-session-02", late)
        return result

    monkeypatch.setattr(_mongomock_adapter.MockCollection, "replace_one", racing)
    report = await migrate(old_store)
    assert report.left == []
    assert await old_store.sessions.get_student("v1-session-02", late.id) == late
    assert await sessions_holding_students(old_store) == []


async def test_an_old_writer_after_the_migration_is_carried_over_by_the_next_run(old_store: Store) -> None:
    await migrate(old_store)
    await old_store.sessions.record_code("v1-session-03", "s03-0", "posted through this release")
    await old_writer_adds(old_store, "v1-session-03", Student(id="old.side", name="Old"))
    stale = Student(
        id="s03-0", code="older code from the previous release", last_update=datetime(2020, 1, 1, tzinfo=UTC)
    )
    await old_writer_adds(old_store, "v1-session-03", stale)
    assert (await old_store.health()).details["migration"] == "pending"
    report = await migrate(old_store)
    assert (report.sessions, report.left) == (1, [])
    session = await old_store.sessions.get_session("v1-session-03")
    assert session is not None and session.students["old.side"].name == "Old"
    assert session.students["s03-0"].code == "posted through this release"  # the newer record kept
    assert (await old_store.health()).details["migration"] == "up to date"


async def test_a_new_store_is_marked_current_on_initialize() -> None:
    async with open_store("memory://") as store:
        marker = await backend_of(store).collection(META).find_one({"_id": "layout"})
        assert marker is not None and marker["version"] == 2
        assert (await store.health()).details["migration"] == "up to date"
        assert META not in await store.documents.collection_names()  # bookkeeping, not data
        await store.sessions.create_session(Session(join_code="NEW003", students={"a": Student(id="a")}))


async def test_documents_refuse_sessions_with_students_and_take_records() -> None:
    async with open_store("memory://") as store:
        session_id = await store.sessions.create_session(Session(join_code="DOC001"))
        stored = await store.documents.get_document("sessions", session_id)
        assert stored is not None
        embedded = {**stored, "_id": "other", "join_code": "DOC002", "students": {}}
        result = await store.documents.upsert_documents("sessions", [embedded, {**stored, "problem_text": "p"}])
        assert [position for position, _ in result.failed] == [0] and result.updated == 1
        assert "session_students" in result.failed[0][1] and "docstore restore/import" in result.failed[0][1]
        assert [d async for d in store.documents.iter_documents("session_students")] == []
        await store.sessions.upsert_student(session_id, Student(id="a"))
        [record] = [d async for d in store.documents.iter_documents("session_students")]
        copy = {**record, "_id": f"{session_id}/b", "student_id": "b", "name": "Bo"}
        assert not (await store.documents.upsert_documents("session_students", [copy])).failed
        assert await store.sessions.get_student(session_id, "b") == Student(id="b", name="Bo")
        assert await store.sessions.count_students(session_id) == 2
