"""A session's students are keyed by their own id: a key that is not the student's id is refused.

Found by the attack pass: ``Session(students={"a": Student(id="b")})`` and
``update_session(id, {"students": {"": {...}}})`` were stored as given, so the student
whose id is ``b`` could not be reached by ``update_student_code(id, "b")`` (NOT_FOUND) while
``get_session`` showed it, and a student stored under ``""`` could not be addressed at all.
The domain model now refuses such a map (the ``students`` field's validator, which a
partial update of ``students`` runs too). No legacy record needs it: in the three datasets
every student map entry is keyed by the student's own id.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from docstore import ErrorCode, Session, Store, Student

from .helpers import expect_error


def test_a_session_with_a_student_under_another_key_cannot_be_built() -> None:
    with pytest.raises(ValidationError, match="a student's key is its id"):
        Session(students={"a": Student(id="b")})


async def test_create_session_with_a_student_under_another_key_is_invalid_data(store: Store) -> None:
    # Built past validation (model_construct), as a caller's code might: the repository re-validates.
    session = Session.model_construct(**Session().__dict__ | {"students": {"a": Student(id="b")}})
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.create_session(session))
    assert await store.sessions.get_session(session.id) is None


async def test_create_session_with_students_changed_after_validation_is_invalid_data(store: Store) -> None:
    session = Session(students={"b": Student(id="b")})
    session.students[""] = session.students.pop("b")
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.create_session(session))


@pytest.mark.parametrize("students", [{"": {"id": "b"}}, {"a": {"id": "b"}}, {"a": {"id": "a"}, "x": {"id": "y"}}])
async def test_update_session_with_students_under_another_key_is_invalid_data(
    store: Store, students: dict[str, object]
) -> None:
    session_id = await store.sessions.create_session(Session(students={"s": Student(id="s")}))
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.update_session(session_id, {"students": students}))
    stored = await store.sessions.get_session(session_id)
    assert stored is not None and set(stored.students) == {"s"}
    assert stored.metadata is not None and stored.metadata.version == 1


async def test_students_keyed_by_their_ids_are_stored_and_reachable(store: Store) -> None:
    session_id = await store.sessions.create_session(Session())
    await store.sessions.update_session(session_id, {"students": {"a.b$%": {"id": "a.b$%"}}})
    student = await store.sessions.update_student_code(session_id, "a.b$%", "x = 1")
    assert student.id == "a.b$%" and student.code == "x = 1"
