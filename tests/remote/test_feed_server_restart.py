"""A live feed through a real ``docstore serve`` process over ``local://`` whose server is
killed (``kill -9``) mid-watch: restarted within the reconnect window, the watcher resumes by
itself with nothing lost and nothing repeated, while a writer in another process kept
posting; away past the window, the watcher is UNAVAILABLE saying how to resume, and
``watch(after=feed.position)`` on the restarted server gets every change it missed (the
server attack, tester5: held). Real processes on 127.0.0.1, stopped at the end."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from docstore import ErrorCode, ExecutionResult, PersistenceError, Session, SessionChange, Student, open_store
from docstore._remote import _feed

from .test_cli import DOCSTORE, free_port

ADMIN = "restart-admin-secret"


@contextmanager
def serving(store: Path, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``docstore serve`` on ``port`` until the block ends (or the test kills it first)."""
    env = {**os.environ, "DOCSTORE_ADMIN_TOKEN": ADMIN}
    env.pop("DOCSTORE_URL", None)
    with log.open("a") as output:
        process = subprocess.Popen(
            [*DOCSTORE, "serve", "--url", f"local://{store}", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=output,
        )
    try:
        deadline = time.monotonic() + 60  # a bound on start-up, not a measurement
        while log.read_text().count("Uvicorn running on") < _started.get(log, 0) + 1:  # listening
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        _started[log] = _started.get(log, 0) + 1
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)


_started: dict[Path, int] = {}


async def _codes(changes: AsyncIterator[SessionChange], count: int) -> list[str]:
    got: list[str] = []
    async with asyncio.timeout(60):  # a bound, not a measurement
        while len(got) < count:
            change = await anext(changes)
            if change.kind == "revision_saved" and change.student is not None:
                got.append(change.student.code)
    return got


async def _post(writer: object, session_id: str, codes: range) -> None:
    for n in codes:
        await writer.sessions.record_code(session_id, "s1", f"c{n}", ExecutionResult(success=True))  # type: ignore[attr-defined]


@pytest.mark.parametrize("stop", ["kill", "terminate"])
async def test_a_feed_resumes_across_a_stopped_and_restarted_server(tmp_path: Path, stop: str) -> None:
    """``kill``: the server dies (kill -9). ``terminate``: it is stopped as ``docker stop`` or
    systemd stop it (SIGTERM), which found uvicorn waiting for ever for the open feed to close
    ("Waiting for connections to close"): a server with a watcher never stopped by itself."""
    store, port, log = tmp_path / "store", free_port(), tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    async with open_store(f"local://{store}") as writer:  # another process than the server
        session_id = await writer.sessions.create_session(Session(join_code="rst001"))
        await writer.sessions.upsert_student(session_id, Student(id="s1"))
        watcher = open_store(url, token=ADMIN)
        with serving(store, port, log) as first:
            await watcher.initialize()
            async with watcher.sessions.watch(session_id) as feed:
                changes = feed.__aiter__()
                await _post(writer, session_id, range(0, 5))
                assert await _codes(changes, 5) == [f"c{n}" for n in range(5)]
                if stop == "kill":
                    first.kill()
                else:
                    first.terminate()
                stopped = await asyncio.to_thread(_stopped_within, first, 20)  # a bound, not a measurement
                assert stopped, f"SIGTERM did not stop a server with an open feed: {log.read_text()[-300:]}"
                await _post(writer, session_id, range(5, 10))  # while the server is away
                with serving(store, port, log):
                    await _post(writer, session_id, range(10, 12))
                    assert await _codes(changes, 7) == [f"c{n}" for n in range(5, 12)]
                    await feed.aclose()
                    await watcher.shutdown()
    assert ADMIN not in log.read_text()


def _stopped_within(process: subprocess.Popen[bytes], seconds: float) -> bool:
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()  # stop it all the same: the test reports the failure
        process.wait(timeout=30)
        return False
    return True


async def test_a_server_away_past_the_window_is_unavailable_then_watch_after_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_feed, "RECONNECT_WINDOW_S", 1.0)
    store, port, log = tmp_path / "store", free_port(), tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    async with open_store(f"local://{store}") as writer:
        session_id = await writer.sessions.create_session(Session(join_code="rst002"))
        await writer.sessions.upsert_student(session_id, Student(id="s1"))
        watcher = open_store(url, token=ADMIN)
        with serving(store, port, log) as first:
            await watcher.initialize()
            async with watcher.sessions.watch(session_id) as feed:
                changes = feed.__aiter__()
                await _post(writer, session_id, range(0, 3))
                assert await _codes(changes, 3) == ["c0", "c1", "c2"]
                first.kill()
                first.wait(timeout=30)
                await _post(writer, session_id, range(3, 6))
                with pytest.raises(PersistenceError) as away:
                    await _codes(changes, 1)
                position = feed.position
        assert away.value.code is ErrorCode.UNAVAILABLE and "after=feed.position" in away.value.message
        with serving(store, port, log):
            async with watcher.sessions.watch(session_id, after=position) as resumed:
                assert await _codes(resumed.__aiter__(), 3) == ["c3", "c4", "c5"]
            await watcher.shutdown()
