"""Docstore servers for tests: in process (ASGI, no socket) or uvicorn on a real 127.0.0.1 socket."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from docstore import Store, open_store
from docstore._remote import asgi_transport
from docstore._server._protocol import uvicorn_limits
from docstore.server import create_app

ADMIN_TOKEN = "test-admin-token"


@dataclass(frozen=True)
class InProcess:
    """A server app in this process as its clients reach it: a URL and the transport to inject."""

    url: str
    transport: httpx.AsyncBaseTransport

    def open(self, **settings: Any) -> Store:
        """A client store of the app (``settings``: ``open_store``'s)."""
        return open_store(self.url, transport=self.transport, **settings)

    def http(self, **settings: Any) -> httpx.AsyncClient:
        """A raw HTTP client of the app (``settings``: ``httpx.AsyncClient``'s)."""
        return httpx.AsyncClient(transport=self.transport, base_url=self.url, **settings)


@contextlib.asynccontextmanager
async def asgi_server(url: str = "memory://", **app_settings: Any) -> AsyncIterator[tuple[InProcess, Store]]:
    """(how clients reach it, the server's store): an app over ``url`` reached without a socket."""
    app_settings.setdefault("admin_token", ADMIN_TOKEN)
    async with open_store(url) as served:
        yield InProcess("http://docstore.invalid", asgi_transport(create_app(served, **app_settings))), served


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
