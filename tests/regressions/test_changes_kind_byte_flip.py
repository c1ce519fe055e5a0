"""Finding: one flipped byte in the `kind` column of the `changes` table (outside the
checksummed blob) is not found by `docstore check` (it prints `sound`, exit 0), and the
feed then raises a raw pydantic ValidationError instead of PersistenceError(STORAGE_ERROR)
naming the damaged change."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from docstore import ErrorCode, PersistenceError, Session, Student, open_store


async def _damaged_store(directory: Path) -> tuple[str, str]:
    async with open_store(f"local://{directory}") as store:
        session_id = await store.sessions.create_session(Session(join_code="kf11"))
        async with store.sessions.watch(session_id) as feed:
            position = feed.position
        await store.sessions.upsert_student(session_id, Student(id="a"))
    with sqlite3.connect(directory / "docstore.sqlite3") as connection:
        seq, kind = connection.execute(
            "SELECT seq, kind FROM changes WHERE kind = 'student_joined' ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        flipped = kind[:6] + chr(ord(kind[6]) ^ 1) + kind[7:]  # 'student_joined' -> 'studenu_joined'
        connection.execute("UPDATE changes SET kind = ? WHERE seq = ?", (flipped, seq))
    assert position is not None
    return session_id, position


async def test_check_names_a_flipped_kind(tmp_path: Path) -> None:
    directory = tmp_path / "store"
    await _damaged_store(directory)
    done = subprocess.run(
        [sys.executable, "-m", "docstore", "check", "--url", f"local://{directory}"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "change" in (done.stdout + done.stderr)


async def test_feed_reports_storage_error(tmp_path: Path) -> None:
    directory = tmp_path / "store"
    session_id, position = await _damaged_store(directory)
    async with open_store(f"local://{directory}") as store:
        with pytest.raises(PersistenceError) as raised:
            async with store.sessions.watch(session_id, after=position) as feed:
                await asyncio.wait_for(anext(feed), 10)
    assert raised.value.code is ErrorCode.STORAGE_ERROR
