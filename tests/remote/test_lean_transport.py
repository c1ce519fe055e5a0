"""docstore's default transport (``_remote/_lean.py``) against httpcore's, over real sockets:
the same bytes on the wire, the same outcomes from servers that misbehave, connections kept,
reused, dropped and limited as httpcore did."""

from __future__ import annotations

import asyncio
import logging
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docstore import ErrorCode, Session, open_store
from docstore._remote._lean import LeanTransport
from docstore._remote._lean_connection import MAX_HEAD_BYTES, request_head

from .raw_servers import RawServer, answer, keep_answering, outcome, raw_server, road
from .servers import ADMIN_TOKEN, uvicorn_server

ROADS = ("lean", "httpx")
Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter


async def both_roads(script: Any, **call: Any) -> tuple[list[tuple[object, ...]], list[RawServer]]:
    """The outcome of one call on each road, each against a fresh server running ``script``."""
    settings = call.pop("settings", {})
    outcomes, records = [], []
    for name in ROADS:
        async with raw_server(script) as (url, record), road(name, url, **settings) as transport:
            outcomes.append(await outcome(transport, **call))
            records.append(record)
    return outcomes, records


async def assert_dropped_alike(script: Any) -> None:
    """A read and a write against ``script`` fail alike on both roads as a dropped connection
    (UNAVAILABLE): the read asked again once on a new connection, the write never."""
    for read in (True, False):
        outcomes, records = await both_roads(script, read=read)
        assert outcomes[0] == outcomes[1]
        assert outcomes[0][:2] == ("error", ErrorCode.UNAVAILABLE)
        assert [len(r.requests) for r in records] == [2 if read else 1] * 2


_texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["POST", "GET", "DELETE"]),
    path=st.sampled_from(["/v1/sessions/get_session", "/v1/admin/x?y=1", "/v1/a%20b"]),
    body=st.none() | st.binary(max_size=200),
    namespace=st.none() | _texts,
    actor=st.none() | _texts,
    status=st.sampled_from([200, 201, 204, 404, 409, 500]),
    content=st.binary(max_size=50),
)
def test_the_lean_road_sends_the_bytes_httpx_sends(
    method: str, path: str, body: bytes | None, namespace: str | None, actor: str | None, status: int, content: bytes
) -> None:
    async def script(record: RawServer, reader: Reader, writer: Writer) -> None:
        while await record.next_request(reader):
            writer.write(answer(content, status=status))

    outcomes, records = asyncio.run(
        both_roads(script, method=method, path=path, body=body, namespace=namespace, actor=actor, read=False)
    )
    assert outcomes[0] == outcomes[1]
    assert records[0].requests == records[1].requests and len(records[0].requests) == 1


async def test_a_refusal_of_h11_is_httpxs_on_both_roads() -> None:
    # A header h11 will not write: the lean road leaves the request to httpcore, unsent.
    assert request_head(b"POST", b"/", [(b"Host", b"h"), (b"X", b"a\nb")], b"") is None
    assert request_head(b"POST", b"/", [(b"Host", b"h"), (b"Content-Length", b"3")], b"ab") is None
    assert request_head(b"POST", b"/", [(b"Host", b"h"), (b"Content-Length", b"2")], b"ab") is not None
    for name in ROADS:
        async with raw_server(keep_answering()) as (url, record), road(name, url) as transport:
            client = transport._client_now()
            with pytest.raises(httpx.LocalProtocolError):
                await client.post("/v1/x", content=b"{}", headers={"X-Bad": "a\rb"})
            assert record.requests == []


async def test_a_server_closing_mid_answer_drops_the_call_alike() -> None:
    async def script(record: RawServer, reader: Reader, writer: Writer) -> None:
        if await record.next_request(reader):
            writer.write(answer(b"x" * 100)[:-90])  # the head and 10 of 100 bytes, then the close
            await writer.drain()

    await assert_dropped_alike(script)


async def test_a_slow_answer_within_the_timeout_arrives_and_a_slower_one_is_timeout() -> None:
    async def dribbling(record: RawServer, reader: Reader, writer: Writer) -> None:
        while await record.next_request(reader):
            for byte in answer(b'{"a": 1}'):
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.002)

    async def hanging(record: RawServer, reader: Reader, writer: Writer) -> None:
        await record.next_request(reader)
        await asyncio.sleep(3600)

    outcomes, _ = await both_roads(dribbling, settings={"socket_timeout_ms": 2000})
    assert outcomes == [("answer", b'{"a": 1}')] * 2
    outcomes, records = await both_roads(hanging, settings={"socket_timeout_ms": 200})
    assert outcomes[0] == outcomes[1] and outcomes[0][:2] == ("error", ErrorCode.TIMEOUT)
    assert [len(r.requests) for r in records] == [1, 1]  # a timeout is not a dropped connection


