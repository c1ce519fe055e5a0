"""The edge over a real socket (uvicorn on 127.0.0.1): what clients that are not httpx see."""

from __future__ import annotations

import asyncio
import http.client
import socket
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from docstore._server._protocol import MAX_HEAD_BYTES, MAX_HEADERS

from .servers import ADMIN_TOKEN, uvicorn_server
from .test_cli import serving

LIMIT = 1024 * 1024
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}


def _urllib_post(url: str, body: bytes) -> int | str:
    """What urllib makes of it: it sends the whole body before it reads any answer."""
    request = urllib.request.Request(url + "/v1/sessions/count_sessions", data=body, method="POST", headers=AUTH)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError as error:
        return repr(error)


def _expecting_continue(url: str, size: int) -> tuple[int, str | None]:
    """curl's way: headers with ``Expect: 100-continue``, then wait for the answer before the body."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
    try:
        connection.putrequest("POST", "/v1/sessions/count_sessions")
        for name, value in {**AUTH, "Content-Length": str(size), "Expect": "100-continue"}.items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.getheader("connection")
    finally:
        connection.close()


async def test_a_client_that_sends_a_whole_oversized_body_first_gets_the_413() -> None:
    async with uvicorn_server("memory://", max_body_bytes=LIMIT) as url:
        for size in (2 * LIMIT, 20 * LIMIT):
            assert await asyncio.to_thread(_urllib_post, url, b"x" * size) == 413
        assert await asyncio.to_thread(_urllib_post, url, b"{}") == 200  # and the server serves on
        # A client waiting for "100 Continue" has sent nothing: the 413 goes out at once.
        assert await asyncio.to_thread(_expecting_continue, url, 1024 * LIMIT) == (413, "close")


def _raw(port: int, head: bytes, *, then: bytes = b"", repeat: int = 0) -> bytes:
    """Send ``head`` (then ``then`` ``repeat`` times), read the start of the answer.

    An unfinished head is the point: without a cap the server would wait for its end
    (and buffer it) forever, and this read would time out.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        try:
            connection.sendall(head)
            for _ in range(repeat):
                connection.sendall(then)
        except OSError:
            pass  # refused while still sending: the answer is waiting to be read
        return connection.recv(200)


HEAD = b"GET /v1/health HTTP/1.1\r\nHost: docstore\r\n"


@pytest.fixture
async def port() -> AsyncIterator[int]:
    async with uvicorn_server("memory://") as url:
        yield int(urlsplit(url).port or 0)


@pytest.mark.parametrize(
    ("head", "then", "repeat"),
    [
        (HEAD + b"X-Big: " + b"a" * (MAX_HEAD_BYTES + 1), b"", 0),  # never finished
        (HEAD + b"X-Big: ", b"a" * 65536, 60 * 16),  # 60 MB, sent as fast as the server reads
        (b"GET /v1/health?" + b"a" * (2 * MAX_HEAD_BYTES), b"", 0),  # the request line alone
        (HEAD + b"".join(b"h%d: v\r\n" % n for n in range(MAX_HEADERS + 1)) + b"\r\n", b"", 0),
    ],
    ids=["unfinished-header", "60MB-header", "request-line", "too-many-headers"],
)
async def test_an_oversized_head_is_431_before_it_is_buffered(port: int, head: bytes, then: bytes, repeat: int) -> None:
    answer = await asyncio.to_thread(_raw, port, head, then=then, repeat=repeat)
    assert answer.startswith(b"HTTP/1.1 431 "), answer
    # ...and the server serves everyone else as before.
    assert (await asyncio.to_thread(_raw, port, HEAD + b"\r\n")).startswith(b"HTTP/1.1 200 ")
    headers = b"".join(b"h%d: v\r\n" % n for n in range(MAX_HEADERS - 2))
    assert (await asyncio.to_thread(_raw, port, HEAD + headers + b"\r\n")).startswith(b"HTTP/1.1 200 ")


def test_docstore_serve_applies_the_head_caps(tmp_path: Path) -> None:
    """The caps are `docstore serve`'s, not only the test servers'."""
    with serving(tmp_path) as url:
        answer = _raw(int(urlsplit(url).port or 0), HEAD + b"X-Big: " + b"a" * (MAX_HEAD_BYTES + 1))
    assert answer.startswith(b"HTTP/1.1 431 "), answer


@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: -2\r\n\r\n{}",
        b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        b"Content-Length: 2\r\nContent-Length: 20\r\n\r\n{}",
        b"Transfer-Encoding: xchunked\r\n\r\n{}",
    ],
    ids=["negative-length", "length-and-chunked", "two-lengths", "unknown-coding"],
)
async def test_a_request_the_parser_refuses_is_a_json_400_and_never_two_readings(framing: bytes) -> None:
    """Found by the server attack (tester5): ambiguous framing (the way to smuggle a request
    past a proxy) was refused, but in uvicorn's words (text/plain), not the wire's error body."""
    async with uvicorn_server() as url:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        head = b"POST /v1/sessions/count_sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n" % (
            ADMIN_TOKEN.encode()
        )
        writer.write(head + framing)
        answer = await asyncio.wait_for(reader.read(), 10)  # the server closes after it
        writer.close()
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 400 Bad Request" and answer.count(b"HTTP/1.1") == 1, answer
    assert b"content-type: application/json" in rest.lower() and b'"code": "INVALID_DATA"' in rest, answer
