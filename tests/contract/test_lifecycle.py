"""initialize / shutdown / health, on every engine."""

from __future__ import annotations

import pytest

from docstore import ErrorCode, Session, open_store

from .helpers import expect_error


async def test_health_and_shutdown(factory) -> None:  # type: ignore[no-untyped-def]
    store = factory.open()
    before = await store.health()
    assert not before.ok
    await expect_error(ErrorCode.STORAGE_ERROR, store.sessions.get_session("x"))

    await store.initialize()
    await store.initialize()  # twice is fine
    report = await store.health()
    assert report.ok and report.engine == factory.engine and report.latency_ms >= 0

    await store.shutdown()
    await store.shutdown()  # twice is fine
    await expect_error(ErrorCode.STORAGE_ERROR, store.sessions.create_session(Session()))
    await expect_error(ErrorCode.STORAGE_ERROR, store.for_namespace("x").problems.count_problems())
    assert not (await store.health()).ok
    with pytest.raises(Exception) as caught:
        await store.initialize()
    assert getattr(caught.value, "code", None) is ErrorCode.STORAGE_ERROR


async def test_stores_are_independent(factory) -> None:  # type: ignore[no-untyped-def]
    async with open_store("memory://") as one, open_store("memory://") as two:
        await one.sessions.create_session(Session(join_code="IND001"))
        assert await two.sessions.count_sessions() == 0
