"""Opening a local:// directory written by the journal engine converts it once, losing nothing."""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from pathlib import Path
from typing import Any

import bson
import pytest
from bson import json_util

from docstore import ErrorCode, Session, open_store
from docstore._students import students_of_legacy_session

from ..contract.helpers import expect_error
from .helpers import DATABASE_FILE, ROOT, run_python

EXAMPLE = ROOT / "examples" / "pre-sqlite-store"
# What the journal engine itself loaded from EXAMPLE (dumped by it before it was removed).
EXPECTED = ROOT / "examples" / "pre-sqlite-store.expected.json"
OLD_FILES = {"LOCK", "journal-1.bin", "snapshot.bson"}


def _expected() -> dict[str, Any]:
    """EXPECTED in today's layout: its sessions split as every upgrade splits them (students as records)."""
    options = json_util.JSONOptions(json_mode=json_util.JSONMode.CANONICAL, tz_aware=True)
    collections = json_util.loads(EXPECTED.read_text(), json_options=options)
    sessions, records = [], []
    for document in collections["sessions"]:
        session, students = students_of_legacy_session(document)
        sessions.append(session)
        records += students
    collections["sessions"] = sessions
    collections["session_students"] = sorted(records, key=lambda record: record["_id"])
    converted: dict[str, Any] = json.loads(json_util.dumps(collections, json_options=options))
    return converted


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    copy = tmp_path / "old"
    shutil.copytree(EXAMPLE, copy)
    return copy


async def _dump(url: str) -> dict[str, Any]:
    async with open_store(url) as store:
        collections = {
            name: [document async for document in store.documents.iter_documents(name)]
            for name in await store.documents.collection_names()
        }
    options = json_util.JSONOptions(json_mode=json_util.JSONMode.CANONICAL, tz_aware=True)
    converted: dict[str, Any] = json.loads(json_util.dumps(collections, json_options=options))
    return converted


async def test_every_document_of_every_collection_is_kept_including_journal_only_writes(old_store: Path) -> None:
    assert await _dump(f"local://{old_store}") == _expected()
    assert {p.name for p in (old_store / "pre-sqlite").iterdir()} == OLD_FILES
    assert not any((old_store / name).exists() for name in OLD_FILES)
    async with open_store(f"local://{old_store}") as store:  # a working store, through the repositories
        session = await store.sessions.get_session("sess-2")  # written only to the journal
        assert session is not None and "cy" in session.students
        assert session.metadata is not None and session.metadata.created_by == "teacher2"
        assert await store.sessions.get_session("sess-dup") is None  # refused then, not applied now
        assert await store.revisions.count_revisions("sess-1") == 4
        assert [p.id for p in await store.problems.search_problems("sorting")] == ["p-sort"]
        await expect_error(ErrorCode.ALREADY_EXISTS, store.sessions.create_session(Session(join_code="XYZ789")))
        await store.sessions.create_session(Session(id="new", join_code="NEW001"))
    # Once: opening again converts nothing and keeps the new write.
    again = await _dump(f"local://{old_store}")
    assert len(again["sessions"]) == 3


async def test_processes_opening_an_old_store_at_once_convert_it_once(old_store: Path) -> None:
    import asyncio

    script = (
        "import asyncio, sys\n"
        "from docstore import open_store\n"
        "async def main():\n"
        "    async with open_store(sys.argv[1]) as store:\n"
        "        print(await store.revisions.count_revisions('sess-1'))\n"
        "asyncio.run(main())\n"
    )
    results = await asyncio.gather(*(asyncio.to_thread(run_python, script, f"local://{old_store}") for _ in range(4)))
    assert [r.stdout.strip() for r in results] == ["4"] * 4, [r.stderr for r in results]
    assert await _dump(f"local://{old_store}") == _expected()


async def _assert_refused(directory: Path, names: str) -> None:
    before = {p.name: p.read_bytes() for p in directory.iterdir()}
    error = await expect_error(ErrorCode.STORAGE_ERROR, open_store(f"local://{directory}").initialize())
    assert names in error.message and "nothing was converted" in error.message
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before  # nothing moved, nothing made


async def test_a_flipped_byte_in_the_journal_is_refused_not_truncated(old_store: Path) -> None:
    journal = old_store / "journal-1.bin"
    data = bytearray(journal.read_bytes())
    data[len(data) // 3] ^= 0x01
    journal.write_bytes(bytes(data))
    await _assert_refused(old_store, "journal-1.bin")


@pytest.mark.parametrize("damage", ["deleted", "empty", "half"])
async def test_a_deleted_empty_or_half_snapshot_is_refused(old_store: Path, damage: str) -> None:
    snapshot = old_store / "snapshot.bson"
    if damage == "deleted":
        snapshot.unlink()
    else:
        data = snapshot.read_bytes()
        snapshot.write_bytes(b"" if damage == "empty" else data[: len(data) // 2])
    await _assert_refused(old_store, "snapshot.bson")


async def test_a_torn_last_journal_record_was_never_acknowledged_and_is_dropped(old_store: Path) -> None:
    with open(old_store / "journal-1.bin", "ab") as out:
        out.write(b"\x40\x00\x00\x00\x12\x34")
    assert await _dump(f"local://{old_store}") == _expected()


async def test_a_journaled_write_that_failed_then_fails_again_and_the_rest_is_kept(old_store: Path) -> None:
    records: list[dict[str, Any]] = [
        {"c": "legacy_users", "m": "insert_one", "a": [{"_id": "u1", "name": "dup"}], "k": {}},  # duplicate id
        {"c": "legacy_users", "m": "no_such_method", "a": [], "k": {}},
        {"c": "legacy_users", "m": "insert_one", "a": [{"_id": "u9", "name": "kept"}], "k": {}},
    ]
    with open(old_store / "journal-1.bin", "ab") as out:
        for record in records:
            body = bson.encode(record)
            out.write(struct.pack("<II", len(body), zlib.crc32(body)) + body)
    dumped = await _dump(f"local://{old_store}")
    users = {user["_id"]: user for user in dumped["legacy_users"]}
    assert users["u1"]["name"] == "Ana" and users["u9"]["name"] == "kept"
    assert (old_store / DATABASE_FILE).exists()
