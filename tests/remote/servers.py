"""Docstore servers for tests: in process (ASGI, no socket) or uvicorn on a real 127.0.0.1 socket."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

from docstore import Store, open_store
from docstore._remote import in_process
from docstore._server._protocol import uvicorn_limits
from docstore.server import create_app

ADMIN_TOKEN = "test-admin-token"


@contextlib.asynccontextmanager
async def asgi_server(url: str = "memory://", **app_settings: Any) -> AsyncIterator[tuple[str, Store]]:
    """(client URL, the server's store): an app over ``url`` reached without a socket."""
    app_settings.setdefault("admin_token", ADMIN_TOKEN)
    async with open_store(url) as served:
        with in_process(create_app(served, **app_settings)) as client_url:
            yield client_url, served


@contextlib.asynccontextmanager
async def uvicorn_server(url: str = "memory://", **app_settings: Any) -> AsyncIterator[str]:
    """The base URL of uvicorn serving a store at ``url`` on 127.0.0.1 (a free port), as a task of
    this event loop; stopped on exit.

    A task rather than a thread: two threads pass the GIL back and forth on every request
    (several ms a call). A pre-bound socket handed to uvicorn is avoided too: uvicorn
    duplicates it and asyncio then skips TCP_NODELAY (40 ms a call, Nagle and delayed ACK).
    """
    app_settings.setdefault("admin_token", ADMIN_TOKEN)
    async with open_store(url) as served:
        config = uvicorn.Config(
            create_app(served, **app_settings),
            host="127.0.0.1",
            port=0,
            log_level="warning",
            access_log=False,
            **uvicorn_limits(),  # as `docstore serve` runs it
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        try:
            while not server.started:
                if task.done():
                    task.result()  # raises what stopped it
                    raise RuntimeError("uvicorn stopped before it started")
                await asyncio.sleep(0.005)
            port = server.servers[0].sockets[0].getsockname()[1]
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await task
