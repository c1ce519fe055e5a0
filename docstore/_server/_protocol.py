"""Caps on a request's head (request line and headers), enforced while it arrives: 431;
and an answer's head and body sent in one write.

uvicorn's httptools protocol has no cap of its own: httptools gathers a header's name
and value until they end, so one request with a 300 MB header held hundreds of MB and
stalled every other request. Here the bytes of a head are counted as they are received,
before the parser sees them, and a head over ``MAX_HEAD_BYTES`` (or with more than
``MAX_HEADERS`` headers) is answered 431 and its connection closed, never buffered whole.

uvicorn writes an answer's status line and headers as soon as the app starts it, then
the body: two sends, so the client wakes for a head it cannot use yet. What the request
cycles of a connection write in one step of the event loop goes out in one send instead,
at the end of that step (``_Coalesced``); what the protocol itself writes or closes goes
after it. Two exceptions keep uvicorn's own behaviour: once more than ``WRITE_THROUGH_BYTES``
are pending they are written at once, so the transport can pause a producer that never
suspends (flow control for streamed answers); and a client's end of file flushes first, so a
client that half-closes after its request still gets its answer.
"""

from __future__ import annotations

import asyncio
import json
import resource
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from .._wire import API_PREFIX

__all__ = [
    "BODY_GRACE_S",
    "HEAD_TIMEOUT_S",
    "KEEP_ALIVE_S",
    "MAX_AWAITING_HEADS",
    "MAX_HEADERS",
    "MAX_HEAD_BYTES",
    "MIN_BODY_BYTES_PER_S",
    "SHED_LOG_S",
    "HeadLimitedProtocol",
    "uvicorn_limits",
]

# Ample for docstore's own headers (a token, a percent-encoded namespace and actor) and
# what proxies add; nginx takes 4 x 8 KiB by default, Node.js 16 KiB.
MAX_HEAD_BYTES = 32 * 1024
MAX_HEADERS = 100
# An idle connection is closed after this long. httpx (docstore's client) reuses one idle for
# up to 5 s, and uvicorn's default is 5 s too: a write sent on a connection the server was
# closing at that moment is lost to the race ("dropped the connection during a write", seen
# under load in tests/contract). The server holding on longer leaves the closing to the client.
KEEP_ALIVE_S = 30
# Slow clients (slowloris): uvicorn closes a connection idle after an answer, but never one
# that sends nothing after connecting, a head a byte at a time, or a body slower than a
# trickle; each held a descriptor for ever, and a few hundred of them took every descriptor
# the process may open (every other client refused). A request's head must be whole within
# HEAD_TIMEOUT_S of the connection opening or of the previous answer; its body must arrive at
# MIN_BODY_BYTES_PER_S on average after BODY_GRACE_S (a 16 MB body: 30 + 256 s at most).
# Past either, the connection is closed (the handler sees the client gone). The number of
# connections is still bounded only by the process's descriptor limit: raise it (ulimit -n,
# LimitNOFILE) and put a proxy in front (README, "Behind TLS").
FEED_PATH = f"{API_PREFIX}/sessions/watch"  # ``_feed.WATCH_PATH`` (that module loads FastAPI)
HEAD_TIMEOUT_S = 30.0
BODY_GRACE_S = 30.0
MIN_BODY_BYTES_PER_S = 64 * 1024
# Within those deadlines, a flood of connections that send no head (no token needed for that)
# could still take every descriptor. Connections awaiting a head are the cheapest to drop: past
# this many of them (half the descriptors this process may open), the one waiting longest is
# closed as each new one comes (a kept-alive client checks a connection before reusing it).
MAX_AWAITING_HEADS = max(64, resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 2)
SHED_LOG_S = 10.0
# After a 431 the connection is half-closed and what the client still sends is read and
# dropped for at most this long: closing with bytes unread would reset the connection,
# and the client would lose the 431 before reading it.
LINGER_S = 2.0
# Past this many pending bytes a cycle's writes go out at once: asyncio's default high-water
# mark for a socket, so the transport sees enough to say pause_writing, as with uvicorn's
# own protocol (a streamed answer is held by flow control, never joined whole in memory).
WRITE_THROUGH_BYTES = 64 * 1024


