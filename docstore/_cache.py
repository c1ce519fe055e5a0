"""The read cache (``cache_ttl_s`` > 0): point reads and the instructor overview, on any backend.

Cached: ``get_session``, ``get_session_by_join_code``, ``get_problem``, ``get_revision``
and ``get_latest_revisions``, per namespace view, for ``cache_ttl_s`` seconds, at most
``cache_max_entries`` entries (least recently used out first).

Freshness: every write made through this store drops, when it ends (failed or not), the
entries it may have changed, tagged by the ids they depend on (``s:<session>``,
``j:<join code>``, ``p:<problem>``, ``r:<revision>``, ``rs:<session>`` for a session's
revisions). Writes through ``store.documents`` (import, restore) empty the cache (``_cached_documents.py``). A change of
which session holds a code (a reactivation, a new code) also drops
the answers, "none" included, for the code the session holds afterwards, and every join-code
answer when such a write fails (it may have been applied). A read that overlaps a write is
not kept (write generation check). Writes by another process show within the TTL.

Callers get copies: changing a returned item never changes the cache.
"""

from __future__ import annotations

import copy
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from ._forwarding import forwarded
from ._interfaces import (
    ProblemRepository,
    Repositories,
    RevisionRepository,
    SessionDeletion,
    SessionRepository,
)
from ._models import CodeRevision, ExecutionResult, ProblemSpec, Session, Student, normalize_join_code

__all__ = ["ReadCache", "cached_problems", "cached_repositories", "cached_revisions", "cached_sessions"]

T = TypeVar("T")
_Key = tuple[str, str | None, str]


class ReadCache:
    """TTL + LRU entries, each with the tags that invalidate it; shared by every view of a store."""

    def __init__(self, ttl_s: float, max_entries: int) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: OrderedDict[_Key, tuple[float, Any, tuple[str, ...]]] = OrderedDict()
        self._by_tag: dict[str, set[_Key]] = {}
        self._generation = 0  # +1 when a write starts and when it ends
        self.hits = 0
        self.misses = 0

    def stats(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "entries": len(self._entries)}

    async def read(self, key: _Key, load: Callable[[], Awaitable[T]], tags: Callable[[T], Iterable[str]]) -> T:
        """The cached value of ``key``, else ``load()`` (kept unless a write overlapped it)."""
        now = time.monotonic()
        found = self._entries.get(key)
        if found is not None and found[0] > now:
            self._entries.move_to_end(key)
            self.hits += 1
            return copy.deepcopy(found[1])  # type: ignore[no-any-return]
        self.misses += 1
        generation = self._generation
        value = await load()
        if generation == self._generation:
            self._put(key, now + self.ttl_s, value, tuple(tags(value)))
        return value

    def _put(self, key: _Key, expires: float, value: Any, tags: tuple[str, ...]) -> None:
        self._drop(key)
        self._entries[key] = (expires, copy.deepcopy(value), tags)
        for tag in tags:
            self._by_tag.setdefault(tag, set()).add(key)
        while len(self._entries) > self.max_entries:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: _Key) -> None:
        found = self._entries.pop(key, None)
        if found is None:
            return
        for tag in found[2]:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]

    @contextmanager
    def writing(self, *tags: str | None) -> Iterator[list[str | None]]:
        """Around a write: reads overlapping it are not kept; its tags are dropped when it ends.

        Yields a list: tags known only once the write has run (what it changed to) go there.
        """
        self._generation += 1
        learned: list[str | None] = []
        try:
            yield learned
        finally:
            self._generation += 1
            for tag in (*tags, *learned):
                if tag is not None:
                    for key in list(self._by_tag.get(tag, ())):
                        self._drop(key)

    def clear(self) -> None:
        self._entries.clear()
        self._by_tag.clear()
        self._generation += 1


def _tag(prefix: str, value: object) -> str | None:
    return f"{prefix}{value}" if isinstance(value, str) else None


