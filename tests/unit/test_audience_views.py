"""The audience views are allow-lists: each shows exactly the fields it names, nothing added later."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from docstore import InstructorView, ProblemSpec, Session, StorageMetadata, Student, StudentView

TEACHER = "teacher@school.org"


def classroom() -> Session:
    now = datetime(2026, 1, 6, 13, 0, tzinfo=UTC)
    meta = StorageMetadata(created_at=now, updated_at=now, created_by=TEACHER, modified_by=TEACHER)
    problem = ProblemSpec(id="p1", title="Sum", solution="print(1 + 1)", created_by=TEACHER, metadata=meta)
    students = {
        "ana@school.org": Student(id="ana@school.org", name="Ana", code="ana's code", extra={"ip": "10.0.0.1"}),
        "bo": Student(id="bo", name="Bo", code="bo's code"),
    }
    return Session(
        id="s1",
        join_code="ab12cd",
        problem=problem,
        students=students,
        featured_student_id="bo",
        featured_code="shown to all",
        instructor_id=TEACHER,
        namespace_id="cs101",
        metadata=meta,
        extra={"secret": "instructor notes"},
    )


def test_a_joining_student_sees_no_classmate_no_solution_nothing_of_the_instructor() -> None:
    session = classroom()
    view = StudentView.of(session, session.students["bo"])
    text = view.model_dump_json()
    for hidden in ("ana", "print(1 + 1)", TEACHER, "cs101", "instructor notes", "10.0.0.1", "metadata"):
        assert hidden not in text, hidden
    data = json.loads(text)
    assert data["me"] == {"id": "bo", "name": "Bo", "code": "bo's code", "last_update": None}
    assert data["problem"]["title"] == "Sum" and data["featured_code"] == "shown to all"
    assert StudentView.of(session).me is None


def test_the_instructor_sees_the_class_and_the_solution_but_no_bookkeeping() -> None:
    view = InstructorView.of(classroom())
    data = json.loads(view.model_dump_json())
    assert set(data["students"]) == {"ana@school.org", "bo"}
    assert data["students"]["bo"]["code"] == "bo's code" and "extra" not in data["students"]["bo"]
    assert data["problem"]["solution"] == "print(1 + 1)"
    text = json.dumps(data)
    assert "metadata" not in text and "cs101" not in text and "instructor notes" not in text


def test_views_name_every_field_they_show() -> None:
    """A field added to Session is invisible until a view names it: the views' fields are a fixed list."""
    assert set(StudentView.model_fields) == {
        "id", "join_code", "problem_text", "problem", "featured_code", "active", "ended_at", "me",
    }  # fmt: skip
    assert "namespace_id" not in InstructorView.model_fields and "metadata" not in InstructorView.model_fields
    assert "extra" not in InstructorView.model_fields


def test_views_have_exact_json_schemas() -> None:
    schema = StudentView.model_json_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(StudentView.model_fields)
    assert all("solution" not in definition["properties"] for definition in schema["$defs"].values())
