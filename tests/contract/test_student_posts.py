"""Contract of the calls a live classroom makes most: record_code, end_session, paging a stream."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from docstore import CodeRevision, ErrorCode, ExecutionResult, Page, Session, Store, Student

from .helpers import expect_error

BASE = datetime(2026, 1, 6, 13, 0, tzinfo=UTC)


async def new_session(store: Store, code: str, *students: str) -> str:
    session = Session(join_code=code, students={sid: Student(id=sid, name=sid.title()) for sid in students})
    return await store.sessions.create_session(session)


async def test_record_code_saves_a_revision_and_sets_the_students_code(store: Store) -> None:
    session_id = await new_session(store, "REC001", "ana", "bo")
    result = ExecutionResult(success=True, output="3\n", execution_time_ms=1.5)
    revision = await store.sessions.record_code(session_id, "ana", "print(1 + 2)", result)
    assert isinstance(revision, CodeRevision) and revision.metadata is not None
    assert (revision.session_id, revision.student_id, revision.code) == (session_id, "ana", "print(1 + 2)")
    assert await store.revisions.get_revision(revision.id) == revision
    session = await store.sessions.get_session(session_id)
    assert session is not None
    assert session.students["ana"].code == "print(1 + 2)" and session.students["bo"].code == ""
    assert session.students["ana"].last_update == revision.timestamp
    overview = await store.revisions.get_latest_revisions(session_id)
    assert overview == {"ana": revision}


async def test_record_code_for_a_missing_session_or_student_writes_nothing(store: Store) -> None:
    session_id = await new_session(store, "REC002", "ana")
    await expect_error(ErrorCode.NOT_FOUND, store.sessions.record_code("missing", "ana", "x"))
    await expect_error(ErrorCode.NOT_FOUND, store.sessions.record_code(session_id, "ghost", "x"))
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.record_code(session_id, "ana", 42))  # type: ignore[arg-type]
    assert await store.revisions.count_revisions(session_id) == 0
    assert await store.revisions.count_revisions("missing") == 0
    session = await store.sessions.get_session(session_id)
    assert session is not None and session.metadata is not None and session.metadata.version == 1


async def test_thirty_students_posting_at_once_are_all_kept(store: Store) -> None:
    students = [f"s{i}" for i in range(30)]
    session_id = await new_session(store, "REC003", *students)
    await asyncio.gather(*(store.sessions.record_code(session_id, sid, f"print({sid!r})") for sid in students))
    session = await store.sessions.get_session(session_id)
    assert session is not None
    assert {sid: s.code for sid, s in session.students.items()} == {sid: f"print({sid!r})" for sid in students}
    assert await store.revisions.count_revisions(session_id) == 30


async def test_end_session_frees_its_join_code(store: Store) -> None:
    session_id = await new_session(store, "END001")
    ended = await store.sessions.end_session(session_id)
    assert not ended.active and ended.ended_at is not None
    assert await store.sessions.get_session_by_join_code("END001") is None
    assert await new_session(store, "END001")  # the code is free for a new session
    await expect_error(ErrorCode.NOT_FOUND, store.sessions.end_session("missing"))


async def test_active_sessions_are_a_page_with_a_cursor(store: Store) -> None:
    for index in range(5):
        await new_session(store, f"ACT00{index}")
    first = await store.sessions.list_active_sessions(limit=3)
    assert isinstance(first, Page) and len(first) == 3 and first.next_cursor is not None
    rest = await store.sessions.list_active_sessions(limit=3, cursor=first.next_cursor)
    assert len(rest) == 2 and rest.next_cursor is None
    assert len({s.id for s in [*first, *rest]}) == 5


async def test_a_stream_pages_by_cursor_and_after_accepts_iso_text(store: Store) -> None:
    revisions = [
        CodeRevision(session_id="s", student_id="a", code=f"# {m}", timestamp=BASE + timedelta(minutes=m // 2))
        for m in range(7)  # pairs share a timestamp: the id breaks ties
    ]
    await store.revisions.save_revisions(revisions)
    codes: list[str] = []
    cursor = None
    while True:
        page = await store.revisions.get_revisions("s", "a", limit=3, cursor=cursor)
        assert isinstance(page, Page)
        codes += [r.code for r in page]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert codes == [f"# {m}" for m in range(7)]
    after = await store.revisions.get_revisions("s", "a", after=(BASE + timedelta(minutes=1)).isoformat())
    assert [r.code for r in after] == ["# 4", "# 5", "# 6"]
    after_z = await store.revisions.get_revisions("s", "a", after="2026-01-06T13:01:00Z")
    assert after_z == after
    await expect_error(ErrorCode.INVALID_DATA, store.revisions.get_revisions("s", "a", after="yesterday"))
    await expect_error(ErrorCode.INVALID_DATA, store.revisions.get_revisions("s", "a", cursor="!!"))


async def test_search_returns_a_page(store: Store) -> None:
    from docstore import ProblemSpec

    await store.problems.save_problem(ProblemSpec(id="p", title="Loops and lists"))
    found = await store.problems.search_problems("loops")
    assert isinstance(found, Page) and [p.id for p in found] == ["p"]
    assert await store.problems.search_problems("") == []
