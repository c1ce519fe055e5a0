"""A session's students on the sessions repository: reads of the class, and posts.

``MongoSessionRepository`` (``_sessions.py``) builds on this: its own fields there,
its students here. A post (``docstore._posts``, run on ``_PostUnit``) costs one student
whatever the class size: it reads the session's small document (``{active, namespace_id,
last_activity}``: in this view, still active), writes the student's record and, for
``record_code``, the new revision, in one transaction where the server has them. The
session's version never moves; ``last_activity`` is written at most once a second
(``LAST_ACTIVITY_STEP_S``) by a separate conditional ``update_one`` after the post's
transaction commits, so concurrent posts never write-conflict on the session document.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pymongo.errors import PyMongoError

from .. import _posts as posts
from .._arguments import check_include_students, revalidated
from .._mapping import from_document, require_id
from .._models import CodeRevision, ExecutionResult, Session, Student
from .._page import Page
from .._stored_reads import naive_items
from .._students import LAST_ACTIVITY_STEP_S
from .._time import utc_now
from ._beanie_models import REVISIONS, SESSIONS
from ._driver_errors import translated
from ._repository import Repository, StoreState
from ._student_records import StudentRecords

__all__ = ["StudentPosts"]

# What a post reads of its session: whether it is in the view, active, its namespace, and
# its last activity (a post within a step of it writes no activity mark).
_POST_PROJECTION = {"active": 1, "namespace_id": 1, "last_activity": 1}
# Session reads that leave the class out (and a legacy embedded one, before `docstore init`).
WITHOUT_STUDENTS = {"students": 0}
_LAST_ACTIVITY_STEP = timedelta(seconds=LAST_ACTIVITY_STEP_S)
T = TypeVar("T")


class StudentPosts(Repository[Session]):
    collection_name = SESSIONS
    model = Session

    def __init__(self, state: StoreState, namespace: str | None, actor: str | None) -> None:
        super().__init__(state, namespace, actor)
        self._students = StudentRecords(state, namespace, actor)

    async def _read(
        self, filter: dict[str, Any], include_students: object, sort: list[tuple[str, int]] | None = None
    ) -> Session | None:
        check_include_students(include_students)
        reader = self._state.reader(SESSIONS)
        projection = None if include_students else WITHOUT_STUDENTS
        if reader is not None:  # decoded naive where that gives the same session (``_naive_reads``)
            raw = await reader.find_one(self._scoped(filter), projection, self._naive_suffices, sort=sort)
            # Built by the model's derived validator (``_stored_reads``), as a naive read allows.
            item = None if raw is None else naive_items(Session, [raw])[0]
        else:
            raw = await self._collection.find_one(self._scoped(filter), projection, sort=sort)
            item = None if raw is None else from_document(Session, raw)
        if item is None:
            return None
        return await self._with_students(item) if include_students else item

    async def _with_class(self, raw: dict[str, Any], *, session: Any = None) -> Session:
        """The session with its students: the records (and, on a store not yet migrated
        by ``docstore init``, the students still inside its document, records first)."""
        return await self._with_students(from_document(Session, raw), session=session)

    async def _with_students(self, item: Session, *, session: Any = None) -> Session:
        """``item``, just built from its stored document, with its students (``_with_class``)."""
        students = {**item.students, **await self._students.of_session(item.id, session=session)}
        # ``item`` is the caller's alone: the class is set in place, as ``model_copy(update=...)``
        # sets it on a copy (the same ``__dict__`` and fields set; ~3.6 us of a get saved).
        item.__dict__["students"] = students
        item.__pydantic_fields_set__.add("students")
        return item

    @translated
    async def get_student(self, session_id: str, student_id: str) -> Student | None:
        return await self._students.get(session_id, student_id)

    @translated
    async def list_students(self, session_id: str, *, limit: int = 100, cursor: str | None = None) -> Page[Student]:
        return await self._students.page(session_id, limit, cursor)

    @translated
    async def count_students(self, session_id: str) -> int:
        return await self._students.count(session_id)

    # -- student posts: one student each, never the session's version --------------------
    @translated
    async def upsert_student(self, session_id: str, student: Student) -> Session:
        """Add or replace one student's record; the session without students."""
        session_id = require_id(session_id)
        now = utc_now()
        record = self._students.record(session_id, "", revalidated(Student, student), now)  # checked first
        await self._state.check_student_layout()
        raw, marked, _ = await self._post(lambda: posts.upsert_student(session_id, record, now))
        if marked:
            raw["last_activity"] = now
        return from_document(Session, raw)

    @translated
    async def update_student_code(self, session_id: str, student_id: str, code: str) -> Student:
        """Set one student's code; NOT_FOUND if the session or the student is missing."""
        session_id, student_id, code = posts.checked_update(session_id, student_id, code)
        await self._state.check_student_layout()
        now = utc_now()
        updated, _, _ = await self._post(lambda: posts.update_code(session_id, student_id, code, now))
        return updated

    @translated
    async def record_code(
        self, session_id: str, student_id: str, code: str, execution_result: ExecutionResult | None = None
    ) -> CodeRevision:
        """Save a revision and set the student's code: one transaction where the engine has them.

        Without transactions the session is checked, the student's code set (that
        checks the student exists), then the revision saved.
        """
        post = posts.revision_post(session_id, student_id, code, execution_result, self._namespace, self._actor)
        await self._state.check_student_layout()
        recorded, _, _ = await self._post(lambda: posts.record_code(post))
        return recorded

    async def _post(self, steps: Callable[[], posts.Steps[T]]) -> tuple[T, bool, bool]:
        """A post or a deletion (``docstore._posts``) in one transaction where the server has them,
        then the activity mark it asked for: (its result, whether the mark was written, whether
        it ran in a transaction).

        ``steps`` makes the operation afresh: a transaction the server aborts is run again.
        """

        async def work(session: Any) -> tuple[T, tuple[str, datetime] | None]:
            unit = _PostUnit(self, session)
            return await posts.run_async(steps(), unit), unit.mark

        (result, mark), transactional = await self._state.run_atomically(work)
        return result, mark is not None and await self._touch_activity(*mark), transactional

    async def _touch_activity(self, session_id: str, now: datetime) -> bool:
        """``last_activity`` := ``now`` if the stored one is over a step older; whether it wrote.

        Apart from the post and after it: one conditional write at most per step, no
        version bump, so posts neither conflict on the session document nor move it.
        The post is kept whatever happens here (a failure only leaves the time behind).
        """
        try:
            result = await self._collection.update_one(
                self._scoped({"_id": session_id, "last_activity": {"$lt": now - _LAST_ACTIVITY_STEP}}),
                {"$set": {"last_activity": now}},
            )
        except PyMongoError:
            return False
        return bool(result.modified_count)


