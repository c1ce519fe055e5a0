"""A student's post and the deletion of a session, written once for every engine.

Each operation here is a generator of ``Call``s (no I/O of its own): it yields what it needs
its engine to do (read the session, write a student's record, insert a revision, mark the
session's activity, delete by session), is sent each answer back, and decides the rest
itself: whether the session takes the post (in the view, active: ``post_target``), the
namespace a revision or record is filed in (its session's), whether ``last_activity`` is
due (once a second), NOT_FOUND for a session that is not there. An engine supplies the unit
of work (``PostUnit``) and drives the operation inside its own transaction: ``run`` in
SQLite's writer thread (a write there is a synchronous function of a connection), ``run_async``
on the MongoDB dialect, so the sequence and its rules live here once whatever the engine.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from ._arguments import new_revision
from ._backend_common import not_found, stamped
from ._mapping import require_id, to_document
from ._models import CodeRevision, ExecutionResult, Student
from ._namespace_rules import session_namespace
from ._students import LAST_ACTIVITY_STEP_S, check_student_id, checked_code, post_target

__all__ = [
    "Call",
    "PostUnit",
    "RevisionPost",
    "Steps",
    "activity_due",
    "checked_update",
    "delete_session",
    "record_code",
    "revision_post",
    "run",
    "run_async",
    "update_code",
    "upsert_student",
]

T = TypeVar("T")
_STEP = timedelta(seconds=LAST_ACTIVITY_STEP_S)


# One thing an operation asks of its engine: (a ``PostUnit`` method's name, its arguments),
# run as ``getattr(unit, name)(*arguments)``. A plain tuple: a post makes four of them, and
# it must cost no more than the code it replaced.
Call = tuple[str, tuple[Any, ...]]
# An operation: yields Calls, is sent their answers, returns its result.
Steps = Generator[Call, Any, T]


class PostUnit(Protocol):
    """What a post or a session's deletion asks of its engine, inside the engine's transaction.

    The MongoDB dialect implements each method as a coroutine with the same arguments
    (``run_async`` awaits them); SQLite as plain functions of its connection (``run``).
    """

    def read_session(self, session_id: str, whole: bool) -> dict[str, Any] | None:
        """The session's document in the view, or None: ``active``, ``namespace_id`` and
        ``last_activity`` at least; without its students in any case, all of it if ``whole``."""
        ...

    def set_code(self, session_id: str, student_id: str, code: str, now: datetime) -> Student:
        """Set a student's code (``last_update`` := now, version + 1); NOT_FOUND without that student."""
        ...

    def put_student(self, session: dict[str, Any], record: dict[str, Any], now: datetime) -> None:
        """Insert or replace a student's record (a replaced one keeps its creation, version + 1)."""
        ...

    def insert_revision(self, document: dict[str, Any]) -> None:
        """Insert a revision's document."""
        ...

    def mark_activity(self, session: dict[str, Any], now: datetime) -> None:
        """Set the session's ``last_activity`` to ``now`` and nothing else (its version stays)."""
        ...

    def delete_session(self, session_id: str) -> bool:
        """Delete the session's document in the view; whether it was there."""
        ...

    def delete_students(self, session_id: str) -> None:
        """Delete the session's student records (they are part of it)."""
        ...

    def delete_revisions(self, session_id: str) -> int:
        """Delete the session's revisions in the view; how many."""
        ...


def run(steps: Steps[T], unit: Any) -> T:
    """Drive ``steps`` on a unit whose methods answer at once (SQLite's writer thread)."""
    answer: Any = None
    try:
        while True:
            method, arguments = steps.send(answer)
            answer = getattr(unit, method)(*arguments)
    except StopIteration as done:
        result: T = done.value
        return result


async def run_async(steps: Steps[T], unit: Any) -> T:
    """Drive ``steps`` on a unit whose methods are coroutines (the MongoDB dialect)."""
    answer: Any = None
    try:
        while True:
            method, arguments = steps.send(answer)
            answer = await getattr(unit, method)(*arguments)
    except StopIteration as done:
        result: T = done.value
        return result


