"""Finding 10 of the operations attack (tester4): a ``local://`` store with one flipped byte
in one document can be neither backed up nor repaired from a backup. ``export`` refuses the
whole store (by design: a damaged document is named, exit 1), and ``restore`` of a backup
taken before the damage, which holds a sound copy of that very document, fails too:
"restore failed and was undone ... is damaged (checksum mismatch)". The restore reads every
document it replaces to keep its previous version (``_restore_journal.Journal.save``), and
the store offers no way to go past a damaged document (``DocumentStore.iter_documents`` stops
at it; nothing lists a collection's ids without decoding its documents), so the operator has
no command that brings the store back to sound (``docstore check`` exit 0).

Reproduction: import examples/legacy-data into local://S; export to B; flip one byte inside a
student's code in S/docstore.sqlite3 (after a checkpoint); ``docstore restore B --url
local://S`` exits 2 and ``docstore check`` still exits 1. Fixed: the journal records the
damaged document as damaged and goes past it, the upsert replaces the damaged row, and the
restore says how many damaged documents it replaced.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from docstore import Session, export_store, import_legacy, open_store
from tests.ops.test_ops_commands import EXAMPLE, docstore


async def test_restoring_a_backup_over_a_damaged_document_makes_the_store_sound(tmp_path: Path) -> None:
    url = f"local://{tmp_path / 'store'}"
    async with open_store(url) as store:
        await import_legacy(EXAMPLE, store)
        await store.sessions.create_session(Session(id="hurt", problem_text="MARKER-0123456789"))
        await export_store(store, tmp_path / "backup")
    database = tmp_path / "store" / "docstore.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(database.read_bytes())
    data[data.index(b"MARKER-0123456789")] ^= 0x01
    database.write_bytes(bytes(data))
    assert docstore("check", url=url).returncode == 1

    restored = docstore("restore", str(tmp_path / "backup"), url=url)
    assert restored.returncode == 0, restored.stderr
    assert "replaced 1 damaged document(s) with the backup's copy: sessions/hurt" in restored.stdout, restored.stdout
    checked = docstore("check", url=url)
    assert checked.returncode == 0, checked.stdout
