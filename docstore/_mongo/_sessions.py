"""The sessions repository: an instructor's live session and its students.

The session document holds only the session's own fields; each student is a record
of its own (``_student_records.py``), read and posted to by ``StudentPosts``
(``_student_posts.py``), which this repository builds on.
"""

from __future__ import annotations

from typing import Any

from pymongo.errors import DuplicateKeyError

from .. import _posts as posts
from .._arguments import check_active
from .._backend_common import active_join_code, already_exists, join_code_taken, not_found
from .._changes import SessionFeed
from .._errors import ErrorCode, PersistenceError
from .._interfaces import SessionDeletion, SessionSortKey, SortOrder
from .._listing import SESSION_SORT_KEYS, listing
from .._mapping import METADATA, require_id, to_document, validate_updates
from .._models import Session, Student, normalize_join_code
from .._namespace_rules import session_namespace
from .._page import Page
from .._time import utc_now
from ._beanie_models import ACTIVE_JOIN_CODE
from ._driver_errors import translated
from ._feed import MongoFeed
from ._repository import stored_version
from ._student_posts import WITHOUT_STUDENTS, StudentPosts

__all__ = ["MongoSessionRepository", "session_document", "with_active_join_code", "without_derived_fields"]

# Compare-and-set retries when an update must read before it writes (join code changes).
_CAS_ATTEMPTS = 20


def with_active_join_code(document: dict[str, Any]) -> dict[str, Any]:
    """A stored session document plus the derived field its unique index needs."""
    stored = dict(document)
    active_code = active_join_code(document)
    if active_code is not None:
        stored[ACTIVE_JOIN_CODE] = active_code
    return stored


def without_derived_fields(document: dict[str, Any]) -> dict[str, Any]:
    document.pop(ACTIVE_JOIN_CODE, None)
    return document


def session_document(session: Session) -> dict[str, Any]:
    """The stored form of a session, with the derived field the join-code index needs."""
    return with_active_join_code(to_document(session))


