"""Over a real socket, every call ends (UNAVAILABLE or TIMEOUT) within its deadline, never
hangs, and the same store works again once the server is back."""

from __future__ import annotations

import asyncio
import time

import pytest

from docstore import ErrorCode, PersistenceError, ProblemSpec, StoreSettings, open_store
from tests.documents import all_documents

from .conftest import PausableProxy, SilentServer, WireServer

SHORT: StoreSettings = {"server_selection_timeout_ms": 800, "connect_timeout_ms": 800, "socket_timeout_ms": 800}
SLACK_S = 5.0  # scheduling noise on a loaded 2-core machine; the deadlines themselves are < 1 s
FAILURES = (ErrorCode.UNAVAILABLE, ErrorCode.TIMEOUT)


async def test_a_server_that_never_answers_is_unavailable_in_time(silent_server: SilentServer) -> None:
    store = open_store(f"mongodb://127.0.0.1:{silent_server.port}/?directConnection=true", **SHORT)
    started = time.monotonic()
    with pytest.raises(PersistenceError) as caught:
        await store.initialize()
    assert caught.value.code in FAILURES
    assert time.monotonic() - started < 0.8 + SLACK_S


async def test_a_stalled_reply_is_a_timeout_and_the_store_recovers(wire_server: WireServer) -> None:
    proxy = PausableProxy(wire_server.port)
    await proxy.start()
    try:
        async with open_store(proxy.url, **SHORT) as store:
            assert await store.problems.count_problems() == 0
            proxy.resumed.clear()  # the server stops answering mid-conversation
            for call in (store.problems.count_problems, lambda: store.sessions.get_session("s")):
                started = time.monotonic()
                with pytest.raises(PersistenceError) as caught:
                    await call()
                assert caught.value.code in FAILURES, caught.value
                assert time.monotonic() - started < 0.8 * 2 + SLACK_S  # a retried read waits twice at most
            proxy.resumed.set()
            await asyncio.sleep(0.6)  # the driver's monitor finds the server again
            assert await store.problems.count_problems() == 0
            assert (await store.health()).ok
    finally:
        await proxy.stop()


async def test_a_server_killed_mid_stream_fails_calls_in_time_then_serves_again(wire_server: WireServer) -> None:
    async with open_store(wire_server.url, **SHORT) as store:

        async def one_call(i: int) -> object:
            await asyncio.sleep(i * 0.005)
            if i % 2:
                return await store.problems.save_problem(ProblemSpec(id=f"p{i}", title=f"P{i}"))
            return await store.problems.count_problems()

        calls = [asyncio.create_task(one_call(i)) for i in range(200)]
        await asyncio.sleep(0.3)
        wire_server.kill()  # SIGKILL, mid-batch
        started = time.monotonic()
        results = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 0.8 * 3 + SLACK_S)
        failures = [r for r in results if isinstance(r, BaseException)]
        assert failures, "the server died before any call failed: the test proved nothing"
        assert all(isinstance(f, PersistenceError) and f.code in FAILURES for f in failures), failures[:3]
        assert time.monotonic() - started < 0.8 * 3 + SLACK_S
        with pytest.raises(PersistenceError) as caught:
            await store.problems.count_problems()
        assert caught.value.code in FAILURES

        wire_server.start()  # the same port, the same data file
        deadline = time.monotonic() + 10
        while True:
            try:
                assert await store.problems.count_problems() >= 0
                break
            except PersistenceError as error:
                assert error.code in FAILURES
                assert time.monotonic() < deadline, "the store did not come back"
                await asyncio.sleep(0.2)
        await store.problems.save_problem(ProblemSpec(id="after", title="After"))
        assert (await store.health()).ok


async def test_an_interrupted_bulk_write_rerun_leaves_no_duplicates(wire_server: WireServer) -> None:
    documents = [{"_id": f"d{i}", "n": i} for i in range(20_000)]
    batches_done = 0

    async def write_all(store_url: str) -> None:
        nonlocal batches_done
        async with open_store(store_url, **SHORT) as store:
            for start in range(0, len(documents), 100):
                batch = [dict(d) for d in documents[start : start + 100]]
                await store.documents.upsert_documents("legacy_faults", batch)
                batches_done += 1

    writer = asyncio.create_task(write_all(wire_server.url))
    while batches_done < 5 and not writer.done():
        await asyncio.sleep(0.005)
    wire_server.kill()  # somewhere in the middle of the batches
    with pytest.raises(PersistenceError) as caught:
        await asyncio.wait_for(writer, 0.8 * 3 + SLACK_S)
    assert caught.value.code in FAILURES

    wire_server.start()
    await write_all(wire_server.url)  # the re-run finishes the job
    async with open_store(wire_server.url, **SHORT) as store:
        stored = await all_documents(store, "legacy_faults")
    ids = [document["_id"] for document in stored]
    assert len(ids) == len(set(ids)) == len(documents)


@pytest.mark.parametrize("retry_reads", [True, False])
async def test_a_read_is_retried_once_after_a_dropped_connection(wire_server: WireServer, retry_reads: bool) -> None:
    proxy = PausableProxy(wire_server.port)
    await proxy.start()
    try:
        settings: StoreSettings = {**SHORT, "retry_reads": retry_reads}
        async with open_store(proxy.url, **settings) as store:
            assert await store.problems.count_problems() == 0
            proxy.reset_connections()  # the pooled connection is dead; the server is fine
            if retry_reads:
                assert await store.problems.count_problems() == 0  # retried on a new connection
            else:
                with pytest.raises(PersistenceError) as caught:
                    await store.problems.count_problems()
                assert caught.value.code is ErrorCode.UNAVAILABLE
    finally:
        await proxy.stop()
