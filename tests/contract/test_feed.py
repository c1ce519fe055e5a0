"""Contract of the live feed, ``store.sessions.watch()``, on every engine.

Ordering, full state per change, resume without loss or repeat, refusal of bad
positions, scope, end and delete, cancellation, and a watcher that reads nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from docstore import ErrorCode, Session, SessionChange, SessionFeed, Store, Student

from .helpers import expect_error

WAIT_S = 10.0


async def next_change(feed: SessionFeed) -> SessionChange:
    return await asyncio.wait_for(anext(feed), WAIT_S)


async def changes(feed: SessionFeed, count: int) -> list[SessionChange]:
    return [await next_change(feed) for _ in range(count)]


@asynccontextmanager
async def classroom(store: Store, code: str, *students: str) -> AsyncIterator[str]:
    session = Session(join_code=code, students={sid: Student(id=sid, name=sid.title()) for sid in students})
    yield await store.sessions.create_session(session)


async def test_changes_arrive_in_commit_order_with_their_full_state(store: Store) -> None:
    async with classroom(store, "FEED01", "ana") as session_id, store.sessions.watch(session_id) as feed:
        await store.sessions.upsert_student(session_id, Student(id="bo", name="Bo"))
        revision = await store.sessions.record_code(session_id, "ana", "print(1)")
        await store.sessions.update_student_code(session_id, "bo", "x = 2")
        await store.sessions.update_session(session_id, {"featured_code": "print(1)"})
        await store.sessions.end_session(session_id)
        got = await changes(feed, 5)
        assert [c.kind for c in got] == [
            "student_joined", "revision_saved", "student_changed", "session_changed", "session_ended",
        ]  # fmt: skip
        joined, saved, changed, featured, ended = got
        assert joined.student == Student(id="bo", name="Bo") and joined.student_id == "bo"
        assert saved.revision == revision and saved.student is not None and saved.student.code == "print(1)"
        assert changed.student is not None and changed.student.code == "x = 2"
        assert featured.session is not None and featured.session.featured_code == "print(1)"
        assert featured.session.students == {}
        assert ended.session is not None and not ended.session.active
        assert all(c.session_id == session_id for c in got)
        assert len({c.position for c in got}) == 5


async def test_a_deleted_session_ends_the_feed(store: Store) -> None:
    async with classroom(store, "FEED02", "ana") as session_id, store.sessions.watch(session_id) as feed:
        await store.sessions.delete_session(session_id)
        deleted = await next_change(feed)
        assert deleted.kind == "session_deleted"
        try:
            await asyncio.wait_for(anext(feed), WAIT_S)
        except StopAsyncIteration:
            pass
        else:
            raise AssertionError("the feed went on after the deletion")


async def test_open_then_snapshot_then_apply_misses_nothing(store: Store) -> None:
    students = [f"s{i}" for i in range(8)]
    async with classroom(store, "FEED03", *students) as session_id:

        async def typing(sid: str) -> None:
            for n in range(5):
                await store.sessions.record_code(session_id, sid, f"{sid} v{n}")

        async with store.sessions.watch(session_id) as feed:
            writers = asyncio.gather(*(typing(sid) for sid in students))
            await asyncio.sleep(0)
            snapshot = await store.sessions.get_session(session_id)
            assert snapshot is not None
            view = {sid: s.code for sid, s in snapshot.students.items()}
            await writers
            for change in await changes(feed, 40):
                if change.student is not None:
                    view[change.student.id] = change.student.code
        final = await store.sessions.get_session(session_id)
        assert final is not None and view == {sid: s.code for sid, s in final.students.items()}


async def test_resume_after_a_position_loses_nothing_and_repeats_nothing(store: Store) -> None:
    async with classroom(store, "FEED04", "ana") as session_id:
        async with store.sessions.watch(session_id) as feed:
            for n in range(3):
                await store.sessions.record_code(session_id, "ana", f"v{n}")
            first = await changes(feed, 2)
        for n in range(3, 6):
            await store.sessions.record_code(session_id, "ana", f"v{n}")
        async with store.sessions.watch(session_id, after=first[-1].position) as resumed:
            rest = await changes(resumed, 4)
        assert [c.revision.code for c in first + rest if c.revision] == [f"v{n}" for n in range(6)]


async def test_the_position_of_a_fresh_feed_resumes_from_where_it_opened(store: Store) -> None:
    async with classroom(store, "FEED05", "ana") as session_id:
        async with store.sessions.watch(session_id) as feed:
            start = feed.position
        assert start is not None
        await store.sessions.record_code(session_id, "ana", "while away")
        async with store.sessions.watch(session_id, after=start) as resumed:
            change = await next_change(resumed)
        assert change.revision is not None and change.revision.code == "while away"


async def test_bad_positions_are_refused_on_entering(store: Store) -> None:
    async with classroom(store, "FEED06", "ana") as session_id, classroom(store, "FEED07", "bo") as other:
        async with store.sessions.watch(other) as feed:
            await store.sessions.record_code(other, "bo", "x")
            others_position = (await next_change(feed)).position
        for position in ("", "garbage", "eyJ4IjoxfQ", others_position, "A" * 5000):
            await expect_error(ErrorCode.INVALID_DATA, store.sessions.watch(session_id, after=position).__aenter__())
        await expect_error(ErrorCode.NOT_FOUND, store.sessions.watch("missing").__aenter__())


async def test_a_namespace_view_watches_only_its_own_sessions(store: Store) -> None:
    a, b = store.for_namespace("ns-a"), store.for_namespace("ns-b")
    session_id = await a.sessions.create_session(Session(join_code="FEED08", students={"ana": Student(id="ana")}))
    await expect_error(ErrorCode.NOT_FOUND, b.sessions.watch(session_id).__aenter__())
    async with a.sessions.watch(session_id) as feed:
        await store.sessions.record_code(session_id, "ana", "from the root store")
        change = await next_change(feed)
        assert change.revision is not None and change.revision.namespace_id == "ns-a"
        # A position of a's feed is no key to it for b.
        await expect_error(ErrorCode.NOT_FOUND, b.sessions.watch(session_id, after=change.position).__aenter__())


async def test_a_watcher_that_reads_nothing_blocks_no_one_and_loses_nothing(store: Store) -> None:
    async with classroom(store, "FEED09", "ana", "bo") as session_id:
        async with store.sessions.watch(session_id) as idle, store.sessions.watch(session_id) as reader:
            for n in range(150):
                await store.sessions.record_code(session_id, "ana" if n % 2 else "bo", f"v{n}")
            assert len(await changes(reader, 150)) == 150
            seen = await changes(idle, 150)
        assert [c.revision.code for c in seen if c.revision] == [f"v{n}" for n in range(150)]


async def test_cancelling_a_watching_task_frees_the_feed(store: Store) -> None:
    async with classroom(store, "FEED10", "ana") as session_id:

        async def watch_forever() -> None:
            async with store.sessions.watch(session_id) as feed:
                async for _ in feed:
                    pass

        tasks = [asyncio.create_task(watch_forever()) for _ in range(50)]
        await asyncio.sleep(0.2)
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        await store.sessions.record_code(session_id, "ana", "still fine")
        assert await store.revisions.count_revisions(session_id) == 1


async def test_hundreds_of_feeds_each_get_the_change(store: Store) -> None:
    async with classroom(store, "FEED11", "ana") as session_id:
        feeds = [store.sessions.watch(session_id) for _ in range(100)]
        for feed in feeds:
            await feed.__aenter__()
        try:
            await store.sessions.record_code(session_id, "ana", "to all")
            got = await asyncio.gather(*(next_change(feed) for feed in feeds))
            assert {c.position for c in got} == {got[0].position} and got[0].kind == "revision_saved"
        finally:
            for feed in feeds:
                await feed.aclose()


async def test_revisions_saved_directly_are_changes_too(store: Store) -> None:
    from docstore import CodeRevision

    async with classroom(store, "FEED12", "ana") as session_id, store.sessions.watch(session_id) as feed:
        saved = CodeRevision(session_id=session_id, student_id="ana", code="direct")
        await store.revisions.save_revision(saved)
        await store.revisions.save_revisions([CodeRevision(session_id=session_id, student_id="ana", code="batch")])
        got = await changes(feed, 2)
        assert [c.revision.code for c in got if c.revision] == ["direct", "batch"]
        assert all(c.kind == "revision_saved" and c.student_id == "ana" for c in got)
