"""``max_answer_mb``: what a server's answer can make the client hold is bounded on every road
(the lean transport, httpcore, an injected transport), for unary answers however they are
framed, for streamed ones per line (``iter_documents``, the live feed), with a clear
STORAGE_ERROR, never retried; an answer under the bound is read whole (finding A of the
lean transport's attack: ``test_lean_attack_limits.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from docstore import CodeRevision, ErrorCode, PersistenceError, Session, StorageConfig, open_store
from docstore._interfaces import Scope
from docstore._remote._answer_limit import AnswerTooLarge, bounded_lines
from docstore._remote._feed import RemoteFeed

from ..contract.helpers import expect_error
from .raw_servers import RawServer, outcome, raw_server, road
from .servers import ADMIN_TOKEN, asgi_server

MB = 1024 * 1024
ROADS = ("lean", "httpx")
Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter


def _endless(head: bytes, piece: bytes, written: list[int]):  # type: ignore[no-untyped-def]
    """A script answering every request with ``head`` then ``piece`` until the client hangs up (at most 64 MB)."""

    async def script(record: RawServer, reader: Reader, writer: Writer) -> None:
        await record.next_request(reader)
        writer.write(head)
        for _ in range(64 * MB // len(piece)):
            writer.write(piece)
            await writer.drain()
            written.append(len(piece))
        await asyncio.sleep(3600)

    return script


@pytest.mark.parametrize("name", ROADS)
@pytest.mark.parametrize("framing", ["chunked", "until-close", "declared"])
async def test_an_answer_past_max_answer_mb_is_a_storage_error_read_no_further(name: str, framing: str) -> None:
    piece = b"x" * (256 * 1024)
    if framing == "chunked":
        head, piece = b"HTTP/1.1 200 X\r\nTransfer-Encoding: chunked\r\n\r\n", b"%x\r\n%s\r\n" % (len(piece), piece)
    elif framing == "until-close":
        head = b"HTTP/1.1 200 X\r\nConnection: close\r\n\r\n"
    else:
        head = b"HTTP/1.1 200 X\r\nContent-Length: %d\r\n\r\n" % (64 * MB)
    written: list[int] = []
    async with raw_server(_endless(head, piece, written)) as (url, record):
        async with road(name, url, socket_timeout_ms=20000, max_answer_mb=1) as transport:
            got = await outcome(transport)
        assert got[:2] == ("error", ErrorCode.STORAGE_ERROR), got
        assert "max_answer_mb=1" in str(got[2]) and "get_revisions" in str(got[2])
        assert len(record.requests) == 1  # a read, yet never asked again: it would read as much again
    assert sum(written) < 32 * MB


@pytest.mark.parametrize("name", ROADS)
async def test_an_answer_under_max_answer_mb_is_read_whole_however_framed(name: str) -> None:
    body = b'"' + b"y" * (MB - 100) + b'"'

    async def chunked(record: RawServer, reader: Reader, writer: Writer) -> None:
        while await record.next_request(reader):
            writer.write(b"HTTP/1.1 200 X\r\nTransfer-Encoding: chunked\r\n\r\n")
            for at in range(0, len(body), 100_000):
                part = body[at : at + 100_000]
                writer.write(b"%x\r\n%s\r\n" % (len(part), part))
            writer.write(b"0\r\n\r\n")
            await writer.drain()

    async with raw_server(chunked) as (url, _), road(name, url, max_answer_mb=1) as transport:
        assert await outcome(transport) == ("answer", body)
        assert await outcome(transport) == ("answer", body)  # the connection serves on


async def _endless_line(writer: Writer, written: list[int], fill: bytes) -> None:
    """64 MiB of one line, in chunks of 256 KiB (each counted in ``written``), then silence."""
    piece = fill * (256 * 1024)
    for _ in range(256):
        writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        await writer.drain()
        written.append(len(piece))
    await asyncio.sleep(3600)


async def test_a_streamed_line_past_the_bound_is_refused_before_it_is_held() -> None:
    """``iter_documents`` (admin export through a server): one line that never ends."""
    written: list[int] = []

    async def script(record: RawServer, reader: Reader, writer: Writer) -> None:
        await record.next_request(reader)
        writer.write(b"HTTP/1.1 200 X\r\nTransfer-Encoding: chunked\r\n\r\n")
        await _endless_line(writer, written, b"z")

    async with raw_server(script) as (url, _), road("lean", url, max_answer_mb=1) as transport:
        with pytest.raises(PersistenceError) as caught:
            async for _ in transport.stream_lines("/v1/admin/documents/sessions"):
                pass
    assert caught.value.code is ErrorCode.STORAGE_ERROR and "max_answer_mb=1" in caught.value.message
    assert sum(written) < 32 * MB


async def test_a_feed_event_past_the_bound_is_a_storage_error_not_a_reconnect_loop() -> None:
    written: list[int] = []

    async def script(record: RawServer, reader: Reader, writer: Writer) -> None:
        await record.next_request(reader)
        writer.write(b"HTTP/1.1 200 X\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        opening = b"event: open\nid: 1\ndata: {}\n\nevent: change\ndata: "
        writer.write(b"%x\r\n%s\r\n" % (len(opening), opening))
        await _endless_line(writer, written, b"w")

    async with raw_server(script) as (url, record), road("lean", url, max_answer_mb=1) as transport:
        feed = RemoteFeed(transport, Scope(), "s1", None)
        with pytest.raises(PersistenceError) as caught:
            async with feed:
                async for _ in feed:
                    pass
        assert len(record.requests) == 1
    assert caught.value.code is ErrorCode.STORAGE_ERROR and "max_answer_mb=1" in caught.value.message
    assert sum(written) < 32 * MB


async def test_a_legit_large_answer_through_a_server_needs_max_answer_mb_raised_and_says_so() -> None:
    """Every revision of a big session: refused clearly under a small bound, read whole under a
    larger one, and paged reads work under the small one."""
    async with asgi_server("memory://") as (server, _):
        async with server.open(token=ADMIN_TOKEN, max_answer_mb=1) as small:
            session_id = await small.sessions.create_session(Session(join_code="big001"))
            code = "x" * 60_000
            revisions = [CodeRevision(session_id=session_id, student_id=f"s{i % 3}", code=code) for i in range(30)]
            await small.revisions.save_revisions(revisions)
            error = await expect_error(ErrorCode.STORAGE_ERROR, small.revisions.get_all_session_revisions(session_id))
            assert "max_answer_mb=1" in error.message and "get_revisions" in error.message
            page = await small.revisions.get_revisions(session_id, "s0", limit=5)
            assert len(page.items) == 5
        async with server.open(token=ADMIN_TOKEN, max_answer_mb=4) as large:
            every = await large.revisions.get_all_session_revisions(session_id)
            assert sum(len(v) for v in every.values()) == 30


def test_max_answer_mb_is_a_setting_with_a_generous_default() -> None:
    assert StorageConfig(url="http://127.0.0.1:1").max_answer_mb == 256
    with pytest.raises(PersistenceError) as caught:
        open_store("http://127.0.0.1:1", max_answer_mb=0)
    assert caught.value.code is ErrorCode.INVALID_DATA and "max_answer_mb" in caught.value.message


async def _pieces(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


@given(st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=8), st.data())
def test_bounded_lines_splits_as_bytes_split_does_however_chunked(lines: list[bytes], data: st.DataObject) -> None:
    whole = b"\n".join(lines)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(whole)), max_size=6)))
    chunks = [whole[a:b] for a, b in zip([0, *cuts], [*cuts, len(whole)], strict=True)]

    async def collect(limit: int) -> list[bytes]:
        return [line async for line in bounded_lines(_pieces(chunks), limit)]

    expected = whole.split(b"\n")
    if expected and expected[-1] == b"":
        expected.pop()  # a last empty line (the stream ended with LF) is not a line
    longest = max((len(line) for line in expected), default=0)
    assert asyncio.run(collect(max(longest, 1))) == expected
    if longest > 1:
        with pytest.raises(AnswerTooLarge):
            asyncio.run(collect(longest - 1))


def test_answer_too_large_is_no_httpx_error_so_no_road_retries_or_reconnects_on_it() -> None:
    assert not issubclass(AnswerTooLarge, httpx.HTTPError)
