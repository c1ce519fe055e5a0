"""The sessions repository on SQLite: the session's own row, and one row per student.

A session's document holds only its own fields; each student is a record of
``session_students`` (``_student_rows``). A change to a session is a read-modify-write
of its small row, and a student's post rewrites that student's row alone, inside the
writer's ``BEGIN IMMEDIATE`` transaction: posts never conflict with each other or with
the instructor's updates, in this process or another one.
"""

from __future__ import annotations

import sqlite3
from typing import Any, TypeVar

from .. import _posts as posts
from .._arguments import check_active, check_include_students, check_version, revalidated
from .._changes import SessionFeed
from .._errors import ErrorCode, PersistenceError
from .._feed import LogFeed
from .._interfaces import SessionDeletion, SessionSortKey, SortOrder
from .._listing import SESSION_SORT_KEYS, listing
from .._mapping import from_document, require_id, to_document, validate_updates
from .._models import CodeRevision, ExecutionResult, Session, Student, normalize_join_code
from .._namespace_rules import held_in_view
from .._page import Page
from .._students import check_student_id, student_record
from .._time import utc_now
from ._database import Database
from ._feed import SqliteChangeLog
from ._repository import UNCHANGED, Filter, SqliteRepository
from ._student_rows import (
    PostRows,
    count_students,
    find_student,
    insert_students,
    page_of_students,
    replace_students,
    with_students,
)
from ._tables import decode_row, get_document, insert_document

__all__ = ["SqliteSessionRepository"]

T = TypeVar("T")


