"""Shared helpers of the attack-finding tests: drain a feed's changes within a bound."""

from __future__ import annotations

import asyncio

from docstore import SessionChange, SessionFeed


async def drain(feed: SessionFeed, quiet_s: float = 1.0, max_changes: int = 200) -> list[SessionChange]:
    changes: list[SessionChange] = []
    try:
        while len(changes) < max_changes:
            changes.append(await asyncio.wait_for(anext(feed), quiet_s))
    except (TimeoutError, StopAsyncIteration):
        pass
    return changes
