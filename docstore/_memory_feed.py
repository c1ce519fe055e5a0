"""The live feed of ``memory://``: an in-process change log, filled by the repositories' writes.

``memory://`` lives in one process, so its log is a list in memory: every write made
through the store's repositories appends its change once it has been made, and wakes
the feeds waiting on the log. Writes through ``store.documents`` (import, restore) are
not changes of the feed.

Retention: the newest ``MAX_CHANGES`` changes and at most ``RETENTION_S`` seconds of
them; a feed whose position falls out of it gets EXPIRED.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Sequence
from typing import Any

from ._changes import RETENTION_S, ChangeKind, SessionFeed
from ._errors import ErrorCode, PersistenceError
from ._feed import LogEntry, LogFeed, LogRead, copied
from ._forwarding import forwarded
from ._interfaces import RevisionRepository, SessionDeletion, SessionRepository
from ._models import CodeRevision, ExecutionResult, Session, Student

__all__ = ["MemoryChangeLog", "RecordingRevisions", "RecordingSessions"]

MAX_CHANGES = 100_000


class MemoryChangeLog:
    """The store's changes, oldest first, with the namespace each belongs to."""

    def __init__(self, max_changes: int = MAX_CHANGES, retention_s: float = RETENTION_S) -> None:
        self.name = f"memory-{uuid.uuid4().hex}"
        self._max_changes = max_changes
        self._retention_s = retention_s
        self._sequence = 0
        # (sequence, time, session id, namespace, fields)
        self._entries: deque[tuple[int, float, str, str | None, dict[str, Any]]] = deque()
        self._by_session: dict[str, deque[tuple[int, str | None, dict[str, Any]]]] = {}
        self._trimmed: dict[str, int] = {}
        self._waiters: set[asyncio.Future[None]] = set()
        self._closed = False

    def append(self, kind: ChangeKind, session_id: str, namespace: str | None, **fields: Any) -> None:
        """Record one committed change and wake the feeds."""
        self._sequence += 1
        change = {"kind": kind, "session_id": session_id, **fields}
        now = time.monotonic()
        self._entries.append((self._sequence, now, session_id, namespace, change))
        self._by_session.setdefault(session_id, deque()).append((self._sequence, namespace, change))
        self._trim(now)
        self._wake()

    def _trim(self, now: float) -> None:
        while self._entries and (
            len(self._entries) > self._max_changes or self._entries[0][1] < now - self._retention_s
        ):
            sequence, _, session_id, _, _ = self._entries.popleft()
            per_session = self._by_session[session_id]
            per_session.popleft()
            self._trimmed[session_id] = sequence
            if not per_session:
                del self._by_session[session_id]

    async def read(self, session_id: str, namespace: str | None, after: int, limit: int) -> LogRead:
        if self._closed:
            raise PersistenceError(ErrorCode.STORAGE_ERROR, "the store is shut down")
        self._trim(time.monotonic())
        found: list[LogEntry] = []
        # Newest last: walk back to ``after``, then hand them out oldest first.
        for sequence, entry_namespace, change in reversed(self._by_session.get(session_id, ())):
            if sequence <= after:
                break
            if namespace is None or entry_namespace == namespace:
                found.append((sequence, copied(change)))
        found.reverse()
        return LogRead(found[:limit], self._sequence, self._trimmed.get(session_id, 0))

    async def holds(self, session_id: str, namespace: str | None) -> bool:
        entries = self._by_session.get(session_id, ())
        return any(namespace is None or entry_namespace == namespace for _, entry_namespace, _ in entries)

    def arm(self) -> asyncio.Future[None]:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._closed:
            waiter.set_result(None)
        else:
            self._waiters.add(waiter)
        return waiter

    def close(self) -> None:
        """Wake every feed (the store shuts down: their next step says so)."""
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


