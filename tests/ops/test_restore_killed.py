"""A restore killed mid-write (SIGKILL, SIGTERM) is said and undone, never silently half-done (issue 16 item 6)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from docstore import CodeRevision, Session, Store, export_store, import_legacy, open_store
from tests.ops.test_ops_commands import EXAMPLE, ROOT, docstore

# The restore kills itself right after its second batch of revisions is written: the
# moment is chosen by the test (never a timing guess), and it is mid-write.
KILLER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from docstore import open_store
    from docstore import _backup

    real = _backup._upsert
    batches = [0]

    async def upsert_then_die(store, name, batch):
        await real(store, name, batch)
        if name == "revisions":
            batches[0] += 1
            if batches[0] == 2:
                os.kill(os.getpid(), getattr(signal, sys.argv[3]))

    _backup._upsert = upsert_then_die

    async def main():
        async with open_store(sys.argv[1]) as store:
            await _backup.restore_store(store, sys.argv[2])

    asyncio.run(main())
    """
)


async def snapshot(store: Store, folder: Path) -> dict[str, bytes]:
    await export_store(store, folder)
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.jsonl"))}


async def make_backup(folder: Path) -> None:
    async with open_store("memory://") as source:
        await import_legacy(EXAMPLE, source)
        session = await source.sessions.create_session(Session(id="big", join_code="BIG001"))
        await source.revisions.save_revisions(
            [CodeRevision(session_id=session, student_id=f"s{n % 30}", code=f"print({n})") for n in range(3500)]
        )
        await export_store(source, folder)


@pytest.mark.parametrize("kill", ["SIGKILL", "SIGTERM"])
async def test_a_killed_restore_is_said_and_the_next_restore_undoes_it(tmp_path: Path, kill: str) -> None:
    backup = tmp_path / "backup"
    await make_backup(backup)
    url = f"local://{tmp_path / 'store'}"
    async with open_store(url) as store:
        await import_legacy(EXAMPLE, store)
        mine = await store.sessions.create_session(Session(id="mine", join_code="MINE01"))
        await store.revisions.save_revision(CodeRevision(session_id=mine, student_id="s", code="mine"))
        first = (await store.sessions.list_all_sessions())[0]
        await store.sessions.update_session(first.id, {"problem_text": "changed since the backup"})
        before = await snapshot(store, tmp_path / "before")

    killed = subprocess.run(
        [sys.executable, "-c", KILLER, url, str(backup), kill], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert killed.returncode == -getattr(signal, kill), killed.stderr
    async with open_store(url) as store:
        # Half-done: part of the backup's revisions are in the store.
        assert 0 < (await store.stats())["revisions"].documents < 3500 + 73
        report = await store.health()
        assert not report.ok and "mid-restore" in str(report.details["restore"])

    health = docstore("health", url=url)
    assert health.returncode == 2 and "mid-restore" in health.stdout
    refused = docstore("export", str(tmp_path / "refused"), url=url)
    assert refused.returncode == 2 and "mid-restore" in refused.stderr
    undone = docstore("restore", url=url)
    assert undone.returncode == 0 and "undone" in undone.stdout, undone.stderr
    async with open_store(url) as store:
        assert await snapshot(store, tmp_path / "after") == before
        assert (await store.health()).ok
    assert docstore("restore", url=url).stdout.startswith("no interrupted restore")


async def test_a_killed_restore_is_finished_by_running_it_again(tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    await make_backup(backup)
    url = f"local://{tmp_path / 'store'}"
    async with open_store(url) as store:
        await store.sessions.create_session(Session(id="mine", join_code="MINE01"))
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, url, str(backup), "SIGKILL"], capture_output=True, timeout=120, cwd=ROOT
    )
    assert killed.returncode == -signal.SIGKILL
    again = docstore("restore", str(backup), url=url)
    assert again.returncode == 0 and "undoing the interrupted restore" in again.stdout, again.stderr
    async with open_store(url) as store:
        after = await snapshot(store, tmp_path / "after")
        assert (await store.health()).ok
        assert await store.documents.get_document("sessions", "mine") is not None
    for name, content in after.items():
        if name != "sessions.jsonl":
            assert content == (backup / name).read_bytes(), name
