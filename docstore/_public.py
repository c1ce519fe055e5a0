"""Response models that cannot leak: what a client of an app may see of docstore's items.

Each is an allow-list: a field reaches a client only if it is declared here. ``metadata``
(author e-mails), ``namespace_id``, ``instructor_id``, a problem's author, its
``solution`` and the free-form ``extra`` (legacy records copy bookkeeping into it) are
not, so a field added to a domain model later stays private until someone adds it here on
purpose. They validate from the domain items themselves (``from_attributes``): FastAPI
turns a returned ``Session`` into a ``PublicSession`` when the endpoint declares it, and
``/openapi.json`` shows exactly these fields. ``tests/fastapi/test_public_models.py``
checks every domain field is either allowed or refused here, by name.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ._models import Difficulty, UtcDateTime
from ._page import Page

__all__ = [
    "PRIVATE_FIELDS",
    "PublicExecutionResult",
    "PublicProblem",
    "PublicProblemWithSolution",
    "PublicRevision",
    "PublicSession",
    "PublicStudent",
    "public_page",
]


class _Public(BaseModel):
    # from_attributes: built straight from a Session/ProblemSpec/... (or anything with the
    # same attributes); extra="ignore": whatever the item has beyond the list is dropped.
    model_config = ConfigDict(from_attributes=True, extra="ignore", frozen=True)


class PublicStudent(_Public):
    """A student of a session: who they are and their code."""

    id: str
    name: str = ""
    code: str = ""
    last_update: UtcDateTime | None = None


class PublicExecutionResult(_Public):
    """What running the code printed, without the original tool's extra fields."""

    success: bool
    output: str = ""
    error: str = ""
    execution_time_ms: float | None = None


class PublicProblem(_Public):
    """A problem as a student sees it: no solution, no author, no namespace."""

    id: str
    title: str
    description: str = ""
    starter_code: str = ""
    difficulty: Difficulty | None = None
    tags: list[str] = Field(default_factory=list)
    created_at: UtcDateTime


class PublicProblemWithSolution(PublicProblem):
    """A problem with its solution: for an instructor's endpoint, chosen on purpose."""

    solution: str | None = None


class PublicSession(_Public):
    """A session without bookkeeping: every student's code, the problem without its solution.

    What ``session.public()`` gave, typed. It shows each student's code to whoever gets it:
    for a joining student (no classmates) answer with ``docstore.StudentView`` instead.
    """

    id: str
    join_code: str | None = None
    problem_text: str = ""
    problem: PublicProblem | None = None
    students: dict[str, PublicStudent] = Field(default_factory=dict)
    featured_student_id: str | None = None
    featured_code: str | None = None
    active: bool = True
    created_at: UtcDateTime
    last_activity: UtcDateTime
    ended_at: UtcDateTime | None = None


class PublicRevision(_Public):
    """One snapshot of a student's code and what running it gave."""

    id: str
    session_id: str
    student_id: str
    code: str
    timestamp: UtcDateTime
    execution_result: PublicExecutionResult | None = None


# Every field of a domain model that its public model leaves out, on purpose. A test
# checks that each domain field is either public or listed here: a new field must be
# placed by someone, it never shows up on its own.
PRIVATE_FIELDS: dict[str, frozenset[str]] = {
    "Session": frozenset({"metadata", "namespace_id", "instructor_id", "extra"}),
    "ProblemSpec": frozenset({"metadata", "namespace_id", "created_by", "solution", "extra"}),
    "CodeRevision": frozenset({"metadata", "namespace_id", "extra"}),
    "Student": frozenset({"extra"}),
    "ExecutionResult": frozenset({"extra"}),
}

M = TypeVar("M", bound=BaseModel)


def public_page(page: Page[Any], model: type[M]) -> Page[M]:
    """``page`` with each item as ``model`` (``public_page(await ...list_problems(), PublicProblem)``)."""
    return Page([model.model_validate(item, from_attributes=True) for item in page], page.next_cursor)
