"""Slow clients against ``docstore serve``'s protocol (``_server/_protocol.py``): a connection
that sends nothing, a head a byte at a time, a body slower than a trickle is closed once its
deadline passes, instead of holding a descriptor for ever (found by the server attack: 400
such connections to a server whose descriptor limit was 256 refused every other client, as
long as the attacker kept them). A client that leaves mid-body is not a logged traceback.
The deadlines are made short here (monkeypatched); their values are the module's."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from docstore import Session, open_store
from docstore._server import _protocol

from .servers import ADMIN_TOKEN, uvicorn_server

Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter


@pytest.fixture
def short_deadlines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_protocol, "HEAD_TIMEOUT_S", 0.5, raising=False)
    monkeypatch.setattr(_protocol, "BODY_GRACE_S", 0.5, raising=False)
    monkeypatch.setattr(_protocol, "MIN_BODY_BYTES_PER_S", 1000, raising=False)


class _Tracebacks(logging.Handler):
    """Log records carrying a traceback, from uvicorn's loggers (which do not propagate to the
    root logger; uvicorn's logging set-up replaces their handlers when its server is made, so
    this is added once the server runs)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


@contextlib.contextmanager
def _tracebacks() -> Iterator[_Tracebacks]:
    handler = _Tracebacks()
    loggers = [logging.getLogger(name) for name in ("uvicorn.error", "uvicorn", "")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


async def _closed_within(reader: Reader, seconds: float) -> bool:
    """Whether the server closed the connection (EOF or reset) within ``seconds``."""
    try:
        async with asyncio.timeout(seconds):
            while await reader.read(65536):
                pass
        return True
    except TimeoutError:
        return False
    except ConnectionError:
        return True


async def _connection(url: str) -> tuple[Reader, Writer]:
    host, port = url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


def _head(path: str, length: int | None = None) -> bytes:
    head = b"POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n" % (
        path.encode(),
        ADMIN_TOKEN.encode(),
    )
    return head + (b"Content-Length: %d\r\n" % length if length is not None else b"") + b"\r\n"


@pytest.mark.usefixtures("short_deadlines")
async def test_a_connection_that_sends_nothing_or_a_slow_head_is_closed_in_time() -> None:
    async with uvicorn_server() as url:
        idle = await _connection(url)
        partial = await _connection(url)
        partial[1].write(b"POST /v1/sessions/count_sessions HTTP/1.1\r\nHost: x\r\n")

        async def dribble() -> None:
            for _ in range(40):
                partial[1].write(b"X-A: b\r\n")
                await asyncio.sleep(0.1)

        dribbling = asyncio.create_task(dribble())
        try:
            assert await _closed_within(idle[0], 5), "a connection that never sent a byte was kept"
            assert await _closed_within(partial[0], 5), "a head sent a line every 0.1 s was kept"
        finally:
            dribbling.cancel()
            for _, writer in (idle, partial):
                writer.close()
        async with httpx.AsyncClient(base_url=url) as client:  # the server serves on
            answer = await client.post(
                "/v1/sessions/count_sessions", json={}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
            )
            assert answer.status_code == 200


@pytest.mark.usefixtures("short_deadlines")
async def test_a_body_slower_than_the_minimum_rate_is_closed_and_logs_no_traceback() -> None:
    async with uvicorn_server() as url:
        reader, writer = await _connection(url)
        writer.write(_head("/v1/sessions/count_sessions", 100) + b"{")
        try:
            with _tracebacks() as logged:
                for _ in range(30):  # a byte every 0.1 s: 10 bytes/s against 1,000 asked
                    if reader.at_eof():
                        break
                    writer.write(b" ")
                    await asyncio.sleep(0.1)
                assert await _closed_within(reader, 5), "a body trickling at 10 bytes/s was kept"
                await asyncio.sleep(0.2)
        finally:
            writer.close()
        assert not logged.records, [record.getMessage() for record in logged.records]


async def test_a_client_leaving_mid_body_logs_no_traceback() -> None:
    async with uvicorn_server() as url:
        with _tracebacks() as logged:
            for _ in range(3):
                _reader, writer = await _connection(url)
                writer.write(_head("/v1/sessions/count_sessions", 100) + b"{")
                await writer.drain()
                await asyncio.sleep(0.1)
                writer.close()
            await asyncio.sleep(0.3)
    assert not logged.records, [record.getMessage() for record in logged.records]


@pytest.mark.usefixtures("short_deadlines")
async def test_requests_in_time_kept_connections_and_a_long_feed_are_not_cut() -> None:
    """Deadlines bound what the client sends, never the handler's time: a kept-alive connection
    serves request after request, a body sent in pieces at a good rate is taken, and a feed
    open three times the head deadline still delivers."""
    async with uvicorn_server() as url, open_store(url, token=ADMIN_TOKEN) as store:
        session_id = await store.sessions.create_session(Session(join_code="slow01"))
        reader, writer = await _connection(url)
        body = b'{"active": true}'
        for _ in range(3):
            writer.write(_head("/v1/sessions/count_sessions", len(body)))
            for at in range(len(body)):
                writer.write(body[at : at + 1])
                await asyncio.sleep(0.01)
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            await asyncio.sleep(0.3)  # idle, under the head deadline
        writer.close()

        async with store.sessions.watch(session_id) as feed:
            changes: AsyncIterator[object] = feed.__aiter__()
            await asyncio.sleep(1.5)
            await store.sessions.update_session(session_id, {"featured_code": "x"})
            async with asyncio.timeout(10):
                change = await anext(changes)
        assert change.kind == "session_changed"  # type: ignore[attr-defined]


async def test_a_flood_of_connections_without_a_head_sheds_the_oldest_and_others_are_served(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Within the deadlines, connections that send nothing could still take every descriptor
    (no token is needed to connect): past MAX_AWAITING_HEADS of them, the oldest is closed as
    each new one comes, so a client that sends its request is served."""
    monkeypatch.setattr(_protocol, "MAX_AWAITING_HEADS", 20, raising=False)
    async with uvicorn_server() as url:
        flood = [await _connection(url) for _ in range(50)]
        try:
            await asyncio.sleep(0.2)
            closed = [await _closed_within(reader, 0.05) for reader, _ in flood]
            assert closed[:30] == [True] * 30 and closed[30:] == [False] * 20, closed
            async with httpx.AsyncClient(base_url=url) as client:
                for _ in range(3):  # a kept-alive client among the flood
                    answer = await client.post(
                        "/v1/sessions/count_sessions", json={}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
                    )
                    assert answer.status_code == 200
        finally:
            for _, writer in flood:
                writer.close()


def test_an_app_of_your_own_gets_the_same_protections_from_docstore_server() -> None:
    from docstore.server import uvicorn_limits

    assert uvicorn_limits()["http"] is _protocol.HeadLimitedProtocol


async def test_a_body_left_unread_by_an_early_answer_is_not_waited_for() -> None:
    """No token, a head and a body that trickles: the 401 goes out at once, and then the
    server waited for the rest of the body (30 s and more at the body's rate) to keep the
    connection: a way around the shedding of connections awaiting a head that needs no
    token. Now it lingers LINGER_S for the client to read the answer, then closes."""
    async with uvicorn_server() as url:
        reader, writer = await _connection(url)
        writer.write(
            b"POST /v1/sessions/count_sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000\r\n\r\n{"
        )
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert head.startswith(b"HTTP/1.1 401"), head
            for _ in range(5):  # keep trickling: it changes nothing
                writer.write(b" ")
                await asyncio.sleep(0.1)
            assert await _closed_within(reader, _protocol.LINGER_S + 5), "the server waited for a body it will not read"
        finally:
            writer.close()
