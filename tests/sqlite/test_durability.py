"""local:// keeps what it acknowledged: across restarts, shutdowns racing writes, and kill -9."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from docstore import CodeRevision, ErrorCode, PersistenceError, Session, Student, open_store
from docstore._sqlite._verify import verify_store

from ..contract.helpers import expect_error


async def test_data_survives_a_clean_restart(tmp_path: Path) -> None:
    url = f"local://{tmp_path}"
    async with open_store(url) as store:
        session_id = await store.sessions.create_session(Session(join_code="KEEP01"))
        await store.sessions.upsert_student(session_id, Student(id="s1", name="Ana"))
    async with open_store(url) as store:
        stored = await store.sessions.get_session(session_id)
        assert stored is not None and stored.students["s1"].name == "Ana"
        assert stored.metadata is not None and stored.metadata.version == 1  # a post leaves the session alone
        # The unique index lives in the file: it holds after a reopen too.
        await expect_error(ErrorCode.ALREADY_EXISTS, store.sessions.create_session(Session(join_code="KEEP01")))
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("docstore.sqlite3")) == []


async def test_reloaded_documents_compare_and_sort_with_new_ones(tmp_path: Path) -> None:
    url = f"local://{tmp_path}"
    base = datetime(2026, 1, 6, 13, 0, 0, 123000, tzinfo=UTC)

    def revisions(prefix: str, shift: int) -> list[CodeRevision]:
        return [
            CodeRevision(
                id=f"{prefix}{i}",
                session_id="s",
                student_id="a",
                code="",
                timestamp=base + timedelta(minutes=2 * i + shift),
            )
            for i in range(3)
        ]

    async with open_store(url) as store:
        await store.revisions.save_revisions(revisions("old", 0))
    async with open_store(url) as store:
        await store.revisions.save_revisions(revisions("new", 1))
        stream = await store.revisions.get_revisions("s", "a", after=base + timedelta(minutes=1))
        assert [r.id for r in stream] == ["old1", "new1", "old2", "new2"]  # strictly after minute 1
        assert stream[0].timestamp == base + timedelta(minutes=2) and stream[0].timestamp.tzinfo is not None
        assert (await store.revisions.get_latest_revisions("s"))["a"].id == "new2"


async def test_writes_racing_a_shutdown_are_either_kept_or_refused(tmp_path: Path) -> None:
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
    assert kept == stored  # every acknowledged write is there, and nothing that was refused


async def test_concurrent_students_never_overwrite_each_other(tmp_path: Path) -> None:
    async with open_store(f"local://{tmp_path}") as store:
        session_id = await store.sessions.create_session(Session(join_code="MANY01"))
        await asyncio.gather(*(store.sessions.upsert_student(session_id, Student(id=f"s{i}")) for i in range(50)))
        await asyncio.gather(
            *(store.sessions.record_code(session_id, f"s{i}", f"code {i}") for i in range(50) for _ in range(3))
        )
        session = await store.sessions.get_session(session_id)
        assert session is not None and len(session.students) == 50
        assert all(session.students[f"s{i}"].code == f"code {i}" for i in range(50))
        # Students are records of their own: their posts never rewrite the session (issue 14).
        assert session.metadata is not None and session.metadata.version == 1
        assert await store.revisions.count_revisions(session_id) == 150


# Every kind of write at once, each line printed only once its write was acknowledged.
WRITER = textwrap.dedent("""
    import asyncio, sys
    from docstore import open_store, Session, Student, CodeRevision, ProblemSpec

    async def main(url, round_number):
        async with open_store(url) as store:
            sid = f"crash-{round_number}"
            await store.sessions.create_session(Session(id=sid, join_code=f"C{round_number:05d}"))
            print("session", sid, flush=True)

            async def students(k):
                for i in range(10**9):
                    student = f"t{k}-{i}"
                    await store.sessions.upsert_student(sid, Student(id=student))
                    revision = await store.sessions.record_code(sid, student, f"x = {i}")
                    print("student", student, revision.id, flush=True)

            async def revisions():
                for i in range(10**9):
                    batch = [CodeRevision(id=f"{sid}-r{i}-{j}", session_id=sid, student_id="bulk", code=f"{i}-{j}")
                             for j in range(5)]
                    await store.revisions.save_revisions(batch)
                    print("revisions", f"{sid}-r{i}", flush=True)

            async def problems():
                for i in range(10**9):
                    title = f"t{sid.replace('-', '')}x{i} problem"
                    await store.problems.save_problem(ProblemSpec(id=f"{sid}-p{i}", title=title))
                    print("problem", f"{sid}-p{i}", flush=True)

            async def documents():
                for i in range(10**9):
                    await store.documents.upsert_documents("legacy_things", [{"_id": f"{sid}-d{i}", "n": i}])
                    print("document", f"{sid}-d{i}", flush=True)

            await asyncio.gather(students(0), students(1), revisions(), problems(), documents())

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
""")
CRASH_ROUNDS = 20


@pytest.mark.slow
async def test_acknowledged_writes_of_every_kind_survive_kill_9_at_random_moments(tmp_path: Path) -> None:
    url = f"local://{tmp_path / 'store'}"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    chance = random.Random(20261126)
    acknowledged: list[list[str]] = []
    for round_number in range(CRASH_ROUNDS):
        wanted = chance.randint(1, 120)
        with subprocess.Popen(
            [sys.executable, str(script), url, str(round_number)], stdout=subprocess.PIPE, text=True
        ) as writer:
            assert writer.stdout is not None
            lines: list[str] = []
            deadline = time.monotonic() + 60
            while len(lines) < wanted and time.monotonic() < deadline:
                lines.append(writer.stdout.readline())
            time.sleep(chance.random() * 0.02)  # land anywhere: mid-write, mid-commit, between writes
            os.kill(writer.pid, signal.SIGKILL)
            lines += writer.stdout.read().splitlines(keepends=True)
        # Only whole lines are acknowledgements: the kill can land in the middle of printing one.
        acknowledged.append([line.strip() for line in lines if line.endswith("\n") and line.strip()])
        assert len(acknowledged[-1]) >= wanted
        async with open_store(url) as store:  # every acknowledged write of every round so far, whole
            for past in acknowledged:
                await _check_round(store, past)
    _, problems = verify_store(tmp_path / "store")
    assert problems == []


async def _check_round(store, lines: list[str]) -> None:  # type: ignore[no-untyped-def]
    for line in lines:
        kind, key, *rest = line.split()
        if kind == "session":
            assert await store.sessions.get_session(key) is not None
        elif kind == "student":
            revision = await store.revisions.get_revision(rest[0])
            assert revision is not None and revision.student_id == key
            session = await store.sessions.get_session(revision.session_id)
            assert session is not None and key in session.students
            assert session.students[key].code == revision.code
        elif kind == "revisions":
            for j in range(5):
                assert await store.revisions.get_revision(f"{key}-{j}") is not None
        elif kind == "problem":
            session_id, number = key.rsplit("-p", 1)
            found = await store.problems.search_problems(f"t{session_id.replace('-', '')}x{number}")
            assert [p.id for p in found] == [key]
        elif kind == "document":
            assert await store.documents.get_document("legacy_things", key) is not None


def test_a_write_whose_event_loop_closed_does_not_stop_the_writer(tmp_path: Path) -> None:
    url = f"local://{tmp_path}"
    store = open_store(url)
    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        first.run_until_complete(store.initialize())
        backend: Any = store._shared.backend
        gate = __import__("threading").Event()

        def slow(connection: Any) -> None:
            gate.wait(10)  # holds the writer until the loop that asked is gone

        first.run_until_complete(asyncio.sleep(0))
        task = first.create_task(backend._database.write(slow))
        first.run_until_complete(asyncio.sleep(0.01))
        task.cancel()
        first.run_until_complete(asyncio.gather(task, return_exceptions=True))
        first.close()
        gate.set()
        # The writer settled a future on a closed loop; it must still serve the next write.
        second.run_until_complete(asyncio.wait_for(store.sessions.create_session(Session(id="after")), 10))
        assert second.run_until_complete(store.sessions.get_session("after")) is not None
    finally:
        second.run_until_complete(store.shutdown())
        second.close()
