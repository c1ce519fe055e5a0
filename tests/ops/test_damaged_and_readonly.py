"""Issue 16 items 11 and 12: a TEXT document is named damage (exit 1), and a read-only store is read."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from docstore import ErrorCode, PersistenceError, Session, export_store, open_store
from tests.ops.test_ops_commands import docstore


async def test_a_document_column_holding_text_is_named_by_check_and_export(tmp_path: Path) -> None:
    url = f"local://{tmp_path / 'store'}"
    async with open_store(url) as store:
        await store.sessions.create_session(Session(id="fine", join_code="FINE01"))
        await store.sessions.create_session(Session(id="hurt", join_code="HURT01"))
        await export_store(store, tmp_path / "earlier")
    earlier = {path.name: path.read_bytes() for path in (tmp_path / "earlier").iterdir()}
    with contextlib.closing(sqlite3.connect(tmp_path / "store" / "docstore.sqlite3")) as connection:
        connection.execute("UPDATE sessions SET doc = 'not a document' WHERE id = 'hurt'")
        connection.commit()

    check = docstore("check", url=url)
    assert check.returncode == 1, check.stdout + check.stderr
    assert "damaged" in check.stdout and "'hurt'" in check.stdout and "TypeError" not in check.stdout + check.stderr

    export = docstore("export", str(tmp_path / "earlier"), url=url)
    assert export.returncode == 1, export.stdout + export.stderr
    assert "damaged" in export.stdout and "'hurt'" in export.stdout and "unexpected error" not in export.stderr
    # Nothing of the failed export replaced the earlier one, and no temporary file is left.
    assert {path.name: path.read_bytes() for path in (tmp_path / "earlier").iterdir()} == earlier


@contextlib.contextmanager
def read_only_mount(folder: Path) -> Iterator[None]:
    """A tmpfs at ``folder``, made read-only when the block's first step is done (skips where mounting is denied)."""
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def remount_read_only(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)


async def test_a_store_on_a_read_only_mount_is_read_by_every_tool_that_only_reads(tmp_path: Path) -> None:
    mount = tmp_path / "mnt"
    with read_only_mount(mount):
        url = f"local://{mount / 'store'}"
        async with open_store(url) as store:
            await store.sessions.create_session(Session(id="s1", join_code="RO0001"))
            await store.sessions.create_session(Session(id="s2", join_code="RO0002"))
        remount_read_only(mount)
        with pytest.raises(OSError):
            (mount / "probe").write_text("x")  # really read-only, even for root

        check = docstore("check", url=url)
        assert check.returncode == 0 and "sound" in check.stdout, check.stdout + check.stderr
        health = docstore("health", url=url)
        assert health.returncode == 0 and "healthy" in health.stdout, health.stdout + health.stderr
        stats = docstore("stats", url=url)
        assert stats.returncode == 0 and "sessions" in stats.stdout, stats.stderr
        export = docstore("export", str(tmp_path / "out"), url=url)
        assert export.returncode == 0 and "sessions: 2 documents" in export.stdout, export.stdout + export.stderr

        async with open_store(url) as store:
            found = await store.sessions.get_session_by_join_code("RO0002")
            assert found is not None and found.id == "s2"
            with pytest.raises(PersistenceError) as caught:
                await store.sessions.create_session(Session(join_code="RO0003"))
            assert caught.value.code is ErrorCode.STORAGE_ERROR and "read-only" in caught.value.message
