"""``LogFeed`` over the in-process log: retention gives EXPIRED, never a silent gap."""

from __future__ import annotations

import asyncio

import pytest

from docstore import ErrorCode, PersistenceError
from docstore._feed import LogFeed
from docstore._memory_feed import MemoryChangeLog


async def always() -> bool:
    return True


def append(log: MemoryChangeLog, session_id: str, n: int) -> None:
    for _ in range(n):
        log.append("session_changed", session_id, "ns")


async def test_a_position_trimmed_away_is_expired_on_entering_and_while_reading() -> None:
    log = MemoryChangeLog(max_changes=10)
    async with LogFeed(log, "s1", None, None, always) as feed:
        append(log, "s1", 3)
        first = await anext(feed)  # the three are read (buffered) together: still delivered
        append(log, "s1", 20)  # the log keeps 10: the feed's next unread change is gone
        assert [(await anext(feed)).kind for _ in range(2)] == ["session_changed"] * 2
        with pytest.raises(PersistenceError) as caught:
            await anext(feed)
        assert caught.value.code is ErrorCode.EXPIRED
    with pytest.raises(PersistenceError) as caught:
        await LogFeed(log, "s1", first.position, None, always).__aenter__()
    assert caught.value.code is ErrorCode.EXPIRED


async def test_another_sessions_churn_does_not_expire_a_quiet_feed() -> None:
    log = MemoryChangeLog(max_changes=10)
    async with LogFeed(log, "quiet", None, None, always) as feed:
        append(log, "busy", 50)
        log.append("session_changed", "quiet", "ns")
        change = await asyncio.wait_for(anext(feed), 1)
        assert change.session_id == "quiet"


async def test_another_namespaces_entries_are_never_read() -> None:
    log = MemoryChangeLog()
    async with LogFeed(log, "s1", None, "ns-b", always) as feed:
        log.append("session_changed", "s1", "ns-a")
        log.append("session_ended", "s1", "ns-b")
        change = await asyncio.wait_for(anext(feed), 1)
        assert change.kind == "session_ended"


async def test_a_feed_is_entered_once_and_iterated_only_when_entered() -> None:
    log = MemoryChangeLog()
    feed = LogFeed(log, "s1", None, None, always)
    with pytest.raises(PersistenceError):
        await anext(feed)
    async with feed:
        with pytest.raises(PersistenceError):
            await feed.__aenter__()