def uvicorn_limits() -> dict[str, Any]:
    """The ``uvicorn.Config`` settings that apply these caps (``docstore serve`` passes them).

    h11 (uvicorn's other parser) gets the same byte cap, answered 400 by uvicorn itself.
    An idle connection is kept ``KEEP_ALIVE_S``, longer than a client keeps one to reuse.
    """
    return {
        "http": HeadLimitedProtocol,
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
        "timeout_keep_alive": KEEP_ALIVE_S,
    }


def _shed_noted(protocol: HeadLimitedProtocol) -> None:
    """Log that connections are being shed, at most once per ``SHED_LOG_S`` (a flood is
    thousands of connections a second: one line each would fill the log instead)."""
    state: Any = protocol.server_state
    shed = getattr(state, "docstore_shed", 0) + 1
    now = protocol.loop.time()
    if now - getattr(state, "docstore_shed_logged", -SHED_LOG_S) >= SHED_LOG_S:
        protocol.logger.warning(
            "closed %d connection(s) awaiting a head: over %d awaited at once", shed, MAX_AWAITING_HEADS
        )
        state.docstore_shed_logged, shed = now, 0
    state.docstore_shed = shed


def _is_feed(scope: Any) -> bool:
    """Whether a request is a live feed (``GET /v1/sessions/watch``: ``_feed.py``)."""
    return bool(scope.get("method") == "GET" and str(scope.get("path", "")).endswith(FEED_PATH))


def _awaiting_heads(state: Any) -> dict[HeadLimitedProtocol, None]:
    """The server's connections awaiting a request head, the one waiting longest first."""
    awaiting: dict[HeadLimitedProtocol, None] | None = getattr(state, "docstore_awaiting_heads", None)
    if awaiting is None:
        awaiting = {}
        state.docstore_awaiting_heads = awaiting
    return awaiting


def _answer_431(what: str) -> bytes:
    return _refusal(b"431 Request Header Fields Too Large", what)


def _refusal(status: bytes, what: str) -> bytes:
    """An INVALID_DATA answer written by the protocol itself, closing the connection."""
    body = json.dumps({"code": "INVALID_DATA", "message": what}).encode()
    return (
        b"HTTP/1.1 " + status + b"\r\n"
        b"content-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n"
        b"connection: close\r\n\r\n" + body
    )


