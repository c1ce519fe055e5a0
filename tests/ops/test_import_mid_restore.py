"""``docstore import`` refuses a store that is mid-restore, as ``export`` does.

Finding 16 of the operations attack (tester4): after a restore was killed, ``import`` wrote
into the half-restored store and reported "imported"; the ``docstore restore`` that the
store then asks for undoes the killed restore by deleting every document that restore had
added, by id, and putting back what it had replaced: the import's documents with those ids
were deleted or overwritten without a word.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from docstore import PersistenceError, import_legacy, open_store
from docstore._time import utc_now
from tests.ops.test_ops_commands import EXAMPLE, docstore


async def test_import_refuses_a_store_that_is_mid_restore(tmp_path: Path) -> None:
    url = f"local://{tmp_path / 'store'}"
    async with open_store(url) as store:
        # What a restore killed while writing leaves (its process gone: no owner recorded).
        state = {"_id": "state", "phase": "writing", "backup": "/backups/monday", "started_at": utc_now()}
        assert not (await store.documents.upsert_documents("docstore_restore", [state])).failed
    result = docstore("import", str(EXAMPLE), "--rejects", str(tmp_path / "r.jsonl"), url=url)
    assert result.returncode == 2 and "mid-restore" in result.stderr, result.stdout + result.stderr
    assert "run the same command again" not in result.stderr
    async with open_store(url) as store:
        assert (await store.stats()).get("sessions") is None or (await store.stats())["sessions"].documents == 0
    dry = docstore("import", str(EXAMPLE), "--dry-run", url=url)
    assert dry.returncode == 2 and "mid-restore" in dry.stderr


async def test_import_legacy_refuses_a_store_that_is_mid_restore() -> None:
    async with open_store("memory://") as store:
        state = {"_id": "state", "phase": "writing", "backup": "/backups/monday", "started_at": utc_now()}
        assert not (await store.documents.upsert_documents("docstore_restore", [state])).failed
        with pytest.raises(PersistenceError, match="mid-restore"):
            await import_legacy(EXAMPLE, store)
        assert (await store.stats())["sessions"].documents == 0
