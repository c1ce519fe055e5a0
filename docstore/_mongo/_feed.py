"""The live feed of ``mongodb://``: one change stream, filtered on the server to one session.

What it needs from the deployment: a replica set or a sharded cluster (a standalone
``mongod`` has no change streams: entering is UNAVAILABLE saying so) and the oplog
window as retention (a position older than the oplog is EXPIRED). No pre-images: a
deleted student's id is read from the record's ``_id`` (``<session>/<student>``).

The stream watches the database, matched to the three collections and to this session
(``fullDocument.session_id`` for records and revisions, ``documentKey._id`` for the
session itself and for deletions) and, for a namespace view, to its namespace.
``fullDocument: "updateLookup"`` gives the state after each update. A ``record_code`` is
one transaction writing the student's record and the revision: its two events are one
change (``merge_posts``), at the revision's position. Positions wrap resume tokens.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any
from urllib.parse import unquote

from pymongo.errors import OperationFailure, PyMongoError

from .._backend_common import not_found
from .._changes import SessionChange, SessionFeed, decode_token_position, encode_position
from .._errors import ErrorCode, PersistenceError
from .._feed import merge_posts
from .._mapping import from_document, require_id
from .._models import CodeRevision, Session
from .._students import SESSION_STUDENTS, student_from_record
from ._beanie_models import REVISIONS, SESSIONS
from ._driver_errors import translate_error

__all__ = ["MongoFeed", "change_fields", "session_pipeline"]

# Server error codes: change streams need a replica set; the resume point left the oplog.
_NO_CHANGE_STREAMS = {40573, 40324}
_HISTORY_LOST = {286, 280, 136}


def session_pipeline(session_id: str, namespace: str | None) -> list[dict[str, Any]]:
    """The server-side filter of one session's feed (a namespace view's only, when given)."""
    records = {"$regex": f"^{re.escape(session_id)}/[^/]*$"}
    match: dict[str, Any] = {
        "ns.coll": {"$in": [SESSIONS, SESSION_STUDENTS, REVISIONS]},
        "operationType": {"$in": ["insert", "update", "replace", "delete"]},
        "$or": [
            {"ns.coll": SESSIONS, "documentKey._id": session_id},
            {"ns.coll": SESSION_STUDENTS, "documentKey._id": records},
            {"ns.coll": REVISIONS, "operationType": "insert", "fullDocument.session_id": session_id},
        ],
    }
    if namespace is not None:
        # Deletions carry no document: they are keyed by this session's own ids, checked on entering.
        match["$and"] = [{"$or": [{"fullDocument.namespace_id": namespace}, {"operationType": "delete"}]}]
    return [{"$match": match}]


def change_fields(session_id: str, event: dict[str, Any]) -> dict[str, Any] | None:
    """A change event as the fields of a ``SessionChange`` (without position); None to skip it."""
    collection = event["ns"]["coll"]
    operation = event["operationType"]
    document = event.get("fullDocument")
    fields: dict[str, Any] = {"session_id": session_id}
    if collection == SESSIONS:
        if operation == "delete":
            return {**fields, "kind": "session_deleted"}
        if document is None:
            return None  # updated, then deleted before the lookup: the deletion follows
        description = event.get("updateDescription") or {}
        updated = description.get("updatedFields") or {}
        if operation == "update" and set(updated) <= {"last_activity"} and not description.get("removedFields"):
            return None  # the once-a-second activity mark of posts: not a change of the session
        ended = operation == "update" and updated.get("active") is False
        session = from_document(Session, document).model_copy(update={"students": {}})
        return {**fields, "kind": "session_ended" if ended else "session_changed", "session": session}
    if collection == SESSION_STUDENTS:
        if operation == "delete":
            student_id = unquote(str(event["documentKey"]["_id"]).rsplit("/", 1)[-1])
            return {**fields, "kind": "student_removed", "student_id": student_id}
        if document is None:
            return None
        student = student_from_record(document)
        kind = "student_joined" if operation == "insert" else "student_changed"
        return {**fields, "kind": kind, "student_id": student.id, "student": student}
    if document is None:
        return None
    revision = from_document(CodeRevision, document)
    return {**fields, "kind": "revision_saved", "student_id": revision.student_id, "revision": revision}


_LOG = "mongo"  # the "log" of a change stream's positions: its resume tokens


def _stream_error(exc: PyMongoError) -> PersistenceError:
    if isinstance(exc, OperationFailure) and exc.code in _NO_CHANGE_STREAMS:
        return PersistenceError(
            ErrorCode.UNAVAILABLE, "the live feed needs a replica set or a sharded cluster (change streams)"
        )
    if isinstance(exc, OperationFailure) and exc.code in _HISTORY_LOST:
        return PersistenceError(
            ErrorCode.EXPIRED, "the feed position has left the oplog; read a snapshot and watch again"
        )
    if isinstance(exc, OperationFailure) and exc.code in (9, 260):  # a resume token that is not one
        return PersistenceError(ErrorCode.INVALID_DATA, "unknown feed position")
    return translate_error(exc)


class MongoFeed(SessionFeed):
    """One session's change stream, confined to a namespace view."""

    def __init__(self, database: Any, session_id: str, after: str | None, namespace: str | None, visible: Any) -> None:
        self._database = database
        self._session_id = require_id(session_id, "session id")
        self._after = after
        self._namespace = namespace
        self._visible = visible
        self._stream: Any = None
        self._pending: tuple[Any, dict[str, Any]] | None = None
        self._ended = False
        self._sequence = 0  # local numbering of events, for merge_posts

    async def _open(self) -> None:
        token = None
        if self._after is not None:
            token = {"_data": decode_token_position(self._after, _LOG, self._session_id)}
        if not await self._visible():
            raise not_found("Session", self._session_id)
        try:
            self._stream = await self._database.watch(
                session_pipeline(self._session_id, self._namespace), full_document="updateLookup", resume_after=token
            )
        except PyMongoError as exc:
            raise _stream_error(exc) from None
        self.position = self._after or encode_position(_LOG, self._session_id, self._stream.resume_token["_data"])

    async def _event(self, wait: bool) -> tuple[Any, dict[str, Any]] | None:
        """The next relevant event with its resume token (None: none ready, when not waiting)."""
        while True:
            try:
                event = await (self._stream.next() if wait else self._stream.try_next())
            except StopAsyncIteration:
                return None
            except PyMongoError as exc:
                raise _stream_error(exc) from None
            if event is None:
                return None
            if event.get("operationType") == "invalidate":
                self._ended = True
                return None
            fields = change_fields(self._session_id, event)
            if fields is not None:
                return event["_id"], fields

    async def _next(self) -> SessionChange | None:
        if self._ended:
            return None
        found = self._pending or await self._event(wait=True)
        self._pending = None
        if found is None:
            return None
        token, fields = found
        if fields["kind"] in ("student_changed", "revision_saved"):
            # The other half of a post commits in the same transaction: it is ready now, if there is one.
            following = await self._event(wait=False)
            if following is not None:
                merged = merge_posts([(1, fields), (2, following[1])])
                if len(merged) == 1:
                    token, fields = following[0], merged[0][1]
                else:
                    self._pending = following
        self.position = encode_position(_LOG, self._session_id, token["_data"])
        if fields["kind"] == "session_deleted":
            self._ended = True
        return SessionChange(position=self.position, **fields)

    async def _close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(PyMongoError):
                await stream.close()
