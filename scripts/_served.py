"""A ``docstore serve`` in its own process for the benchmarks: started on a free loopback port,
awaited until it answers, stopped when the block ends (whatever happened inside).

Why a child process and not uvicorn in this one: the benchmarks measure what a remote
client pays, so the server must not share this process's event loop or GIL.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from docstore import PersistenceError, open_store

__all__ = ["free_port", "served"]


def free_port() -> int:
    """A port nobody listens on now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def served(url: str, admin_token: str, *extra: str) -> AsyncIterator[str]:
    """Serve the store at ``url`` (``extra``: more ``docstore serve`` options); yields the server's URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "docstore", "serve", "--url", url, "--host", "127.0.0.1", "--port", str(port), *extra],
        env={**os.environ, "DOCSTORE_ADMIN_TOKEN": admin_token},
    )
    try:
        remote = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                async with open_store(remote, token=admin_token):
                    break
            except PersistenceError:
                await asyncio.sleep(0.1)
        else:
            raise RuntimeError(f"docstore serve did not answer on {remote} within 10 s")
        yield remote
    finally:
        server.terminate()
        server.wait(timeout=30)
