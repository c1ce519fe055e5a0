"""Views of a session named for their audience, built as allow-lists.

Each view declares every field it shows; it is filled from the domain item by those
names only, so a field added to ``Session`` later is invisible until a view names it.
No view shows ``metadata`` (times and e-mails of who wrote what) or ``namespace_id``.

- ``StudentView``: what a student joining by code may see: the session's code, problem
  (without its solution), the featured code, whether it is still open, and their own
  record, never a classmate.
- ``InstructorView``: the instructor's dashboard: every student with their code, the
  problem with its solution, the featured student.

Both are pydantic models: typed FastAPI responses with exact OpenAPI schemas.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict

from ._models import Difficulty, ProblemSpec, Session, Student

__all__ = ["InstructorView", "ProblemForInstructor", "ProblemForStudent", "StudentRecordView", "StudentView"]


class _View(BaseModel):
    # from_attributes: a view validates from the domain item too (``Page[InstructorView]`` of sessions).
    model_config = ConfigDict(extra="forbid", frozen=True, from_attributes=True)

    @classmethod
    def _pick(cls, item: BaseModel, **given: Any) -> dict[str, Any]:
        """The values of this view's own fields, read from ``item`` by name (the allow-list)."""
        return {name: given[name] if name in given else getattr(item, name) for name in cls.model_fields}


class ProblemForStudent(_View):
    """A problem as students see it: no solution, no author."""

    id: str
    title: str
    description: str
    starter_code: str
    difficulty: Difficulty | None
    tags: list[str]

    @classmethod
    def of(cls, problem: ProblemSpec) -> Self:
        return cls(**cls._pick(problem))


class ProblemForInstructor(ProblemForStudent):
    """A problem as its instructor sees it: with the solution."""

    solution: str | None


class StudentRecordView(_View):
    """One student as a view shows them: who, and the code they have now."""

    id: str
    name: str
    code: str
    last_update: datetime | None

    @classmethod
    def of(cls, student: Student) -> Self:
        return cls(**cls._pick(student))


class StudentView(_View):
    """What a student who joins a session may see (no classmates, no solution, nothing of the instructor's)."""

    id: str
    join_code: str | None
    problem_text: str
    problem: ProblemForStudent | None
    featured_code: str | None
    active: bool
    ended_at: datetime | None
    # The viewing student's own record, when they have one.
    me: StudentRecordView | None

    @classmethod
    def of(cls, session: Session, student: Student | None = None) -> Self:
        """The view of ``session`` for ``student`` (None: a student who has not joined yet)."""
        problem = ProblemForStudent.of(session.problem) if session.problem is not None else None
        me = StudentRecordView.of(student) if student is not None else None
        return cls(**cls._pick(session, problem=problem, me=me))


class InstructorView(_View):
    """The instructor's view of a session: every student with their code, the problem with its solution."""

    id: str
    join_code: str | None
    problem_text: str
    problem: ProblemForInstructor | None
    students: dict[str, StudentRecordView]
    featured_student_id: str | None
    featured_code: str | None
    instructor_id: str | None
    active: bool
    created_at: datetime
    last_activity: datetime
    ended_at: datetime | None

    @classmethod
    def of(cls, session: Session) -> Self:
        problem = ProblemForInstructor.of(session.problem) if session.problem is not None else None
        students = {key: StudentRecordView.of(student) for key, student in session.students.items()}
        return cls(**cls._pick(session, problem=problem, students=students))
