"""Contract of the revisions repository, on every engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from docstore import CodeRevision, ErrorCode, ExecutionResult, Store

from .helpers import expect_error

BASE = datetime(2026, 1, 6, 13, 0, tzinfo=UTC)


def revision(session: str, student: str, minute: int, code: str = "", **fields: Any) -> CodeRevision:
    return CodeRevision(
        session_id=session,
        student_id=student,
        code=code or f"# {minute}",
        timestamp=BASE + timedelta(minutes=minute),
        **fields,
    )


async def test_save_and_get(store: Store) -> None:
    result = ExecutionResult(success=False, output="", error="NameError", execution_time_ms=12.5)
    saved = revision("s1", "a", 0, "print(x)", execution_result=result)
    revision_id = await store.revisions.save_revision(saved)
    stored = await store.revisions.get_revision(revision_id)
    assert stored is not None and stored.metadata is not None
    assert stored.execution_result == result
    assert stored.model_dump(exclude={"metadata"}) == saved.model_dump(exclude={"metadata"})
    assert await store.revisions.get_revision("missing") is None
    await expect_error(ErrorCode.ALREADY_EXISTS, store.revisions.save_revision(saved))


async def test_streams_are_oldest_first(store: Store) -> None:
    # Stored out of order on purpose.
    ids = await store.revisions.save_revisions(
        [revision("s1", "a", m) for m in (3, 1, 2, 0)] + [revision("s1", "b", 5), revision("s2", "a", 9)]
    )
    assert len(ids) == 6
    stream = await store.revisions.get_revisions("s1", "a")
    assert [r.code for r in stream] == ["# 0", "# 1", "# 2", "# 3"]
    assert [r.code for r in await store.revisions.get_revisions("s1", "a", limit=2)] == ["# 0", "# 1"]
    after = await store.revisions.get_revisions("s1", "a", after=BASE + timedelta(minutes=1))
    assert [r.code for r in after] == ["# 2", "# 3"]
    latest = await store.revisions.get_latest_revision("s1", "a")
    assert latest is not None and latest.code == "# 3"
    assert await store.revisions.get_latest_revision("s1", "nobody") is None
    assert await store.revisions.count_revisions("s1") == 5
    assert await store.revisions.count_revisions("s1", "a") == 4


async def test_instructor_overview_and_whole_session(store: Store) -> None:
    await store.revisions.save_revisions(
        [revision("s1", student, m) for student in ("a", "b", "c") for m in range(4)] + [revision("s2", "a", 99)]
    )
    overview = await store.revisions.get_latest_revisions("s1")
    assert {sid: r.code for sid, r in overview.items()} == {"a": "# 3", "b": "# 3", "c": "# 3"}
    everything = await store.revisions.get_all_session_revisions("s1")
    assert {sid: [r.code for r in rs] for sid, rs in everything.items()} == {
        s: ["# 0", "# 1", "# 2", "# 3"] for s in ("a", "b", "c")
    }
    assert await store.revisions.get_latest_revisions("empty") == {}


async def test_delete_revisions(store: Store) -> None:
    await store.revisions.save_revisions([revision("s1", s, m) for s in ("a", "b") for m in range(3)])
    assert await store.revisions.delete_revisions("s1", "a") == 3
    assert await store.revisions.count_revisions("s1") == 3
    assert await store.revisions.delete_revisions("s1") == 3
    assert await store.revisions.delete_revisions("s1") == 0


async def test_bulk_save_with_a_taken_id_keeps_the_others(store: Store) -> None:
    taken = revision("s1", "a", 0)
    await store.revisions.save_revision(taken)
    error = await expect_error(
        ErrorCode.ALREADY_EXISTS,
        store.revisions.save_revisions([revision("s1", "a", 1), taken, revision("s1", "a", 2)]),
    )
    assert taken.id in error.message
    assert await store.revisions.count_revisions("s1", "a") == 3


# Finding 1 (attack pass on the fast paths): local:// listings built a revision whose ``extra``
# holds a datetime from the naive decoding, so every listing answered a naive datetime where
# get_revision (and every other engine) answered the aware UTC one that was saved.
async def test_every_read_of_a_revision_gives_the_datetimes_of_its_extra_as_saved(store: Store) -> None:
    when = datetime(2020, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
    result = ExecutionResult(success=True, extra={"ran": when, "nested": [{"at": when}]})
    saved = revision("s1", "a", 0, extra={"when": when, "nested": {"at": [when]}}, execution_result=result)
    revision_id = await store.revisions.save_revision(saved)
    by_id = await store.revisions.get_revision(revision_id)
    latest = await store.revisions.get_latest_revision("s1", "a")
    overview = await store.revisions.get_latest_revisions("s1")
    history = await store.revisions.get_revisions("s1", "a")
    whole = await store.revisions.get_all_session_revisions("s1")
    for read in (by_id, latest, overview["a"], history[0], whole["a"][0]):
        assert read is not None and read.execution_result is not None
        assert read.extra == by_id.extra and read.execution_result.extra == by_id.execution_result.extra  # type: ignore[union-attr]
    if isinstance(by_id.extra["when"], datetime):  # type: ignore[union-attr]
        for read in (by_id, latest, overview["a"], history[0], whole["a"][0]):
            assert read is not None and read.execution_result is not None
            for value in (read.extra["when"], read.extra["nested"]["at"][0], read.execution_result.extra["ran"]):
                assert value == when and value.utcoffset() == timedelta(0)
