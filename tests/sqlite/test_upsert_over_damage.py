"""Finding 10 (ops attack): ``upsert_documents`` of a sound document over a damaged ``local://`` row
replaces it. The row's checksum column still holds the digest of the document it was, so the
same document given again was planned "unchanged" and the damaged blob stayed (``docstore
check`` still failing after a restore that "wrote" it)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from docstore import ErrorCode, PersistenceError, open_store


def _flip(database: Path, table: str, document_id: str, collection: str | None = None) -> None:
    """Flip one byte of a stored blob (its checksum column left as it was)."""
    where = "id = ?" + (" AND collection = ?" if collection else "")
    values = [document_id, *([collection] if collection else [])]
    with contextlib.closing(sqlite3.connect(database)) as connection:
        (blob,) = connection.execute(f"SELECT doc FROM {table} WHERE {where}", values).fetchone()
        damaged = bytearray(blob)
        damaged[-3] ^= 0x01
        connection.execute(f"UPDATE {table} SET doc = ? WHERE {where}", [bytes(damaged), *values])
        connection.commit()


@pytest.mark.parametrize(("collection", "table"), [("problems", "problems"), ("notes", "documents")])
async def test_a_sound_document_upserted_over_a_damaged_row_replaces_it(
    tmp_path: Path, collection: str, table: str
) -> None:
    url = f"local://{tmp_path / 'store'}"
    document = {"_id": "p1", "namespace_id": "default", "title": "Sound", "description": "abcdefgh"}
    async with open_store(url) as store:
        assert (await store.documents.upsert_documents(collection, [document])).inserted == 1
    _flip(tmp_path / "store" / "docstore.sqlite3", table, "p1", None if table != "documents" else collection)
    async with open_store(url) as store:
        with pytest.raises(PersistenceError) as damaged:
            await store.documents.get_document(collection, "p1")
        assert damaged.value.code is ErrorCode.STORAGE_ERROR and "is damaged" in damaged.value.message
        # The dry run says what would be done: the damaged row replaced, never "unchanged".
        planned = await store.documents.upsert_documents(collection, [document], dry_run=True)
        assert (planned.updated, planned.unchanged, planned.failed) == (1, 0, [])
        result = await store.documents.upsert_documents(collection, [document])
        assert (result.updated, result.unchanged, result.failed) == (1, 0, [])
        assert await store.documents.get_document(collection, "p1") == document
        # Sound now: the same document again is unchanged.
        again = await store.documents.upsert_documents(collection, [document])
        assert (again.updated, again.unchanged) == (0, 1)
