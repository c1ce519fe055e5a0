"""A student's post is checked and run by one core (``docstore._posts``) on every engine, so
the engines no longer differ on what a post refuses.

Before the core, ``local://``'s ``record_code`` did not apply the student id rules (a
257-character id was NOT_FOUND there, INVALID_DATA on the MongoDB dialect).
"""

from __future__ import annotations

from docstore import ErrorCode, Session, Store, Student

from .helpers import expect_error


async def test_a_post_under_a_student_id_no_student_can_have_is_invalid_data(store: Store) -> None:
    session_id = await store.sessions.create_session(Session(join_code="POST01", students={"ana": Student(id="ana")}))
    for student_id in ("a" * 257, "a\x00b"):
        await expect_error(ErrorCode.INVALID_DATA, store.sessions.record_code(session_id, student_id, "x"))
        await expect_error(ErrorCode.INVALID_DATA, store.sessions.update_student_code(session_id, student_id, "x"))
    assert await store.revisions.count_revisions(session_id) == 0


async def test_a_post_to_a_session_that_is_not_there_writes_nothing(store: Store) -> None:
    await expect_error(ErrorCode.NOT_FOUND, store.sessions.record_code("nowhere", "ana", "x"))
    await expect_error(ErrorCode.NOT_FOUND, store.sessions.update_student_code("nowhere", "ana", "x"))
    await expect_error(ErrorCode.NOT_FOUND, store.sessions.upsert_student("nowhere", Student(id="ana")))
    await expect_error(ErrorCode.NOT_FOUND, store.sessions.delete_session("nowhere"))
    assert await store.revisions.count_revisions("nowhere") == 0
