"""The embedded default: durable across restarts and crashes, one process at a time."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from docstore import ErrorCode, Session, Student, open_store

from .helpers import expect_error


async def test_data_survives_a_clean_restart(tmp_path: Path) -> None:
    url = f"local://{tmp_path}"
    async with open_store(url) as store:
        session_id = await store.sessions.create_session(Session(join_code="KEEP01"))
        await store.sessions.upsert_student(session_id, Student(id="s1", name="Ana"))
    async with open_store(url) as store:
        stored = await store.sessions.get_session(session_id)
        assert stored is not None and stored.students["s1"].name == "Ana"
        assert stored.metadata is not None and stored.metadata.version == 2
        # Unique indexes hold after a reload too.
        await expect_error(ErrorCode.ALREADY_EXISTS, store.sessions.create_session(Session(join_code="KEEP01")))


async def test_a_second_process_gets_a_clear_error(tmp_path: Path) -> None:
    url = f"local://{tmp_path}"
    async with open_store(url):
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                textwrap.dedent(f"""
                import asyncio
                from docstore import open_store, PersistenceError
                async def main():
                    try:
                        await open_store({url!r}).initialize()
                    except PersistenceError as error:
                        print(error.code.value, error.message)
                asyncio.run(main())
            """),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert probe.stdout.startswith("UNAVAILABLE"), probe.stdout + probe.stderr
        assert "another process" in probe.stdout


WRITER = textwrap.dedent("""
    import asyncio, sys
    from docstore import open_store, Session, Student, CodeRevision

    async def main(url, round_number):
        async with open_store(url) as store:
            session_id = f"crash-{round_number}"
            await store.sessions.create_session(Session(id=session_id))
            i = 0
            while True:
                revision = CodeRevision(id=f"{session_id}-r{i}", session_id=session_id, student_id="s", code=f"x = {i}")
                await store.revisions.save_revision(revision)
                await store.sessions.upsert_student(session_id, Student(id=f"s{i}", code=str(i)))
                print(i, flush=True)  # acknowledged: both writes returned
                i += 1

    asyncio.run(main(sys.argv[1], sys.argv[2]))
