"""Network faults seen by the client: refused, slow, dropped; reads retried once, writes never."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from docstore import ErrorCode, PersistenceError, open_store
from docstore._errors import HTTP_STATUS
from docstore._wire import error_body, error_from_response

from ..contract.helpers import expect_error

# What the fake server does with the n-th request for a path: an answer body, "drop"
# (close the connection without answering) or "hang" (never answer).
Behaviour = Callable[[str, int], str]


class FakeServer:
    """A raw HTTP/1.1 server on 127.0.0.1 that misbehaves on purpose."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.requests: Counter[str] = Counter()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    return
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                path = request_line.split()[1].decode()
                self.requests[path] += 1
                action = '{"engine": "fake"}' if path == "/v1/info" else self.behaviour(path, self.requests[path])
                if action == "drop":
                    return
                if action == "hang":
                    await asyncio.sleep(3600)
                body = action.encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def fake_server(behaviour: Behaviour) -> AsyncIterator[tuple[str, FakeServer]]:
    fake = FakeServer(behaviour)
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", fake
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1)


async def test_a_refused_connection_is_unavailable() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    error = await expect_error(ErrorCode.UNAVAILABLE, open_store(f"http://127.0.0.1:{port}", token="t").initialize())
    assert error.retryable


async def test_a_server_slower_than_the_timeout_is_timeout() -> None:
    async with (
        fake_server(lambda path, n: "hang") as (url, fake),
        open_store(url, token="t", socket_timeout_ms=200) as store,
    ):
        await expect_error(ErrorCode.TIMEOUT, store.sessions.get_session("s1"))
    assert fake.requests["/v1/sessions/get_session"] == 1  # a timeout is not a dropped connection


async def test_a_read_is_retried_once_after_a_dropped_connection() -> None:
    async with (
        fake_server(lambda path, n: "drop" if n == 1 else "null") as (url, fake),
        open_store(url, token="t") as store,
    ):
        assert await store.sessions.get_session("s1") is None
    assert fake.requests["/v1/sessions/get_session"] == 2


async def test_a_read_dropped_twice_is_unavailable() -> None:
    async with fake_server(lambda path, n: "drop") as (url, fake), open_store(url, token="t") as store:
        await expect_error(ErrorCode.UNAVAILABLE, store.problems.count_problems())
    assert fake.requests["/v1/problems/count_problems"] == 2


async def test_a_read_is_not_retried_when_retry_reads_is_off() -> None:
    async with (
        fake_server(lambda path, n: "drop" if n == 1 else "0") as (url, fake),
        open_store(url, token="t", retry_reads=False) as store,
    ):
        await expect_error(ErrorCode.UNAVAILABLE, store.problems.count_problems())
    assert fake.requests["/v1/problems/count_problems"] == 1


async def test_a_write_is_never_retried_blindly() -> None:
    async with (
        fake_server(lambda path, n: "drop" if n == 1 else "{}") as (url, fake),
        open_store(url, token="t") as store,
    ):
        error = await expect_error(ErrorCode.UNAVAILABLE, store.sessions.end_session("s1"))
        assert "may or may not" in error.message
    assert fake.requests["/v1/sessions/end_session"] == 1


async def test_an_answer_that_is_not_docstore_json_is_storage_error() -> None:
    async with fake_server(lambda path, n: "not json at all") as (url, _), open_store(url, token="t") as store:
        await expect_error(ErrorCode.STORAGE_ERROR, store.sessions.get_session("s1"))


def test_error_answers_map_to_codes_both_ways() -> None:
    for code, status in HTTP_STATUS.items():
        assert error_from_response(status, error_body(PersistenceError(code, "m"))).code is code
        assert error_from_response(status, b"<html>proxy page</html>").code is code
    assert error_from_response(502, b"Bad Gateway").code is ErrorCode.UNAVAILABLE
    assert error_from_response(413, b"").code is ErrorCode.INVALID_DATA
    assert error_from_response(401, b"").code is ErrorCode.PERMISSION_DENIED
    assert error_from_response(418, b'{"code": "NOPE"}').code is ErrorCode.STORAGE_ERROR


async def test_a_missing_ca_file_is_invalid_data(tmp_path: Path) -> None:
    store = open_store("https://127.0.0.1:1", token="t", tls_ca_file=str(tmp_path / "missing.pem"))
    await expect_error(ErrorCode.INVALID_DATA, store.initialize())
