"""The sessions repository: an instructor's live session and its students."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pymongo.errors import DuplicateKeyError

from .._arguments import check_active, check_sort_key, new_revision, revalidated
from .._errors import ErrorCode, PersistenceError
from .._interfaces import SessionDeletion, SessionSortKey, SortOrder
from .._mapping import (
    METADATA,
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
from .._time import utc_now
from ._documents import ACTIVE_JOIN_CODE, REVISIONS, SESSIONS
from ._driver_errors import translated
from ._repository import Repository, damaged, stored_version

__all__ = ["MongoSessionRepository", "session_document", "with_active_join_code", "without_derived_fields"]

_SORT_KEYS = frozenset({"created_at", "last_activity", "join_code"})
# Compare-and-set retries when an update must read before it writes (join code changes).
_CAS_ATTEMPTS = 20


def _active_join_code(active: bool, join_code: object) -> str | None:
    """The derived field of the join-code index: the normalized code, only while active."""
    if not active or not isinstance(join_code, str):
        return None
    return normalize_join_code(join_code) or None


def _student_key(student_id: object) -> str:
    return f"students.{student_field(require_id(student_id, 'student id'))}"


def with_active_join_code(document: dict[str, Any]) -> dict[str, Any]:
    """A stored session document plus the derived field its unique index needs."""
    stored = dict(document)
    active_code = _active_join_code(bool(document.get("active")), document.get("join_code"))
    if active_code is not None:
        stored[ACTIVE_JOIN_CODE] = active_code
    return stored


def without_derived_fields(document: dict[str, Any]) -> dict[str, Any]:
    document.pop(ACTIVE_JOIN_CODE, None)
    return document


def session_document(session: Session) -> dict[str, Any]:
    """The stored form of a session, with the derived field the join-code index needs."""
    return with_active_join_code(to_document(session))


class MongoSessionRepository(Repository[Session]):
    collection_name = SESSIONS
    model = Session

    @translated
    async def create_session(self, session: Session) -> str:
        """Store a new session; ALREADY_EXISTS if its id or active join code is taken."""
        item = self._prepared(session)
        try:
            await self._collection.insert_one(session_document(item))
        except DuplicateKeyError as exc:
            raise await self._duplicate(exc, item.id, item.join_code) from None
        return item.id

    async def _duplicate(self, exc: DuplicateKeyError, session_id: str, join_code: str | None) -> PersistenceError:
        key_pattern = (exc.details or {}).get("keyPattern")
        if key_pattern:
            id_taken = ACTIVE_JOIN_CODE not in key_pattern
        else:
            # mongomock names no key: look. (_id is unique across namespaces, so unscoped.)
            id_taken = await self._collection.find_one({"_id": session_id}, {"_id": 1}) is not None
        if id_taken:
            return PersistenceError(ErrorCode.ALREADY_EXISTS, f"session {session_id!r} already exists")
        return PersistenceError(ErrorCode.ALREADY_EXISTS, f"an active session already uses join code {join_code!r}")

    @translated
    async def get_session(self, session_id: str) -> Session | None:
        return await self._find_one({"_id": require_id(session_id)})

    @translated
    async def get_session_by_join_code(self, join_code: str) -> Session | None:
        """The active session with this join code in the view's namespace (in normal form).

        Unscoped, codes of every namespace are looked at; if several namespaces have the
        code, the session of the namespace that sorts first (the unique index's order).
        """
        code = normalize_join_code(require_id(join_code, "join code"))
        if not code:
            return None
        raw = await self._collection.find_one(self._scoped({ACTIVE_JOIN_CODE: code}), sort=[("namespace_id", 1)])
        return None if raw is None else from_document(Session, raw)

    @translated
    async def update_session(
        self, session_id: str, updates: dict[str, Any], *, expected_version: int | None = None
    ) -> Session:
        fields = validate_updates(Session, updates)
        if "active" not in fields and "join_code" not in fields:
            return await self._update_one(session_id, self._touch(fields), expected_version=expected_version)
        # Whether the session holds its join code depends on both fields, so read the
        # other one and write on condition that *those two* did not change in between.
        # Not the version: every student post bumps it, and a busy class would make the
        # instructor's join-code change lose every attempt (CONFLICT).
        for _ in range(_CAS_ATTEMPTS):
            current = await self._collection.find_one(
                self._scoped({"_id": require_id(session_id)}), {"active": 1, "join_code": 1, METADATA: 1}
            )
            if current is None:
                raise PersistenceError(ErrorCode.NOT_FOUND, f"Session {session_id!r} not found")
            version = stored_version(current, "Session")
            if expected_version is not None and version != expected_version:
                raise PersistenceError(
                    ErrorCode.CONFLICT, f"Session {session_id!r} is at version {version}, not {expected_version}"
                )
            active = fields.get("active", current.get("active", False))
            join_code = fields.get("join_code", current.get("join_code"))
            update = self._touch(fields)
            active_code = _active_join_code(active, join_code)
            if active_code is None:
                update["$unset"] = {ACTIVE_JOIN_CODE: ""}
            else:
                update["$set"][ACTIVE_JOIN_CODE] = active_code
            unchanged = {"active": current.get("active"), "join_code": current.get("join_code")}
            try:
                return await self._update_one(
                    session_id, update, expected_version=expected_version, condition=unchanged
                )
            except DuplicateKeyError as exc:
                raise await self._duplicate(exc, session_id, join_code) from None
            except PersistenceError as exc:
                # NOT_FOUND: gone, or the two fields changed; the next read tells which.
                if exc.code is not ErrorCode.NOT_FOUND:
                    raise
        raise PersistenceError(ErrorCode.CONFLICT, f"Session {session_id!r} kept changing; try again")

    @translated
    async def delete_session(self, session_id: str, *, cascade: bool = True) -> SessionDeletion:
        """Delete a session and (``cascade``) every revision written in it.

        In one transaction where the server has them (a replica set); elsewhere the
        session goes first, then its revisions, and the result says so.
        """
        session_id = require_id(session_id)
        revisions = self._state.collection(REVISIONS)

        async def delete(session: Any) -> int:
            result = await self._collection.delete_one(self._scoped({"_id": session_id}), session=session)
            if result.deleted_count == 0:
                raise PersistenceError(ErrorCode.NOT_FOUND, f"Session {session_id!r} not found")
            if not cascade:
                return 0
            deleted = await revisions.delete_many(self._scoped({"session_id": session_id}), session=session)
            count: int = deleted.deleted_count
            return count

        revisions_deleted, transactional = await self._state.run_atomically(delete)
        return SessionDeletion(session_id, revisions_deleted, transactional)

    @translated
    async def list_active_sessions(self, limit: int = 100, *, cursor: str | None = None) -> Page[Session]:
        """Active sessions, most recently active first."""
        return await self._page(
            {"active": True}, sort_by="last_activity", sort_order="desc", limit=limit, offset=0, cursor=cursor
        )

    @translated
    async def end_session(self, session_id: str) -> Session:
        """Mark the session inactive and set ``ended_at`` (its join code is free again).

        Idempotent: a session already ended is returned as it is, so a retry never
        moves ``ended_at``. One conditional write, no compare-and-set: ending frees the
        join code, so unlike ``update_session`` it needs no read of the other fields
        and never conflicts with students posting meanwhile.
        """
        session_id = require_id(session_id)
        update = self._touch({"active": False, "ended_at": utc_now()})
        update["$unset"] = {ACTIVE_JOIN_CODE: ""}
        try:
            return await self._update_one(session_id, update, condition={"active": True})
        except PersistenceError as exc:
            if exc.code is not ErrorCode.NOT_FOUND:
                raise
        ended = await self._find_one({"_id": session_id})
        if ended is None:
            raise PersistenceError(ErrorCode.NOT_FOUND, f"Session {session_id!r} not found")
        if ended.active:  # reactivated between the two calls: end it the long way
            return await self.update_session(session_id, {"active": False, "ended_at": utc_now()})
        return ended

    @translated
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
        filter = self._filter(active, instructor_id)
        # Both values of `active` as two point ranges: the (active, [instructor], sort key)
        # indexes then give the order by merging two sorted runs, never by sorting.
        filter.setdefault("active", {"$in": [False, True]})
        return await self._page(
            filter,
            sort_by=sort_by,
            sort_order=sort_order,
            limit=limit,
            offset=offset,
            cursor=cursor,
        )

    @translated
    async def count_sessions(self, *, active: bool | None = None, instructor_id: str | None = None) -> int:
        filter = self._filter(active, instructor_id)
        if "instructor_id" in filter:
            # Every index that holds instructor_id starts with active (after the namespace).
            filter.setdefault("active", {"$in": [False, True]})
        return await self._count(filter)

    @staticmethod
    def _filter(active: bool | None, instructor_id: str | None) -> dict[str, Any]:
        filter: dict[str, Any] = {}
        if check_active(active) is not None:
            filter["active"] = active
        if instructor_id is not None:
            filter["instructor_id"] = require_id(instructor_id, "instructor_id")
        return filter

    @translated
    async def upsert_student(self, session_id: str, student: Student) -> Session:
        """Add or replace one student, in place: other students' concurrent writes are kept."""
        student = revalidated(Student, student)
        key = _student_key(student.id)
        body = student.model_dump()
        check_document(body, f"student {student.id!r}")
        return await self._update_one(session_id, self._touch({key: body, "last_activity": utc_now()}))

    @translated
    async def update_student_code(self, session_id: str, student_id: str, code: str) -> Student:
        """Set one student's code, in place; NOT_FOUND if the session or the student is missing."""
        key = _student_key(student_id)
        if not isinstance(code, str):
            raise invalid("code must be a string")
        check_document({"code": code}, f"code of student {student_id!r}")
        now = utc_now()
        raw = await self._update_raw(
            session_id,
            self._touch({f"{key}.code": code, f"{key}.last_update": now, "last_activity": now}),
            condition={key: {"$exists": True}},
            what=f"student {student_id!r} not found in session {session_id!r}",
            projection={key: 1},
        )
        try:
            return Student.model_validate(raw["students"][student_field(student_id)])
        except (ValidationError, KeyError, TypeError) as exc:
            # The caller's values were checked above: what failed is the stored student.
            detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else type(exc).__name__
            raise damaged("Session", session_id, f"student {student_id!r}: {detail}") from None

    @translated
    async def record_code(
        self, session_id: str, student_id: str, code: str, execution_result: ExecutionResult | None = None
    ) -> CodeRevision:
        """Save a revision and set the student's code: one transaction where the engine has them.

        Without transactions the student's code is set first (that checks the student
        exists), then the revision is saved.
        """
        key = _student_key(student_id)
        revision = self._stamp(new_revision(session_id, student_id, code, execution_result))
        # Every value checked once, here, before anything is written: a value the revision
        # cannot hold (NaN, a lone surrogate) fails the whole call, never half of it.
        document = to_document(revision)
        revisions = self._state.collection(REVISIONS)
        now = revision.timestamp

        async def record(session: Any) -> CodeRevision:
            raw = await self._update_raw(
                session_id,
                self._touch({f"{key}.code": code, f"{key}.last_update": now, "last_activity": now}),
                condition={key: {"$exists": True}},
                what=f"student {student_id!r} not found in session {session_id!r}",
                projection={"_id": 1, "namespace_id": 1},
                session=session,
            )
            # The revision lives where its session lives: through the unscoped root store
            # it would otherwise land in the default namespace, out of the session's sight.
            filed = self._in_namespace_of(raw, revision)
            await revisions.insert_one({**document, "namespace_id": filed.namespace_id}, session=session)
            return filed

        recorded, _ = await self._state.run_atomically(record)
        return recorded

    def _in_namespace_of(self, session: dict[str, Any], revision: CodeRevision) -> CodeRevision:
        if self._namespace is not None:
            return revision  # stamped with the view's namespace, the only one it can reach
        namespace = session.get("namespace_id")
        if type(namespace) is not str or not namespace:
            raise damaged("Session", session.get("_id"), f"namespace_id is {namespace!r}")
        return revision.model_copy(update={"namespace_id": namespace})
