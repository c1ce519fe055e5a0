"""The lean transport's pool under attack (``_remote/_lean.py``): cancelled calls and waiters,
connections the server closed, the pool's limit, and no socket left behind."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx

from docstore import ErrorCode
from docstore._remote._lean import LeanTransport

from .raw_servers import RawServer, answer, keep_answering, outcome, raw_server, road

Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter


def _lean(limit: int) -> LeanTransport:
    limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
    return LeanTransport(verify=True, limits=limits, fallback=httpx.AsyncHTTPTransport(limits=limits))


def _request(url: str, pool: float = 5.0) -> httpx.Request:
    request = httpx.Request("POST", url + "/v1/x", content=b"{}")
    request.extensions = {"timeout": {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": pool}}
    return request


async def _until(condition: Any) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never came true")


async def test_a_woken_waiter_cancelled_before_it_runs_passes_its_turn_on() -> None:
    """Two calls wait for the one connection; it comes back and the first waiter is woken, but
    is cancelled before it runs: the second must get the connection, not a PoolTimeout."""
    async with raw_server(keep_answering()) as (url, _):
        lean = _lean(1)
        try:
            origin = (b"http", "127.0.0.1", int(url.rsplit(":", 1)[1]))
            held = await lean._acquire(origin, None, None)
            first = asyncio.ensure_future(lean.handle_async_request(_request(url, pool=3.0)))
            second = asyncio.ensure_future(lean.handle_async_request(_request(url, pool=3.0)))
            await _until(lambda: len(lean._waiters) == 2)
            lean._release(origin, held, True)  # wakes ``first``...
            first.cancel()  # ...which is cancelled before it resumes
            response = await second
            assert response.status_code == 200
        finally:
            await lean.aclose()


async def test_a_cancelled_call_mid_read_never_hands_its_answer_to_the_next() -> None:
    async def late(record: RawServer, reader: Reader, writer: Writer) -> None:
        while request := await record.next_request(reader):
            body = request.split(b"\r\n\r\n", 1)[1]
            if body == b'{"n": 0}':
                await asyncio.sleep(0.3)  # the caller has given up by then
            writer.write(answer(body))
            await writer.drain()

    async with raw_server(late) as (url, record), road("lean", url, max_pool_size=1) as transport:
        call = asyncio.ensure_future(outcome(transport, body=b'{"n": 0}'))
        await _until(lambda: len(record.requests) == 1)
        call.cancel()
        await asyncio.sleep(0.5)  # the late answer arrives on the given-up connection
        assert [await outcome(transport, body=b'{"n": %d}' % i) for i in (1, 2)] == [
            ("answer", b'{"n": 1}'),
            ("answer", b'{"n": 2}'),
        ]
        assert record.connections == 2  # the given-up connection was never reused


async def test_a_cancelled_call_mid_write_never_leaves_a_connection_to_reuse() -> None:
    big = b'"' + b"x" * (16 * 1024 * 1024) + b'"'

    async def slow_reader(record: RawServer, reader: Reader, writer: Writer) -> None:
        while request := await record.next_request(reader):
            body = request.split(b"\r\n\r\n", 1)[1]
            writer.write(answer(body if len(body) < 100 else b'"big"'))
            await writer.drain()

    async with raw_server(slow_reader) as (url, _record), road("lean", url, max_pool_size=1) as transport:
        call = asyncio.ensure_future(outcome(transport, body=big, read=False))
        await asyncio.sleep(0.05)
        call.cancel()
        await asyncio.gather(call, return_exceptions=True)
        assert [await outcome(transport, body=b'{"n": %d}' % i) for i in (1, 2)] == [
            ("answer", b'{"n": 1}'),
            ("answer", b'{"n": 2}'),
        ]


async def test_ten_thousand_calls_leave_no_socket_and_concurrency_respects_the_pool() -> None:
    before = len(os.listdir("/proc/self/fd"))
    async with raw_server(keep_answering()) as (url, record), road("lean", url, max_pool_size=4) as transport:
        for _ in range(10_000):
            assert await outcome(transport) == ("answer", b"null")
        assert record.connections == 1
        results = await asyncio.gather(*(outcome(transport) for _ in range(200)))
        assert results == [("answer", b"null")] * 200
        assert record.connections <= 4
    await asyncio.sleep(0.1)
    assert len(os.listdir("/proc/self/fd")) <= before


async def test_a_dropped_read_is_asked_once_more_at_most_and_a_dropped_write_never() -> None:
    async def hang_up(record: RawServer, reader: Reader, writer: Writer) -> None:
        await record.next_request(reader)  # read, then close without a word

    for name in ("lean", "httpx"):
        for read, asked in ((True, 2), (False, 1)):
            async with raw_server(hang_up) as (url, record), road(name, url, retry_reads=True) as transport:
                got = await outcome(transport, read=read)
            assert got[:2] == ("error", ErrorCode.UNAVAILABLE), (name, got)
            assert len(record.requests) == asked, (name, read)


async def test_connections_the_server_closed_while_idle_are_never_written_to() -> None:
    async def one_answer_then_close(record: RawServer, reader: Reader, writer: Writer) -> None:
        request = await record.next_request(reader)
        writer.write(answer(request.split(b"\r\n\r\n", 1)[1]))
        await writer.drain()
        await asyncio.sleep(0.05)  # then close, idle: no Connection: close said

    async with raw_server(one_answer_then_close) as (url, record), road("lean", url, max_pool_size=3) as transport:
        await asyncio.gather(*(outcome(transport) for _ in range(3)))
        await asyncio.sleep(0.3)  # all three idle, all three closed by the server
        got = []
        for i in range(3):
            got.append(await outcome(transport, body=b'{"n": %d}' % i, read=False))
            await asyncio.sleep(0.3)  # closed by the server, idle, before the next call
    assert got == [("answer", b'{"n": %d}' % i) for i in range(3)]
    assert len(record.requests) == 6  # each write sent once, on a fresh connection


async def test_calls_cancelled_at_any_point_leave_the_pool_count_true_and_no_socket() -> None:
    """Hundreds of calls cancelled at every stage (waiting for the pool, connecting, writing,
    reading): afterwards the pool counts only what it holds, serves again, and closes all."""

    async def slowish(record: RawServer, reader: Reader, writer: Writer) -> None:
        while request := await record.next_request(reader):
            await asyncio.sleep(0.001 * (len(record.requests) % 5))
            writer.write(answer(request.split(b"\r\n\r\n", 1)[1]))
            await writer.drain()

    before = len(os.listdir("/proc/self/fd"))
    async with raw_server(slowish) as (url, _):
        lean = _lean(3)
        try:
            for round_ in range(40):
                tasks = [asyncio.ensure_future(lean.handle_async_request(_request(url))) for _ in range(10)]
                await asyncio.sleep(0.0005 * (round_ % 8))
                for i, task in enumerate(tasks):
                    if (i + round_) % 2:
                        task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                held = sum(len(idle) for idle in lean._idle.values())
                assert lean._open == held and not lean._waiters, round_
            response = await lean.handle_async_request(_request(url, pool=2.0))
            assert response.status_code == 200
        finally:
            await lean.aclose()
    await asyncio.sleep(0.1)
    assert len(os.listdir("/proc/self/fd")) <= before
