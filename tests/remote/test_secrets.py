"""No password of a server URL shows: not in a client's errors, not in any command's output."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from docstore import ErrorCode, open_store

from ..contract.helpers import expect_error
from .test_faults import fake_server

SECRET = "SECRETpw"


def _free_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port: int = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    return port


def _with_password(url: str) -> str:
    return url.replace("http://", f"http://admin:{SECRET}@", 1)


async def test_an_unreachable_server_error_never_shows_the_password() -> None:
    url = _with_password(f"http://127.0.0.1:{_free_port()}")
    error = await expect_error(ErrorCode.UNAVAILABLE, open_store(url, token="t").initialize())
    assert SECRET not in str(error) and "admin:***@127.0.0.1" in error.message


async def test_a_slow_or_dropping_server_error_never_shows_the_password() -> None:
    async with fake_server(lambda path, n: "hang") as (url, _):
        store = open_store(_with_password(url), token="t", socket_timeout_ms=200)
        async with store:
            error = await expect_error(ErrorCode.TIMEOUT, store.sessions.get_session("s1"))
    assert SECRET not in str(error)
    async with fake_server(lambda path, n: "drop") as (url, _):
        store = open_store(_with_password(url), token="t")
        async with store:
            for call in (store.sessions.get_session("s1"), store.sessions.end_session("s1")):
                error = await expect_error(ErrorCode.UNAVAILABLE, call)
                assert SECRET not in str(error)


@pytest.mark.parametrize("command", [["health"], ["stats"], ["export", "{tmp}/out"], ["token", "list"]])
def test_no_command_prints_the_password_of_a_server_url(command: list[str], tmp_path: Path) -> None:
    url = _with_password(f"http://127.0.0.1:{_free_port()}")
    arguments = [part.format(tmp=tmp_path) for part in command]
    result = subprocess.run(
        [sys.executable, "-m", "docstore", *arguments, "--url", url],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "DOCSTORE_TOKEN": "t"},
    )
    assert result.returncode == 2, result.stderr
    assert SECRET not in result.stdout + result.stderr and "Traceback" not in result.stderr
