"""A model changed after validation cannot poison the store.

pydantic does not validate attribute assignment (nor ``model_construct``), so a caller's
``ExecutionResult`` or ``ProblemSpec`` may hold wrong types. The attack pass found that
``record_code`` and ``update_session`` stored them as given: the write succeeded and
every later read or write of the session/revision was STORAGE_ERROR. It must be
INVALID_DATA at the write, with nothing written.
"""

from __future__ import annotations

from typing import Any

from docstore import ErrorCode, ExecutionResult, ProblemSpec, Session, Store, Student

from .helpers import expect_error


async def session_with_student(store: Store) -> str:
    return await store.sessions.create_session(Session(join_code="uv1", students={"s": Student(id="s")}))


async def test_record_code_with_a_mutated_execution_result_is_invalid_data(store: Store) -> None:
    session_id = await session_with_student(store)
    result = ExecutionResult(success=True)
    bad: Any = 5
    result.output = bad  # no validation on assignment
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.record_code(session_id, "s", "x", result))
    assert await store.revisions.count_revisions(session_id) == 0
    assert await store.revisions.get_latest_revisions(session_id) == {}


async def test_update_session_with_a_mutated_problem_is_invalid_data(store: Store) -> None:
    session_id = await session_with_student(store)
    problem = ProblemSpec(title="t")
    bad: Any = 5
    problem.title = bad
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.update_session(session_id, {"problem": problem}))
    session = await store.sessions.get_session(session_id)
    assert session is not None and session.problem is None


async def test_update_session_with_a_constructed_student_is_invalid_data(store: Store) -> None:
    session_id = await session_with_student(store)
    student = Student.model_construct(id="s", code=7)  # type: ignore[arg-type]  # the point: not a str
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.update_session(session_id, {"students": {"s": student}}))
    session = await store.sessions.get_session(session_id)
    assert session is not None and session.students["s"].code == ""
