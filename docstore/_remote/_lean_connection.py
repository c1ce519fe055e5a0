"""One keep-alive HTTP/1.1 connection of the lean transport (``_lean.py``): an ``asyncio.Protocol``
that writes a request in one send and reads its answer with httptools' C parser.

httpcore reads through anyio streams and parses with h11 (pure Python): ~0.4-0.6 ms of client
CPU a loopback call on the project's machine, against ~0.1 ms for a protocol fed by the event
loop directly. Only what docstore's unary calls need is here; ``_lean.py`` leaves the rest
(streamed bodies, anything h11 would refuse, proxies) to httpcore.
"""

from __future__ import annotations

import asyncio
import re
import select
import typing
from typing import Any

import httptools
import httpx

from ._answer_limit import AnswerTooLarge, declared_length

__all__ = ["MAX_HEAD_BYTES", "Answer", "Connection", "request_head"]

# httpcore's limit on an answer's head (h11's max_incomplete_event_size there): past it, the
# answer is a protocol error, not something held in memory.
MAX_HEAD_BYTES = 100 * 1024

# h11's own rules (``h11._abnf``): a request that breaks them goes to httpcore, which raises
# what it always raised (``httpx.LocalProtocolError``), so the lean road never sends what
# the httpx road would refuse.
_TOKEN = re.compile(rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+")
_FIELD_VALUE = re.compile(rb"([^\x00\s]+(?:[ \t]+[^\x00\s]+)*)?")
_TARGET = re.compile(rb"[^\x00\s]+")

Answer = tuple[int, list[tuple[bytes, bytes]], bytes, bool]
"""(status, headers as sent, body (transfer coding removed), whether the connection may serve again)."""


def request_head(method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes | None:
    """The head h11 writes for this request (Host first, then the others in order), or None
    when h11 would write it otherwise or refuse it (then httpcore sends it)."""
    if not _TOKEN.fullmatch(method) or not _TARGET.fullmatch(target):
        return None
    host: list[bytes] = []
    rest: list[bytes] = []
    length: bytes | None = None
    for name, value in headers:
        if not _TOKEN.fullmatch(name) or not _FIELD_VALUE.fullmatch(value):
            return None
        lowered = name.lower()
        if lowered == b"host":
            host.append(b"%s: %s\r\n" % (name, value))
            continue
        if lowered == b"content-length":
            if length is not None:
                return None
            length = value
        elif lowered == b"transfer-encoding":
            return None
        rest.append(b"%s: %s\r\n" % (name, value))
    if len(host) != 1 or (length is None and body) or (length is not None and length != b"%d" % len(body)):
        return None
    return b"".join((b"%s %s HTTP/1.1\r\n" % (method, target), *host, *rest, b"\r\n"))


class Connection(asyncio.Protocol):
    """A connection to one origin; one request at a time (``exchange``). ``max_body``: the
    most bytes of an answer's body it holds (``max_answer_mb``); past it the answer is
    ``AnswerTooLarge`` and the connection closed, read no further."""

    def __init__(self, max_body: int | None = None) -> None:
        self.max_body = max_body
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self.reason = b""  # the last answer's reason phrase
        self._answer: asyncio.Future[Answer] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._paused = False
        self._begin()

    def _begin(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._message()

    def _message(self) -> None:
        """Forget the answer read so far (a new request, or past an interim answer)."""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._body_bytes = 0
        self._head_bytes = 0
        self._got_bytes = False
        self._headers_done = False
        self._framed = False  # Content-Length or chunked: else the body runs until the close
        self._complete = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's are not subclasses of asyncio.Transport: no isinstance).
        self.transport = typing.cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        answer = self._answer
        if answer is None or answer.done():
            # Bytes nobody asked for (a server's late garbage, a 408 before it closes): this
            # connection can no longer be trusted to pair a request with its answer.
            self._close()
            return
        self._got_bytes = True
        if not self._headers_done:
            self._head_bytes += len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(httpx.RemoteProtocolError("the server switched protocols"))
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"malformed answer: {exc}"))
        if not self._headers_done and self._head_bytes > MAX_HEAD_BYTES and not answer.done():
            self._fail(httpx.RemoteProtocolError("the answer's head is too long"))

    def eof_received(self) -> bool | None:
        return None  # close the transport: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        answer = self._answer
        if answer is not None and not answer.done():
            if self._headers_done and not self._framed and not self._complete:
                # An answer with neither Content-Length nor chunked coding ends with the connection.
                self._finish(keep=False)
            elif isinstance(exc, OSError):
                answer.set_exception(httpx.ReadError(str(exc)))
            elif not self._got_bytes:
                answer.set_exception(httpx.RemoteProtocolError("Server disconnected without sending a response."))
            else:
                answer.set_exception(
                    httpx.RemoteProtocolError("peer closed connection without sending complete message body")
                )
        self._wake_writer()

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake_writer()

    # httptools callbacks

    def on_message_begin(self) -> None:
        if self._complete:  # a second answer to one request: never reuse this connection
            self._close()

    def on_status(self, status: bytes) -> None:
        self.reason = status

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._headers_done:
            # A chunked answer's trailer fields: h11 drops them, and so does this road (merged
            # into the headers, a trailer could set a cookie or a Content-Encoding after the fact).
            return
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._headers_done = True
        for name, value in self._headers:
            lowered = name.lower()
            if lowered == b"content-length" or (lowered == b"transfer-encoding" and b"chunked" in value.lower()):
                self._framed = True
            if lowered == b"content-length" and self.max_body is not None:
                declared = declared_length(value)
                if declared is not None and declared > self.max_body:
                    self._fail(AnswerTooLarge(self.max_body))  # announced too large: not a byte of it read

    def on_body(self, body: bytes) -> None:
        answer = self._answer
        if answer is None or answer.done():
            return  # given up (too large, timed out): the rest of this chunk is not kept
        self._body_bytes += len(body)
        if self.max_body is not None and self._body_bytes > self.max_body:
            self._fail(AnswerTooLarge(self.max_body))  # chunked or ending with the connection
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            # An interim answer (100 Continue, 103): the final one follows, read by the same
            # parser (it may already be in the bytes being fed).
            self._message()
            return
        self._finish(keep=self._parser.should_keep_alive())

    # the request side

    def _finish(self, *, keep: bool) -> None:
        self._complete = True
        answer = self._answer
        if answer is not None and not answer.done():
            status = self._parser.get_status_code()
            answer.set_result((status, self._headers, b"".join(self._body), keep))

    def _fail(self, error: Exception) -> None:
        answer = self._answer
        if answer is not None and not answer.done():
            answer.set_exception(error)
        self._close()

    def _close(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.close()

    def _wake_writer(self) -> None:
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def usable(self) -> bool:
        """Open, idle, and not closed by the server meanwhile (the socket readable while idle
        means EOF or unasked bytes: httpcore checks the same before it reuses a connection)."""
        transport = self.transport
        if self.lost or transport is None or transport.is_closing():
            return False
        sock: Any = transport.get_extra_info("socket")
        if sock is not None:
            poller = select.poll()  # not select.select: it fails on descriptors past 1023
            try:
                poller.register(sock.fileno(), select.POLLIN)
                if poller.poll(0):
                    return False
            except (OSError, ValueError):
                return False
        return True

    async def exchange(self, data: bytes, write_timeout: float | None, read_timeout: float | None) -> Answer:
        """Send ``data`` (a whole request) and read the answer to it."""
        transport = self.transport
        assert transport is not None
        loop = asyncio.get_running_loop()
        self._begin()
        answer: asyncio.Future[Answer] = loop.create_future()
        self._answer = answer
        transport.write(data)
        try:
            if self._paused and not answer.done():
                # The kernel's buffer is full (a large body): wait, no longer than the write timeout,
                # until it drains, an answer comes (an early 413) or the connection drops.
                drained = self._drained = loop.create_future()
                waited = (drained, answer)
                done, _ = await asyncio.wait(waited, timeout=write_timeout, return_when=asyncio.FIRST_COMPLETED)
                if not done:
                    raise httpx.WriteTimeout("timed out writing the request")
            if not answer.done():
                try:
                    async with asyncio.timeout(read_timeout):
                        return await answer
                except TimeoutError:
                    raise httpx.ReadTimeout("timed out waiting for the answer") from None
            return answer.result()
        except BaseException:
            # Given up (a timeout, the caller cancelled): the connection is closed (the pool
            # drops it) and its answer settled here, so that no late error goes unheard.
            if not answer.done():
                answer.cancel()
            self._close()
            raise

    def close(self) -> None:
        """Close now; a pending exchange sees the connection lost."""
        self._close()