# -- the rules -------------------------------------------------------------------------
def activity_due(session: Mapping[str, Any], now: datetime) -> bool:
    """Whether a post at ``now`` moves the session's ``last_activity``: when the stored one is
    over a step older (or not a time at all). At most one session write a second, whatever
    the number of posts."""
    stored = session.get("last_activity")
    return not (isinstance(stored, datetime) and stored.tzinfo is not None and stored >= now - _STEP)


@dataclass(frozen=True, slots=True)
class RevisionPost:
    """A ``record_code`` call, checked: the stamped revision and its document, before any write."""

    revision: CodeRevision
    document: dict[str, Any]


def revision_post(
    session_id: object,
    student_id: object,
    code: object,
    execution_result: ExecutionResult | None,
    namespace: str | None,
    actor: str | None,
) -> RevisionPost:
    """Every value of a post checked once, before anything is written: a value the revision
    cannot hold (NaN, a lone surrogate, 16 MB) fails the whole call, never half of it."""
    revision = new_revision(session_id, student_id, code, execution_result)
    check_student_id(revision.student_id)
    revision = stamped(revision, namespace, actor)
    return RevisionPost(revision, to_document(revision))


def checked_update(session_id: object, student_id: object, code: object) -> tuple[str, str, str]:
    """The arguments of ``update_student_code``, checked before anything is written."""
    checked_session = require_id(session_id)
    checked_student = check_student_id(student_id)
    return checked_session, checked_student, checked_code(checked_student, code)


# -- the operations ----------------------------------------------------------------------
def _target(session_id: str, found: dict[str, Any] | None) -> tuple[dict[str, Any], str]:
    """The session a post goes to and its namespace, from what the post's transaction read
    (a post racing ``end_session`` is kept whole or refused whole): in the view, active, not damaged."""
    session = post_target(session_id, found)
    return session, session_namespace(None, session)  # _namespace_rules: the stored one


def record_code(post: RevisionPost) -> Steps[CodeRevision]:
    """Save a revision and set the student's code; the revision as filed (in its session's namespace)."""
    revision = post.revision
    session_id, now = revision.session_id, revision.timestamp
    session, namespace = _target(session_id, (yield ("read_session", (session_id, False))))
    yield ("set_code", (session_id, revision.student_id, revision.code, now))
    if namespace == revision.namespace_id:  # the usual case: no copies on the hot path
        yield ("insert_revision", (post.document,))
    else:
        yield ("insert_revision", ({**post.document, "namespace_id": namespace},))
        revision = revision.model_copy(update={"namespace_id": namespace})
    if activity_due(session, now):
        yield ("mark_activity", (session, now))
    return revision


def update_code(session_id: str, student_id: str, code: str, now: datetime) -> Steps[Student]:
    """Set one student's code; NOT_FOUND if the session or the student is missing."""
    session, _ = _target(session_id, (yield ("read_session", (session_id, False))))
    student: Student = yield ("set_code", (session_id, student_id, code, now))
    if activity_due(session, now):
        yield ("mark_activity", (session, now))
    return student


def upsert_student(session_id: str, record: dict[str, Any], now: datetime) -> Steps[dict[str, Any]]:
    """Write a student's record (``student_record``'s, filed in its session's namespace);
    the session's document (without students) as it stands after the post."""
    session, record["namespace_id"] = _target(session_id, (yield ("read_session", (session_id, True))))
    yield ("put_student", (session, record, now))
    if activity_due(session, now):
        yield ("mark_activity", (session, now))
    return session


def delete_session(session_id: str, cascade: bool) -> Steps[int]:
    """Delete a session, its students' records and (``cascade``) its revisions; how many revisions."""
    if not (yield ("delete_session", (session_id,))):
        raise not_found("Session", session_id)
    yield ("delete_students", (session_id,))  # they are part of it, always
    if not cascade:
        return 0
    deleted: int = yield ("delete_revisions", (session_id,))
    return deleted
