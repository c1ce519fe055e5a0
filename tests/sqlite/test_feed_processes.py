"""The local:// feed across processes: a writer in another process, a kill -9 mid-burst, retention."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from docstore import ErrorCode, PersistenceError, Session, Student, open_store

WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from docstore import open_store

    async def main(url, session_id, count):
        async with open_store(url) as store:
            for n in range(count):
                revision = await store.sessions.record_code(session_id, f"s{n % 5}", f"post {n}")
                print(revision.id, flush=True)

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
    """
)


def writer(url: str, session_id: str, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, url, session_id, str(count)], stdout=subprocess.PIPE, text=True
    )


async def classroom(url: str) -> str:
    async with open_store(url) as store:
        students = {f"s{i}": Student(id=f"s{i}") for i in range(5)}
        return await store.sessions.create_session(Session(join_code="PROC01", students=students))


async def test_posts_of_another_process_reach_the_watcher(tmp_path: Path) -> None:
    url = f"local://{tmp_path}"
    session_id = await classroom(url)
    async with open_store(url) as store, store.sessions.watch(session_id) as feed:
        process = writer(url, session_id, 60)
        out, _ = await asyncio.to_thread(process.communicate, timeout=120)
        acknowledged = out.split()
        got = [await asyncio.wait_for(anext(feed), 10) for _ in acknowledged]
    assert [c.revision.id for c in got if c.revision] == acknowledged
    assert all(c.kind == "revision_saved" and c.student is not None for c in got)


@pytest.mark.parametrize("round_", range(3))
async def test_a_writer_killed_mid_burst_loses_no_acknowledged_change(tmp_path: Path, round_: int) -> None:
    url = f"local://{tmp_path}"
    session_id = await classroom(url)
    async with open_store(url) as store:
        async with store.sessions.watch(session_id) as feed:
            start = feed.position
        process = writer(url, session_id, 100_000)
        assert process.stdout is not None
        acknowledged: list[str] = []
        deadline = time.monotonic() + 0.3 + 0.2 * round_
        while time.monotonic() < deadline:
            line = await asyncio.to_thread(process.stdout.readline)
            if line.endswith("\n"):
                acknowledged.append(line.strip())
        os.kill(process.pid, signal.SIGKILL)
        rest, _ = process.communicate()
        acknowledged += [line for line in rest.split("\n")[:-1] if line]  # whole lines only
        total = await store.revisions.count_revisions(session_id)
        async with store.sessions.watch(session_id, after=start) as replay:
            seen = [(await asyncio.wait_for(anext(replay), 10)).revision for _ in range(total)]
    ids = [revision.id for revision in seen if revision is not None]
    assert len(ids) == total >= len(acknowledged) > 0
    assert ids[: len(acknowledged)] == acknowledged  # every acknowledged post, in order, nothing else before


async def test_positions_trimmed_away_are_expired(tmp_path: Path) -> None:
    from docstore._sqlite._feed import trim_changes

    url = f"local://{tmp_path}"
    session_id = await classroom(url)
    async with open_store(url) as store:
        async with store.sessions.watch(session_id) as feed:
            await store.sessions.record_code(session_id, "s0", "kept?")
            first = await asyncio.wait_for(anext(feed), 10)
            for n in range(20):
                await store.sessions.record_code(session_id, "s1", f"v{n}")
        database = store._shared.backend._database  # type: ignore[union-attr]
        await database.write(lambda connection: trim_changes(connection, max_changes=5))
        with pytest.raises(PersistenceError) as caught:
            await store.sessions.watch(session_id, after=first.position).__aenter__()
        assert caught.value.code is ErrorCode.EXPIRED


async def test_check_names_a_damaged_change_of_the_feed(tmp_path: Path) -> None:
    import sqlite3

    from docstore._sqlite._verify import verify_store

    url = f"local://{tmp_path}"
    session_id = await classroom(url)
    async with open_store(url) as store:
        await store.sessions.upsert_student(session_id, Student(id="s0", name="renamed"))
    assert verify_store(tmp_path)[1] == []
    with sqlite3.connect(tmp_path / "docstore.sqlite3") as connection:
        connection.execute("UPDATE changes SET doc = zeroblob(length(doc)) WHERE kind = 'student_changed'")
    problems = verify_store(tmp_path)[1]
    assert len(problems) == 1 and "the live feed's log" in problems[0] and session_id in problems[0]
