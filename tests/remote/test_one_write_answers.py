"""An answer's head and body leave the server in one write (``_server/_protocol.py``).

uvicorn writes the status line and headers when the app starts its answer, then the body:
two sends on the socket, two wake-ups of the client for one answer. The protocol that
``docstore serve`` runs joins what a connection's cycles write in one loop step; pipelined
answers keep their order, and nothing is lost when the connection closes after an answer.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from uvicorn.server import ServerState

from docstore._server._protocol import HeadLimitedProtocol


class _Transport(asyncio.Transport):
    """Records every write; closed when told."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 5000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _echo(request: Request) -> Response:
    return Response(b"answer to " + await request.body(), media_type="text/plain")


async def _served(requests: bytes) -> _Transport:
    config = uvicorn.Config(Starlette(routes=[Route("/", _echo, methods=["POST"])]), log_level="warning")
    config.load()
    protocol = HeadLimitedProtocol(config=config, server_state=ServerState(), app_state={})
    transport = _Transport()
    protocol.connection_made(transport)
    protocol.data_received(requests)
    for _ in range(50):
        await asyncio.sleep(0)
    return transport


def _post(body: bytes, *, close: bool = False) -> bytes:
    connection = b"connection: close\r\n" if close else b""
    return b"POST / HTTP/1.1\r\nhost: x\r\n" + connection + b"content-length: %d\r\n\r\n" % len(body) + body


async def test_an_answer_is_one_write() -> None:
    transport = await _served(_post(b"one"))
    assert len(transport.writes) == 1
    assert transport.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert transport.writes[0].endswith(b"\r\n\r\nanswer to one")


async def test_pipelined_answers_keep_their_order_and_a_close_loses_nothing() -> None:
    transport = await _served(_post(b"one") + _post(b"two") + _post(b"three", close=True))
    sent = b"".join(transport.writes)
    assert sent.count(b"HTTP/1.1 200 OK") == 3
    assert sent.index(b"answer to one") < sent.index(b"answer to two") < sent.index(b"answer to three")
    assert sent.endswith(b"answer to three") and transport.closed


def test_the_server_keeps_an_idle_connection_longer_than_the_client_reuses_one() -> None:
    # httpx's default keep-alive expiry (5 s) is the client's: the server must not close first.
    import httpx

    from docstore._server._protocol import uvicorn_limits

    client_expiry = httpx.AsyncHTTPTransport()._pool._keepalive_expiry
    assert client_expiry is not None
    assert uvicorn_limits()["timeout_keep_alive"] > client_expiry
