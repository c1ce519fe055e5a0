"""The lean transport's bounds under attack (``_remote/_lean*.py``), next to httpcore's: a
slowloris answer, a server that never accepts, an early answer, an endless body, hostile
header values, TLS names."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import shutil
import socket
import ssl
import subprocess
from pathlib import Path

import pytest

from docstore import ErrorCode

from .raw_servers import RawServer, answer, keep_answering, outcome, raw_server, road

ROADS = ("lean", "httpx")
Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter


async def test_a_slowloris_answer_is_bounded_whole_on_the_lean_road_per_read_on_httpcore() -> None:
    """Pieces 0.1 s apart, 1.5 s in all, read timeout 1 s: httpcore's timeout bounds each read
    (every piece comes in time: the answer arrives); the lean road's bounds the whole answer
    (TIMEOUT), so a server dribbling bytes cannot hold a call for longer than the timeout."""
    whole = answer(b'"slow"')
    pieces = [whole[i : i + 4] for i in range(0, len(whole), 4)]
    assert len(pieces) >= 15

    async def dribbling(record: RawServer, reader: Reader, writer: Writer) -> None:
        while await record.next_request(reader):
            for piece in pieces:
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(0.1)

    got = {}
    for name in ROADS:
        async with raw_server(dribbling) as (url, _), road(name, url, socket_timeout_ms=1000) as transport:
            got[name] = await outcome(transport)
    assert got["httpx"] == ("answer", b'"slow"')
    assert got["lean"][:2] == ("error", ErrorCode.TIMEOUT)


async def test_a_server_that_never_accepts_is_a_connect_timeout_alike() -> None:
    """A listening socket whose accept queue is full: the kernel drops the SYN, connect hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):  # fill the queue (its length is backlog + 1 on Linux)
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        await asyncio.sleep(0.1)
        got = []
        for name in ROADS:
            async with road(name, f"http://127.0.0.1:{port}", connect_timeout_ms=300) as transport:
                got.append(await outcome(transport))
        assert got[0] == got[1] and got[0][:2] == ("error", ErrorCode.TIMEOUT), got
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


async def test_an_early_kept_alive_answer_then_the_next_call_on_the_same_connection() -> None:
    """A 413 sent after the head only, the connection kept (the server reads and discards the
    body afterwards): the next call's answer is its own."""
    body = b'"' + b"x" * (4 * 1024 * 1024) + b'"'

    async def early(record: RawServer, reader: Reader, writer: Writer) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            record.requests.append(head)
            if length > 1000:
                writer.write(answer(b'{"code": "INVALID_DATA", "message": "too large"}', status=413))
                await writer.drain()
                await reader.readexactly(length)
            else:
                writer.write(answer(await reader.readexactly(length)))
                await writer.drain()

    for name in ROADS:
        async with raw_server(early) as (url, record), road(name, url, socket_timeout_ms=5000) as transport:
            first = await outcome(transport, body=body, read=False)
            assert first == ("error", ErrorCode.INVALID_DATA, "too large") or first[:2] == (
                "error",
                ErrorCode.UNAVAILABLE,
            )
            assert await outcome(transport, body=b'{"n": 1}') == ("answer", b'{"n": 1}'), name
            assert len(record.requests) == 2  # the large write never sent twice


@pytest.mark.parametrize("where", ["namespace", "actor"])
@pytest.mark.parametrize("bad", ["a\r\nX-Evil: 1", "a\nb", "a\rb", "a\x00b"])
async def test_hostile_header_values_never_reach_the_wire_as_headers(where: str, bad: str) -> None:
    async def script(record: RawServer, reader: Reader, writer: Writer) -> None:
        while await record.next_request(reader):
            writer.write(answer())
            await writer.drain()

    async with raw_server(script) as (url, record), road("lean", url) as transport:
        got = await outcome(transport, **{where: bad})
    assert got == ("answer", b"null")  # percent-encoded: sent as a value, whole
    assert len(record.requests) == 1
    lines = record.requests[0].split(b"\r\n\r\n")[0].split(b"\r\n")
    assert not any(line.lower().startswith(b"x-evil") for line in lines)
    assert b"\x00" not in record.requests[0] and all(b"\n" not in line and b"\r" not in line for line in lines)


@pytest.mark.parametrize("token", ["t\r\nX-Evil: 1", "t\nx", "t\x00x"])
async def test_a_hostile_token_is_refused_before_a_byte_is_written(token: str) -> None:
    async def script(record: RawServer, reader: Reader, writer: Writer) -> None:
        while await record.next_request(reader):
            writer.write(answer())
            await writer.drain()

    from docstore import PersistenceError, StorageConfig
    from docstore._remote._transport import Transport

    refused: list[str] = []
    async with raw_server(script) as (url, record):
        try:
            transport = Transport(StorageConfig(url=url, token=token))
            transport.open()
        except (PersistenceError, ValueError):
            refused.append(token)
            return  # refused at configuration
        try:
            got = await outcome(transport)
        finally:
            await transport.close()
        assert got[0] == "error", got
        assert record.requests == []


