"""A local:// store written by the release before issue 14 (students inside sessions) is converted once.

The fixture ``fixtures/v1-store`` was written by that release itself
(``fixtures/make_v1_store.py``, run from a worktree of f1272aa), and
``fixtures/v1-store.expected.json`` is what its own repositories read back from it.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from docstore import ErrorCode, Student, open_store
from docstore._sqlite import _convert, _files
from docstore._sqlite._tables import put_document
from docstore._sqlite._verify import verify_store

from ..contract.helpers import expect_error
from .helpers import DATABASE_FILE, ROOT, run_python

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED: dict[str, Any] = json.loads((FIXTURES / "v1-store.expected.json").read_text())


@pytest.fixture
def v1_store(tmp_path: Path) -> Path:
    copy = tmp_path / "v1"
    shutil.copytree(FIXTURES / "v1-store", copy)
    return copy


def _user_version(directory: Path) -> int:
    connection = sqlite3.connect(f"file:{directory / DATABASE_FILE}?mode=ro", uri=True)
    try:
        version: int = connection.execute("PRAGMA user_version").fetchone()[0]
        return version
    finally:
        connection.close()


async def _dump(url: str) -> dict[str, list[dict[str, Any]]]:
    async with open_store(url) as store:
        return {
            name: [document async for document in store.documents.iter_documents(name)]
            for name in await store.documents.collection_names()
        }


async def _assert_everything_is_there(url: str) -> None:
    """Every session (version, metadata, students), revision and problem as the old release read them."""
    async with open_store(url) as store:
        for session_id, expected in EXPECTED["sessions"].items():
            session = await store.sessions.get_session(session_id)
            assert session is not None
            assert session.model_dump(mode="json") == expected
            light = await store.sessions.get_session(session_id, include_students=False)
            assert light is not None and light.students == {}
            assert light.model_dump(mode="json") == {**expected, "students": {}}
            assert await store.sessions.count_students(session_id) == len(expected["students"])
            for student_id, student in expected["students"].items():
                found = await store.sessions.get_student(session_id, student_id)
                assert found is not None and found.model_dump(mode="json") == student
            listed = await store.sessions.list_students(session_id, limit=3)
            assert [s.id for s in listed] == sorted(expected["students"], key=lambda s: s.encode())[:3]
            revisions = await store.revisions.get_all_session_revisions(session_id)
            assert {
                student: [r.model_dump(mode="json") for r in items] for student, items in revisions.items()
            } == EXPECTED["revisions"][session_id]
        for problem_id, expected in EXPECTED["problems"].items():
            problem = await store.problems.get_problem(problem_id)
            assert problem is not None and problem.model_dump(mode="json") == expected
        # The namespaces as they were: a view sees its own sessions' students only.
        cs101 = store.for_namespace("cs101")
        assert set((await cs101.sessions.get_session("s-cs101") or EMPTY).students) == {"e@mail.org", "zoë"}
        assert await store.for_namespace("default").sessions.get_student("s-cs101", "zoë") is None
        assert await cs101.sessions.count_students("s-big") == 0
        # No session document holds students any more.
        for document in [d async for d in store.documents.iter_documents("sessions")]:
            assert "students" not in document


EMPTY: Any = type("Empty", (), {"students": {}})()


async def test_a_store_of_the_release_before_is_converted_once_losing_nothing(
    v1_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"local://{v1_store}"
    assert _user_version(v1_store) == 1
    await _assert_everything_is_there(url)
    # 3, not 2: a version 1 file had no feed log, so it gets the current one (test_feed_numbering.py).
    assert _user_version(v1_store) == 3
    assert verify_store(v1_store)[1] == []
    before = await _dump(url)
    # Reopening converts nothing more: the conversion is not even called, and nothing moves.
    calls: list[int] = []

    def counting(*args: Any) -> int:
        calls.append(1)
        return 0

    monkeypatch.setattr(_files, "convert_sessions", counting)
    assert await _dump(url) == before
    assert calls == []
    await _assert_everything_is_there(url)


async def test_a_converted_store_works_as_a_new_one(v1_store: Path) -> None:
    async with open_store(f"local://{v1_store}") as store:
        revision = await store.sessions.record_code("s-big", "ünï/cødé", "print('after')")
        assert revision.namespace_id == "default"
        await expect_error(ErrorCode.PERMISSION_DENIED, store.sessions.record_code("s-ended", "ana", "late"))
        await store.sessions.upsert_student("s-big", Student(id="new.one$"))
        session = await store.sessions.get_session("s-big")
        assert session is not None and session.metadata is not None
        assert session.metadata.version == EXPECTED["sessions"]["s-big"]["metadata"]["version"]
        assert session.students["ünï/cødé"].code == "print('after')" and "new.one$" in session.students
        big = await store.sessions.get_session_by_join_code("big001", include_students=False)
        assert big is not None and big.id == "s-big"
    assert verify_store(v1_store)[1] == []


async def test_check_before_the_first_open_says_nothing_is_damaged(v1_store: Path) -> None:
    assert verify_store(v1_store)[1] == []  # the old layout is not damage: the next open converts it
    assert _user_version(v1_store) == 1


async def test_processes_opening_a_v1_store_at_once_convert_it_exactly_once(v1_store: Path) -> None:
    script = (
        "import asyncio, sys\n"
        "import docstore._sqlite._files as files\n"
        "original = files.convert_sessions\n"
        "def counting(connection, path):\n"
        "    converted = original(connection, path)\n"
        "    print('converted', converted, flush=True)\n"
        "    return converted\n"
        "files.convert_sessions = counting\n"
        "from docstore import open_store\n"
        "async def main():\n"
        "    async with open_store(sys.argv[1]) as store:\n"
        "        print('students', await store.sessions.count_students('s-big'), flush=True)\n"
        "asyncio.run(main())\n"
    )
    url = f"local://{v1_store}"
    results = await asyncio.gather(*(asyncio.to_thread(run_python, script, url) for _ in range(4)))
    outputs = [r.stdout.split() for r in results]
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert all(output[-2:] == ["students", "8"] for output in outputs), outputs
    conversions = [output[1] for output in outputs if output[0] == "converted"]
    assert conversions == ["4"], outputs  # one process converted the four sessions; the others found version 2
    await _assert_everything_is_there(url)


async def test_a_fault_between_two_steps_of_the_conversion_leaves_the_old_file(
    v1_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = put_document
    writes: list[str] = []

    def failing(connection: sqlite3.Connection, collection: str, document: dict[str, Any], **kw: Any) -> None:
        writes.append(collection)
        if len(writes) == 7:  # a few sessions and records in: mid-way
            raise OSError("injected fault")
        real(connection, collection, document, **kw)

    monkeypatch.setattr(_convert, "put_document", failing)
    await expect_error(ErrorCode.STORAGE_ERROR, open_store(f"local://{v1_store}").initialize())
    assert len(writes) == 7 and _user_version(v1_store) == 1
    monkeypatch.setattr(_convert, "put_document", real)
    await _assert_everything_is_there(f"local://{v1_store}")


KILLED = """
import asyncio, sys, time
import docstore._sqlite._convert as convert
real = convert.put_document
count = 0
def slow(*args, **kwargs):
    global count
    real(*args, **kwargs)
    count += 1
    if count == 6:
        print("mid-way", flush=True)
        time.sleep(600)  # killed here, the conversion's transaction open
convert.put_document = slow
from docstore import open_store
async def main():
    async with open_store(sys.argv[1]):
        pass
asyncio.run(main())
"""


async def test_a_kill_9_during_the_conversion_leaves_a_store_the_next_open_converts(v1_store: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED, f"local://{v1_store}"], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 120)
        assert line.strip() == "mid-way"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
    assert _user_version(v1_store) == 1  # the open transaction died with the process
    await _assert_everything_is_there(f"local://{v1_store}")
    assert verify_store(v1_store)[1] == []
