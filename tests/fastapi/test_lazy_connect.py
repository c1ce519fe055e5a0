"""Lazy connect: a store whose server is down starts, says so, refuses calls, and recovers alone.

Servers on 127.0.0.1 only: nx-27017 (a MongoDB-wire server) and uvicorn serving a docstore
store, each started after the client store and stopped at the end. No timing assertions:
recovery is awaited (bounded) by polling.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from docstore import ErrorCode, PersistenceError, Session, StorageConfig, Store, open_store
from docstore.fastapi import StoreDep, install, store_lifespan
from docstore.server import create_app
from tests.fastapi.apps import serving
from tests.faults.conftest import WireServer, free_port

ADMIN_TOKEN = "lazy-admin-token"
RECOVERY_BOUND_S = 60  # a bound on the wait, not a measurement


@contextlib.asynccontextmanager
async def docstore_server(port: int, url: str) -> AsyncIterator[None]:
    """``docstore serve`` of ``url`` on 127.0.0.1:``port`` (in this loop), stopped on exit."""
    async with open_store(url) as served:
        config = uvicorn.Config(
            create_app(served, admin_token=ADMIN_TOKEN), host="127.0.0.1", port=port, log_level="warning"
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        try:
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
            yield
        finally:
            server.should_exit = True
            await task


async def until_it_works(store: Store) -> int:
    """Calls until one succeeds; how many were UNAVAILABLE before."""
    refused = 0
    async with asyncio.timeout(RECOVERY_BOUND_S):
        while True:
            try:
                await store.sessions.count_sessions()
                return refused
            except PersistenceError as error:
                assert error.code is ErrorCode.UNAVAILABLE, error
                refused += 1
                await asyncio.sleep(0.05)


async def assert_connecting(store: Store) -> None:
    report = await store.health()
    assert not report.ok and report.details["state"] == "connecting" and report.details["code"] == "UNAVAILABLE"
    with pytest.raises(PersistenceError) as caught:
        await store.sessions.get_session("s1")
    assert caught.value.code is ErrorCode.UNAVAILABLE and caught.value.retryable


def test_the_setting_defaults_to_fail_fast_and_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert StorageConfig(url="memory://").lazy_connect is False
    monkeypatch.setenv("DOCSTORE_LAZY_CONNECT", "true")
    assert StorageConfig(url="memory://").lazy_connect is True


async def test_without_it_a_server_that_is_down_fails_initialize() -> None:
    store = open_store(f"http://127.0.0.1:{free_port()}", token=ADMIN_TOKEN)
    with pytest.raises(PersistenceError) as caught:
        await store.initialize()
    assert caught.value.code is ErrorCode.UNAVAILABLE


async def test_a_remote_store_starts_while_its_server_is_down_and_recovers(tmp_path: Path) -> None:
    port = free_port()
    store = open_store(f"http://127.0.0.1:{port}", token=ADMIN_TOKEN, lazy_connect=True)
    await store.initialize()  # succeeds: nothing listens on the port
    try:
        await assert_connecting(store)
        async with docstore_server(port, f"local://{tmp_path / 'store'}"):
            await until_it_works(store)
            assert (await store.health()).ok
            await store.sessions.create_session(Session(join_code="lazy1"))
            assert await store.sessions.count_sessions() == 1
    finally:
        await store.shutdown()


async def test_a_mongodb_store_starts_while_the_server_is_down_and_recovers(tmp_path: Path) -> None:
    server = WireServer(tmp_path)  # its port chosen, not started yet
    store = open_store(server.url, lazy_connect=True, server_selection_timeout_ms=300, database="lazy")
    await store.initialize()
    try:
        await assert_connecting(store)
        server.start()
        await until_it_works(store)
        assert (await store.health()).ok
    finally:
        await store.shutdown()
        server.kill()


async def test_shutdown_while_connecting_stops_retrying() -> None:
    store = open_store(f"http://127.0.0.1:{free_port()}", token=ADMIN_TOKEN, lazy_connect=True)
    await store.initialize()
    retrying = store._shared.retrying
    assert retrying is not None and not retrying.done()
    await store.shutdown()
    assert retrying.done() and store._shared.retrying is None
    with pytest.raises(PersistenceError) as caught:
        await store.sessions.count_sessions()
    assert caught.value.code is ErrorCode.STORAGE_ERROR


async def test_what_waiting_cannot_fix_stays_fail_fast(tmp_path: Path) -> None:
    port = free_port()
    async with docstore_server(port, "memory://"):
        store = open_store(f"http://127.0.0.1:{port}", token="wrong-token", lazy_connect=True)
        with pytest.raises(PersistenceError) as caught:
            await store.initialize()
        assert caught.value.code is ErrorCode.PERMISSION_DENIED


async def test_a_web_app_starts_answers_503_then_serves(tmp_path: Path) -> None:
    port = free_port()
    store = open_store(f"http://127.0.0.1:{port}", token=ADMIN_TOKEN, lazy_connect=True)
    app = FastAPI(lifespan=store_lifespan(store))
    install(app)

    @app.get("/count")
    async def count(store: StoreDep) -> int:
        return await store.sessions.count_sessions()

    async with serving(app) as client:
        answer = await client.get("/count")
        assert answer.status_code == 503 and answer.json()["code"] == "UNAVAILABLE"
        async with docstore_server(port, "memory://"):
            await until_it_works(store)
            answer = await client.get("/count")
            assert answer.status_code == 200 and answer.json() == 0


async def test_a_local_store_never_waits(tmp_path: Path) -> None:
    # A missing store opened without create is UNAVAILABLE: with lazy_connect too, at once.
    store = open_store(f"local://{tmp_path / 'absent'}", create=False, lazy_connect=True)
    with pytest.raises(PersistenceError) as caught:
        await store.initialize()
    assert caught.value.code is ErrorCode.UNAVAILABLE and store._shared.retrying is None
