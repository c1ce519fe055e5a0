"""The revisions repository on SQLite: every snapshot of a student's code.

All reads walk the (session_id, student_id, timestamp, id) index; the instructor's
overview takes, per student of the session, the last entry of that student's range.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from .._arguments import check_sequence, revalidated
from .._backend_common import damaged, revisions_taken
from .._errors import ErrorCode, PersistenceError
from .._listing import revision_stream
from .._mapping import METADATA, check_document, from_document, require_id, sized_encoding
from .._models import CodeRevision
from .._namespace_rules import refuse_revisions_elsewhere, revision_sessions_to_check
from .._page import Page
from .._plain import plain_new_body
from ._codec import time_key
from ._repository import OFF_LOOP_BATCH, SqliteRepository
from ._tables import decode_row, insert_document

__all__ = ["SqliteRevisionRepository"]

# A save stamps its revision with the time: what ``_time.utc_now`` gives, in 0.33 us instead of 1.18.
_MICROSECONDS = tuple(timedelta(microseconds=micro) for micro in range(1000))


def to_ms(now: datetime) -> datetime:
    """``_time.to_utc_ms`` of an aware UTC datetime: truncated by subtraction, not ``replace`` (which
    parses keywords); a table, not ``timedelta(microseconds=...)`` (the same)."""
    return now - _MICROSECONDS[now.microsecond % 1000]


def utc_now() -> datetime:
    return to_ms(datetime.now(UTC))


class SqliteRevisionRepository(SqliteRepository[CodeRevision]):
    collection_name = "revisions"
    model = CodeRevision

    def _new_row(self, revision: object) -> tuple[dict[str, Any], bytes]:
        """``to_document(self._prepared(revision))``, without the stamped copy of the model between.

        The same checks and the same document (the caller's revision validated again from its
        dump, the view's namespace, fresh metadata); a save returns only the id, so the model
        copy that ``_prepared`` makes for it was a third of the work of a save on the loop.
        """
        plain = plain_new_body(revision)  # the usual revision: checked by hand, as pydantic would
        if plain is None:
            checked = revalidated(CodeRevision, revision)
            item_id, body = checked.id, checked.model_dump(exclude={"id", "metadata"})
        else:
            item_id, body, _ = plain
        now = utc_now()
        if self._namespace is not None:
            body["namespace_id"] = self._namespace
        actor = self._actor
        metadata = {"created_at": now, "updated_at": now, "version": 1, "created_by": actor, "modified_by": actor}
        document = {"_id": item_id, **body, METADATA: metadata}
        what = f"CodeRevision {item_id!r}"
        if plain is None or plain[2]:
            check_document(document, what, size=False)
        # The BSON that measures it is the one stored: one encoding a save, not two.
        return document, sized_encoding(document, what)

    async def save_revision(self, revision: CodeRevision) -> str:
        document, blob = self._new_row(revision)
        session_id: str = document["session_id"]

        def insert(connection: sqlite3.Connection) -> None:
            if self._namespace is not None:  # the root view may save into any session
                self._refuse_other_namespaces_sessions(connection, [session_id])
            insert_document(connection, "revisions", document, blob=blob)

        # The root view's save is the INSERT alone; a namespace view's also reads sessions first.
        await self._db.write(insert, one_statement=self._namespace is None)
        return str(document["_id"])

    async def save_revisions(self, revisions: Sequence[CodeRevision]) -> list[str]:
        """Save many revisions in one transaction; their ids in the order given.

        As on MongoDB (an unordered bulk insert), a revision whose id is taken is
        refused and the others are written; the error names the refused ones.
        """
        given = check_sequence(revisions, "revisions", "CodeRevision")
        if not given:
            return []

        def prepare() -> list[tuple[dict[str, Any], bytes]]:
            return [self._new_row(revision) for revision in given]

        # Checking and encoding a large batch takes a while: not on the event loop.
        prepared = await asyncio.to_thread(prepare) if len(given) > OFF_LOOP_BATCH else prepare()
        documents = [document for document, _ in prepared]

        def insert(connection: sqlite3.Connection) -> list[str]:
            self._refuse_other_namespaces_sessions(connection, [document["session_id"] for document in documents])
            taken: list[str] = []
            for document, blob in prepared:
                try:
                    insert_document(connection, "revisions", document, blob=blob)
                except PersistenceError as exc:
                    if exc.code is not ErrorCode.ALREADY_EXISTS:
                        raise
                    taken.append(document["_id"])
            return taken

        taken = await self._db.write(insert)
        if taken:
            raise revisions_taken(taken)
        return [document["_id"] for document in documents]

    def _refuse_other_namespaces_sessions(self, connection: sqlite3.Connection, session_ids: list[str]) -> None:
        """The rule of ``_namespace_rules``; here, looked up in the write's own transaction,
        so no session can move in between."""
        ids = revision_sessions_to_check(self._namespace, session_ids)
        for start in range(0, len(ids), 500):  # SQLite's limit on bound parameters
            chunk = ids[start : start + 500]
            other = connection.execute(
                f"SELECT id FROM sessions WHERE id IN ({','.join('?' * len(chunk))}) AND namespace_id IS NOT ? LIMIT 1",
                [*chunk, self._namespace],
            ).fetchone()
            refuse_revisions_elsewhere(self._namespace, None if other is None else other[0])

    async def get_revision(self, revision_id: str) -> CodeRevision | None:
        return await self._get(require_id(revision_id))

    async def get_revisions(
        self,
        session_id: str,
        student_id: str,
        *,
        limit: int | None = None,
        after: datetime | str | None = None,
        cursor: str | None = None,
    ) -> Page[CodeRevision]:
        """One student's revisions in a session, oldest first; with ``limit``, a keyset cursor continues."""
        conditions, arguments = self._stream(session_id, student_id)
        stream = revision_stream(limit, after, cursor)
        if stream.after is not None:
            conditions.append("timestamp > ?")
            arguments.append(time_key(stream.after))
        if stream.position is not None:
            timestamp, last_id = stream.position
            conditions.append("(timestamp, id) > (?, ?)")
            arguments += [time_key(timestamp), last_id]
        sql = f"SELECT doc, checksum FROM revisions WHERE {' AND '.join(conditions)} ORDER BY timestamp, id"
        if stream.fetch is not None:
            sql += " LIMIT ?"
            arguments.append(stream.fetch)

        def read(connection: sqlite3.Connection) -> Page[CodeRevision]:
            return stream.page(connection.execute(sql, arguments).fetchall(), self._items)

        return await self._db.read(read, one_statement=True)

    async def get_latest_revision(self, session_id: str, student_id: str) -> CodeRevision | None:
        conditions, arguments = self._stream(session_id, student_id)
        sql = (
            f"SELECT doc, checksum FROM revisions WHERE {' AND '.join(conditions)} "
            "ORDER BY timestamp DESC, id DESC LIMIT 1"
        )

        def read(connection: sqlite3.Connection) -> CodeRevision | None:
            items = self._items(connection.execute(sql, arguments).fetchall())
            return items[0] if items else None

        return await self._db.read(read, one_statement=True)

    async def get_latest_revisions(self, session_id: str) -> dict[str, CodeRevision]:
        """The newest revision of every student of a session: the instructor's overview.

        One statement on the (session, student, timestamp, id) index: the cost follows
        the number of students, not of revisions.
        """
        session_id = require_id(session_id, "session id")
        scope = "" if self._namespace is None else " AND namespace_id = ?2"
        arguments = [session_id] if self._namespace is None else [session_id, self._namespace]
        # A loose index scan: each student is one seek past the previous one, not a walk
        # over all its revisions; then one seek to the end of each student's range (flag 0).
        # That scan skips revisions whose student_id is not text (written through
        # Store.documents): one more seek on the same index finds one, to name it (flag 1).
        # One statement: one snapshot without BEGIN/COMMIT around it.
        sql = f"""
            WITH RECURSIVE students(student_id) AS (
                SELECT min(student_id) FROM revisions WHERE session_id = ?1{scope}
                UNION ALL
                SELECT (SELECT min(student_id) FROM revisions
                        WHERE session_id = ?1 AND student_id > students.student_id{scope})
                FROM students WHERE students.student_id IS NOT NULL
            )
            SELECT * FROM (
                SELECT 1, doc, checksum FROM revisions WHERE session_id = ?1 AND student_id IS NULL{scope} LIMIT 1
            )
            UNION ALL
            SELECT 0, revisions.doc, revisions.checksum FROM students JOIN revisions ON revisions.id = (
                SELECT id FROM revisions WHERE session_id = ?1 AND student_id = students.student_id{scope}
                ORDER BY timestamp DESC, id DESC LIMIT 1
            )
            WHERE students.student_id IS NOT NULL
        """

        def read(connection: sqlite3.Connection) -> dict[str, CodeRevision]:
            rows = connection.execute(sql, arguments).fetchall()
            for _, blob, digest in (row for row in rows if row[0]):
                document = decode_row((blob, digest), self._path, "revisions")
                from_document(CodeRevision, document)  # STORAGE_ERROR naming it, with what is wrong
                raise damaged("CodeRevision", document.get("_id"), f"student_id is {document.get('student_id')!r}")
            revisions = self._items([(blob, digest) for _, blob, digest in rows])
            return {revision.student_id: revision for revision in sorted(revisions, key=lambda r: r.student_id)}

        return await self._db.read(read, one_statement=True)

    async def get_all_session_revisions(self, session_id: str) -> dict[str, list[CodeRevision]]:
        """Every revision of a session, per student, oldest first."""
        conditions, arguments = self._scope(["session_id = ?"], [require_id(session_id, "session id")])
        sql = f"SELECT doc, checksum FROM revisions WHERE {' AND '.join(conditions)} ORDER BY student_id, timestamp, id"

        def read(connection: sqlite3.Connection) -> dict[str, list[CodeRevision]]:
            streams: dict[str, list[CodeRevision]] = {}
            for revision in self._items(connection.execute(sql, arguments).fetchall()):
                streams.setdefault(revision.student_id, []).append(revision)
            return streams

        return await self._db.read(read, one_statement=True)

    async def count_revisions(self, session_id: str, student_id: str | None = None) -> int:
        return await self._count(self._session_filter(session_id, student_id))

    async def delete_revisions(self, session_id: str, student_id: str | None = None) -> int:
        """Delete a session's revisions (or one student's); how many were deleted."""
        conditions, arguments = self._scope(*self._session_filter(session_id, student_id))
        sql = f"DELETE FROM revisions WHERE {' AND '.join(conditions)}"

        def delete(connection: sqlite3.Connection) -> int:
            return connection.execute(sql, arguments).rowcount

        return await self._db.write(delete)

    @staticmethod
    def _session_filter(session_id: str, student_id: str | None) -> tuple[list[str], list[Any]]:
        conditions = ["session_id = ?"]
        arguments: list[Any] = [require_id(session_id, "session id")]
        if student_id is not None:
            conditions.append("student_id = ?")
            arguments.append(require_id(student_id, "student id"))
        return conditions, arguments

    def _stream(self, session_id: str, student_id: str) -> tuple[list[str], list[Any]]:
        return self._scope(
            ["session_id = ?", "student_id = ?"],
            [require_id(session_id, "session id"), require_id(student_id, "student id")],
        )
