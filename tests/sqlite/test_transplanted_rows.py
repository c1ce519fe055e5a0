"""A row holding another row's document (bytes and checksum both moved) is damage, not an answer.

Finding 4 of the attack pass on the fast paths: a revision row's checksum covers its
document's bytes, not the row they sit in. A document and its checksum copied over another
row (another namespace's) verify, so the namespace view that owns that row was served the
other namespace's revision (its code, its ``namespace_id``), on every read path (a history
from ``RevisionRows``, the overview, ``get_revision``), and ``docstore check`` said the store
was sound. The read paths saw only (doc, checksum); now a namespace view refuses an item
whose document names another namespace (``_namespace_rules.held_in_view``), and ``docstore
check`` compares every row's key columns with the document it holds.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from docstore import CodeRevision, ErrorCode, Session, open_store

from ..contract.helpers import expect_error
from .helpers import DATABASE_FILE, docstore


def _copy_document(directory: Path, table: str, source: str, target: str) -> None:
    """Row ``target`` of ``table`` now holds row ``source``'s document and checksum (both verify)."""
    connection = sqlite3.connect(directory / DATABASE_FILE)
    with connection:
        connection.execute(
            f"UPDATE {table} SET (doc, checksum) = (SELECT doc, checksum FROM {table} WHERE id = ?) WHERE id = ?",
            (source, target),
        )
    connection.close()


async def _transplanted(directory: Path) -> str:
    """nsB's revision row, now holding nsA's document: nsB's revision id."""
    async with open_store(f"local://{directory}") as store:
        theirs = await store.for_namespace("nsA").revisions.save_revision(
            CodeRevision(session_id="s", student_id="u", code="nsA's code")
        )
        mine = await store.for_namespace("nsB").revisions.save_revision(
            CodeRevision(session_id="s", student_id="u", code="nsB's code")
        )
    _copy_document(directory, "revisions", theirs, mine)
    return mine


async def test_a_row_holding_another_namespaces_document_is_a_storage_error(tmp_path: Path) -> None:
    mine = await _transplanted(tmp_path)
    async with open_store(f"local://{tmp_path}") as store:
        revisions = store.for_namespace("nsB").revisions
        await expect_error(ErrorCode.STORAGE_ERROR, revisions.get_revisions("s", "u"))
        await expect_error(ErrorCode.STORAGE_ERROR, revisions.get_latest_revisions("s"))
        await expect_error(ErrorCode.STORAGE_ERROR, revisions.get_revision(mine))


async def test_a_session_row_holding_another_namespaces_session_is_a_storage_error(tmp_path: Path) -> None:
    async with open_store(f"local://{tmp_path}") as store:
        theirs = await store.for_namespace("nsA").sessions.create_session(Session(join_code="THEIRS"))
        mine = await store.for_namespace("nsB").sessions.create_session(Session(join_code="MINE01"))
    _copy_document(tmp_path, "sessions", theirs, mine)
    async with open_store(f"local://{tmp_path}") as store:
        sessions = store.for_namespace("nsB").sessions
        await expect_error(ErrorCode.STORAGE_ERROR, sessions.get_session(mine))
        await expect_error(ErrorCode.STORAGE_ERROR, sessions.get_session(mine, include_students=False))
        await expect_error(ErrorCode.STORAGE_ERROR, sessions.get_session_by_join_code("MINE01"))
        assert await store.for_namespace("nsA").sessions.get_session(theirs) is not None  # its own row is sound


async def test_check_names_a_row_holding_another_rows_document(tmp_path: Path) -> None:
    mine = await _transplanted(tmp_path)
    checked = docstore("check", "--url", f"local://{tmp_path}")
    assert checked.returncode == 1 and mine in checked.stdout + checked.stderr
