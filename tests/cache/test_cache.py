"""The read cache: hits, the store's own writes seen at once, others' within the TTL, LRU, copies."""

from __future__ import annotations

import asyncio
from collections import UserDict
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from docstore import CodeRevision, PersistenceError, ProblemSpec, Session, Store, Student, open_store
from tests.remote.servers import ADMIN_TOKEN, asgi_server


@pytest.fixture(params=["memory", "remote"])
async def cached(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    """A store with a long TTL: anything fresh it returns came from an invalidation, not expiry."""
    if request.param == "memory":
        async with open_store("memory://", cache_ttl_s=300) as store:
            yield store
    else:
        async with asgi_server() as (server, _), server.open(token=ADMIN_TOKEN, cache_ttl_s=300) as store:
            yield store


async def cache_stats(store: Store) -> dict[str, int]:
    stats: dict[str, int] = (await store.health()).details["cache"]
    return stats


async def test_point_reads_are_served_from_the_cache(cached: Store) -> None:
    session_id = await cached.sessions.create_session(Session(join_code="HIT001"))
    for _ in range(3):
        assert await cached.sessions.get_session(session_id) is not None
        assert await cached.sessions.get_session_by_join_code("hit001 ") is not None
    assert await cache_stats(cached) == {"hits": 4, "misses": 2, "entries": 2}


async def test_the_stores_own_writes_show_at_once(cached: Store) -> None:
    sessions, revisions = cached.sessions, cached.revisions
    assert await sessions.get_session_by_join_code("OWN001") is None  # a cached miss
    session_id = await sessions.create_session(Session(join_code="OWN001"))
    assert (await sessions.get_session_by_join_code("OWN001")) is not None
    assert (await sessions.get_session(session_id)).problem_text == ""  # type: ignore[union-attr]
    await sessions.update_session(session_id, {"problem_text": "v2"})
    assert (await sessions.get_session(session_id)).problem_text == "v2"  # type: ignore[union-attr]
    await sessions.upsert_student(session_id, Student(id="s1"))
    assert await revisions.get_latest_revisions(session_id) == {}
    revision = await sessions.record_code(session_id, "s1", "print(1)")
    assert (await revisions.get_latest_revisions(session_id))["s1"].id == revision.id
    assert (await sessions.get_session(session_id)).students["s1"].code == "print(1)"  # type: ignore[union-attr]
    later = await revisions.save_revision(CodeRevision(session_id=session_id, student_id="s1", code="2"))
    assert (await revisions.get_latest_revisions(session_id))["s1"].id == later
    assert await revisions.get_revision(later) is not None
    await sessions.update_session(session_id, {"join_code": "OWN002"})
    assert await sessions.get_session_by_join_code("OWN001") is None
    assert await sessions.get_session_by_join_code("OWN002") is not None
    await sessions.end_session(session_id)
    assert await sessions.get_session_by_join_code("OWN002") is None
    await sessions.delete_session(session_id)
    assert await sessions.get_session(session_id) is None
    assert await revisions.get_revision(later) is None
    assert await revisions.get_latest_revisions(session_id) == {}
    problem_id = await cached.problems.save_problem(ProblemSpec(title="v1"))
    assert (await cached.problems.get_problem(problem_id)).title == "v1"  # type: ignore[union-attr]
    await cached.problems.update_problem(problem_id, {"title": "v2"})
    assert (await cached.problems.get_problem(problem_id)).title == "v2"  # type: ignore[union-attr]
    await cached.problems.delete_problem(problem_id)
    assert await cached.problems.get_problem(problem_id) is None


async def test_a_namespace_view_shares_the_cache_but_not_what_it_sees(cached: Store) -> None:
    session_id = await cached.for_namespace("cs101").sessions.create_session(Session(join_code="NSC001"))
    assert await cached.for_namespace("cs101").sessions.get_session(session_id) is not None
    assert await cached.for_namespace("art").sessions.get_session(session_id) is None
    await cached.for_namespace("cs101").sessions.end_session(session_id)
    found = await cached.sessions.get_session(session_id)
    assert found is not None and not found.active
    assert not (await cached.for_namespace("cs101").sessions.get_session(session_id)).active  # type: ignore[union-attr]


async def test_callers_get_copies(cached: Store) -> None:
    session_id = await cached.sessions.create_session(Session(join_code="CPY001"))
    first = await cached.sessions.get_session(session_id)
    assert first is not None
    first.problem_text = "changed by the caller"
    again = await cached.sessions.get_session(session_id)
    assert again is not None and again.problem_text == ""


async def test_least_recently_used_entries_go_first() -> None:
    async with open_store("memory://", cache_ttl_s=300, cache_max_entries=2) as store:
        ids = [await store.problems.save_problem(ProblemSpec(title=f"p{i}")) for i in range(3)]
        for problem_id in ids:
            await store.problems.get_problem(problem_id)
        await store.problems.get_problem(ids[2])
        assert await cache_stats(store) == {"hits": 1, "misses": 3, "entries": 2}
        await store.problems.get_problem(ids[0])  # went first: a miss again
        assert (await cache_stats(store))["misses"] == 4


async def test_another_clients_writes_show_within_the_ttl() -> None:
    async with (
        asgi_server() as (server, _),
        server.open(token=ADMIN_TOKEN, cache_ttl_s=0.3) as reader,
        server.open(token=ADMIN_TOKEN) as writer,
    ):
        session_id = await writer.sessions.create_session(Session(join_code="TTL001"))
        assert (await reader.sessions.get_session(session_id)).problem_text == ""  # type: ignore[union-attr]
        await writer.sessions.update_session(session_id, {"problem_text": "v2"})
        stale = await reader.sessions.get_session(session_id)
        assert stale is not None and stale.problem_text == ""  # served from the cache: it is one
        await asyncio.sleep(0.35)
        assert (await reader.sessions.get_session(session_id)).problem_text == "v2"  # type: ignore[union-attr]


async def test_the_cache_is_off_by_default() -> None:
    async with open_store("memory://") as store:
        assert "cache" not in (await store.health()).details


async def test_a_reactivation_drops_the_cached_miss_of_its_code(cached: Store) -> None:
    """Issue 16, item 9: end, look up (None is cached), reactivate: the lookup sees it at once."""
    sessions = cached.sessions
    session_id = await sessions.create_session(Session(join_code="BACK01"))
    await sessions.end_session(session_id)
    assert await sessions.get_session_by_join_code("BACK01") is None
    await sessions.update_session(session_id, {"active": True})
    found = await sessions.get_session_by_join_code("back01")
    assert found is not None and found.id == session_id
    # A code change answered by its normal form: the miss cached for a look-alike spelling goes too.
    assert await sessions.get_session_by_join_code("NEXT01") is None
    await sessions.update_session(session_id, {"join_code": "next01\u200b"})
    found = await sessions.get_session_by_join_code("NEXT01")
    assert found is not None and found.id == session_id


async def test_a_tools_write_through_the_store_drops_what_it_changes(cached: Store) -> None:
    """A restore or an admin upsert through the store itself: every answer it may change goes."""
    sessions = cached.sessions
    session_id = await sessions.create_session(Session(join_code="TOOL01"))
    document = await cached.documents.get_document("sessions", session_id)
    assert document is not None
    assert await sessions.get_session_by_join_code("TOOL02") is None  # a cached miss
    assert (await sessions.get_session(session_id)) is not None  # a cached hit
    await cached.documents.upsert_documents("sessions", [{**document, "_id": "copy", "join_code": "tool02"}])
    found = await sessions.get_session_by_join_code("TOOL02")
    assert found is not None and found.id == "copy"
    assert await cached.documents.delete_document("sessions", session_id)
    assert await sessions.get_session(session_id) is None


# Finding 2 (attack pass on the fast paths): an update given as a mapping that is not a dict
# (every engine takes any mapping) took the cache's branch for updates that touch no code, so
# the cached "none" of the code it set, or of the code a reactivation brought back, stayed
# for the whole TTL.
# (The remote client refuses such a mapping as INVALID_DATA: only the in-process engines here.)
@pytest.mark.parametrize("engine", ["memory", "local"])
@pytest.mark.parametrize("mapping", [MappingProxyType, UserDict], ids=["mappingproxy", "userdict"])
async def test_an_update_given_as_any_mapping_drops_the_cached_answers_of_its_code(
    engine: str, mapping: Callable[[dict[str, Any]], Mapping[str, Any]], tmp_path: Path
) -> None:
    url = "memory://" if engine == "memory" else f"local://{tmp_path}"
    async with open_store(url, cache_ttl_s=300) as store:
        await _an_update_given_as_any_mapping_drops_the_cached_answers_of_its_code(store, mapping)


async def _an_update_given_as_any_mapping_drops_the_cached_answers_of_its_code(
    store: Store, mapping: Callable[[dict[str, Any]], Mapping[str, Any]]
) -> None:
    sessions = store.sessions
    session_id = await sessions.create_session(Session(join_code="MAP001"))
    assert await sessions.get_session_by_join_code("MAP002") is None  # a cached miss
    await sessions.update_session(session_id, mapping({"join_code": "MAP002"}))  # type: ignore[arg-type]
    assert (await sessions.get_session_by_join_code("MAP002")).id == session_id  # type: ignore[union-attr]
    await sessions.end_session(session_id)
    assert await sessions.get_session_by_join_code("MAP002") is None  # a cached miss again
    await sessions.update_session(session_id, mapping({"active": True}))  # type: ignore[arg-type]
    assert (await sessions.get_session_by_join_code("MAP002")).id == session_id  # type: ignore[union-attr]


# Finding 10 (attack pass on the fast paths): the cache listed any iterable given to
# save_revisions before the engine saw it (to tag the write), so with a cache a generator or a
# dict's values were saved, and a str or a set refused for another reason, where every engine
# refuses what is not a sequence: the cache changed the call's answer.
@pytest.mark.parametrize("engine", ["memory", "local"])
async def test_save_revisions_answers_with_a_cache_what_it_answers_without(engine: str, tmp_path: Path) -> None:
    revision = CodeRevision(session_id="s", student_id="u", code="x")
    hostile: list[Callable[[], Any]] = [
        lambda: (item for item in [revision]),
        lambda: {revision.id: revision}.values(),
        lambda: "ab",
        lambda: {1},
    ]
    answers: dict[float, list[str]] = {}
    for ttl in (0, 300):
        async with open_store("memory://" if engine == "memory" else f"local://{tmp_path}", cache_ttl_s=ttl) as store:
            answers[ttl] = []
            for given in hostile:
                try:
                    answers[ttl].append(f"saved {await store.revisions.save_revisions(given())}")
                except PersistenceError as error:
                    answers[ttl].append(f"{error.code.name}: {error.message}")
            assert await store.revisions.count_revisions("s") == 0
    assert answers[300] == answers[0]