""")
CRASH_ROUNDS = 20


async def test_acknowledged_writes_survive_kill_9_at_random_moments(tmp_path: Path) -> None:
    url = f"local://{tmp_path / 'store'}"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    chance = random.Random(20261125)
    acknowledged: dict[int, int] = {}
    for round_number in range(CRASH_ROUNDS):
        wanted = chance.randint(1, 60)
        with subprocess.Popen(
            [sys.executable, str(script), url, str(round_number)], stdout=subprocess.PIPE, text=True
        ) as writer:
            assert writer.stdout is not None
            lines = []
            deadline = time.monotonic() + 60
            while len(lines) < wanted and time.monotonic() < deadline:
                lines.append(writer.stdout.readline().strip())
            time.sleep(chance.random() * 0.02)  # land anywhere: mid-write, mid-fsync, between writes
            os.kill(writer.pid, signal.SIGKILL)
            rest = writer.stdout.read()
        numbers = [int(line) for line in (lines + rest.split()) if line.isdigit()]
        acknowledged[round_number] = max(numbers, default=-1)
        assert acknowledged[round_number] >= wanted - 1
        # Reopen: every acknowledged write of every round so far is there, whole.
        async with open_store(url) as store:
            for past, last in acknowledged.items():
                session = await store.sessions.get_session(f"crash-{past}")
                assert session is not None
                revisions = await store.revisions.get_revisions(f"crash-{past}", "s")
                assert len(revisions) >= last + 1, (past, len(revisions), last)
                assert all(r.code == f"x = {r.id.rsplit('-r', 1)[1]}" for r in revisions)
                assert all(f"s{i}" in session.students for i in range(last + 1))


async def test_a_torn_journal_tail_is_cut_not_applied(tmp_path: Path) -> None:
    url = f"local://{tmp_path}"
    store = open_store(url)
    await store.initialize()
    await store.sessions.create_session(Session(id="whole", join_code="WHOLE1"))
    # Simulate a crash: no shutdown (no compaction), then half a record at the end.
    journal = next(tmp_path.glob("journal-*.bin"))
    engine = store._shared.backend._engine  # type: ignore[union-attr]
    assert engine is not None
    engine._journal.close()  # type: ignore[attr-defined]
    os.close(engine._lock_fd)  # type: ignore[attr-defined]
    with open(journal, "ab") as out:
        out.write(b"\x40\x00\x00\x00\x12\x34")
    async with open_store(url) as reopened:
        assert (await reopened.sessions.get_session("whole")) is not None
        await reopened.sessions.create_session(Session(id="after", join_code="AFTER1"))
    async with open_store(url) as again:
        assert await again.sessions.count_sessions() == 2


async def test_reloaded_documents_compare_and_sort_with_new_ones(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from docstore import CodeRevision

    url = f"local://{tmp_path}"
    base = datetime(2026, 1, 6, 13, 0, 0, 123000, tzinfo=UTC)
    async with open_store(url) as store:
        await store.revisions.save_revisions(
            [
                CodeRevision(
                    id=f"old{i}", session_id="s", student_id="a", code="", timestamp=base + timedelta(minutes=2 * i)
                )
                for i in range(3)
            ]
        )
    async with open_store(url) as store:  # the old ones come from the snapshot now
        await store.revisions.save_revisions(
            [
                CodeRevision(
                    id=f"new{i}", session_id="s", student_id="a", code="", timestamp=base + timedelta(minutes=2 * i + 1)
                )
                for i in range(3)
            ]
        )
        stream = await store.revisions.get_revisions("s", "a", after=base + timedelta(minutes=1))
        assert [r.id for r in stream] == ["old1", "new1", "old2", "new2"]  # strictly after minute 1
        assert stream[0].timestamp == base + timedelta(minutes=2)
        assert stream[0].timestamp.tzinfo is not None
        latest = await store.revisions.get_latest_revisions("s")
        assert latest["a"].id == "new2"


async def test_writes_racing_a_shutdown_are_either_kept_or_refused(tmp_path: Path) -> None:
    import asyncio

    from docstore import CodeRevision, PersistenceError

    url = f"local://{tmp_path}"
    store = open_store(url)
    await store.initialize()

    async def write(i: int) -> str:
        await asyncio.sleep(i * 0.0005)
        return await store.revisions.save_revision(CodeRevision(id=f"w{i}", session_id="s", student_id="a", code=""))

    writers = [asyncio.create_task(write(i)) for i in range(200)]
    await asyncio.sleep(0.03)
    await store.shutdown()
    results = await asyncio.gather(*writers, return_exceptions=True)
    kept = {r for r in results if isinstance(r, str)}
    refused = [r for r in results if not isinstance(r, str)]
    assert kept and all(isinstance(e, PersistenceError) and e.code is ErrorCode.STORAGE_ERROR for e in refused), {
        repr(e) for e in refused
    }
    async with open_store(url) as reopened:
        stored = {r.id for r in await reopened.revisions.get_revisions("s", "a")}
    assert kept <= stored  # every acknowledged write survived the shutdown's compaction


async def test_an_unwritable_journal_refuses_writes_until_reopened(tmp_path: Path) -> None:
    url = f"local://{tmp_path}"
    async with open_store(url) as store:
        await store.sessions.create_session(Session(id="before", join_code="BEFORE"))
        engine = store._shared.backend._engine  # type: ignore[union-attr]
        journal = engine._journal  # type: ignore[union-attr]
        real_fd = journal._fd
        journal._fd = os.open(os.devnull, os.O_RDONLY)  # writes to it fail, as on a broken disk
        try:
            await expect_error(ErrorCode.STORAGE_ERROR, store.sessions.create_session(Session(id="lost")))
            # Memory took that write but the file did not: everything is refused from now on.
            await expect_error(ErrorCode.STORAGE_ERROR, store.sessions.create_session(Session(id="after")))
        finally:
            os.close(journal._fd)
            journal._fd = real_fd
            journal._failure = None  # let shutdown compact what was acknowledged
    async with open_store(url) as reopened:
        assert await reopened.sessions.get_session("before") is not None
        assert await reopened.sessions.get_session("after") is None


async def test_a_long_running_store_compacts_its_journal_while_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from docstore import CodeRevision
    from docstore._mongo import _local_engine

    monkeypatch.setattr(_local_engine, "COMPACT_WHILE_RUNNING_AFTER", 40)
    url = f"local://{tmp_path}"
    async with open_store(url) as store:
        for start in range(0, 300, 30):  # concurrent writers while compactions come and go
            await asyncio.gather(
                *(
                    store.revisions.save_revision(CodeRevision(id=f"c{i}", session_id="s", student_id="a", code=str(i)))
                    for i in range(start, start + 30)
                )
            )
        engine = store._shared.backend._engine  # type: ignore[union-attr]
        assert engine._generation >= 5  # type: ignore[union-attr]  # it compacted, several times
        assert len(list(tmp_path.glob("journal-*.bin"))) == 1
        assert engine._journal.records < 80  # type: ignore[union-attr]
    async with open_store(url) as reopened:
        assert await reopened.revisions.count_revisions("s") == 300
