"""The seam: what a store asks of a storage backend, and what business code asks of a store.

The seed's ``ISessionRepository``, ``IProblemRepository``, ``IRevisionRepository`` and
``IStorageBackend``, as ``typing.Protocol``s. Every backend (``_mongo/`` for
``mongodb://`` and ``memory://``, ``_sqlite/`` for ``local://``, ``_remote/`` for
``http(s)://``) implements them; nothing above this line knows which one runs.

Two surfaces:

- **Repositories** (``SessionRepository``, ``ProblemRepository``,
  ``RevisionRepository``): domain items in, domain items out, scoped to a namespace.
  Business code uses these only.
- **Documents** (``DocumentStore``, declared in ``_document_interfaces.py``): whole collections
  of *stored documents*, unscoped.
  For tools that move data wholesale (import, export, restore, stats, tokens).

A stored document is the canonical, engine-neutral form of an item
(``docstore._mapping.to_document``)::

    {"_id": "<id>", <the item's fields>, "_metadata": {created_at, updated_at, version,
     created_by, modified_by}}

with BSON-compatible values only (str, bool, int within 64 bits, float, None, aware UTC
datetimes in milliseconds, lists, dicts with string keys). Backends may keep derived fields
of their own (an index column, a content hash) but never hand them out: what
``iter_documents`` yields is what ``upsert_documents`` was given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NamedTuple, Protocol, runtime_checkable

from ._changes import SessionFeed
from ._document_interfaces import BatchResult, CollectionStats, DocumentStore, IndexAdministration, IndexStep
from ._models import CodeRevision, Difficulty, ExecutionResult, ProblemSpec, Session, Student
from ._page import Page

__all__ = [
    "BatchResult",
    "CollectionStats",
    "DocumentStore",
    "IndexAdministration",
    "IndexStep",
    "ProblemRepository",
    "ProblemSortKey",
    "Repositories",
    "RevisionRepository",
    "Scope",
    "SessionDeletion",
    "SessionRepository",
    "SessionSortKey",
    "SortOrder",
    "StorageBackend",
    "TagMatch",
]

SortOrder = Literal["asc", "desc"]
SessionSortKey = Literal["created_at", "last_activity", "join_code"]
ProblemSortKey = Literal["created_at", "title"]
TagMatch = Literal["any", "all"]


@dataclass(frozen=True)
class SessionDeletion:
    """What ``delete_session`` did."""

    session_id: str
    revisions_deleted: int
    # True: both deletes ran in one transaction. False: the engine has none (memory, a
    # standalone mongod), so they ran one after the other.
    transactional: bool


@dataclass(frozen=True)
class Scope:
    """Who is asking: the namespace a view is confined to (None: all) and the actor it records."""

    namespace: str | None = None
    actor: str | None = None


@runtime_checkable
class SessionRepository(Protocol):
    """An instructor's live sessions and their students (the seed's ``ISessionRepository``)."""

    async def create_session(self, session: Session) -> str:
        """Store a new session; its id. ALREADY_EXISTS if the id (in any namespace) or its active
        join code (in its namespace) is taken."""
        ...

    async def get_session(self, session_id: str, *, include_students: bool = True) -> Session | None:
        """The session, or None; with every student (the instructor's full view) unless ``include_students=False``.

        Without students (``students`` empty) it costs the same whatever the class size.
        """
        ...

    async def get_session_by_join_code(self, join_code: str, *, include_students: bool = True) -> Session | None:
        """The *active* session with this join code in the view's namespace (codes compared in
        ``normalize_join_code`` form; unscoped: the first namespace by name that has it), or None.

        ``include_students=False`` is what a joining student needs: the session without its class.
        """
        ...

    async def update_session(
        self, session_id: str, updates: dict[str, Any], *, expected_version: int | None = None
    ) -> Session:
        """Partial update; the session after it. NOT_FOUND, CONFLICT (version), INVALID_DATA, ALREADY_EXISTS.

        ``students`` in ``updates`` replaces the whole class (students not named are removed).
        Student posts never move the session's ``metadata.version``: ``expected_version``
        works during a busy class.
        """
        ...

    async def end_session(self, session_id: str) -> Session:
        """Mark the session inactive and set ``ended_at`` (its join code is free again)."""
        ...

    async def delete_session(self, session_id: str, *, cascade: bool = True) -> SessionDeletion:
        """Delete a session and (``cascade``) every revision written in it."""
        ...

    async def list_active_sessions(self, limit: int = 100, *, cursor: str | None = None) -> Page[Session]:
        """Active sessions, most recently active first, without their students (``students`` empty)."""
        ...

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
        """Sessions (without their students), filtered and sorted; ``cursor`` continues a listing by keyset."""
        ...

    async def count_sessions(self, *, active: bool | None = None, instructor_id: str | None = None) -> int:
        """How many sessions match."""
        ...

    def watch(self, session_id: str, *, after: str | None = None) -> SessionFeed:
        """The session's live feed: ``async with store.sessions.watch(id) as feed: async for change in feed``.

        Every change committed after the feed is entered, once, in commit order, each with
        the full new state of what changed (``SessionChange``); ``after`` continues right
        after an earlier change's ``position``. Entering refuses a session not in this view
        (NOT_FOUND), a bad position (INVALID_DATA) or one older than the store keeps
        (EXPIRED). After ``session_deleted`` the iteration ends.
        """
        ...

    async def get_student(self, session_id: str, student_id: str) -> Student | None:
        """One student of a session, or None (no such session in this view, or no such student)."""
        ...

    async def list_students(self, session_id: str, *, limit: int = 100, cursor: str | None = None) -> Page[Student]:
        """A session's students by id (code point order), a page at a time; empty for a session not in view."""
        ...

    async def count_students(self, session_id: str) -> int:
        """How many students a session has (0 for a session not in view)."""
        ...

    async def upsert_student(self, session_id: str, student: Student) -> Session:
        """Add or replace one student (their own record); the session without students.

        Costs one student whatever the class size; never conflicts with other students'
        writes or the instructor's ``update_session``. PERMISSION_DENIED on an ended session.
        """
        ...

    async def update_student_code(self, session_id: str, student_id: str, code: str) -> Student:
        """Set one student's code; the student after it. NOT_FOUND for a missing session/student.

        PERMISSION_DENIED (nothing written) on an ended session.
        """
        ...

    async def record_code(
        self, session_id: str, student_id: str, code: str, execution_result: ExecutionResult | None = None
    ) -> CodeRevision:
        """What every student post does: save a revision and set the student's code, together.

        One transaction where the engine has them; the session document is not rewritten.
        NOT_FOUND (and nothing written) when the session or the student does not exist;
        PERMISSION_DENIED (nothing written) when the session has ended, checked inside the
        write: a post racing ``end_session`` is kept whole or refused whole.
        """
        ...