class _PostUnit:
    """The unit of work of a post or a session's deletion on the MongoDB dialect
    (``docstore._posts.PostUnit``): one view's collections, through the driver session of
    the transaction. The activity mark is only noted here (``mark``): it is written after
    the transaction commits, so concurrent posts never write-conflict on the session."""

    __slots__ = ("_posts", "_session", "mark")

    def __init__(self, posts: StudentPosts, session: Any) -> None:
        self._posts = posts
        self._session = session
        self.mark: tuple[str, datetime] | None = None

    async def read_session(self, session_id: str, whole: bool) -> dict[str, Any] | None:
        found: dict[str, Any] | None = await self._posts._collection.find_one(
            self._posts._scoped({"_id": session_id}),
            WITHOUT_STUDENTS if whole else _POST_PROJECTION,
            session=self._session,
        )
        return found

    async def set_code(self, session_id: str, student_id: str, code: str, now: datetime) -> Student:
        return await self._posts._students.set_code(session_id, student_id, code, now, session=self._session)

    async def put_student(self, session: dict[str, Any], record: dict[str, Any], now: datetime) -> None:
        await self._posts._students.put(record, now, session=self._session)

    async def insert_revision(self, document: dict[str, Any]) -> None:
        await self._posts._state.collection(REVISIONS).insert_one(document, session=self._session)

    async def mark_activity(self, session: dict[str, Any], now: datetime) -> None:
        self.mark = (session["_id"], now)

    async def delete_session(self, session_id: str) -> bool:
        result = await self._posts._collection.delete_one(
            self._posts._scoped({"_id": session_id}), session=self._session
        )
        return bool(result.deleted_count)

    async def delete_students(self, session_id: str) -> None:
        await self._posts._students.delete_all(session_id, session=self._session)

    async def delete_revisions(self, session_id: str) -> int:
        revisions = self._posts._state.collection(REVISIONS)
        deleted = await revisions.delete_many(self._posts._scoped({"session_id": session_id}), session=self._session)
        count: int = deleted.deleted_count
        return count
