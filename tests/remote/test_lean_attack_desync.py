"""Hostile servers against the lean transport (``_remote/_lean*.py``) and httpcore, over real
127.0.0.1 sockets: smuggled or desynchronised answers must never pair a later call with an
earlier call's bytes, and the two roads agree where HTTP says what to do."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from docstore import ErrorCode

from .raw_servers import RawServer, answer, outcome, raw_server, road

ROADS = ("lean", "httpx")
Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter


async def calls_on_each_road(
    script: Any, count: int = 2, **settings: Any
) -> tuple[list[list[tuple[object, ...]]], list[RawServer]]:
    """The outcomes of ``count`` sequential calls on each road, each road against a fresh server."""
    settings.setdefault("socket_timeout_ms", 2000)
    settings.setdefault("retry_reads", False)
    results, records = [], []
    for name in ROADS:
        async with raw_server(script) as (url, record), road(name, url, **settings) as transport:
            results.append([await outcome(transport, body=b'{"n": %d}' % i) for i in range(count)])
            records.append(record)
    return results, records


def answering_with(first: bytes, then: bytes = b"") -> Any:
    """A server answering its first request with the raw bytes ``first``, every later one with
    ``then`` or, when empty, an answer echoing the request's body (so a stale answer shows)."""

    async def script(record: RawServer, reader: Reader, writer: Writer) -> None:
        while request := await record.next_request(reader):
            body = request.split(b"\r\n\r\n", 1)[1]
            writer.write(first if len(record.requests) == 1 else (then or answer(body)))
            await writer.drain()

    return script


def _assert_never_stale(results: list[list[tuple[object, ...]]]) -> None:
    """On the lean road, a call's answer is its own: the echo of its body, or an error, never
    another's bytes. (httpcore is not held to it: h11 keeps the bytes past an answer in its
    buffer and reads them as the next call's answer, e.g. ``extra_after_answer``.)"""
    lean = results[ROADS.index("lean")]
    for i, result in enumerate(lean[1:], start=1):
        assert result[0] == "error" or result == ("answer", b'{"n": %d}' % i), lean


SMUGGLED = {
    "two_lengths_differ": b"HTTP/1.1 200 X\r\nContent-Length: 4\r\nContent-Length: 30\r\n\r\nnull" + answer(b'"evil"'),
    "two_lengths_same": b"HTTP/1.1 200 X\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nnull",
    "length_and_chunked": (
        b"HTTP/1.1 200 X\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nnull\r\n0\r\n\r\n"
        + answer(b'"evil"')
    ),
    "chunked_not_last": b"HTTP/1.1 200 X\r\nTransfer-Encoding: chunked, gzip\r\n\r\n4\r\nnull\r\n0\r\n\r\n",
    "negative_length": b"HTTP/1.1 200 X\r\nContent-Length: -4\r\n\r\nnull",
    "plus_length": b"HTTP/1.1 200 X\r\nContent-Length: +4\r\n\r\nnull",
    "length_list": b"HTTP/1.1 200 X\r\nContent-Length: 4, 4\r\n\r\nnull",
    "extra_after_answer": answer(b"null") + answer(b'"evil"'),
    "garbage_after_answer": answer(b"null") + b"garbage\r\n\r\n",
    "no_content_with_body": b'HTTP/1.1 204 X\r\nContent-Length: 6\r\n\r\n"evil"',
    "no_content_body_no_length": b"HTTP/1.1 204 X\r\n\r\n" + answer(b'"evil"'),
    "not_modified_with_body": b'HTTP/1.1 304 X\r\nContent-Length: 6\r\n\r\n"evil"',
    "http10_no_length": b"HTTP/1.0 200 X\r\n\r\nnull",
    "http10_keep_alive": b"HTTP/1.0 200 X\r\nConnection: keep-alive\r\nContent-Length: 4\r\n\r\nnull",
    "http10_length": b"HTTP/1.0 200 X\r\nContent-Length: 4\r\n\r\nnull",
    "close_honoured": answer(b"null", extra=b"Connection: close\r\n"),
    "interim_then_final": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n" + answer(b"null"),
    "space_before_colon": b"HTTP/1.1 200 X\r\nContent-Length : 40\r\n\r\nnull" + answer(b'"evil"'),
    "obs_fold_length": b"HTTP/1.1 200 X\r\nX: a\r\n b\r\nContent-Length: 4\r\n\r\nnull",
    "bare_lf": b"HTTP/1.1 200 X\nContent-Length: 4\n\nnull",
    "chunk_ext_smuggle": b"HTTP/1.1 200 X\r\nTransfer-Encoding: chunked\r\n\r\n4;x\r\nnull\r\n0\r\n\r\n",
    "huge_length": b"HTTP/1.1 200 X\r\nContent-Length: 99999999999999999999999\r\n\r\nnull",
    "nul_in_header": b"HTTP/1.1 200 X\r\nX: a\x00b\r\nContent-Length: 4\r\n\r\nnull",
}


