"""Raw HTTP/1.1 servers on 127.0.0.1 for the transport tests: each connection handed to a script
that reads requests and writes whatever bytes it wants (well-formed, slow, chunked, broken)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from docstore import PersistenceError, StorageConfig
from docstore._remote._one_send import one_send_transport
from docstore._remote._transport import Transport


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One whole request as its bytes (head and Content-Length body); b"" at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return b""
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head + await reader.readexactly(length)


def answer(body: bytes = b"null", status: int = 200, extra: bytes = b"") -> bytes:
    """A Content-Length answer."""
    return (
        b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n" % (status, len(body), extra)
        + body
    )


# What a connection does: (the server's record, reader, writer); returns when done with it.
Script = Callable[["RawServer", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class RawServer:
    script: Script
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.script(self, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def next_request(self, reader: asyncio.StreamReader) -> bytes:
        request = await read_request(reader)
        if request:  # recorded without the port, which differs from one server to the next
            self.requests.append(request.replace(b"127.0.0.1:%d" % self.port, b"127.0.0.1:PORT", 1))
        return request


@contextlib.asynccontextmanager
async def raw_server(script: Script, tls: ssl.SSLContext | None = None) -> AsyncIterator[tuple[str, RawServer]]:
    """(base URL, the server's record); stopped on exit. ``tls``: served over TLS (https)."""
    record = RawServer(script)
    tasks: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await record.handle(reader, writer)
        except asyncio.CancelledError:
            pass  # stopped by the server's exit: ends as any other connection
        finally:
            tasks.discard(task)

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    port = record.port = server.sockets[0].getsockname()[1]
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}", record
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1)


def keep_answering(body: bytes = b"null") -> Script:
    """A well-behaved keep-alive server answering every request with ``body``."""

    async def script(record: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await record.next_request(reader):
            writer.write(answer(body))
            await writer.drain()

    return script


@contextlib.asynccontextmanager
async def road(name: str, url: str, **settings: object) -> AsyncIterator[Transport]:
    """docstore's ``Transport`` to ``url``: over its default (lean) transport, or over httpcore
    exactly as before the lean transport (``"httpx"``)."""
    config = StorageConfig(url=url, token="the-token", **settings)
    injected: httpx.AsyncBaseTransport | None = None
    if name == "httpx":
        limits = httpx.Limits(max_connections=config.max_pool_size, max_keepalive_connections=config.max_pool_size)
        verify = ssl.create_default_context(cafile=config.tls_ca_file) if config.tls_ca_file else True
        injected = one_send_transport(limits=limits, verify=verify)
    transport = Transport(config, injected)
    transport.open()
    try:
        yield transport
    finally:
        await transport.close()
        if injected is not None:
            await injected.aclose()


async def outcome(transport: Transport, path: str = "/v1/sessions/get_session", **call: object) -> tuple[object, ...]:
    """("answer", body) or ("error", code, message) of one call."""
    call.setdefault("method", "POST")
    call.setdefault("body", b"{}")
    call.setdefault("read", True)
    try:
        return ("answer", await transport.request(path=path, **call))  # type: ignore[arg-type]
    except PersistenceError as exc:
        return ("error", exc.code, exc.message.replace(transport.shown_url, "URL"))
