"""A write that would grow a stored document past MongoDB's 16 MB is INVALID_DATA on every engine.

Found by the attack pass: on memory:// (and local://, same engine) in-place updates
(``record_code``, ``upsert_student``, ``update_session``) grow a session without limit
(29 MB stored in a probe), while MongoDB refuses the same write (error 10334 ->
INVALID_DATA). A classroom that passed its tests on memory:// then failed in production,
and an export of such a store could not be restored on MongoDB. The memory engine now
refuses such a write with MongoDB's error, leaving the document as it was.
"""

from __future__ import annotations

import pytest

from docstore import ErrorCode, Session, Store, Student

from ..conftest import StoreFactory
from .helpers import expect_error

MIB = 1024 * 1024


# Students are records of their own (issue 14): what grows in place is a student's record
# (record_code, update_student_code, upsert_student) or the session's own document
# (update_session). These tests planted the bulk in the session document, where students
# used to live; they now plant it where each write lands, with the same meaning.
BULKY = Student(id="s", extra={"notes": "n" * (9 * MIB)})


async def test_growing_a_session_past_16_mib_is_invalid_data_and_keeps_it(store: Store) -> None:
    session_id = await store.sessions.create_session(Session(join_code="big", students={"s": BULKY}))
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.record_code(session_id, "s", "c" * (8 * MIB)))
    session = await store.sessions.get_session(session_id)
    assert session is not None and session.students["s"].code == ""
    assert await store.revisions.count_revisions(session_id) == 0


async def test_every_in_place_write_that_grows_a_session_too_far_is_refused(store: Store) -> None:
    session_id = await store.sessions.create_session(Session(join_code="big2", students={"s": BULKY}))
    await store.sessions.update_session(session_id, {"extra": {"notes": "n" * (9 * MIB)}})
    await expect_error(
        ErrorCode.INVALID_DATA,
        store.sessions.upsert_student(session_id, BULKY.model_copy(update={"code": "c" * (8 * MIB)})),
    )
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.update_student_code(session_id, "s", "c" * (8 * MIB)))
    await expect_error(
        ErrorCode.INVALID_DATA, store.sessions.update_session(session_id, {"problem_text": "p" * (8 * MIB)})
    )
    session = await store.sessions.get_session(session_id)
    assert session is not None and set(session.students) == {"s"} and session.problem_text == ""
    assert session.students["s"] == BULKY
    assert session.metadata is not None and session.metadata.version == 2
    # Still writable below the limit: the refusal left nothing half-done.
    await store.sessions.record_code(session_id, "s", "ok")


async def test_a_refused_growth_stays_refused_when_the_store_is_reopened(factory: StoreFactory) -> None:
    # On local:// the journal replays every write, refused ones too: replayed, it is refused again.
    if factory.engine == "memory":
        pytest.skip("memory:// keeps nothing once closed")
    async with factory.open() as store:
        session_id = await store.sessions.create_session(Session(join_code="big3", students={"s": BULKY}))
        await store.sessions.update_session(session_id, {"extra": {"notes": "n" * (9 * MIB)}})
        await expect_error(ErrorCode.INVALID_DATA, store.sessions.record_code(session_id, "s", "c" * (8 * MIB)))
        await store.sessions.record_code(session_id, "s", "after")
    async with factory.open() as store:
        session = await store.sessions.get_session(session_id)
        assert session is not None and session.students["s"].code == "after"
        assert session.metadata is not None and session.metadata.version == 2  # posts leave it alone
