"""A request leaves the client in one send (``_remote/_one_send.py``); a large body streams."""

from __future__ import annotations

from typing import Any

import httpcore

from docstore import Session, open_store
from docstore._config import StorageConfig
from docstore._remote._one_send import HOLD_BYTES, _OneSendStream
from docstore._remote._transport import Transport

from .servers import ADMIN_TOKEN, uvicorn_server


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.events.append(("write", buffer))

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.events.append(("read", max_bytes))
        return b""

    async def aclose(self) -> None:
        self.events.append(("close", None))


async def test_the_writes_of_a_request_go_out_together_before_the_first_read() -> None:
    inner = _Stream()
    stream = _OneSendStream(inner)
    await stream.write(b"POST / HTTP/1.1\r\n\r\n")
    await stream.write(b"{}")
    assert inner.events == []
    await stream.read(100)
    assert inner.events == [("write", b"POST / HTTP/1.1\r\n\r\n{}"), ("read", 100)]


async def test_a_large_body_is_written_through() -> None:
    inner = _Stream()
    stream = _OneSendStream(inner)
    await stream.write(b"head")
    await stream.write(b"x" * HOLD_BYTES)
    assert inner.events == [("write", b"head" + b"x" * HOLD_BYTES)]


async def test_the_client_sends_each_request_in_one_write() -> None:
    async with uvicorn_server() as url:
        transport = Transport(StorageConfig(url=url, token=ADMIN_TOKEN))
        transport.open()
        try:
            client: Any = transport._client_now()
            # The lean transport writes a request in one send itself (``_lean_connection``);
            # httpcore, under it for what it leaves, is the one-send one.
            assert type(client._transport).__name__ == "LeanTransport"
            assert type(client._transport._fallback._pool._network_backend).__name__ == "_OneSendBackend"
        finally:
            await transport.close()
        async with open_store(url, token=ADMIN_TOKEN) as store:  # and calls work through it
            session_id = await store.sessions.create_session(Session(join_code="ONE1"))
            found = await store.sessions.get_session(session_id)
            assert found is not None and found.join_code == "ONE1"
