"""Finding 10 (ops attack): a restore over a damaged ``local://`` document, undone and exported.

The restore replaces a damaged document with the backup's copy
(tests/regressions/test_restore_cannot_repair_a_damaged_store.py); here, a restore that
failed or was killed after it had written that copy is undone: every readable document is
put back, and the damaged one keeps the backup's sound copy (its previous version was
unreadable: nothing readable is lost). And export of a damaged store refuses, naming it.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from docstore import ErrorCode, PersistenceError, Session, export_store, import_legacy, open_store, restore_store
from tests.ops.test_ops_commands import EXAMPLE, ROOT, docstore
from tests.regressions.test_restore_cannot_repair_a_damaged_student_record import CROWD, damaged_student
from tests.regressions.test_restore_cannot_repair_a_damaged_student_record import MARKER as STUDENT_MARKER
from tests.remote.servers import ADMIN_TOKEN, asgi_server

MARKER = "MARKER-0123456789"

# Killed right after the sessions (the damaged one among them) are written: mid-write, by the test's choice.
KILLER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from docstore import open_store
    from docstore import _backup

    real = _backup._upsert

    async def upsert_then_die(store, name, batch):
        await real(store, name, batch)
        if name == "sessions":
            os.kill(os.getpid(), signal.SIGKILL)

    _backup._upsert = upsert_then_die

    async def main():
        async with open_store(sys.argv[1]) as store:
            await _backup.restore_store(store, sys.argv[2])

    asyncio.run(main())
    """
)


async def damaged_store(tmp_path: Path) -> tuple[str, Path, str]:
    """A store with session "hurt" damaged, a backup holding its sound copy, and another session changed since."""
    url = f"local://{tmp_path / 'store'}"
    async with open_store(url) as store:
        await import_legacy(EXAMPLE, store)
        await store.sessions.create_session(Session(id="hurt", problem_text=MARKER))
        await export_store(store, tmp_path / "backup")
        changed = next(s for s in await store.sessions.list_all_sessions() if s.id != "hurt").id
        await store.sessions.update_session(changed, {"problem_text": "changed since the backup"})
    database = tmp_path / "store" / "docstore.sqlite3"
    with contextlib.closing(sqlite3.connect(database)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(database.read_bytes())
    data[data.index(MARKER.encode())] ^= 0x01
    database.write_bytes(bytes(data))
    assert docstore("check", url=url).returncode == 1
    return url, tmp_path / "backup", changed


async def assert_undone_with_the_sound_copy(url: str, changed: str) -> None:
    async with open_store(url) as store:
        hurt = await store.sessions.get_session("hurt")
        assert hurt is not None and hurt.problem_text == MARKER  # the backup's copy, not the damage
        other = await store.sessions.get_session(changed)
        assert other is not None and other.problem_text == "changed since the backup"  # put back
        assert (await store.health()).ok
    checked = docstore("check", url=url)
    assert checked.returncode == 0, checked.stdout


async def test_a_failed_restore_that_replaced_a_damaged_document_keeps_the_backups_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, backup, changed = await damaged_store(tmp_path)
    async with open_store(url) as store:
        documents = type(store._shared.open_backend().documents)
        real = documents.upsert_documents
        faults = [ErrorCode.UNAVAILABLE]  # one fault: the undo's writes succeed

        async def failing(self: Any, collection: str, batch: Any, **options: Any) -> Any:
            if collection == "revisions" and faults:  # after the sessions, the damaged one among them, were written
                raise PersistenceError(faults.pop(), "the disk went away")
            return await real(self, collection, batch, **options)

        monkeypatch.setattr(documents, "upsert_documents", failing)
        with pytest.raises(PersistenceError, match="undone"):
            await restore_store(store, backup)
        monkeypatch.setattr(documents, "upsert_documents", real)
    await assert_undone_with_the_sound_copy(url, changed)


async def test_a_killed_restore_that_replaced_a_damaged_document_is_undone_keeping_the_backups_copy(
    tmp_path: Path,
) -> None:
    url, backup, changed = await damaged_store(tmp_path)
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, url, str(backup)], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    undone = docstore("restore", url=url)
    assert undone.returncode == 0, undone.stderr
    assert "undone" in undone.stdout and "1 document(s) that were damaged before it" in undone.stdout, undone.stdout
    await assert_undone_with_the_sound_copy(url, changed)


async def test_a_restore_through_a_server_repairs_its_damaged_local_store(tmp_path: Path) -> None:
    url, backup, _changed = await damaged_store(tmp_path)
    async with asgi_server(url) as (server, _store), server.open(token=ADMIN_TOKEN) as client:
        with pytest.raises(PersistenceError, match="is damaged"):
            await client.documents.get_document("sessions", "hurt")
        counts = await restore_store(client, backup)
        assert counts.damaged == ["sessions/hurt"]
        hurt = await client.sessions.get_session("hurt")
        assert hurt is not None and hurt.problem_text == MARKER
    assert docstore("check", url=url).returncode == 0


async def test_export_of_a_damaged_store_refuses_naming_the_document(tmp_path: Path) -> None:
    # By design: a backup is whole or not made; `docstore check` lists every problem.
    url, _backup, _changed = await damaged_store(tmp_path)
    export = docstore("export", str(tmp_path / "out"), url=url)
    assert export.returncode == 1, export.stdout + export.stderr
    assert "damaged" in export.stdout and "'hurt'" in export.stdout and "unexpected error" not in export.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").glob("*.jsonl"))


async def test_a_killed_restore_that_deleted_a_damaged_student_record_is_undone_losing_nothing_readable(
    tmp_path: Path,
) -> None:
    # The restore deleted the damaged record (its session is replaced whole and the backup lacks it),
    # then was killed: undoing puts back every readable document; the damaged one stays deleted.
    url, backup = await damaged_student(tmp_path, in_backup=False)
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, url, str(backup)], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    undone = docstore("restore", url=url)
    assert undone.returncode == 0, undone.stderr
    assert "1 document(s) that were damaged before it" in undone.stdout, undone.stdout
    async with open_store(url) as store:
        session = await store.sessions.get_session("class")
        assert session is not None and set(session.students) == {"ann"}
        assert session.students["ann"].code == "changed since the backup"  # put back, not the backup's
        assert await store.sessions.count_students("aaa-crowd") == CROWD
        assert (await store.health()).ok
    checked = docstore("check", url=url)
    assert checked.returncode == 0, checked.stdout


async def test_a_failed_restore_over_a_damaged_student_record_it_replaced_keeps_the_backups_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, backup = await damaged_student(tmp_path, in_backup=True)
    async with open_store(url) as store:
        documents = type(store._shared.open_backend().documents)
        real = documents.upsert_documents
        faults = [ErrorCode.UNAVAILABLE]

        async def failing(self: Any, collection: str, batch: Any, **options: Any) -> Any:
            if collection == "revisions" and faults:  # after the students, the damaged one among them
                raise PersistenceError(faults.pop(), "the disk went away")
            return await real(self, collection, batch, **options)

        monkeypatch.setattr(documents, "upsert_documents", failing)
        with pytest.raises(PersistenceError, match="undone"):
            await restore_store(store, backup)
        monkeypatch.setattr(documents, "upsert_documents", real)
        session = await store.sessions.get_session("class")
        assert session is not None
        assert session.students["bob"].code == STUDENT_MARKER  # the backup's sound copy
        assert session.students["ann"].code == "changed since the backup"  # put back
    checked = docstore("check", url=url)
    assert checked.returncode == 0, checked.stdout