# The tag of every cached join-code answer: dropped when a write's effect on codes is unknown.
_EVERY_JOIN = "j*"


def _join_tag(code: object) -> str | None:
    return f"j:{normalize_join_code(code)}" if isinstance(code, str) else None


def cached_repositories(repositories: Repositories, cache: ReadCache, namespace: str | None) -> Repositories:
    """``repositories`` with their point reads served from ``cache``."""
    return Repositories(
        cached_sessions(repositories.sessions, cache, namespace),
        cached_problems(repositories.problems, cache, namespace),
        cached_revisions(repositories.revisions, cache, namespace),
    )


# Each class writes the reads it caches and the writes that drop entries; every other
# method (lists, counts, searches, the feed) is ``_inner``'s, made by ``forwarded``.
class _CachedSessions(SessionRepository):
    def __init__(self, inner: SessionRepository, cache: ReadCache, namespace: str | None) -> None:
        self._inner, self._cache, self._ns = inner, cache, namespace

    async def create_session(self, session: Session) -> str:
        tags = (_tag("s:", getattr(session, "id", None)), _join_tag(getattr(session, "join_code", None)))
        with self._cache.writing(*tags):
            return await self._inner.create_session(session)

    async def get_session(self, session_id: str, *, include_students: bool = True) -> Session | None:
        if not isinstance(session_id, str) or not isinstance(include_students, bool):
            # the engine says what is wrong
            return await self._inner.get_session(session_id, include_students=include_students)
        return await self._cache.read(
            ("session" if include_students else "session-light", self._ns, session_id),
            lambda: self._inner.get_session(session_id, include_students=include_students),
            lambda _: [f"s:{session_id}"],
        )

    async def get_session_by_join_code(self, join_code: str, *, include_students: bool = True) -> Session | None:
        code = normalize_join_code(join_code) if isinstance(join_code, str) else None
        if not code or not isinstance(include_students, bool):
            return await self._inner.get_session_by_join_code(join_code, include_students=include_students)
        return await self._cache.read(
            ("join" if include_students else "join-light", self._ns, code),
            lambda: self._inner.get_session_by_join_code(join_code, include_students=include_students),
            lambda found: [f"j:{code}", _EVERY_JOIN] + ([f"s:{found.id}"] if found is not None else []),
        )

    async def update_session(
        self, session_id: str, updates: dict[str, Any], *, expected_version: int | None = None
    ) -> Session:
        if type(updates) is dict and not {"active", "join_code"} & updates.keys():
            with self._cache.writing(_tag("s:", session_id)):
                return await self._inner.update_session(session_id, updates, expected_version=expected_version)
        # Which code the session holds afterwards depends on the stored fields too (a
        # reactivation names no code): the answer says, and the cached answers for that
        # code, "none" included, go. A failure may have been applied (UNAVAILABLE): then
        # every join-code answer goes. Any other mapping (engines take any) comes here too:
        # what it holds is not looked at, the answer says what changed.
        code = updates.get("join_code") if type(updates) is dict else None
        with self._cache.writing(_tag("s:", session_id), _join_tag(code)) as learned:
            try:
                updated = await self._inner.update_session(session_id, updates, expected_version=expected_version)
            except BaseException:
                learned.append(_EVERY_JOIN)
                raise
            learned.append(_join_tag(updated.join_code))
            return updated

    async def end_session(self, session_id: str) -> Session:
        with self._cache.writing(_tag("s:", session_id)):
            return await self._inner.end_session(session_id)

    async def delete_session(self, session_id: str, *, cascade: bool = True) -> SessionDeletion:
        with self._cache.writing(_tag("s:", session_id), _tag("rs:", session_id)):
            return await self._inner.delete_session(session_id, cascade=cascade)

    async def upsert_student(self, session_id: str, student: Student) -> Session:
        with self._cache.writing(_tag("s:", session_id)):
            return await self._inner.upsert_student(session_id, student)

    async def update_student_code(self, session_id: str, student_id: str, code: str) -> Student:
        with self._cache.writing(_tag("s:", session_id)):
            return await self._inner.update_student_code(session_id, student_id, code)

    async def record_code(
        self, session_id: str, student_id: str, code: str, execution_result: ExecutionResult | None = None
    ) -> CodeRevision:
        with self._cache.writing(_tag("s:", session_id), _tag("rs:", session_id)):
            return await self._inner.record_code(session_id, student_id, code, execution_result)


