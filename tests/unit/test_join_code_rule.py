"""The join-code rule: idempotent, and a ``local://`` store written under the older rule keeps working."""

from __future__ import annotations

import sqlite3
import unicodedata
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pymongo import ASCENDING, IndexModel

from docstore import Session, open_store
from docstore._models import JOIN_CODE_RULE, _whole_rule, normalize_join_code
from docstore._sqlite._codec import decode, encode

NFC = unicodedata.normalize("NFC", "CAFÉ")
NFD = unicodedata.normalize("NFD", "CAFÉ")


@given(st.text())
def test_the_rule_is_idempotent(code: str) -> None:
    once = normalize_join_code(code)
    assert normalize_join_code(once) == once


def test_ascii_codes_keep_the_first_rules_form() -> None:
    # What every store held under the first rule (strip().upper()) is unchanged for ASCII codes.
    for code in (" ab12cd ", "XY-12", "abc def"):
        assert normalize_join_code(code) == code.strip().upper()


def _rewrite_as_old_rule(path: Path, codes: dict[str, str]) -> None:
    """Put sessions back as the first rule left them: the document's code and the column both
    ``strip().upper()`` of what was typed, and no marker of the rule."""
    connection = sqlite3.connect(path)
    try:
        for session_id, typed in codes.items():
            row = connection.execute("SELECT doc, checksum FROM sessions WHERE id = ?", (session_id,)).fetchone()
            blob, digest = row
            document: dict[str, Any] = decode(blob, digest, "test")
            document["join_code"] = typed.strip().upper()
            blob, digest = encode(document)
            connection.execute(
                "UPDATE sessions SET doc = ?, checksum = ?, active_join_code = ? WHERE id = ?",
                (blob, digest, typed.strip().upper(), session_id),
            )
        connection.execute("DELETE FROM docstore_meta")
        connection.commit()
    finally:
        connection.close()


async def test_a_store_written_under_the_old_rule_is_found_under_the_new_one(tmp_path: Path) -> None:
    url = f"local://{tmp_path}"
    async with open_store(url) as store:
        await store.sessions.create_session(Session(id="strasse", join_code="X1"))
        await store.sessions.create_session(Session(id="ascii", join_code="X2"))
    _rewrite_as_old_rule(tmp_path / "docstore.sqlite3", {"strasse": "STRAẞE\u200b", "ascii": "ab12"})
    async with open_store(url) as store:
        found = await store.sessions.get_session_by_join_code("strasse")
        assert found is not None and found.id == "strasse" and found.join_code == "STRASSE"
        found = await store.sessions.get_session_by_join_code("AB12")
        assert found is not None and found.id == "ascii"
    connection = sqlite3.connect(tmp_path / "docstore.sqlite3")
    try:
        assert connection.execute("SELECT value FROM docstore_meta").fetchall() == [(JOIN_CODE_RULE,)]
    finally:
        connection.close()


async def test_codes_that_became_one_leave_the_oldest_session_active(tmp_path: Path) -> None:
    url = f"local://{tmp_path}"
    async with open_store(url) as store:
        await store.sessions.create_session(Session(id="first", join_code="C1"))
        await store.sessions.create_session(Session(id="second", join_code="C2"))
    _rewrite_as_old_rule(tmp_path / "docstore.sqlite3", {"first": NFC, "second": NFD})
    async with open_store(url) as store:
        found = await store.sessions.get_session_by_join_code("café")
        assert found is not None and found.id == "first"
        second = await store.sessions.get_session("second")
        assert second is not None and not second.active and second.ended_at is not None
        assert second.metadata is not None and second.metadata.version == 2


async def test_docstore_init_brings_a_mongodb_dialect_store_to_the_new_rule() -> None:
    """The previous release's sessions (code-only unique index, codes derived by strip().upper())."""
    store = open_store("memory://")
    await store.initialize()
    backend: Any = store._shared.backend
    try:
        sessions = backend.collection("sessions")
        typed = {"strasse": "STRAẞE\u200b", "first": NFC, "second": NFD, "elsewhere": NFC + "\u200b"}
        for session_id in typed:
            namespace = "other" if session_id == "elsewhere" else "default"
            await store.sessions.create_session(Session(id=session_id, join_code=session_id, namespace_id=namespace))
        await sessions.drop_index("active_join_code_unique")
        for session_id, code in typed.items():
            old = code.strip().upper()
            await sessions.update_one({"_id": session_id}, {"$set": {"join_code": old, "active_join_code": old}})
        await sessions.create_indexes(
            [IndexModel([("active_join_code", ASCENDING)], name="active_join_code_unique", unique=True, sparse=True)]
        )
        assert "sessions.active_join_code_unique: rebuild" in (await store.health()).details["indexes"]
        assert await store.sessions.get_session_by_join_code("strasse") is None  # the old form, not found yet

        administration = store.index_administration()
        assert administration is not None
        await administration.upgrade_indexes()

        assert (await store.health()).details["indexes"] == "up to date"
        found = await store.sessions.get_session_by_join_code("strasse")
        assert found is not None and found.id == "strasse"
        found = await store.for_namespace("default").sessions.get_session_by_join_code("café")
        assert found is not None and found.id == "first"
        found = await store.for_namespace("other").sessions.get_session_by_join_code("café")
        assert found is not None and found.id == "elsewhere"  # another namespace: not a clash
        second = await store.sessions.get_session("second")
        assert second is not None and not second.active and second.metadata is not None
        assert second.metadata.version == 2
        # Run again: nothing left to change.
        await administration.upgrade_indexes()
        assert (await store.sessions.get_session("first")).active  # type: ignore[union-attr]
    finally:
        await store.shutdown()


@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127)))
def test_the_ascii_shortcut_agrees_with_the_whole_rule(code: str) -> None:
    assert normalize_join_code(code) == _whole_rule(code)
