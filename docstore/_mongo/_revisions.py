"""The revisions repository: every snapshot of a student's code, for the instructor's review."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import BulkWriteError, DuplicateKeyError

from .._arguments import check_sequence
from .._backend_common import already_exists, revisions_taken
from .._listing import revision_stream
from .._mapping import from_document, require_id, to_document
from .._models import CodeRevision
from .._naive_times import naive_times_suffice
from .._namespace_rules import refuse_revisions_elsewhere, revision_sessions_to_check
from .._page import Page
from .._stored_reads import naive_items
from ._beanie_models import REVISIONS, SESSIONS
from ._driver_errors import translated
from ._repository import Repository

__all__ = ["MongoRevisionRepository"]

# Oldest first; ties (same millisecond) broken by id so every engine agrees.
_CHRONOLOGICAL = [("timestamp", ASCENDING), ("_id", ASCENDING)]
_DUPLICATE_KEY = 11000


class MongoRevisionRepository(Repository[CodeRevision]):
    collection_name = REVISIONS
    model = CodeRevision

    @translated
    async def save_revision(self, revision: CodeRevision) -> str:
        item = self._prepared(revision)
        await self._refuse_other_namespaces_sessions([item])
        try:
            await self._collection.insert_one(to_document(item))
        except DuplicateKeyError:
            raise already_exists("revision", item.id) from None
        return item.id

    @translated
    async def save_revisions(self, revisions: Sequence[CodeRevision]) -> list[str]:
        """Save many revisions in one bulk write; their ids in the order given."""
        items = [self._prepared(revision) for revision in check_sequence(revisions, "revisions", "CodeRevision")]
        if not items:
            return []
        await self._refuse_other_namespaces_sessions(items)
        try:
            await self._collection.insert_many([to_document(item) for item in items], ordered=False)
        except BulkWriteError as exc:
            write_errors = exc.details.get("writeErrors", [])
            concern_errors = exc.details.get("writeConcernErrors", [])
            if concern_errors or not write_errors or any(e.get("code") != _DUPLICATE_KEY for e in write_errors):
                # A write-concern error (every write done, not yet safe) or another failure:
                # not a duplicate, whatever else went wrong (``translate_error`` tells).
                raise
            # Unordered: every other revision was written; name the ones that were not.
            taken = [items[error["index"]].id for error in write_errors]
            raise revisions_taken(taken) from None
        return [item.id for item in items]

    async def _refuse_other_namespaces_sessions(self, items: Sequence[CodeRevision]) -> None:
        """The rule of ``_namespace_rules``; here, one lookup by ``_id`` for the whole call."""
        ids = revision_sessions_to_check(self._namespace, (item.session_id for item in items))
        if not ids:
            return
        other = await self._state.collection(SESSIONS).find_one(
            {"_id": {"$in": ids}, "namespace_id": {"$ne": self._namespace}}, {"_id": 1}
        )
        refuse_revisions_elsewhere(self._namespace, None if other is None else other["_id"])

    @translated
    async def get_revision(self, revision_id: str) -> CodeRevision | None:
        return await self._find_one({"_id": require_id(revision_id)})

    @translated
    async def get_revisions(
        self,
        session_id: str,
        student_id: str,
        *,
        limit: int | None = None,
        after: datetime | str | None = None,
        cursor: str | None = None,
    ) -> Page[CodeRevision]:
        """One student's revisions in a session, oldest first (only those after ``after``).

        With ``limit``, the page's ``next_cursor`` continues the stream by keyset.
        """
        filter: dict[str, Any] = self._stream(session_id, student_id)
        stream = revision_stream(limit, after, cursor)
        conditions: list[dict[str, Any]] = [self._scoped(filter)]
        if stream.after is not None:
            conditions.append({"timestamp": {"$gt": stream.after}})
        if stream.position is not None:
            timestamp, last_id = stream.position
            conditions.append(
                {"$or": [{"timestamp": {"$gt": timestamp}}, {"timestamp": timestamp, "_id": {"$gt": last_id}}]}
            )
        query = conditions[0] if len(conditions) == 1 else {"$and": conditions}
        found = self._collection.find(query).sort(_CHRONOLOGICAL)
        if stream.fetch is not None:
            found = found.limit(stream.fetch)
        return stream.page(await found.to_list(None), self._items)

    @translated
    async def get_latest_revision(self, session_id: str, student_id: str) -> CodeRevision | None:
        found = (
            self._collection.find(self._scoped(self._stream(session_id, student_id)))
            .sort([("timestamp", DESCENDING), ("_id", DESCENDING)])
            .limit(1)
        )
        raws = await found.to_list(None)
        return from_document(CodeRevision, raws[0]) if raws else None

    @translated
    async def get_latest_revisions(self, session_id: str) -> dict[str, CodeRevision]:
        """The newest revision of every student of a session: the instructor's overview.

        One aggregation that walks the (session, student, timestamp) index backwards.
        """
        # The $sort matches an index exactly (the scoped one starts with the namespace),
        # which lets MongoDB answer $group/$first with a DISTINCT_SCAN: one index probe per
        # student instead of reading every revision of the session.
        order = {"session_id": 1, "student_id": 1, "timestamp": -1, "_id": -1}
        if self._namespace is not None:
            order = {"namespace_id": 1, **order}
        pipeline: list[dict[str, Any]] = [
            {"$match": self._scoped({"session_id": require_id(session_id, "session id")})},
            {"$sort": order},
            {"$group": {"_id": "$student_id", "latest": {"$first": "$$ROOT"}}},
        ]
        reader = self._state.reader(REVISIONS)
        if reader is not None:  # decoded naive where that gives the same revisions (``_naive_reads``)
            rows = await reader.aggregate(pipeline, _latest_suffices)
            # Built by the model's derived validator (``_stored_reads``): 30 revisions 90 -> 78 us.
            latest = naive_items(CodeRevision, [row["latest"] for row in sorted(rows, key=_by_id)])
        else:
            rows = await (await self._collection.aggregate(pipeline)).to_list(None)
            latest = [from_document(CodeRevision, row["latest"]) for row in sorted(rows, key=_by_id)]
        return {revision.student_id: revision for revision in latest}

    @translated
    async def get_all_session_revisions(self, session_id: str) -> dict[str, list[CodeRevision]]:
        """Every revision of a session, per student, oldest first."""
        filter = self._scoped({"session_id": require_id(session_id, "session id")})
        # Students in descending order: that is the (student, newest first) index read
        # backwards, so each student's revisions come oldest first without a sort.
        found = self._collection.find(filter).sort([("student_id", DESCENDING), *_CHRONOLOGICAL])
        streams: dict[str, list[CodeRevision]] = {}
        async for raw in found:
            # Validated before it is keyed: a damaged student_id is STORAGE_ERROR naming the revision.
            revision = from_document(CodeRevision, raw)
            streams.setdefault(revision.student_id, []).append(revision)
        return {student: streams[student] for student in sorted(streams)}

    @translated
    async def count_revisions(self, session_id: str, student_id: str | None = None) -> int:
        filter: dict[str, Any] = {"session_id": require_id(session_id, "session id")}
        if student_id is not None:
            filter["student_id"] = require_id(student_id, "student id")
        return await self._count(filter)

    @translated
    async def delete_revisions(self, session_id: str, student_id: str | None = None) -> int:
        """Delete a session's revisions (or one student's); how many were deleted."""
        filter: dict[str, Any] = {"session_id": require_id(session_id, "session id")}
        if student_id is not None:
            filter["student_id"] = require_id(student_id, "student id")
        result = await self._collection.delete_many(self._scoped(filter))
        deleted: int = result.deleted_count
        return deleted

    @staticmethod
    def _stream(session_id: str, student_id: str) -> dict[str, Any]:
        return {
            "session_id": require_id(session_id, "session id"),
            "student_id": require_id(student_id, "student id"),
        }


def _latest_suffices(row: Mapping[str, Any]) -> bool:
    """Whether an overview row read naive gives the same revision (``_naive_reads``)."""
    latest = row.get("latest")
    # A dict (what the driver decodes) answered before the ABC check, ~0.1 us a row.
    return (type(latest) is dict or isinstance(latest, Mapping)) and naive_times_suffice(CodeRevision, latest)


def _by_id(row: dict[str, Any]) -> str:
    return str(row["_id"])
