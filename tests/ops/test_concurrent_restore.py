"""A second restore while one is running refuses; it never undoes a restore that is still writing.

Finding 8 of the operations attack (tester4): a restore's durable record (``docstore_restore``)
said "a restore did not finish" as soon as it was written, so a second ``docstore restore``
started while the first was writing took it for a killed one: it undid the first one's
documents under its feet and began its own, and the first, finishing, deleted the second's
record (whose undo entries were then gone). The record now names its process; a restore whose
process is alive on this machine (or, from another machine, was heard from within
``LIVE_FOR_S``) is running, not interrupted.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

from docstore import CodeRevision, Session, export_store, open_store
from tests.ops.test_ops_commands import ROOT, docstore

# Restores argv[2] into argv[1], pausing after its second batch of revisions until argv[3] exists.
PAUSED = textwrap.dedent(
    """
    import asyncio, os, sys, time
    from docstore import open_store
    from docstore import _backup

    real = _backup._upsert
    batches = [0]

    async def upsert_then_wait(store, name, batch):
        await real(store, name, batch)
        if name == "revisions":
            batches[0] += 1
            if batches[0] == 2:
                print("paused", file=sys.stderr, flush=True)
                while not os.path.exists(sys.argv[3]):
                    time.sleep(0.01)

    _backup._upsert = upsert_then_wait

    async def main():
        async with open_store(sys.argv[1]) as store:
            await _backup.restore_store(store, sys.argv[2])

    asyncio.run(main())
    """
)


async def backup_of(folder: Path, prefix: str) -> None:
    async with open_store("memory://") as source:
        session = await source.sessions.create_session(Session(id=f"{prefix}-session", join_code=f"{prefix}0001"))
        await source.revisions.save_revisions(
            [CodeRevision(session_id=session, student_id=f"s{n % 30}", code=f"{prefix}{n}") for n in range(3500)]
        )
        await export_store(source, folder)


async def test_a_second_restore_refuses_while_the_first_is_writing(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    await backup_of(first, "A")
    await backup_of(second, "B")
    url = f"local://{tmp_path / 'store'}"
    async with open_store(url) as store:
        await store.sessions.create_session(Session(id="mine", join_code="MINE01"))
    go = tmp_path / "go"
    with subprocess.Popen(
        [sys.executable, "-c", PAUSED, url, str(first), str(go)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        env={key: value for key, value in os.environ.items() if not key.startswith("DOCSTORE_")},
    ) as running:
        assert running.stderr is not None
        assert running.stderr.readline().startswith("paused")
        try:
            other = docstore("restore", str(second), url=url)
            undo = docstore("restore", url=url)
        finally:
            go.touch()
        _, err = running.communicate(timeout=120)
    assert running.returncode == 0, err
    assert other.returncode == 2 and "another restore is running" in other.stderr, other.stdout + other.stderr
    assert undo.returncode == 2 and "another restore is running" in undo.stderr, undo.stdout + undo.stderr
    assert "undoing" not in other.stdout + undo.stdout
    async with open_store(url) as store:
        assert (await store.health()).ok
        assert await store.revisions.count_revisions("A-session") == 3500
        assert await store.sessions.get_session("B-session") is None
        assert await store.sessions.get_session("mine") is not None


async def test_a_killed_restore_is_undone_at_once_on_its_machine(tmp_path: Path) -> None:
    """Its process is gone: the next restore undoes it at once (it never waits for the record to age)."""
    backup = tmp_path / "backup"
    await backup_of(backup, "A")
    url = f"local://{tmp_path / 'store'}"
    go = tmp_path / "go"
    with subprocess.Popen(
        [sys.executable, "-c", PAUSED, url, str(backup), str(go)], cwd=ROOT, stderr=subprocess.PIPE, text=True
    ) as running:
        assert running.stderr is not None
        assert running.stderr.readline().startswith("paused")
        running.kill()
    undone = docstore("restore", url=url)
    assert undone.returncode == 0 and "undone" in undone.stdout, undone.stderr


def test_whose_restore_is_running_is_judged_by_pid_start_time_and_heartbeat() -> None:
    from datetime import timedelta

    from docstore._restore_journal import LIVE_FOR_S, _process_stat, running_elsewhere
    from docstore._time import utc_now

    here = socket.gethostname()
    parent = os.getppid()
    stat = _process_stat(parent)
    started = None if stat is None else stat[1]
    alive = {"owner": {"host": here, "pid": parent, "token": "t", "started": started}}
    assert running_elsewhere(alive) is not None
    if started is not None:  # a pid reused by another process is not the restore's
        assert running_elsewhere({"owner": {**alive["owner"], "started": started + 1}}) is None
    elsewhere = {"owner": {"host": here + "-other", "pid": 1, "token": "t"}, "alive_at": utc_now()}
    assert running_elsewhere(elsewhere) is not None
    quiet = {**elsewhere, "alive_at": utc_now() - timedelta(seconds=LIVE_FOR_S + 1)}
    assert running_elsewhere(quiet) is None
    assert running_elsewhere({"phase": "writing"}) is None  # a record of an earlier release: interrupted