@pytest.mark.parametrize("name", sorted(SMUGGLED))
async def test_a_smuggled_answer_never_answers_the_next_call(name: str) -> None:
    results, _ = await calls_on_each_road(answering_with(SMUGGLED[name]), count=3)
    _assert_never_stale(results)


def split_at(cut: int, first: bytes) -> Any:
    """A server writing ``first`` (then echoes) in two writes cut at byte ``cut``."""

    async def script(record: RawServer, reader: Reader, writer: Writer) -> None:
        while request := await record.next_request(reader):
            body = request.split(b"\r\n\r\n", 1)[1]
            data = first if len(record.requests) == 1 else answer(body)
            writer.write(data[:cut])
            await writer.drain()
            await asyncio.sleep(0.001)
            writer.write(data[cut:])
            await writer.drain()

    return script


CHUNKED = b"HTTP/1.1 200 X\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nnull\r\n0\r\n\r\n"


async def test_an_answer_split_at_every_byte_is_read_whole() -> None:
    interim = b"HTTP/1.1 100 Continue\r\n\r\n" + answer(b'"split"')
    for first in (answer(b'"split"'), CHUNKED, interim):
        for cut in range(1, len(first)):
            async with raw_server(split_at(cut, first)) as (url, record), road("lean", url) as transport:
                got = [await outcome(transport, body=b'{"n": %d}' % i) for i in range(2)]
            expected = b'"split"' if first != CHUNKED else b"null"
            assert got == [("answer", expected), ("answer", b'{"n": 1}')], cut
            assert record.connections == 1


async def test_half_an_answer_then_close_is_a_dropped_call_alike() -> None:
    whole = answer(b'{"a": 1}')
    for cut in (5, 20, len(whole) - 3):

        async def script(record: RawServer, reader: Reader, writer: Writer, cut: int = cut) -> None:
            await record.next_request(reader)
            writer.write(whole[:cut])
            await writer.drain()

        results, records = await calls_on_each_road(script, count=1)
        assert results[0] == results[1] and results[0][0][:2] == ("error", ErrorCode.UNAVAILABLE), results
        assert [len(r.requests) for r in records] == [1, 1]  # retry_reads off: never asked twice


TRAILERS = (
    b"HTTP/1.1 200 X\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nnull\r\n0\r\n"
    b"Set-Cookie: evil=1\r\nContent-Encoding: gzip\r\nX-Trailer: t\r\n\r\n"
)


async def test_chunked_trailers_never_become_the_answers_headers_alike() -> None:
    """h11 (httpcore) drops an answer's trailer fields; the lean road once merged them into the
    headers: a trailer could set a cookie sent with every later call, or a Content-Encoding
    that turns the body read into a decoding error."""
    seen = {}
    for name in ROADS:
        async with raw_server(answering_with(TRAILERS, TRAILERS)) as (url, record), road(name, url) as transport:
            got = [await outcome(transport) for _ in range(2)]
            seen[name] = (got, dict(transport._client_now().cookies))
            assert not any(b"evil" in request for request in record.requests), name
    assert seen["lean"] == seen["httpx"] == ([("answer", b"null")] * 2, {})


@pytest.mark.parametrize("stray", [answer(b'"evil"'), b"HTTP/1.1 408 X\r\nContent-Length: 0\r\n\r\n", b"x"])
async def test_bytes_sent_later_on_an_idle_connection_never_answer_the_next_call(stray: bytes) -> None:
    async def late_stray(record: RawServer, reader: Reader, writer: Writer) -> None:
        while request := await record.next_request(reader):
            writer.write(answer(request.split(b"\r\n\r\n", 1)[1]))
            await writer.drain()
            if len(record.requests) == 1:
                await asyncio.sleep(0.05)
                writer.write(stray)  # unasked, while the connection is idle in the pool
                await writer.drain()

    for name in ROADS:
        async with raw_server(late_stray) as (url, record), road(name, url) as transport:
            first = await outcome(transport, body=b'{"n": 0}')
            await asyncio.sleep(0.3)
            second = await outcome(transport, body=b'{"n": 1}')
        assert (first, second) == (("answer", b'{"n": 0}'), ("answer", b'{"n": 1}')), name
        assert record.connections == 2


async def test_a_second_answer_in_the_same_bytes_never_lends_its_headers_to_the_first() -> None:
    """The parser reads on past the first answer within one packet: the second's fields once
    joined the first's header list (already handed over), so its Set-Cookie took effect."""
    second = b"HTTP/1.1 200 X\r\nSet-Cookie: evil=1\r\nContent-Length: 0\r\n\r\n"
    async with raw_server(answering_with(answer(b"null") + second)) as (url, record), road("lean", url) as transport:
        assert [await outcome(transport, body=b'{"n": %d}' % i) for i in range(2)] == [
            ("answer", b"null"),
            ("answer", b'{"n": 1}'),
        ]
        assert dict(transport._client_now().cookies) == {}
        assert not any(b"evil" in request for request in record.requests)
