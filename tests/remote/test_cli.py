"""`docstore serve` and `docstore token ...`, as an operator runs them (real processes, real socket)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

DOCSTORE = [sys.executable, "-m", "docstore"]


def docstore(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DOCSTORE, *arguments], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`docstore serve` over a local store, as the compose service runs it (admin token from the env)."""
    with serving(tmp_path) as url:
        yield url


@contextlib.contextmanager
def serving(tmp_path: Path) -> Iterator[str]:
    """The base URL of a `docstore serve` process over a local store in ``tmp_path``; stopped on exit."""
    port = free_port()
    env = {**os.environ, "DOCSTORE_URL": f"local://{tmp_path / 'store'}", "DOCSTORE_ADMIN_TOKEN": "admin-secret"}
    process = subprocess.Popen(
        [*DOCSTORE, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        _, logged = process.communicate(timeout=30)
        assert "admin-secret" not in logged and "dst_" not in logged  # never a token in the logs


def test_tokens_through_a_running_server(server: str) -> None:
    admin = {"DOCSTORE_TOKEN": "admin-secret"}
    created = docstore("token", "create", "--namespace", "cs101", "--name", "web", "--url", server, env=admin)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("dst_") and "\n" not in token  # the token alone on stdout
    listed = docstore("token", "list", "--url", server, env=admin)
    assert listed.returncode == 0 and "web" in listed.stdout and "cs101" in listed.stdout
    assert token not in listed.stdout
    answer = httpx.post(f"{server}/v1/sessions/count_sessions", json={}, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and answer.json() == 0
    # A namespace token is no admin: it cannot manage tokens.
    refused = docstore("token", "list", "--url", server, env={"DOCSTORE_TOKEN": token})
    assert refused.returncode == 2 and "admin" in refused.stderr
    assert docstore("token", "revoke", "web", "--url", server, env=admin).returncode == 0
    answer = httpx.post(f"{server}/v1/sessions/count_sessions", json={}, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401


@pytest.mark.slow
def test_tokens_in_the_store_and_serve_refusing_to_start(tmp_path: Path) -> None:
    url = f"local://{tmp_path / 'store'}"
    no_admin = {"DOCSTORE_ADMIN_TOKEN": ""}
    refused = docstore("serve", "--url", url, "--port", str(free_port()), env=no_admin)
    assert refused.returncode == 2 and "no one could authenticate" in refused.stderr
    created = docstore("token", "create", "--namespace", "art", "--read-only", "--url", url)
    assert created.returncode == 0 and created.stdout.strip().startswith("dst_")
    listed = docstore("token", "list", "--url", url)
    assert "art" in listed.stdout and "yes" in listed.stdout and created.stdout.strip() not in listed.stdout
    assert docstore("token", "revoke", "nope", "--url", url).returncode == 2
