"""A session's students on the sessions repository: reads of the class, and posts.

``MongoSessionRepository`` (``_sessions.py``) builds on this: its own fields there,
its students here. A post costs one student whatever the class size: it reads the
session's small document (``{active, namespace_id}``: in this view, still active),
writes the student's record and, for ``record_code``, the new revision, in one
transaction where the server has them. The session's version never moves;
``last_activity`` is written at most once a second (``LAST_ACTIVITY_STEP_S``) by a
separate conditional ``update_one`` after the post's transaction commits, so
concurrent posts never write-conflict on the session document.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import PyMongoError

from .._arguments import new_revision, revalidated
from .._mapping import from_document, invalid, require_id, to_document
from .._models import CodeRevision, ExecutionResult, Session, Student
from .._page import Page
from .._students import LAST_ACTIVITY_STEP_S, check_student_id, checked_code, post_target
from .._time import utc_now
from ._documents import REVISIONS, SESSIONS
from ._driver_errors import translated
from ._repository import Repository, StoreState, damaged
from ._student_records import StudentRecords

__all__ = ["StudentPosts"]

# What a post reads of its session: whether it is in the view, active, and its namespace.
_POST_PROJECTION = {"active": 1, "namespace_id": 1}
# Session reads that leave the class out (and a legacy embedded one, before `docstore init`).
WITHOUT_STUDENTS = {"students": 0}
_LAST_ACTIVITY_STEP = timedelta(seconds=LAST_ACTIVITY_STEP_S)


class StudentPosts(Repository[Session]):
    collection_name = SESSIONS
    model = Session

    def __init__(self, state: StoreState, namespace: str | None, actor: str | None) -> None:
        super().__init__(state, namespace, actor)
        self._students = StudentRecords(state, namespace, actor)

    async def _read(
        self, filter: dict[str, Any], include_students: object, sort: list[tuple[str, int]] | None = None
    ) -> Session | None:
        if not isinstance(include_students, bool):
            raise invalid("include_students must be a bool")
        raw = await self._collection.find_one(
            self._scoped(filter), None if include_students else WITHOUT_STUDENTS, sort=sort
        )
        if raw is None:
            return None
        return await self._with_class(raw) if include_students else from_document(Session, raw)

    async def _with_class(self, raw: dict[str, Any], *, session: Any = None) -> Session:
        """The session with its students: the records (and, on a store not yet migrated
        by ``docstore init``, the students still inside its document, records first)."""
        item = from_document(Session, raw)
        students = {**item.students, **await self._students.of_session(item.id, session=session)}
        return item.model_copy(update={"students": students})

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

        async def post(session: Any) -> dict[str, Any]:
            raw = await self._post_target(session_id, WITHOUT_STUDENTS, session)
            record["namespace_id"] = self._namespace_of(raw)
            await self._students.put(record, now, session=session)
            return raw

        raw, _ = await self._state.run_atomically(post)
        if await self._touch_activity(session_id, now):
            raw["last_activity"] = now
        return from_document(Session, raw)

    @translated
    async def update_student_code(self, session_id: str, student_id: str, code: str) -> Student:
        """Set one student's code; NOT_FOUND if the session or the student is missing."""
        session_id = require_id(session_id)
        student_id = check_student_id(student_id)
        code = checked_code(student_id, code)
        await self._state.check_student_layout()
        now = utc_now()

        async def post(session: Any) -> Student:
            await self._post_target(session_id, _POST_PROJECTION, session)
            return await self._students.set_code(session_id, student_id, code, now, session=session)

        updated, _ = await self._state.run_atomically(post)
        await self._touch_activity(session_id, now)
        return updated

    @translated
    async def record_code(
        self, session_id: str, student_id: str, code: str, execution_result: ExecutionResult | None = None
    ) -> CodeRevision:
        """Save a revision and set the student's code: one transaction where the engine has them.

        Without transactions the session is checked, the student's code set (that
        checks the student exists), then the revision saved.
        """
        session_id = require_id(session_id)
        student_id = check_student_id(student_id)
        revision = self._stamp(new_revision(session_id, student_id, code, execution_result))
        # Every value checked once, here, before anything is written: a value the revision
        # cannot hold (NaN, a lone surrogate, 16 MB) fails the whole call, never half of it.
        document = to_document(revision)
        await self._state.check_student_layout()
        revisions = self._state.collection(REVISIONS)
        now = revision.timestamp

        async def record(session: Any) -> CodeRevision:
            raw = await self._post_target(session_id, _POST_PROJECTION, session)
            await self._students.set_code(session_id, student_id, code, now, session=session)
            # The revision lives where its session lives: through the unscoped root store
            # it would otherwise land in the default namespace, out of the session's sight.
            filed = self._in_namespace_of(raw, revision)
            await revisions.insert_one({**document, "namespace_id": filed.namespace_id}, session=session)
            return filed

        recorded, _ = await self._state.run_atomically(record)
        await self._touch_activity(session_id, now)
        return recorded

    async def _post_target(self, session_id: str, projection: dict[str, int], session: Any) -> dict[str, Any]:
        """The session a post goes to (its small document): in this view and active, or the post is refused.

        Read inside the post's transaction, so a post racing ``end_session`` is kept whole or refused whole.
        """
        raw: dict[str, Any] | None = await self._collection.find_one(
            self._scoped({"_id": session_id}), projection, session=session
        )
        return post_target(session_id, raw)

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

    def _namespace_of(self, raw: dict[str, Any]) -> str:
        """The namespace of a stored session (the view's own, when scoped)."""
        if self._namespace is not None:
            return self._namespace
        namespace = raw.get("namespace_id")
        if type(namespace) is not str or not namespace:
            raise damaged("Session", raw.get("_id"), f"namespace_id is {namespace!r}")
        return namespace

    def _in_namespace_of(self, session: dict[str, Any], revision: CodeRevision) -> CodeRevision:
        if self._namespace is not None:
            return revision  # stamped with the view's namespace, the only one it can reach
        namespace = session.get("namespace_id")
        if type(namespace) is not str or not namespace:
            raise damaged("Session", session.get("_id"), f"namespace_id is {namespace!r}")
        return revision.model_copy(update={"namespace_id": namespace})
