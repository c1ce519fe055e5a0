"""Ending a session twice (a retry, a double click) keeps the time it really ended.

Found by the attack pass: the second ``end_session`` moved ``ended_at`` to its own time
and bumped the version, so the record of when the class ended was lost.
"""

from __future__ import annotations

import asyncio

from docstore import ErrorCode, PersistenceError, Session, Store, Student

from .helpers import expect_error


async def test_end_session_twice_keeps_the_first_ended_at_and_writes_nothing(store: Store) -> None:
    session_id = await store.sessions.create_session(Session(join_code="end2", students={"s": Student(id="s")}))
    first = await store.sessions.end_session(session_id)
    await asyncio.sleep(0.005)  # a later millisecond: a second write would show a new ended_at
    again = await store.sessions.end_session(session_id)
    assert again.ended_at == first.ended_at
    assert again.metadata == first.metadata


async def test_end_session_frees_the_join_code_while_students_post(store: Store) -> None:
    # Ending must not fail with CONFLICT while the class keeps writing to the session.
    students = {f"s{i}": Student(id=f"s{i}") for i in range(10)}
    session_id = await store.sessions.create_session(Session(join_code="busy", students=students))
    posts = [store.sessions.record_code(session_id, student, "x") for student in students]
    *posted, ended = await asyncio.gather(*posts, store.sessions.end_session(session_id), return_exceptions=True)
    assert isinstance(ended, Session)
    # A post that the ending overtook is refused whole (an ended session takes no posts), never CONFLICT.
    for outcome in posted:
        if isinstance(outcome, BaseException):
            assert isinstance(outcome, PersistenceError) and outcome.code is ErrorCode.PERMISSION_DENIED, outcome
    assert not ended.active and ended.ended_at is not None
    assert await store.sessions.get_session_by_join_code("busy") is None
    await store.sessions.create_session(Session(join_code="busy"))


async def test_end_session_of_another_namespace_is_not_found(store: Store) -> None:
    session_id = await store.for_namespace("a").sessions.create_session(Session(join_code="nsend"))
    await expect_error(ErrorCode.NOT_FOUND, store.for_namespace("b").sessions.end_session(session_id))
    kept = await store.sessions.get_session(session_id)
    assert kept is not None and kept.active