async def test_a_chunked_answer_and_one_that_ends_with_the_connection_are_read_whole() -> None:
    async def chunked(record: RawServer, reader: Reader, writer: Writer) -> None:
        while await record.next_request(reader):
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n[1,\r\n")
            await writer.drain()
            await asyncio.sleep(0.01)
            writer.write(b"2\r\n2]\r\n0\r\n\r\n")

    async def until_close(record: RawServer, reader: Reader, writer: Writer) -> None:
        if await record.next_request(reader):
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n[1,2,3]")

    assert (await both_roads(chunked))[0] == [("answer", b"[1,2]")] * 2
    assert (await both_roads(until_close))[0] == [("answer", b"[1,2,3]")] * 2


@pytest.mark.parametrize(
    "garbage",
    [b"garbage\r\n\r\n", b"HTTP/1.1 abc\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: -4\r\n\r\n", b"\x00" * 64],
    ids=["not-http", "bad-status", "bad-length", "zeros"],
)
async def test_a_garbage_answer_is_a_dropped_connection_alike(garbage: bytes) -> None:
    async def script(record: RawServer, reader: Reader, writer: Writer) -> None:
        while await record.next_request(reader):
            writer.write(garbage)
            await writer.drain()

    await assert_dropped_alike(script)


async def test_an_answer_head_over_the_limit_is_refused_alike() -> None:
    async def script(record: RawServer, reader: Reader, writer: Writer) -> None:
        while await record.next_request(reader):
            writer.write(answer(b"null", extra=b"X-Big: " + b"a" * (4 * MAX_HEAD_BYTES) + b"\r\n"))
            await writer.drain()

    outcomes, _ = await both_roads(script, read=False)
    assert outcomes[0] == outcomes[1] and outcomes[0][:2] == ("error", ErrorCode.UNAVAILABLE)


async def test_a_kept_connection_the_server_closed_while_idle_is_never_written_to() -> None:
    """The server closes each connection after its first answer, a moment later: the next call
    (a write, never retried) goes out on a new connection, once."""

    async def script(record: RawServer, reader: Reader, writer: Writer) -> None:
        if await record.next_request(reader):
            writer.write(answer(b"{}"))
            await writer.drain()
            await asyncio.sleep(0.05)

    for name in ROADS:
        async with raw_server(script) as (url, record), road(name, url) as transport:
            for _ in range(3):
                assert await outcome(transport, read=False) == ("answer", b"{}")
                await asyncio.sleep(0.2)  # the close reaches the client while the connection is idle
            assert (len(record.requests), record.connections) == (3, 3)


async def test_connections_are_reused_limited_and_waited_for_as_httpcore_does() -> None:
    async def slow(record: RawServer, reader: Reader, writer: Writer) -> None:
        while await record.next_request(reader):
            await asyncio.sleep(0.05)
            writer.write(answer(b"1"))
            await writer.drain()

    for name in ROADS:
        async with raw_server(slow) as (url, record), road(name, url, max_pool_size=2) as transport:
            answers = await asyncio.gather(*(outcome(transport) for _ in range(6)))
            assert answers == [("answer", b"1")] * 6
            assert record.connections == 2  # never more than the pool's size, each kept
        async with (
            raw_server(slow) as (url, record),
            road(name, url, max_pool_size=1, server_selection_timeout_ms=20) as transport,
        ):
            # the pool's wait is the pool timeout (server_selection_timeout_ms): TIMEOUT
            first, second = await asyncio.gather(outcome(transport), outcome(transport))
            assert first == ("answer", b"1") and second[:2] == ("error", ErrorCode.TIMEOUT)


async def test_an_answer_saying_close_and_a_cancelled_call_leave_no_connection_to_reuse() -> None:
    async def script(record: RawServer, reader: Reader, writer: Writer) -> None:
        while request := await record.next_request(reader):
            if b"hang" in request:
                await asyncio.sleep(3600)
            writer.write(answer(b"2", extra=b"Connection: close\r\n" if b"close" in request else b""))
            await writer.drain()

    for name in ROADS:
        async with raw_server(script) as (url, record), road(name, url) as transport:
            assert await outcome(transport, body=b'"close"') == ("answer", b"2")
            assert await outcome(transport) == ("answer", b"2")
            call = asyncio.create_task(outcome(transport, body=b'"hang"'))
            await asyncio.sleep(0.1)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            assert await outcome(transport) == ("answer", b"2")
            assert record.connections == 3


async def test_a_refused_connection_is_unavailable_on_the_lean_road() -> None:
    async with raw_server(keep_answering()) as (url, _):
        pass  # stopped: nothing listens there now
    async with road("lean", url, connect_timeout_ms=2000) as transport:
        error = await outcome(transport)
    assert error[:2] == ("error", ErrorCode.UNAVAILABLE) and "cannot reach" in str(error[2])


async def test_the_token_never_reaches_a_log_record(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ROADS:
        async with raw_server(keep_answering()) as (url, record), road(name, url) as transport:
            await outcome(transport)
            assert b"Authorization: Bearer the-token" in record.requests[0]
    assert not any("the-token" in message for message in caplog.messages)


async def test_docstore_calls_go_through_the_lean_transport_by_default() -> None:
    async with uvicorn_server() as url, open_store(url, token=ADMIN_TOKEN) as store:
        transport: Any = store._shared.open_backend()._transport  # type: ignore[attr-defined]
        assert isinstance(transport._calls, LeanTransport)
        made = await store.sessions.create_session(Session(join_code="LEAN01"))
        found = await store.sessions.get_session(made)
        assert found is not None and found.join_code == "LEAN01"


def _certificate(folder: Path) -> tuple[Path, Path] | None:
    """A self-signed certificate for 127.0.0.1 (openssl's CLI), or None without openssl."""
    if shutil.which("openssl") is None:
        return None
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


async def test_tls_is_verified_on_the_lean_road(tmp_path: Path) -> None:
    made = _certificate(tmp_path)
    if made is None:
        pytest.skip("no openssl to make a certificate")
    cert, key = made
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    async with raw_server(keep_answering(b'"tls"'), tls=context) as (url, record):
        for name in ROADS:
            # an unknown CA is refused before anything is sent; the private CA is trusted
            async with road(name, url) as transport:
                refused = await outcome(transport)
            assert refused[:2] == ("error", ErrorCode.UNAVAILABLE) and "CERTIFICATE_VERIFY_FAILED" in str(refused[2])
            async with road(name, url, tls_ca_file=str(cert)) as transport:
                assert await outcome(transport) == await outcome(transport) == ("answer", b'"tls"')
        # the refused handshakes never reached a request; one connection kept for two calls, each road
        assert len(record.requests) == 4 and record.connections == 2


async def test_a_head_request_is_left_to_httpcore_which_reads_no_body() -> None:
    async def script(record: RawServer, reader: Reader, writer: Writer) -> None:
        while await record.next_request(reader):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")  # a HEAD's answer: no body follows
            await writer.drain()

    for name in ROADS:
        async with raw_server(script) as (url, record), road(name, url, socket_timeout_ms=2000) as transport:
            client = transport._client_now()
            assert [(await client.head("/v1/health")).status_code for _ in range(2)] == [200, 200]
            assert record.connections == 1


async def test_an_interim_answer_is_passed_over_for_the_final_one() -> None:
    async def script(record: RawServer, reader: Reader, writer: Writer) -> None:
        while await record.next_request(reader):
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await writer.drain()
            await asyncio.sleep(0.01)
            writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n" + answer(b'"final"'))
            await writer.drain()

    outcomes, records = await both_roads(script)
    assert outcomes == [("answer", b'"final"')] * 2
    assert [len(r.requests) for r in records] == [1, 1]


async def test_a_large_body_is_written_whole_or_times_out_and_an_early_answer_is_read_alike() -> None:
    body = b'"' + b"x" * (8 * 1024 * 1024) + b'"'

    async def reading(record: RawServer, reader: Reader, writer: Writer) -> None:
        while await record.next_request(reader):
            writer.write(answer(b"1"))
            await writer.drain()

    async def not_reading(record: RawServer, reader: Reader, writer: Writer) -> None:
        await reader.readuntil(b"\r\n\r\n")
        record.requests.append(b"head")
        await asyncio.sleep(3600)

    async def early(record: RawServer, reader: Reader, writer: Writer) -> None:
        await reader.readuntil(b"\r\n\r\n")  # the head only: refused before its body is read
        record.requests.append(b"head")
        refusal = b'{"code": "INVALID_DATA", "message": "too large"}'
        writer.write(answer(refusal, status=413, extra=b"Connection: close\r\n"))
        await writer.drain()
        await asyncio.sleep(0.5)

    outcomes, records = await both_roads(reading, body=body, read=False)
    assert outcomes == [("answer", b"1")] * 2 and records[0].requests == records[1].requests
    outcomes, _ = await both_roads(not_reading, body=body * 4, read=False, settings={"socket_timeout_ms": 300})
    assert outcomes[0] == outcomes[1] and outcomes[0][:2] == ("error", ErrorCode.TIMEOUT)
    outcomes, _ = await both_roads(early, body=body, read=False)
    # The lean road reads the refusal while its body is still going out; httpcore may instead
    # see the connection close under its write (a dropped write): the lean outcome is the truer.
    assert outcomes[0] == ("error", ErrorCode.INVALID_DATA, "too large")
    assert outcomes[1] == outcomes[0] or outcomes[1][:2] == ("error", ErrorCode.UNAVAILABLE)


def test_the_lean_transport_runs_on_uvloop() -> None:
    """Apps served by uvicorn run uvloop, whose transports are not asyncio's classes."""
    uvloop = pytest.importorskip("uvloop")

    async def calls() -> tuple[list[tuple[object, ...]], int, bool]:
        async with raw_server(keep_answering(b'"uv"')) as (url, record), road("lean", url) as transport:
            answers = [await outcome(transport) for _ in range(3)]
            lean: Any = transport._calls
            (idle,) = lean._idle.values()
            return answers, record.connections, idle[0][0].usable()

    answers, connections, usable = uvloop.run(calls())
    assert answers == [("answer", b'"uv"')] * 3 and connections == 1 and usable
