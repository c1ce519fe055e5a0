"""Finding: a feed that is behind holds up to 256 whole changes in memory (LogFeed's read
batch, `_READ_BATCH`), however big they are, for as long as its reader does not read.

Measured through `docstore serve` over local://: 20 never-reading SSE clients (a read-only
token, each from its own position 260 posts back, codes of 300 KB) took the server from
80 MB to 1.5 GB RSS (~74 MB each, linear in the number of clients; still 1.6 GB after
they closed). README: "a slow client costs the server its position, never a growing buffer".
Here: after the first change is handed out, the feed must not hold the next 255 (~100 MB).
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from pathlib import Path

from docstore import Session, Student, open_store

CODE_BYTES = 200_000
POSTS = 200
BOUND = 16 * 1024 * 1024  # a few changes' worth; the batch held is ~80 MB


async def test_behind_feed_does_not_buffer_the_batch(tmp_path: Path) -> None:
    async with open_store(f"local://{tmp_path}/store") as store:
        session_id = await store.sessions.create_session(Session(join_code="sb11"))
        await store.sessions.upsert_student(session_id, Student(id="s1"))
        async with store.sessions.watch(session_id) as feed:
            position = feed.position
        for index in range(POSTS):
            await store.sessions.record_code(session_id, "s1", "x" * CODE_BYTES + str(index))
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            async with store.sessions.watch(session_id, after=position) as behind:
                first = await asyncio.wait_for(anext(behind), 30)
                gc.collect()
                held = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
    assert first.kind == "revision_saved"
    assert held < BOUND, f"a feed behind holds {held / 2**20:.0f} MB after handing out one change"
