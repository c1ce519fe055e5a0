"""``public()`` is what a client sees: no bookkeeping at any depth, no solution for students."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from docstore import ProblemSpec, Session, StorageMetadata, Student

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
TEACHER = "teacher@school.example"


def metadata() -> StorageMetadata:
    return StorageMetadata(created_at=NOW, updated_at=NOW, version=3, created_by=TEACHER, modified_by=TEACHER)


def problem() -> ProblemSpec:
    return ProblemSpec(id="p1", title="Sum", solution="print(1 + 1)", metadata=metadata(), created_by="t1")


def session() -> Session:
    student = Student(
        id="ada@school.example",
        code="x = 1",
        extra={"metadata": "the student's own", "copy": {"_metadata": {"created_by": TEACHER}}},
    )
    return Session(
        id="s1",
        join_code="ab12cd",
        problem=problem(),
        students={student.id: student},
        metadata=metadata(),
        extra={"_metadata": {"modified_by": TEACHER}, "deep": [{"x": {"_metadata": {"created_by": TEACHER}}}]},
    )


def test_a_session_shows_students_neither_the_solution_nor_any_metadata() -> None:
    with pytest.deprecated_call():
        public = session().public()
    text = json.dumps(public)
    assert TEACHER not in text and "print(1 + 1)" not in text
    assert "metadata" not in public and "metadata" not in public["problem"]
    assert "solution" not in public["problem"]
    assert public["problem"]["title"] == "Sum" and public["join_code"] == "AB12CD"
    assert "_metadata" not in public["extra"] and public["extra"]["deep"] == [{"x": {}}]


def test_a_students_own_extra_data_is_kept() -> None:
    with pytest.deprecated_call():
        [student] = session().public()["students"].values()
    assert student["extra"] == {"metadata": "the student's own", "copy": {}}
    assert student["code"] == "x = 1"


def test_a_problem_hides_its_solution_unless_asked() -> None:
    item = problem()
    assert "solution" not in item.public() and "metadata" not in item.public()
    with_solution = item.public(include_solution=True)
    assert with_solution["solution"] == "print(1 + 1)" and "metadata" not in with_solution


def test_public_does_not_change_the_item() -> None:
    item = session()
    with pytest.deprecated_call():
        item.public()
    assert item.problem is not None and item.problem.solution == "print(1 + 1)"
    assert item.metadata is not None and item.extra["_metadata"] == {"modified_by": TEACHER}


def test_a_session_without_a_problem_is_fine() -> None:
    with pytest.deprecated_call():
        assert Session(id="s2", metadata=metadata()).public()["problem"] is None