@runtime_checkable
class ProblemRepository(Protocol):
    """The library of exercises (the seed's ``IProblemRepository``)."""

    async def save_problem(self, problem: ProblemSpec) -> str:
        """Insert the problem, or replace the stored one with the same id (version + 1); its id."""
        ...

    async def get_problem(self, problem_id: str) -> ProblemSpec | None:
        """The problem, or None."""
        ...

    async def update_problem(
        self, problem_id: str, updates: dict[str, Any], *, expected_version: int | None = None
    ) -> ProblemSpec:
        """Partial update; the problem after it."""
        ...

    async def delete_problem(self, problem_id: str) -> None:
        """Delete it; NOT_FOUND if there is none."""
        ...

    async def list_problems(
        self,
        *,
        difficulty: Difficulty | None = None,
        tags: list[str] | None = None,
        match: TagMatch = "any",
        created_by: str | None = None,
        sort_by: ProblemSortKey = "created_at",
        sort_order: SortOrder = "desc",
        limit: int = 50,
        offset: int = 0,
        cursor: str | None = None,
    ) -> Page[ProblemSpec]:
        """Problems filtered by difficulty, tags (any or all of them) and author."""
        ...

    async def count_problems(
        self,
        *,
        difficulty: Difficulty | None = None,
        tags: list[str] | None = None,
        match: TagMatch = "any",
        created_by: str | None = None,
    ) -> int:
        """How many problems match."""
        ...

    async def search_problems(self, query: str, limit: int = 20) -> Page[ProblemSpec]:
        """Problems with any whole word of ``query`` in title or description, title hits first."""
        ...

    async def tag_counts(self) -> dict[str, int]:
        """How many problems carry each tag, most used first."""
        ...


@runtime_checkable
class RevisionRepository(Protocol):
    """Every snapshot of a student's code (the seed's ``IRevisionRepository``)."""

    async def save_revision(self, revision: CodeRevision) -> str:
        """Store one revision; its id. ALREADY_EXISTS if the id is taken."""
        ...

    async def save_revisions(self, revisions: Sequence[CodeRevision]) -> list[str]:
        """Store many revisions at once; their ids in the order given."""
        ...

    async def get_revision(self, revision_id: str) -> CodeRevision | None:
        """The revision, or None."""
        ...

    async def get_revisions(
        self,
        session_id: str,
        student_id: str,
        *,
        limit: int | None = None,
        after: datetime | str | None = None,
        cursor: str | None = None,
    ) -> Page[CodeRevision]:
        """One student's revisions in a session, oldest first (only those after ``after``)."""
        ...

    async def get_latest_revision(self, session_id: str, student_id: str) -> CodeRevision | None:
        """A student's newest revision in a session, or None."""
        ...

    async def get_latest_revisions(self, session_id: str) -> dict[str, CodeRevision]:
        """The newest revision of every student of a session: the instructor's overview."""
        ...

    async def get_all_session_revisions(self, session_id: str) -> dict[str, list[CodeRevision]]:
        """Every revision of a session, per student, oldest first."""
        ...

    async def count_revisions(self, session_id: str, student_id: str | None = None) -> int:
        """How many revisions a session (or one student in it) has."""
        ...

    async def delete_revisions(self, session_id: str, student_id: str | None = None) -> int:
        """Delete a session's revisions (or one student's); how many were deleted."""
        ...


class Repositories(NamedTuple):
    sessions: SessionRepository
    problems: ProblemRepository
    revisions: RevisionRepository


@runtime_checkable
class StorageBackend(Protocol):
    """One engine behind a store (the seed's ``IStorageBackend``)."""

    #: "mongodb", "memory", "local" or "remote"
    name: str

    async def initialize(self) -> None:
        """Connect or open files, create what is missing (indexes, tables). Called once."""
        ...

    async def shutdown(self) -> None:
        """Release everything. Called once, after ``initialize`` (also when it failed)."""
        ...

    async def server_info(self) -> dict[str, Any]:
        """Facts for ``health()``; raises ``PersistenceError`` when the engine cannot be reached."""
        ...

    def repositories(self, scope: Scope) -> Repositories:
        """The three repositories, confined to ``scope`` (cheap: called for every view)."""
        ...

    @property
    def documents(self) -> DocumentStore:
        """The document-level surface for tools."""
        ...