async def test_a_huge_answer_body_is_refused_before_it_is_held_in_memory() -> None:
    """A server announcing 1 GB and streaming it: the client should hang up early (bounded
    memory); the lean road (as httpcore) reads on until the timeout, holding all it got."""
    chunk = b"x" * (1024 * 1024)
    written = []

    async def endless(record: RawServer, reader: Reader, writer: Writer) -> None:
        await record.next_request(reader)
        writer.write(b"HTTP/1.1 200 X\r\nContent-Length: %d\r\n\r\n" % (1024**3))
        for _ in range(64):
            writer.write(chunk)
            await writer.drain()
            written.append(len(chunk))
        await asyncio.sleep(3600)

    async with raw_server(endless) as (url, _), road("lean", url, socket_timeout_ms=3000) as transport:
        got = await outcome(transport)
    assert got[0] == "error"
    assert sum(written) < 64 * len(chunk), "the client read 64 MB of an announced 1 GB answer"
    # Refused at the head (over max_answer_mb's default), clearly, and not a timeout.
    assert got[:2] == ("error", ErrorCode.STORAGE_ERROR) and "max_answer_mb=256" in str(got[2]), got


def _certificate(folder: Path, name: str, san: str) -> tuple[Path, Path] | None:
    """A self-signed certificate for ``san`` (openssl's CLI), or None without openssl."""
    if shutil.which("openssl") is None:
        return None
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", f"/CN={name}", "-addext", f"subjectAltName={san}"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


async def test_tls_checks_the_hostname_sends_sni_and_http_is_never_tls(tmp_path: Path) -> None:
    other = _certificate(tmp_path, "other", "DNS:other.invalid")
    mine = _certificate(tmp_path, "localhost", "DNS:localhost")
    if other is None or mine is None:
        pytest.skip("no openssl to make a certificate")
    names: list[str | None] = []

    def served(cert: Path, key: Path) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        context.sni_callback = lambda _sock, name, _ctx: names.append(name)
        return context

    # a certificate trusted (its own CA file) but for another name: refused, nothing sent
    async with raw_server(keep_answering(b'"tls"'), tls=served(*other)) as (url, record):
        for name in ROADS:
            async with road(name, url, tls_ca_file=str(other[0])) as transport:
                refused = await outcome(transport)
            assert refused[:2] == ("error", ErrorCode.UNAVAILABLE) and "CERTIFICATE_VERIFY_FAILED" in str(refused[2])
        assert record.requests == []
    # the right name: trusted, and the name went out as SNI
    async with raw_server(keep_answering(b'"tls"'), tls=served(*mine)) as (url, record):
        url = url.replace("127.0.0.1", "localhost")
        names.clear()
        async with road("lean", url, tls_ca_file=str(mine[0])) as transport:
            assert await outcome(transport) == ("answer", b'"tls"')
        assert names == ["localhost"]
        # http:// to a TLS port: plain bytes (the TLS server sees no handshake), never TLS
        async with road("lean", url.replace("https://", "http://"), socket_timeout_ms=1000) as transport:
            plain = await outcome(transport)
        assert plain[0] == "error" and names == ["localhost"]


async def test_a_compressed_answer_is_not_inflated_past_a_bound() -> None:
    inflated = 32 * 1024 * 1024
    bomb = gzip.compress(b" " * inflated, compresslevel=9)

    async def bombing(record: RawServer, reader: Reader, writer: Writer) -> None:
        while await record.next_request(reader):
            writer.write(b"HTTP/1.1 200 X\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(bomb) + bomb)
            await writer.drain()

    async with raw_server(bombing) as (url, _), road("lean", url) as transport:
        got = await outcome(transport)
    assert got[0] == "error" or len(got[1]) < inflated  # type: ignore[arg-type]


async def test_an_encoded_answer_is_refused_unread_on_every_road_and_identity_is_asked() -> None:
    """docstore asks for identity; an answer encoded anyway is an error on the direct road, the
    ``params=`` road (AsyncClient.send) and the httpcore transport alike, never inflated."""
    bomb = gzip.compress(b" " * (8 * 1024 * 1024), compresslevel=9)
    asked: list[bytes] = []

    async def bombing(record: RawServer, reader: Reader, writer: Writer) -> None:
        while await record.next_request(reader):
            asked.append(record.requests[-1])
            writer.write(b"HTTP/1.1 200 X\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(bomb) + bomb)
            await writer.drain()

    for name in ROADS:
        no_params: dict[str, str] = {}
        for params in (None, no_params):
            async with raw_server(bombing) as (url, _), road(name, url) as transport:
                got = await outcome(transport, params=params)
            assert got[:2] == ("error", ErrorCode.UNAVAILABLE) and "Content-Encoding" in str(got[2]), (name, got)
    assert asked and all(b"\r\naccept-encoding: identity\r\n" in request.lower() for request in asked)