class RecordingSessions(SessionRepository):
    """A view's sessions repository whose writes append their changes to the log (``memory://``).

    Reads are ``_inner``'s, as they are (``forwarded``)."""

    def __init__(self, inner: SessionRepository, log: MemoryChangeLog, namespace: str | None) -> None:
        self._inner, self._log, self._namespace = inner, log, namespace

    def watch(self, session_id: str, *, after: str | None = None) -> SessionFeed:
        async def visible() -> bool:
            return await self._inner.get_session(session_id, include_students=False) is not None

        return LogFeed(self._log, session_id, after, self._namespace, visible)

    def _session_changed(self, kind: ChangeKind, session: Session) -> None:
        light = session.model_copy(update={"students": {}}, deep=True)
        self._log.append(kind, session.id, session.namespace_id, session=light)

    async def create_session(self, session: Session) -> str:
        session_id = await self._inner.create_session(session)
        created = await self._inner.get_session(session_id)
        if created is not None:
            self._session_changed("session_changed", created)
            for student in created.students.values():
                self._log.append(
                    "student_joined", session_id, created.namespace_id, student_id=student.id, student=student
                )
        return session_id

    async def update_session(
        self, session_id: str, updates: dict[str, Any], *, expected_version: int | None = None
    ) -> Session:
        replaces_class = isinstance(updates, dict) and "students" in updates
        before = await self._inner.get_session(session_id) if replaces_class else None
        was_active = isinstance(updates, dict) and updates.get("active") is False and await self._active(session_id)
        session = await self._inner.update_session(session_id, updates, expected_version=expected_version)
        # Deactivating is ending, as every engine tells it (a session that goes from active to not).
        self._session_changed("session_ended" if was_active and not session.active else "session_changed", session)
        if before is not None:
            after = await self._inner.get_session(session_id)
            for student_id in set(before.students) - set(after.students if after else ()):
                self._log.append("student_removed", session_id, session.namespace_id, student_id=student_id)
            for student in (after.students if after else {}).values():
                kind: ChangeKind = "student_changed" if student.id in before.students else "student_joined"
                self._log.append(kind, session_id, session.namespace_id, student_id=student.id, student=student)
        return session

    async def end_session(self, session_id: str) -> Session:
        session = await self._inner.end_session(session_id)
        self._session_changed("session_ended", session)
        return session

    async def delete_session(self, session_id: str, *, cascade: bool = True) -> SessionDeletion:
        session = await self._inner.get_session(session_id, include_students=False)
        deletion = await self._inner.delete_session(session_id, cascade=cascade)
        self._log.append("session_deleted", session_id, session.namespace_id if session else self._namespace)
        return deletion

    async def upsert_student(self, session_id: str, student: Student) -> Session:
        existed = isinstance(student, Student) and await self._inner.get_student(session_id, student.id) is not None
        session = await self._inner.upsert_student(session_id, student)
        stored = await self._inner.get_student(session_id, student.id)
        if stored is not None:
            kind: ChangeKind = "student_changed" if existed else "student_joined"
            self._log.append(kind, session_id, session.namespace_id, student_id=stored.id, student=stored)
        return session

    async def update_student_code(self, session_id: str, student_id: str, code: str) -> Student:
        student = await self._inner.update_student_code(session_id, student_id, code)
        namespace = await self._namespace_of(session_id)
        self._log.append("student_changed", session_id, namespace, student_id=student.id, student=student)
        return student

    async def record_code(
        self, session_id: str, student_id: str, code: str, execution_result: ExecutionResult | None = None
    ) -> CodeRevision:
        revision = await self._inner.record_code(session_id, student_id, code, execution_result)
        student = await self._inner.get_student(session_id, student_id)
        self._log.append(
            "revision_saved",
            session_id,
            revision.namespace_id,
            student_id=student_id,
            student=student,
            revision=revision,
        )
        return revision

    async def _active(self, session_id: str) -> bool:
        session = await self._inner.get_session(session_id, include_students=False)
        return session is not None and session.active

    async def _namespace_of(self, session_id: str) -> str | None:
        session = await self._inner.get_session(session_id, include_students=False)
        return session.namespace_id if session is not None else self._namespace


class RecordingRevisions(RevisionRepository):
    """A view's revisions repository whose saves append ``revision_saved`` changes (``memory://``)."""

    def __init__(self, inner: RevisionRepository, log: MemoryChangeLog) -> None:
        self._inner, self._log = inner, log

    async def save_revision(self, revision: CodeRevision) -> str:
        revision_id = await self._inner.save_revision(revision)
        await self._saved([revision_id])
        return revision_id

    async def save_revisions(self, revisions: Sequence[CodeRevision]) -> list[str]:
        ids = await self._inner.save_revisions(revisions)
        await self._saved(ids)
        return ids

    async def _saved(self, ids: list[str]) -> None:
        # Read back what was stored (the namespace it was filed in), in the order given.
        for revision_id in ids:
            stored = await self._inner.get_revision(revision_id)
            if stored is not None:
                self._log.append(
                    "revision_saved",
                    stored.session_id,
                    stored.namespace_id,
                    student_id=stored.student_id,
                    revision=stored,
                )


def recording(
    sessions: SessionRepository, revisions: RevisionRepository, log: MemoryChangeLog, namespace: str | None
) -> tuple[SessionRepository, RevisionRepository]:
    """The two repositories of a ``memory://`` view, recording their writes in ``log``."""
    return recording_sessions(sessions, log, namespace), recording_revisions(revisions, log)


recording_sessions = forwarded(RecordingSessions)
recording_revisions = forwarded(RecordingRevisions)