class _CachedProblems(ProblemRepository):
    def __init__(self, inner: ProblemRepository, cache: ReadCache, namespace: str | None) -> None:
        self._inner, self._cache, self._ns = inner, cache, namespace

    async def save_problem(self, problem: ProblemSpec) -> str:
        with self._cache.writing(_tag("p:", getattr(problem, "id", None))):
            return await self._inner.save_problem(problem)

    async def get_problem(self, problem_id: str) -> ProblemSpec | None:
        if not isinstance(problem_id, str):
            return await self._inner.get_problem(problem_id)
        return await self._cache.read(
            ("problem", self._ns, problem_id),
            lambda: self._inner.get_problem(problem_id),
            lambda _: [f"p:{problem_id}"],
        )

    async def update_problem(
        self, problem_id: str, updates: dict[str, Any], *, expected_version: int | None = None
    ) -> ProblemSpec:
        with self._cache.writing(_tag("p:", problem_id)):
            return await self._inner.update_problem(problem_id, updates, expected_version=expected_version)

    async def delete_problem(self, problem_id: str) -> None:
        with self._cache.writing(_tag("p:", problem_id)):
            await self._inner.delete_problem(problem_id)


class _CachedRevisions(RevisionRepository):
    def __init__(self, inner: RevisionRepository, cache: ReadCache, namespace: str | None) -> None:
        self._inner, self._cache, self._ns = inner, cache, namespace

    async def save_revision(self, revision: CodeRevision) -> str:
        tags = (_tag("r:", getattr(revision, "id", None)), _tag("rs:", getattr(revision, "session_id", None)))
        with self._cache.writing(*tags):
            return await self._inner.save_revision(revision)

    async def save_revisions(self, revisions: Sequence[CodeRevision]) -> list[str]:
        # A sequence is listed once, so the tags are those of what the engine saves; anything
        # else goes to the engine as given, which refuses it (listing a generator here made
        # it a list the engine took: the cache changed the answer).
        listed: Any = revisions
        if isinstance(revisions, Sequence) and not isinstance(revisions, str | bytes):
            listed = list(revisions)
        tags: list[str | None] = []
        for revision in listed if isinstance(listed, list) else ():
            tags += [_tag("r:", getattr(revision, "id", None)), _tag("rs:", getattr(revision, "session_id", None))]
        with self._cache.writing(*tags):
            return await self._inner.save_revisions(listed)

    async def get_revision(self, revision_id: str) -> CodeRevision | None:
        if not isinstance(revision_id, str):
            return await self._inner.get_revision(revision_id)
        return await self._cache.read(
            ("revision", self._ns, revision_id),
            lambda: self._inner.get_revision(revision_id),
            lambda found: [f"r:{revision_id}"] + ([f"rs:{found.session_id}"] if found is not None else []),
        )

    async def get_latest_revisions(self, session_id: str) -> dict[str, CodeRevision]:
        if not isinstance(session_id, str):
            return await self._inner.get_latest_revisions(session_id)
        return await self._cache.read(
            ("latest", self._ns, session_id),
            lambda: self._inner.get_latest_revisions(session_id),
            lambda _: [f"rs:{session_id}"],
        )

    async def delete_revisions(self, session_id: str, student_id: str | None = None) -> int:
        with self._cache.writing(_tag("rs:", session_id)):
            return await self._inner.delete_revisions(session_id, student_id)


cached_sessions = forwarded(_CachedSessions)
cached_problems = forwarded(_CachedProblems)
cached_revisions = forwarded(_CachedRevisions)
