"""A client that sends its request and then closes its side (half-close) still gets the answer.

Finding 9 of the attack pass on the fast paths: ``_server/_protocol.py`` holds what a cycle
writes until the end of the loop step. A client that shuts down its sending side after a
request (``shutdown(SHUT_WR)``: ``nc -N``, some health checkers and HTTP/1.0-style tools)
makes asyncio close the transport when the end of file arrives; an answer still held then was
dropped (``flush`` skips a closing transport), so the client got nothing where uvicorn's own
protocol answers it (of 50 pipelined requests then a half-close, uvicorn answered 2, docstore 1).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from . import servers
from .servers import ADMIN_TOKEN, uvicorn_server


async def _answer_to_a_half_closed_request(base: str) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    body = b"{}"
    writer.write(
        b"POST /v1/sessions/count_sessions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer %s\r\n"
        b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (ADMIN_TOKEN.encode(), len(body), body)
    )
    writer.write_eof()
    answer = await asyncio.wait_for(reader.read(), 30)  # until the server closes
    writer.close()
    await writer.wait_closed()
    return answer


@pytest.fixture
def uvicorns_own_protocol(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def limits() -> dict[str, Any]:
        return {"http": HttpToolsProtocol}

    monkeypatch.setattr(servers, "uvicorn_limits", limits)
    yield


@pytest.mark.usefixtures("uvicorns_own_protocol")
async def test_uvicorns_own_protocol_answers_a_half_closed_request() -> None:
    # The reference: what a client that half-closes gets from uvicorn itself.
    async with uvicorn_server() as base:
        assert (await _answer_to_a_half_closed_request(base)).startswith(b"HTTP/1.1 200 OK")


async def test_docstore_serve_answers_a_half_closed_request() -> None:
    async with uvicorn_server() as base:
        assert (await _answer_to_a_half_closed_request(base)).startswith(b"HTTP/1.1 200 OK")
