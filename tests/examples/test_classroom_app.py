"""The example classroom app, as its README runs it: two uvicorn workers on one ``local://`` store.

A post served by one worker reaches an instructor whose websocket is held by the other:
the feed is the store's (a change log in the SQLite file), not the process's.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    environment = {**os.environ, "DOCSTORE_URL": f"local://{tmp_path / 'store'}"}
    command = [sys.executable, "-m", "uvicorn", "examples.classroom.app:app", "--workers", "2",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=environment)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/docs", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError("the example app did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # never leave a server behind
            server.kill()
            server.wait()


def test_a_post_to_one_worker_reaches_an_instructor_on_the_other(app_url: str) -> None:
    session_id = httpx.post(f"{app_url}/sessions", json={"join_code": "LIVE01"}).json()["id"]
    joined = httpx.post(f"{app_url}/sessions/{session_id}/students", json={"id": "ana", "name": "Ana"})
    assert joined.status_code == 200 and joined.json()["me"]["id"] == "ana" and "students" not in joined.json()
    ws_url = app_url.replace("http", "ws") + f"/sessions/{session_id}/instructor"
    with connect(ws_url, open_timeout=10) as instructor:
        snapshot = json.loads(instructor.recv(timeout=10))
        assert set(snapshot["snapshot"]["students"]) == {"ana"} and "metadata" not in json.dumps(snapshot)
        watching = snapshot["worker"]
        # A new connection per post, until one is served by the other worker.
        for attempt in range(60):
            with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0)) as client:
                answer = client.post(
                    f"{app_url}/sessions/{session_id}/students/ana/posts", json={"code": f"print({attempt})"}
                ).json()
            change = json.loads(instructor.recv(timeout=10))
            assert change["kind"] == "revision_saved" and change["revision"]["id"] == answer["revision_id"]
            assert change["student"]["code"] == f"print({attempt})"
            if answer["worker"] != watching:
                return
        pytest.fail("every post was served by the instructor's own worker")