class SqliteSessionRepository(SqliteRepository[Session]):
    collection_name = "sessions"
    model = Session

    def __init__(
        self, database: Database, namespace: str | None, actor: str | None, *, log: SqliteChangeLog | None = None
    ) -> None:
        super().__init__(database, namespace, actor)
        self._log = log

    def watch(self, session_id: str, *, after: str | None = None) -> SessionFeed:
        """The session's live feed, read from the ``changes`` table (``_feed.py``)."""
        if self._log is None:
            raise PersistenceError(ErrorCode.STORAGE_ERROR, "the store is not initialized")

        async def visible() -> bool:
            return await self.get_session(session_id, include_students=False) is not None

        return LogFeed(self._log, session_id, after, self._namespace, visible)

    async def create_session(self, session: Session) -> str:
        """Store a new session; ALREADY_EXISTS if its id or active join code is taken."""
        item = self._prepared(session)
        document = to_document(item)
        created = item.metadata.created_at if item.metadata is not None else None
        records = [
            student_record(item.id, item.namespace_id, student, now=created, actor=self._actor)
            for student in item.students.values()
        ]

        def create(connection: sqlite3.Connection) -> None:
            insert_document(connection, "sessions", document)
            insert_students(connection, records)

        await self._db.write(create)
        return item.id

    def _session(self, connection: sqlite3.Connection, document: dict[str, Any], include_students: bool) -> Session:
        if include_students:
            session = with_students(connection, self._path, document, self._namespace)
        else:
            session = from_document(Session, document)
        return held_in_view([session], self._namespace)[0]

    async def get_session(self, session_id: str, *, include_students: bool = True) -> Session | None:
        """The session; with its class assembled from its records unless ``include_students=False``."""
        session_id = require_id(session_id)
        include_students = check_include_students(include_students)

        def get(connection: sqlite3.Connection) -> Session | None:
            document = get_document(connection, self._path, "sessions", session_id, self._namespace)
            return None if document is None else self._session(connection, document, include_students)

        return await self._db.read(get)

    async def get_session_by_join_code(self, join_code: str, *, include_students: bool = True) -> Session | None:
        """The active session with this join code in the view's namespace (in normal form).

        Unscoped, codes of every namespace are looked at; if several namespaces have the
        code, the session of the namespace that sorts first (the index's order).
        """
        include_students = check_include_students(include_students)
        code = normalize_join_code(require_id(join_code, "join code"))
        if not code:
            return None
        conditions, arguments = self._scope(["active_join_code = ?"], [code])
        sql = f"SELECT doc, checksum FROM sessions WHERE {' AND '.join(conditions)} ORDER BY namespace_id LIMIT 1"

        def find(connection: sqlite3.Connection) -> Session | None:
            row = connection.execute(sql, arguments).fetchone()
            if row is None:
                return None
            return self._session(connection, decode_row(row, self._path, "sessions"), include_students)

        return await self._db.read(find)

    async def update_session(
        self, session_id: str, updates: dict[str, Any], *, expected_version: int | None = None
    ) -> Session:
        """Partial update of the session's own fields; ``students`` replaces the class, in the same transaction."""
        fields = validate_updates(Session, updates)
        session_id = require_id(session_id)
        expected_version = check_version(expected_version)
        students = fields.pop("students", None)
        now = utc_now()
        # Built before the write (the checks and encoding of a whole class are not the writer's work).
        new_class = None if students is None else {sid: Student.model_validate(s) for sid, s in students.items()}

        def update(connection: sqlite3.Connection) -> Session:
            document = self._modify(connection, session_id, lambda doc: doc.update(fields), expected_version)
            if new_class is not None:
                replace_students(connection, self._path, document, new_class, now, self._actor)
            return self._session(connection, document, True)

        return await self._db.write(update)

    async def end_session(self, session_id: str) -> Session:
        """Mark the session inactive and set ``ended_at`` (its join code is free again).

        Idempotent: a session already ended is returned as it is, so a retry never
        moves ``ended_at`` and writes nothing.
        """
        session_id = require_id(session_id)
        fields = validate_updates(Session, {"active": False, "ended_at": utc_now()})

        def change(document: dict[str, Any]) -> bool | None:
            if document.get("active") is False:
                return UNCHANGED
            document.update(fields)
            return None

        def end(connection: sqlite3.Connection) -> Session:
            return self._session(connection, self._modify(connection, session_id, change), True)

        return await self._db.write(end)

    async def delete_session(self, session_id: str, *, cascade: bool = True) -> SessionDeletion:
        """Delete a session, its students' records and (``cascade``) its revisions, in one transaction."""
        session_id = require_id(session_id)
        deleted = await self._db.write(
            lambda connection: self._run(connection, posts.delete_session(session_id, cascade))
        )
        return SessionDeletion(session_id, deleted, True)

    async def list_active_sessions(self, limit: int = 100, *, cursor: str | None = None) -> Page[Session]:
        """Active sessions, most recently active first."""
        page = listing("last_activity", SESSION_SORT_KEYS, "desc", limit, 0, cursor)
        return await self._page((["active = 1"], []), page)

    async def list_all_sessions(
        self,
        *,
        active: bool | None = None,
        instructor_id: str | None = None,
        sort_by: SessionSortKey = "created_at",
        sort_order: SortOrder = "desc",
        limit: int = 50,
        offset: int = 0,
        cursor: str | None = None,
    ) -> Page[Session]:
        page = listing(sort_by, SESSION_SORT_KEYS, sort_order, limit, offset, cursor)
        return await self._page(self._filter(active, instructor_id), page)

    async def count_sessions(self, *, active: bool | None = None, instructor_id: str | None = None) -> int:
        return await self._count(self._filter(active, instructor_id))

    @staticmethod
    def _filter(active: bool | None, instructor_id: str | None) -> Filter:
        conditions: list[str] = []
        arguments: list[Any] = []
        active = check_active(active)
        if active is not None:
            conditions.append("active = ?")
            arguments.append(int(active))
        if instructor_id is not None:
            conditions.append("instructor_id = ?")
            arguments.append(require_id(instructor_id, "instructor_id"))
        return conditions, arguments

    # -- the class: one record per student (``_student_rows``) ------------------------
    async def get_student(self, session_id: str, student_id: str) -> Student | None:
        session_id, student_id = require_id(session_id), check_student_id(student_id)
        return await self._db.read(
            lambda connection: find_student(connection, self._path, session_id, student_id, self._namespace)
        )

    async def list_students(self, session_id: str, *, limit: int = 100, cursor: str | None = None) -> Page[Student]:
        session_id = require_id(session_id)
        return await self._db.read(
            lambda connection: page_of_students(connection, self._path, session_id, self._namespace, limit, cursor)
        )

    async def count_students(self, session_id: str) -> int:
        session_id = require_id(session_id)
        return await self._db.read(lambda connection: count_students(connection, session_id, self._namespace))

    async def upsert_student(self, session_id: str, student: Student) -> Session:
        """Add or replace one student's record; the session without students. Costs one student."""
        session_id = require_id(session_id)
        now = utc_now()
        # Checked and encoded before the write: an oversized student is refused before any lock.
        record = student_record(
            session_id, self._namespace or "", revalidated(Student, student), now=now, actor=self._actor
        )

        def upsert(connection: sqlite3.Connection) -> Session:
            return from_document(Session, self._run(connection, posts.upsert_student(session_id, record, now)))

        return await self._db.write(upsert)

    async def update_student_code(self, session_id: str, student_id: str, code: str) -> Student:
        """Set one student's code in their record; NOT_FOUND if the session or the student is missing."""
        session_id, student_id, code = posts.checked_update(session_id, student_id, code)
        now = utc_now()
        return await self._db.write(
            lambda connection: self._run(connection, posts.update_code(session_id, student_id, code, now))
        )

    async def record_code(
        self, session_id: str, student_id: str, code: str, execution_result: ExecutionResult | None = None
    ) -> CodeRevision:
        """Save a revision and set the student's code, in one transaction (the session row is only read)."""
        post = posts.revision_post(session_id, student_id, code, execution_result, self._namespace, self._actor)
        return await self._db.write(lambda connection: self._run(connection, posts.record_code(post)))

    def _run(self, connection: sqlite3.Connection, steps: posts.Steps[T]) -> T:
        """A post or a deletion (``docstore._posts``) on this view's rows, in the writer's transaction."""
        return posts.run(steps, PostRows(connection, self._path, self._namespace, self._actor))
