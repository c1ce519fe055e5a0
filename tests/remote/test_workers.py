"""`docstore serve --workers 2` on one local:// store: every worker applies the admin token,
the body limit and the access log, and the workers share the store (one active session per
join code holds across them). Real processes on 127.0.0.1, stopped at the end."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.remote.test_cli import DOCSTORE, docstore, free_port

ADMIN = "workers-admin-secret"
LIMIT_BYTES = int(0.01 * 1024 * 1024)


class Served:
    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.log = log

    def pids(self, pattern: str) -> set[str]:
        """The processes that logged a line matching ``pattern``."""
        return {m[1] for m in re.finditer(r"\[(\d+)\][^\n]*" + pattern, self.log.read_text())}


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "DOCSTORE_ADMIN_TOKEN": ADMIN}
    env.pop("DOCSTORE_URL", None)
    arguments = ["--url", f"local://{tmp_path / 'store'}", "--port", str(port), "--max-body-mb", "0.01"]
    with log.open("w") as output:
        process = subprocess.Popen(
            [*DOCSTORE, "serve", *arguments, "--workers", "2", "--access-log"], env=env, stdout=output, stderr=output
        )
    served = Served(f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 60  # a bound on start-up, not a measurement
        while len(served.pids("Application startup complete")) < 2:
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield served
    finally:
        process.terminate()
        process.wait(timeout=30)
    logged = log.read_text()
    assert ADMIN not in logged and "dst_" not in logged  # never a token in the logs


async def burst(url: str, make: list[tuple[str, dict[str, str], bytes]]) -> list[httpx.Response]:
    """Every request at once, each on a connection of its own (so both workers get some)."""

    async def one(path: str, headers: dict[str, str], body: bytes) -> httpx.Response:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            return await client.post(path, content=body, headers={**headers, "Content-Type": "application/json"})

    return await asyncio.gather(*(one(*request) for request in make))


def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN}"}


async def test_two_workers_share_one_store_and_apply_the_same_rules(two_workers: Served) -> None:
    url = two_workers.url
    assert len(two_workers.pids("Started server process")) == 2
    # Until each worker has shown each rule (bounded: the kernel hands connections to either).
    for _ in range(30):
        refused = await burst(url, [("/v1/sessions/count_sessions", {}, b"{}")] * 10)
        assert {answer.status_code for answer in refused} == {401}
        too_big = await burst(url, [("/v1/sessions/count_sessions", admin(), b" " * (LIMIT_BYTES + 1))] * 10)
        assert {answer.status_code for answer in too_big} == {413}
        if len(two_workers.pids("refused: no bearer token")) == 2 and len(two_workers.pids('" 413')) == 2:
            break
    assert len(two_workers.pids("refused: no bearer token")) == 2  # the admin-token check, in each worker
    assert len(two_workers.pids('" 413')) == 2  # the body limit and the access log, in each worker

    created = await burst(
        url, [("/v1/sessions/create_session", admin(), b'{"session": {"join_code": "w%d"}}' % n) for n in range(30)]
    )
    assert [answer.status_code for answer in created] == [200] * 30
    same_code = await burst(url, [("/v1/sessions/create_session", admin(), b'{"session": {"join_code": "one"}}')] * 12)
    statuses = sorted(answer.status_code for answer in same_code)
    assert statuses == [200] + [409] * 11  # one active session per join code, across the processes
    counts = await burst(url, [("/v1/sessions/count_sessions", admin(), b"{}")] * 10)
    assert {answer.json() for answer in counts} == {31}  # every worker sees every write
    assert len(two_workers.pids('"POST /v1/sessions/create_session HTTP/1.1" 200')) >= 1


def test_workers_need_a_store_that_processes_share() -> None:
    refused = docstore("serve", "--url", "memory://", "--workers", "2", env={"DOCSTORE_ADMIN_TOKEN": ADMIN})
    assert refused.returncode == 2 and "several processes share" in refused.stderr


def test_workers_refuse_to_start_when_no_one_could_authenticate(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "DOCSTORE_ADMIN_TOKEN"}
    refused = subprocess.run(
        [*DOCSTORE, "serve", "--url", f"local://{tmp_path / 'store'}", "--workers", "2", "--port", str(free_port())],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )
    assert refused.returncode == 2 and "no one could authenticate" in refused.stderr, refused.stderr