class _Coalesced:
    """A request cycle's view of the transport: its writes of one loop step sent as one."""

    __slots__ = ("_pending", "_pending_bytes", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._pending: list[bytes] = []
        self._pending_bytes = 0

    def write(self, data: bytes) -> None:
        if not self._pending:
            asyncio.get_running_loop().call_soon(self.flush)
        self._pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes > WRITE_THROUGH_BYTES:
            # The scheduled flush then finds nothing pending and does nothing.
            self.flush()

    def flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            self._pending_bytes = 0
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, ...: the transport's own
        return getattr(self._transport, name)


class _TooManyHeaders(Exception):
    """Raised from the parser's callback to stop it (the 431 is already sent)."""


class HeadLimitedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing an oversized head before the parser buffers it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # between two requests, bytes belong to the next head
        self._head_bytes = 0
        self._headers = 0
        self._refused = False
        self._coalesced: _Coalesced | None = None
        self._deadline: asyncio.TimerHandle | None = None  # of the head awaited, or of the body arriving
        self._body_due = 0.0  # when the body must be whole, moved on by each piece received

    # slow clients

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def _await_head(self) -> None:
        self._cancel_deadline()
        self._deadline = self.loop.call_later(HEAD_TIMEOUT_S, self._too_slow, "head")
        awaiting = _awaiting_heads(self.server_state)
        awaiting.pop(self, None)
        awaiting[self] = None  # the newest last
        while len(awaiting) > MAX_AWAITING_HEADS:
            oldest = next(iter(awaiting))
            del awaiting[oldest]
            if oldest is not self:
                oldest._flush()
                oldest.transport.close()
                _shed_noted(self)

    def _cancel_deadline(self) -> None:
        _awaiting_heads(self.server_state).pop(self, None)
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self, what: str) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if what == "body":
            late = self._body_due - self.loop.time()
            if late > 0:  # pieces came meanwhile: the body has until its new due time
                self._deadline = self.loop.call_later(late, self._too_slow, "body")
                return
        self.logger.warning("closed a connection whose request %s came too slowly", what)
        self._flush()
        self.transport.close()

    def on_body(self, body: bytes) -> None:
        self._body_due += len(body) / MIN_BODY_BYTES_PER_S
        super().on_body(body)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing() or self.pipeline:
            return
        if self._in_head:
            self._await_head()  # the next head, if any, must come in time
        elif not self._refused:
            # Answered before the body was whole (a 401, a 404): uvicorn waited for the rest
            # to keep the connection, which a client could send slowly for as long as the body
            # deadline allows, with no token. The answer is out: linger, then close.
            self._linger()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # lingering after a 431: dropped unread
        # Feed a head no further than the cap: what lies past it is never parsed.
        while data and self._in_head:
            room = MAX_HEAD_BYTES - self._head_bytes
            if room <= 0:
                self._refuse(f"request line and headers are larger than {MAX_HEAD_BYTES:,} bytes")
                return
            piece, data = data[:room], data[room:]
            self._head_bytes += len(piece)
            super().data_received(piece)
            if self._refused or self.transport.is_closing():
                return
        if data:
            super().data_received(data)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers += 1
        if self._headers > MAX_HEADERS:
            self._refuse(f"more than {MAX_HEADERS} headers")
            raise _TooManyHeaders
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head, self._head_bytes, self._headers = False, 0, 0
        self._cancel_deadline()
        self._body_due = self.loop.time() + BODY_GRACE_S
        self._deadline = self.loop.call_later(BODY_GRACE_S, self._too_slow, "body")
        super().on_headers_complete()
        cycle: RequestResponseCycle | None = self.cycle
        if cycle is not None:
            # One per connection, shared by pipelined cycles: their answers keep their order.
            if self._coalesced is None:
                self._coalesced = _Coalesced(self.transport)
            cycle.transport = self._coalesced  # type: ignore[assignment]

    def _flush(self) -> None:
        """What the cycles wrote, out before whatever the protocol writes or closes."""
        if self._coalesced is not None:
            self._coalesced.flush()

    def shutdown(self) -> None:
        """The server is stopping (SIGTERM). uvicorn lets each request in progress finish, and
        waits for it: a live feed never finishes, so a server with a watcher never stopped by
        itself (``docker stop`` killed it after its grace period). A feed's connection is
        closed instead: its client reconnects with ``Last-Event-ID`` and resumes, on this
        server's successor, with nothing lost."""
        self._flush()
        cycle: RequestResponseCycle | None = self.cycle
        if cycle is not None and not cycle.response_complete and _is_feed(cycle.scope):
            self.transport.close()
            return
        super().shutdown()

    def eof_received(self) -> None:
        """A half-closed client: what the cycles wrote goes out before asyncio closes the transport."""
        self._flush()
        super().eof_received()

    def timeout_keep_alive_handler(self) -> None:
        self._flush()
        super().timeout_keep_alive_handler()

    def on_message_complete(self) -> None:
        self._in_head = True
        self._cancel_deadline()  # the request is whole: the handler takes the time it takes
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        """The parser refused the request (ambiguous framing: two lengths, a length and chunked,
        an unknown coding): 400 with the wire's error body, as every refusal, then close."""
        self._flush()
        if not self._refused:  # the parser's error after a refusal: the 431 went out already
            self._refused = True
            self.transport.write(_refusal(b"400 Bad Request", msg))
            self.transport.close()

    def _refuse(self, what: str) -> None:
        self._flush()
        self._refused = True
        self.logger.warning("refused: %s", what)
        self.transport.write(_answer_431(what))
        self._linger()

    def _linger(self) -> None:
        """Half-close, drop what still comes for ``LINGER_S``, then close: closing with bytes
        unread would reset the connection before the client read the answer."""
        self._flush()  # the answer first (a cycle's writes wait for the end of the loop step)
        self._refused = True
        self._cancel_deadline()
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_S, self.transport.close)
        else:
            self.transport.close()
