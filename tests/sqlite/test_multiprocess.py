"""Several processes on one local:// store: two app workers and the operator's tools, at once."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from docstore import ErrorCode, Session, Student, open_store

from ..contract.helpers import expect_error
from .helpers import ROOT, docstore, run_python

# A worker: holds the store open, waits for "go", races for a join code, writes its part, reads the others'.
WORKER = textwrap.dedent("""
    import asyncio, json, sys
    from docstore import open_store, PersistenceError, Session, Student

    async def main(url, name, workers):
        async with open_store(url) as store:
            print("open", flush=True)
            sys.stdin.readline()  # everyone is open: go
            try:
                await store.sessions.create_session(Session(id=f"race-{name}", join_code="SAME01"))
                won = True
            except PersistenceError as error:
                won = error.code.value
            for i in range(40):
                await store.sessions.upsert_student("shared", Student(id=f"{name}-{i}"))
                await store.sessions.record_code("shared", f"{name}-{i}", f"print({i})")
            print("wrote", flush=True)
            sys.stdin.readline()  # everyone has written: look
            session = await store.sessions.get_session("shared")
            print(json.dumps({"won": won, "students": len(session.students),
                              "revisions": await store.revisions.count_revisions("shared")}), flush=True)

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
""")


async def test_workers_share_one_store_see_each_other_and_one_join_code_holds(tmp_path: Path) -> None:
    url = f"local://{tmp_path / 'store'}"
    async with open_store(url) as store:
        await store.sessions.create_session(Session(id="shared"))
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, f"w{n}", "4"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for n in range(4)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "open"
        async with open_store(url) as store:  # and this process has it open too, all along
            for worker in workers:
                assert worker.stdin is not None
                worker.stdin.write("go\n")
                worker.stdin.flush()
            for worker in workers:
                assert worker.stdout is not None and worker.stdout.readline().strip() == "wrote"
            for worker in workers:
                assert worker.stdin is not None
                worker.stdin.write("look\n")
                worker.stdin.flush()
            reports = [json.loads(worker.stdout.readline()) for worker in workers if worker.stdout is not None]
            shared = await store.sessions.get_session("shared")
            assert shared is not None and len(shared.students) == 160
            assert [r["won"] for r in reports].count(True) == 1
            assert sorted(r["won"] for r in reports if r["won"] is not True) == ["ALREADY_EXISTS"] * 3
            assert all(r["students"] == 160 and r["revisions"] == 160 for r in reports)
            winner = await store.sessions.get_session_by_join_code("SAME01")
            assert winner is not None
            await expect_error(ErrorCode.ALREADY_EXISTS, store.sessions.create_session(Session(join_code="same01")))
    finally:
        for worker in workers:
            worker.kill()
            worker.communicate()  # reaps it and closes its pipes


async def test_stats_export_health_and_check_run_while_the_app_has_the_store_open(tmp_path: Path) -> None:
    url = f"local://{tmp_path / 'store'}"
    async with open_store(url) as store:
        session_id = await store.sessions.create_session(Session(join_code="OPS001"))
        await store.sessions.upsert_student(session_id, Student(id="s"))
        await store.sessions.record_code(session_id, "s", "x = 1")
        health = docstore("health", "--url", url)
        assert health.returncode == 0 and "healthy local" in health.stdout, health.stdout + health.stderr
        assert "journal_mode: wal" in health.stdout and "sqlite_version" in health.stdout
        stats = docstore("stats", "--url", url)
        assert stats.returncode == 0 and "revisions" in stats.stdout
        exported = docstore("export", str(tmp_path / "dump"), "--url", url)
        assert exported.returncode == 0, exported.stderr
        assert (tmp_path / "dump" / "revisions.jsonl").read_text().count("x = 1") == 1
        assert docstore("check", "--url", url).returncode == 0
        # Another process writes; this one sees it at once.
        wrote = run_python(
            "import asyncio, sys\n"
            "from docstore import open_store\n"
            "async def main():\n"
            "    async with open_store(sys.argv[1]) as other:\n"
            "        await other.sessions.record_code(sys.argv[2], 's', 'x = 2')\n"
            "asyncio.run(main())\n",
            url,
            session_id,
        )
        assert wrote.returncode == 0, wrote.stderr
        latest = await store.revisions.get_latest_revision(session_id, "s")
        assert latest is not None and latest.code == "x = 2"


async def test_health_of_a_missing_store_does_not_create_it(tmp_path: Path) -> None:
    from docstore import StorageConfig

    missing = tmp_path / "nowhere"
    await expect_error(
        ErrorCode.UNAVAILABLE, open_store(StorageConfig(url=f"local://{missing}", create=False)).initialize()
    )
    assert not missing.exists()
    missing.mkdir()
    await expect_error(
        ErrorCode.UNAVAILABLE, open_store(StorageConfig(url=f"local://{missing}", create=False)).initialize()
    )
    assert list(missing.iterdir()) == []
