"""local:// under faults: nothing acknowledged lost, nothing false served, every failure a PersistenceError."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
from pathlib import Path

import pytest

from docstore import CodeRevision, ErrorCode, PersistenceError, Session, Student, open_store

from ..contract.helpers import expect_error
from .helpers import DATABASE_FILE, docstore, flip_byte_in


def _revision(i: int, size: int = 100_000) -> CodeRevision:
    return CodeRevision(id=f"r{i:04d}", session_id="s", student_id="a", code=f"{i}" * size)


async def test_disk_full_refuses_the_write_hides_it_and_recovers_when_space_is_back(small_disk: Path) -> None:
    url = f"local://{small_disk / 'store'}"
    async with open_store(url) as store:
        await store.revisions.save_revision(_revision(0, 10))
        filler = small_disk / "filler"
        filler.write_bytes(b"\0" * 700_000)
        acknowledged: list[str] = []
        failed: PersistenceError | None = None
        for i in range(1, 100):
            try:
                acknowledged.append(await store.revisions.save_revision(_revision(i)))
            except PersistenceError as error:
                failed, failed_id = error, f"r{i:04d}"
                break
        assert failed is not None and failed.code is ErrorCode.STORAGE_ERROR, failed
        assert "full" in failed.message and DATABASE_FILE in failed.message
        assert await store.revisions.get_revision(failed_id) is None  # not visible
        filler.unlink()  # space is back: the same open store writes again
        assert await store.revisions.save_revision(_revision(500, 10)) == "r0500"
    async with open_store(url) as reopened:  # and after a reopen: all acknowledged, nothing else
        assert await reopened.revisions.get_revision(failed_id) is None
        stored = {r.id for r in await reopened.revisions.get_revisions("s", "a")}
        assert stored == {"r0000", *acknowledged, "r0500"}


async def test_a_read_only_database_refuses_writes_and_they_stay_invisible(tmp_path: Path) -> None:
    # Linux will not remount a file system read-only under an open file, so the write
    # connection is made read-only instead: SQLite answers SQLITE_READONLY, as on a ro disk.
    url = f"local://{tmp_path / 'store'}"
    async with open_store(url) as store:
        await store.sessions.create_session(Session(id="before", join_code="RO0001"))
        writer = store._shared.backend._database._writer_connection  # type: ignore[union-attr]
        writer.execute("PRAGMA query_only = ON")
        try:
            error = await expect_error(ErrorCode.STORAGE_ERROR, store.sessions.create_session(Session(id="refused")))
            assert "readonly" in error.message
            assert await store.sessions.get_session("refused") is None
            assert await store.sessions.get_session("before") is not None  # reads go on
        finally:
            writer.execute("PRAGMA query_only = OFF")
        await store.sessions.create_session(Session(id="after", join_code="RO0002"))
    async with open_store(url) as reopened:
        assert await reopened.sessions.get_session("refused") is None
        assert {s.id for s in await reopened.sessions.list_all_sessions()} == {"before", "after"}


async def test_a_read_only_directory_is_a_clear_error(small_disk: Path) -> None:
    url = f"local://{small_disk / 'store'}"
    async with open_store(url) as store:
        await store.sessions.create_session(Session(id="kept", join_code="RO0003"))
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        # Issue 16 item 12: such a store opens read-only (was: refused at open); a write is the clear error.
        async with open_store(url) as read_only:
            assert await read_only.sessions.get_session("kept") is not None
            error = await expect_error(ErrorCode.STORAGE_ERROR, read_only.sessions.create_session(Session(id="new")))
            assert DATABASE_FILE in error.message
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    async with open_store(url) as reopened:
        assert await reopened.sessions.get_session("kept") is not None


async def test_a_flipped_byte_in_a_document_is_a_storage_error_naming_the_file(tmp_path: Path) -> None:
    url = f"local://{tmp_path}"
    async with open_store(url) as store:
        await store.sessions.create_session(Session(id="hurt", problem_text="MARKER-0123456789"))
        await store.sessions.create_session(Session(id="fine", problem_text="other"))
    flip_byte_in(tmp_path / DATABASE_FILE, b"MARKER-0123456789")
    async with open_store(url) as store:
        error = await expect_error(ErrorCode.STORAGE_ERROR, store.sessions.get_session("hurt"))
        assert str(tmp_path / DATABASE_FILE) in error.message and "damaged" in error.message
        await expect_error(ErrorCode.STORAGE_ERROR, store.sessions.list_all_sessions())
        assert await store.sessions.get_session("fine") is not None  # the rest is still served
    checked = docstore("check", "--url", url)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "sessions document 'hurt'" in checked.stdout and "fine" not in checked.stdout


async def test_a_damaged_database_page_is_reported_never_served(tmp_path: Path) -> None:
    url = f"local://{tmp_path}"
    async with open_store(url) as store:
        await store.revisions.save_revisions([_revision(i, 2000) for i in range(200)])
    path = tmp_path / DATABASE_FILE
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data) - page, 7 * page):  # scribble over b-tree pages
        data[offset : offset + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    try:  # opening or reading: either may find the damage first
        async with open_store(url) as store:
            found = await store.revisions.get_revisions("s", "a")
    except PersistenceError as error:
        assert error.code is ErrorCode.STORAGE_ERROR and str(path) in error.message
    else:  # whatever SQLite could still read passed its checksum
        assert all(r.code == f"{int(r.id[1:])}" * 2000 for r in found)
    checked = docstore("check", "--url", url)
    assert checked.returncode == 1 and "damaged" in checked.stdout, checked.stdout + checked.stderr


def test_check_says_a_sound_store_is_sound_and_refuses_other_engines(tmp_path: Path) -> None:
    import asyncio

    async def fill() -> None:
        async with open_store(f"local://{tmp_path}") as store:
            await store.sessions.create_session(Session(join_code="OK0001"))
            await store.documents.upsert_documents("legacy_x", [{"_id": "a"}])

    asyncio.run(fill())
    checked = docstore("check", "--url", f"local://{tmp_path}")
    assert checked.returncode == 0 and "sound" in checked.stdout, checked.stdout + checked.stderr
    other = docstore("check", "--url", "memory://")
    assert other.returncode == 2 and "local://" in other.stderr


@pytest.mark.parametrize("content", [b"hello, not a database", b"SQLite format 3\x00" + b"\x00" * 200])
async def test_a_file_that_is_not_a_docstore_store_is_refused_never_overwritten(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / DATABASE_FILE
    path.write_bytes(content)
    error = await expect_error(ErrorCode.STORAGE_ERROR, open_store(f"local://{tmp_path}").initialize())
    assert str(path) in error.message
    assert path.read_bytes() == content


async def test_an_sqlite_file_of_another_application_is_refused_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / DATABASE_FILE
    with contextlib.closing(sqlite3.connect(path)) as other:
        other.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER)")
        other.commit()
    before = path.read_bytes()
    error = await expect_error(ErrorCode.STORAGE_ERROR, open_store(f"local://{tmp_path}").initialize())
    assert "did not write" in error.message and path.read_bytes() == before
    checked = docstore("check", "--url", f"local://{tmp_path}")
    assert checked.returncode == 1


async def test_values_no_engine_stores_exactly_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    deep: dict[str, object] = {}
    for _ in range(500):
        deep = {"d": deep}
    url = f"local://{tmp_path}"
    async with open_store(url) as store:
        session_id = await store.sessions.create_session(Session(join_code="DEEP01"))
        await expect_error(
            ErrorCode.INVALID_DATA, store.sessions.upsert_student(session_id, Student(id="s", extra=deep))
        )
        await expect_error(ErrorCode.INVALID_DATA, store.sessions.update_session(session_id, {"extra": {"n": 2**64}}))
        result = await store.documents.upsert_documents(
            "legacy_deep", [deep, {"_id": "ok"}, {"_id": "big", "n": 2**70}]
        )
        assert result.inserted == 1 and [position for position, _ in result.failed] == [0, 2]
    async with open_store(url) as reopened:  # and the store still opens, unchanged
        session = await reopened.sessions.get_session(session_id)
        assert session is not None and session.students == {} and session.metadata is not None
        assert session.metadata.version == 1


@pytest.mark.parametrize("weird", ["\ud800", "a\x00b", "x" * 5000, "🙂", "' OR 1=1 --"])
async def test_odd_ids_are_answered_never_raised_raw(tmp_path: Path, weird: str) -> None:
    async with open_store(f"local://{tmp_path}") as store:
        try:
            assert await store.sessions.get_session(weird) is None
            assert await store.problems.get_problem(weird) is None
            assert await store.documents.get_document("legacy_x", weird) is None
        except PersistenceError as error:
            assert error.code is ErrorCode.INVALID_DATA, error
        try:
            session = Session(id=weird)
        except ValueError:
            return  # the domain type refuses it already (lone surrogate)
        try:
            created = await store.sessions.create_session(session)
        except PersistenceError as error:
            assert error.code is ErrorCode.INVALID_DATA, error
        else:
            stored = await store.sessions.get_session(created)
            assert stored is not None and stored.id == weird
            assert await store.sessions.get_session(weird[:1]) is None or len(weird) == 1