class MongoSessionRepository(StudentPosts):
    """Sessions: their own fields here; their students (records, posts) in ``StudentPosts``."""

    def watch(self, session_id: str, *, after: str | None = None) -> SessionFeed:
        """The session's change stream (``_feed.py``); ``memory://`` serves its own log instead (the Store's)."""

        async def visible() -> bool:
            return await self.get_session(session_id, include_students=False) is not None

        return MongoFeed(self._state.database, session_id, after, self._namespace, visible)

    @translated
    async def create_session(self, session: Session) -> str:
        """Store a new session and its students' records; ALREADY_EXISTS if its id or active join code is taken."""
        item = self._prepared(session)
        document = session_document(item)
        now = item.metadata.created_at if item.metadata is not None else utc_now()
        records = [self._students.record(item.id, item.namespace_id, one, now) for one in item.students.values()]
        if records:
            await self._state.check_student_layout()

        async def create(session: Any) -> None:
            await self._collection.insert_one(document, session=session)
            for record in records:
                await self._students.put(record, now, session=session)

        try:
            await self._state.run_atomically(create)
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
            return already_exists("session", session_id)
        return join_code_taken(join_code)

    @translated
    async def get_session(self, session_id: str, *, include_students: bool = True) -> Session | None:
        return await self._read({"_id": require_id(session_id)}, include_students)

    @translated
    async def get_session_by_join_code(self, join_code: str, *, include_students: bool = True) -> Session | None:
        """The active session with this join code in the view's namespace (in normal form).

        Unscoped, codes of every namespace are looked at; if several namespaces have the
        code, the session of the namespace that sorts first (the unique index's order).
        """
        code = normalize_join_code(require_id(join_code, "join code"))
        if not code:
            return None
        return await self._read({ACTIVE_JOIN_CODE: code}, include_students, sort=[("namespace_id", 1)])

    @translated
    async def update_session(
        self, session_id: str, updates: dict[str, Any], *, expected_version: int | None = None
    ) -> Session:
        """Partial update; ``students`` replaces the class (its records), in the same transaction."""
        fields = validate_updates(Session, updates)
        students = fields.pop("students", None)
        if students is None:
            raw = await self._update_fields(session_id, fields, expected_version)
            return await self._with_class(raw)
        await self._state.check_student_layout()
        now = utc_now()
        # Every record checked before anything is written (the namespace is the session's, set below).
        records = [
            self._students.record(require_id(session_id), "", Student.model_validate(value), now)
            for value in students.values()
        ]

        async def update(session: Any) -> Session:
            raw = await self._update_fields(session_id, fields, expected_version, session=session)
            namespace = session_namespace(self._namespace, raw)  # _namespace_rules
            for record in records:
                record["namespace_id"] = namespace
            await self._students.replace_class(raw["_id"], records, now, session=session)
            return await self._with_class(raw, session=session)

        updated, _ = await self._state.run_atomically(update)
        return updated

    async def _update_fields(
        self, session_id: str, fields: dict[str, Any], expected_version: int | None, *, session: Any = None
    ) -> dict[str, Any]:
        """The session's own fields updated (version + 1); the stored document after it."""
        if "active" not in fields and "join_code" not in fields:
            return await self._update_raw(
                session_id, self._touch(fields), expected_version=expected_version, session=session
            )
        # Whether the session holds its join code depends on both fields, so read the
        # other one and write on condition that the version did not move in between.
        # Only the instructor's own writes move it (student posts never do), so a
        # retry happens only when two instructor writes race; with `expected_version`
        # the first read is the only one that can succeed.
        for _ in range(_CAS_ATTEMPTS if expected_version is None else 1):
            current = await self._collection.find_one(
                self._scoped({"_id": require_id(session_id)}),
                {"active": 1, "join_code": 1, METADATA: 1},
                session=session,
            )
            if current is None:
                raise not_found("Session", session_id)
            version = stored_version(current, "Session")
            if expected_version is not None and version != expected_version:
                raise PersistenceError(
                    ErrorCode.CONFLICT, f"Session {session_id!r} is at version {version}, not {expected_version}"
                )
            active = fields.get("active", current.get("active", False))
            join_code = fields.get("join_code", current.get("join_code"))
            update = self._touch(fields)
            active_code = active_join_code({"active": active, "join_code": join_code})
            if active_code is None:
                update["$unset"] = {ACTIVE_JOIN_CODE: ""}
            else:
                update["$set"][ACTIVE_JOIN_CODE] = active_code
            try:
                return await self._update_raw(session_id, update, expected_version=version, session=session)
            except DuplicateKeyError as exc:
                raise await self._duplicate(exc, session_id, join_code) from None
            except PersistenceError as exc:
                # CONFLICT: another instructor write came in between; NOT_FOUND: gone (the next read says).
                if exc.code not in (ErrorCode.CONFLICT, ErrorCode.NOT_FOUND) or expected_version is not None:
                    raise
        raise PersistenceError(ErrorCode.CONFLICT, f"Session {session_id!r} kept changing; try again")

    @translated
    async def delete_session(self, session_id: str, *, cascade: bool = True) -> SessionDeletion:
        """Delete a session, its students' records and (``cascade``) every revision written in it.

        In one transaction where the server has them (a replica set); elsewhere the
        session goes first, then its revisions, and the result says so.
        """
        session_id = require_id(session_id)
        revisions_deleted, _, transactional = await self._post(lambda: posts.delete_session(session_id, cascade))
        return SessionDeletion(session_id, revisions_deleted, transactional)

    @translated
    async def list_active_sessions(self, limit: int = 100, *, cursor: str | None = None) -> Page[Session]:
        """Active sessions, most recently active first."""
        page = listing("last_activity", SESSION_SORT_KEYS, "desc", limit, 0, cursor)
        return await self._page({"active": True}, page, projection=WITHOUT_STUDENTS)

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
            return await self._with_class(await self._update_raw(session_id, update, condition={"active": True}))
        except PersistenceError as exc:
            if exc.code is not ErrorCode.NOT_FOUND:
                raise
        ended = await self._read({"_id": session_id}, True)
        if ended is None:
            raise not_found("Session", session_id)
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
        page = listing(sort_by, SESSION_SORT_KEYS, sort_order, limit, offset, cursor)
        filter = self._filter(active, instructor_id)
        # Both values of `active` as two point ranges: the (active, [instructor], sort key)
        # indexes then give the order by merging two sorted runs, never by sorting.
        filter.setdefault("active", {"$in": [False, True]})
        # Listings never load a class (``count_students`` counts one).
        return await self._page(filter, page, projection=WITHOUT_STUDENTS)

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
