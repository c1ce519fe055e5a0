"""The sessions repository on SQLite: students live inside the session document.

Every change to a session is a read-modify-write of its document inside one
``BEGIN IMMEDIATE`` transaction (the writer thread's), so two students saving at
once never overwrite each other, in this process or another one.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from pydantic import ValidationError

from .._arguments import check_active, check_sort_key, new_revision, revalidated
from .._errors import ErrorCode, PersistenceError
from .._interfaces import SessionDeletion, SessionSortKey, SortOrder
from .._mapping import (
    check_document,
    from_document,
    invalid,
    require_id,
    student_field,
    to_document,
    validate_updates,
)
from .._models import CodeRevision, ExecutionResult, Session, Student, normalize_join_code
from .._page import Page
from .._stored import damaged
from .._time import utc_now
from ._repository import UNCHANGED, Filter, SqliteRepository
from ._tables import delete_document, insert_document

__all__ = ["SqliteSessionRepository"]

_SORT_KEYS = frozenset({"created_at", "last_activity", "join_code"})


class SqliteSessionRepository(SqliteRepository[Session]):
    collection_name = "sessions"
    model = Session

    async def create_session(self, session: Session) -> str:
        """Store a new session; ALREADY_EXISTS if its id or active join code is taken."""
        item = self._prepared(session)
        document = to_document(item)
        await self._db.write(lambda connection: insert_document(connection, "sessions", document))
        return item.id

    async def get_session(self, session_id: str) -> Session | None:
        return await self._get(require_id(session_id))

    async def get_session_by_join_code(self, join_code: str) -> Session | None:
        """The active session with this join code in the view's namespace (in normal form).

        Unscoped, codes of every namespace are looked at; if several namespaces have the
        code, the session of the namespace that sorts first (the index's order).
        """
        code = normalize_join_code(require_id(join_code, "join code"))
        if not code:
            return None
        conditions, arguments = self._scope(["active_join_code = ?"], [code])
        sql = f"SELECT doc, checksum FROM sessions WHERE {' AND '.join(conditions)} ORDER BY namespace_id LIMIT 1"

        def find(connection: sqlite3.Connection) -> Session | None:
            items = self._items(connection.execute(sql, arguments).fetchall())
            return items[0] if items else None

        return await self._db.read(find)

    async def update_session(
        self, session_id: str, updates: dict[str, Any], *, expected_version: int | None = None
    ) -> Session:
        fields = validate_updates(Session, updates)
        return await self._update_fields(require_id(session_id), fields, expected_version)

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
            return from_document(Session, self._modify(connection, session_id, change))

        return await self._db.write(end)

    async def delete_session(self, session_id: str, *, cascade: bool = True) -> SessionDeletion:
        """Delete a session and (``cascade``) its revisions, in one transaction."""
        session_id = require_id(session_id)
        conditions, arguments = self._scope(["session_id = ?"], [session_id])

        def delete(connection: sqlite3.Connection) -> int:
            if not delete_document(connection, "sessions", session_id, self._namespace):
                raise PersistenceError(ErrorCode.NOT_FOUND, f"Session {session_id!r} not found")
            if not cascade:
                return 0
            return connection.execute(f"DELETE FROM revisions WHERE {' AND '.join(conditions)}", arguments).rowcount

        return SessionDeletion(session_id, await self._db.write(delete), True)

    async def list_active_sessions(self, limit: int = 100, *, cursor: str | None = None) -> Page[Session]:
        """Active sessions, most recently active first."""
        return await self._page(
            (["active = 1"], []), sort_by="last_activity", sort_order="desc", limit=limit, offset=0, cursor=cursor
        )

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
        check_sort_key(sort_by, _SORT_KEYS)
        return await self._page(
            self._filter(active, instructor_id),
            sort_by=sort_by,
            sort_order=sort_order,
            limit=limit,
            offset=offset,
            cursor=cursor,
        )

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

    async def upsert_student(self, session_id: str, student: Student) -> Session:
        """Add or replace one student, in place: other students' concurrent writes are kept."""
        student = revalidated(Student, student)
        key = student_field(student.id)
        body = student.model_dump()
        check_document(body, f"student {student.id!r}")
        session_id = require_id(session_id)

        def change(document: dict[str, Any]) -> None:
            students = document.get("students")
            if students is not None and not isinstance(students, dict):
                raise damaged("Session", session_id, f"students is a {type(students).__name__}")
            document["students"] = {**(students or {}), key: body}
            document["last_activity"] = utc_now()

        def upsert(connection: sqlite3.Connection) -> Session:
            return from_document(Session, self._modify(connection, session_id, change))

        return await self._db.write(upsert)

    def _set_code(self, session_id: str, student_id: str, code: str, now: Any) -> Any:
        """The change that sets one student's code (NOT_FOUND when the student is not there)."""
        key = student_field(require_id(student_id, "student id"))

        def change(document: dict[str, Any]) -> None:
            students = document.get("students")
            student = students.get(key) if isinstance(students, dict) else None
            if student is None:
                raise PersistenceError(
                    ErrorCode.NOT_FOUND, f"student {student_id!r} not found in session {session_id!r}"
                )
            if not isinstance(student, dict):
                raise damaged("Session", session_id, f"student {student_id!r} is a {type(student).__name__}")
            student["code"] = code
            student["last_update"] = now
            document["last_activity"] = now

        return key, change

    async def update_student_code(self, session_id: str, student_id: str, code: str) -> Student:
        """Set one student's code, in place; NOT_FOUND if the session or the student is missing."""
        session_id = require_id(session_id)
        if not isinstance(code, str):
            raise invalid("code must be a string")
        check_document({"code": code}, f"code of student {student_id!r}")
        key, change = self._set_code(session_id, student_id, code, utc_now())

        def update(connection: sqlite3.Connection) -> Student:
            document = self._modify(connection, session_id, change)
            try:
                return Student.model_validate(document["students"][key])
            except ValidationError as exc:
                # The caller's values were checked above: what failed is the stored student.
                raise damaged("Session", session_id, f"student {student_id!r}: {exc.errors()[0]['msg']}") from None

        return await self._db.write(update)

    async def record_code(
        self, session_id: str, student_id: str, code: str, execution_result: ExecutionResult | None = None
    ) -> CodeRevision:
        """Save a revision and set the student's code, in one transaction."""
        revision = self._stamp(new_revision(session_id, student_id, code, execution_result))
        document = to_document(revision)
        _, change = self._set_code(revision.session_id, student_id, code, revision.timestamp)

        def record(connection: sqlite3.Connection) -> CodeRevision:
            session = self._modify(connection, revision.session_id, change)
            if self._namespace is not None:
                insert_document(connection, "revisions", document)
                return revision
            # The revision lives where its session lives: through the unscoped root store
            # it would otherwise land in the default namespace, out of the session's sight.
            namespace = session.get("namespace_id")
            if type(namespace) is not str or not namespace:
                raise damaged("Session", revision.session_id, f"namespace_id is {namespace!r}")
            if namespace == revision.namespace_id:  # the usual case: no copies on the hot path
                insert_document(connection, "revisions", document)
                return revision
            insert_document(connection, "revisions", {**document, "namespace_id": namespace})
            return revision.model_copy(update={"namespace_id": namespace})

        return await self._db.write(record)
