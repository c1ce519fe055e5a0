"""A streamed answer to a client that reads nothing is held by flow control, not buffered whole.

Finding 3 of the attack pass on the fast paths: ``_server/_protocol.py`` joins what a
connection's cycles write in one loop step and writes it at the end of the step. uvicorn's
flow control only holds a cycle once the transport has said its buffer is full
(``pause_writing``), which a transport can only say of what it was given: an answer whose
body is produced without suspending (``GET /v1/admin/documents/{collection}`` on
``memory://``, whose cursor never suspends) was produced and joined whole in memory, however
large, before the first byte left, and the loop ran nothing else meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from docstore._server._protocol import HeadLimitedProtocol

CHUNK = 16 * 1024
CHUNKS = 400  # 6.4 MB
HIGH_WATER = 64 * 1024  # asyncio's default for a socket transport


class _SlowReader(asyncio.Transport):
    """A transport whose peer reads nothing: past the high-water mark it pauses the protocol, as a socket's does."""

    def __init__(self, protocol: asyncio.Protocol) -> None:
        super().__init__()
        self._protocol = protocol
        self.buffered = 0
        self.paused = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.buffered += len(data)
        if self.buffered > HIGH_WATER and not self.paused:
            self.paused = True
            self._protocol.pause_writing()

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 5000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _produced_before_the_client_reads(protocol_class: type[HttpToolsProtocol]) -> int:
    produced = 0

    async def export(_: Request) -> StreamingResponse:
        async def lines() -> AsyncIterator[bytes]:
            nonlocal produced
            for _ in range(CHUNKS):
                produced += 1
                yield b"x" * CHUNK  # never suspends, as a memory:// cursor

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    config = uvicorn.Config(Starlette(routes=[Route("/", export)]), log_level="warning")
    config.load()
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
    transport = _SlowReader(protocol)
    protocol.connection_made(transport)
    protocol.data_received(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
    for _ in range(50):
        await asyncio.sleep(0)
    produced_then = produced
    protocol.connection_lost(None)  # the client goes: the cycle ends
    for _ in range(10):
        await asyncio.sleep(0)
    return produced_then


async def test_uvicorns_own_protocol_holds_the_answer_of_a_client_that_reads_nothing() -> None:
    # The reference: what flow control does when every write reaches the transport.
    assert await _produced_before_the_client_reads(HttpToolsProtocol) < CHUNKS // 10


async def test_docstores_protocol_holds_the_answer_of_a_client_that_reads_nothing() -> None:
    assert await _produced_before_the_client_reads(HeadLimitedProtocol) < CHUNKS // 10
