"""A session's students on the MongoDB dialect: the ``session_students`` collection.

One document per (session, student), laid out by ``docstore._students``. Every query
names the session, and every write names the whole (session_id, student_id) pair
besides ``_id``: the declared indexes start with it, and on a sharded cluster it is
the shard key (an upsert there must give the whole key). A scoped view adds its
namespace, so it never reaches another namespace's students, even by a guessed id.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import OperationFailure

from .._listing import roster
from .._mapping import METADATA, require_id
from .._models import Student
from .._page import Page
from .._stored_reads import naive_students
from .._students import (
    SESSION_STUDENTS,
    check_student_id,
    record_id,
    student_from_record,
    student_not_found,
    student_record,
)
from ._repository import StoreState, damaged, stored_version

__all__ = ["StudentRecords", "record_update"]

# What MongoDB answers an update through a damaged field: TypeMismatch ($inc of a
# non-number), PathNotViable (a field inside a string).
_DAMAGED_PATH_CODES = frozenset({14, 28})
# What a read of students asks for: a Student's own fields (and ``_id``, to name a damaged
# record). The record's keys and ``_metadata`` (two datetimes) are never returned: not
# decoding them is a third of a class read's CPU (30 students: 196 -> 129 us).
_STUDENT_PROJECTION = {"_id": 1, "student_id": 1, "name": 1, "code": 1, "last_update": 1, "extra": 1}


def _naive_suffices(record: Mapping[str, Any]) -> bool:
    """A record read naive gives the same student unless its free-form ``extra`` holds something."""
    return not record.get("extra")


def record_update(record: Mapping[str, Any], now: datetime, actor: str | None) -> dict[str, Any]:
    """The upsert that makes a stored record hold ``record``'s student (creation kept, version + 1)."""
    fields = {key: value for key, value in record.items() if key not in ("_id", "session_id", "student_id", METADATA)}
    return {
        "$set": {**fields, f"{METADATA}.updated_at": now, f"{METADATA}.modified_by": actor},
        "$setOnInsert": {f"{METADATA}.created_at": now, f"{METADATA}.created_by": actor},
        "$inc": {f"{METADATA}.version": 1},
    }


class StudentRecords:
    """The records of one view (namespace or unscoped): reads and writes of single students."""

    def __init__(self, state: StoreState, namespace: str | None, actor: str | None) -> None:
        self._state = state
        self._namespace = namespace
        self._actor = actor

    @property
    def _collection(self) -> Any:
        return self._state.collection(SESSION_STUDENTS)

    def _filter(self, session_id: str, **more: Any) -> dict[str, Any]:
        filter: dict[str, Any] = {"session_id": session_id, **more}
        if self._namespace is not None:
            filter["namespace_id"] = self._namespace
        return filter

    def _one(self, session_id: str, student_id: str) -> dict[str, Any]:
        return self._filter(session_id, _id=record_id(session_id, student_id), student_id=student_id)

    # -- reads --------------------------------------------------------------------
    async def of_session(self, session_id: str, *, session: Any = None) -> dict[str, Student]:
        """Every student of the session, by id (the instructor's full view)."""
        reader = self._state.reader(SESSION_STUDENTS)
        filter, order = self._filter(session_id), [("student_id", ASCENDING)]
        if reader is not None:  # decoded naive where that gives the same students (``_naive_reads``)
            records = await reader.find(filter, _STUDENT_PROJECTION, _naive_suffices, sort=order, session=session)
            # Built by the model's derived validator (``_stored_reads``): 30 students 61 -> 32 us.
            return {student.id: student for student in naive_students(records)}
        found = self._collection.find(filter, _STUDENT_PROJECTION, session=session)
        records = await found.sort(order).to_list(None)
        return {student.id: student for student in map(student_from_record, records)}

    async def get(self, session_id: str, student_id: str) -> Student | None:
        session_id = require_id(session_id)
        student_id = check_student_id(student_id)
        raw = await self._collection.find_one(self._one(session_id, student_id), _STUDENT_PROJECTION)
        return None if raw is None else student_from_record(raw)

    async def page(self, session_id: str, limit: int, cursor: str | None) -> Page[Student]:
        """By student id, code point order (MongoDB's simple collation on UTF-8): keyset on the id."""
        session_id = require_id(session_id)
        page = roster(limit, cursor)
        filter = self._filter(session_id)
        if page.after is not None:
            filter["student_id"] = {"$gt": page.after}
        found = self._collection.find(filter, _STUDENT_PROJECTION).sort([("student_id", ASCENDING)]).limit(page.fetch)
        return page.page(await found.to_list(None), lambda raws: [student_from_record(raw) for raw in raws])

    async def count(self, session_id: str) -> int:
        count: int = await self._collection.count_documents(self._filter(require_id(session_id)))
        return count

    # -- writes (each given the driver session of the caller's transaction) --------
    def record(self, session_id: str, namespace: str, student: Student, now: datetime) -> dict[str, Any]:
        """The checked record of ``student`` (INVALID_DATA, before any write, if it cannot be stored)."""
        return student_record(session_id, namespace, student, now=now, actor=self._actor)

    async def put(self, record: Mapping[str, Any], now: datetime, *, session: Any = None) -> None:
        """Insert or replace one student's record (an idempotent upsert by ``_id``).

        A stored record whose metadata cannot take the update is STORAGE_ERROR naming
        it (MongoDB refuses such an update; mongomock ignores it, hence the check after).
        """
        filter = {"_id": record["_id"], "session_id": record["session_id"], "student_id": record["student_id"]}
        try:
            raw = await self._collection.find_one_and_update(
                filter,
                record_update(record, now, self._actor),
                upsert=True,
                projection={METADATA: 1},
                return_document=ReturnDocument.AFTER,
                session=session,
            )
        except OperationFailure as exc:
            if exc.code not in _DAMAGED_PATH_CODES:
                raise
            raise damaged("student record", record["_id"], f"cannot apply the update: {exc}") from None
        except (TypeError, ValueError, KeyError) as exc:
            raise damaged("student record", record["_id"], f"cannot apply the update: {exc}") from None
        stored_version(raw or {"_id": record["_id"]}, "student record")

    async def set_code(
        self, session_id: str, student_id: str, code: str, now: datetime, *, session: Any = None
    ) -> Student:
        """Set one student's code; NOT_FOUND when the session has no such student."""
        raw = await self._collection.find_one_and_update(
            self._one(session_id, student_id),
            {
                "$set": {
                    "code": code,
                    "last_update": now,
                    f"{METADATA}.updated_at": now,
                    f"{METADATA}.modified_by": self._actor,
                },
                "$inc": {f"{METADATA}.version": 1},
            },
            projection=_STUDENT_PROJECTION,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if raw is None:
            raise student_not_found(session_id, student_id)
        return student_from_record(raw)

    async def replace_class(
        self, session_id: str, records: list[dict[str, Any]], now: datetime, *, session: Any = None
    ) -> None:
        """Make the session's class exactly ``records`` (checked ones): others deleted, these written."""
        await self._collection.delete_many(
            self._filter(session_id, student_id={"$nin": [record["student_id"] for record in records]}),
            session=session,
        )
        for record in records:
            await self.put(record, now, session=session)

    async def delete_all(self, session_id: str, *, session: Any = None) -> None:
        await self._collection.delete_many(self._filter(session_id), session=session)
