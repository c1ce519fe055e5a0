"""The transport docstore's client uses by default for ``http://`` and ``https://``: keep-alive
HTTP/1.1 over asyncio with httptools' parser (``_lean_connection.py``), under httpx's API.

httpx stays the client (``httpx.AsyncBaseTransport``: a request in, a response out); only the
layer under it is lean. What this transport does not take is handed, unsent, to httpcore
(``fallback``): a body that streams, a request h11 would write otherwise or refuse, another
scheme. So every refusal httpx raised it still raises, from httpx itself.

Kept from httpcore, so that ``_transport.py`` maps outcomes as before: its exception types
(connect, read, write, pool timeouts; refused; dropped), the pool limits (``max_connections``,
``max_keepalive_connections``, ``keepalive_expiry``), TLS through the context httpx builds
for ``verify``, and the check before reusing an idle connection: one the server closed
meanwhile is dropped and the request goes on another, unsent. A request that was written is
never written again here: whether to ask again is ``_transport.py``'s rule (reads only).
"""

from __future__ import annotations

import asyncio
import collections
import socket
import ssl
import time
from typing import Any

import httpx

from ._lean_connection import Connection, request_head

__all__ = ["LeanTransport", "response_of"]

_Origin = tuple[bytes, str, int]
_DEFAULT_PORTS = {b"http": 80, b"https": 443}
# Request extensions the lean road honours; any other (trace hooks, sni_hostname, ...) is httpcore's.
_KNOWN_EXTENSIONS = frozenset({"timeout"})
# Methods whose answer the parser frames alone (a HEAD's answer has no body despite its headers).
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Connections found closed between their opening and the write, before giving up on a server.
_UNSENT_TRIES = 3


class LeanTransport(httpx.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 for whole-body requests; ``fallback`` (httpcore) for the rest."""

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | bool,
        limits: httpx.Limits,
        fallback: httpx.AsyncBaseTransport,
        max_body: int | None = None,
    ) -> None:
        self._fallback = fallback
        self._max_body = max_body  # the most bytes of an answer's body a connection holds
        self._verify = verify
        self._ssl: ssl.SSLContext | None = None  # made at the first https connection (certifi's bundle)
        self._max = limits.max_connections
        self._keep = limits.max_keepalive_connections
        self._expiry = limits.keepalive_expiry
        self._idle: dict[_Origin, list[tuple[Connection, float]]] = {}
        self._open = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._closed = False
        # Heads by (method, target, headers): a client's calls repeat a few, each checked once.
        self._heads: dict[tuple[str, bytes, int, tuple[tuple[bytes, bytes], ...]], bytes | None] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.raw_scheme
        port = url.port or _DEFAULT_PORTS.get(scheme)
        extensions = request.extensions
        if port is None or self._closed or request.method not in _METHODS or (extensions.keys() - _KNOWN_EXTENSIONS):
            return await self._fallback.handle_async_request(request)
        try:
            body = request.content
        except httpx.RequestNotRead:  # a streamed body: httpcore writes it as it comes
            return await self._fallback.handle_async_request(request)
        head = self._head(request.method, url.raw_path, request.headers.raw, body)
        if head is None:
            return await self._fallback.handle_async_request(request)
        timeouts: dict[str, float | None] = extensions.get("timeout", {})
        status, headers, content, reason = await self.exchange((scheme, url.host, port), head + body, timeouts)
        return response_of(status, headers, content, reason)

    def origin(self, url: httpx.URL) -> _Origin | None:
        """Where a request to ``url`` goes, or None when this transport leaves it to httpcore."""
        scheme = url.raw_scheme
        port = url.port or _DEFAULT_PORTS.get(scheme)
        return None if port is None else (scheme, url.host, port)

    def head(self, method: str, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes | None:
        """The head this transport writes for such a request, or None when it leaves it to httpcore."""
        return None if method not in _METHODS else self._head(method, target, headers, body)

    @property
    def closed(self) -> bool:
        return self._closed

    async def exchange(
        self, origin: _Origin, data: bytes, timeouts: dict[str, float | None]
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes, bytes]:
        """Write ``data`` (a whole request: head and body) on a connection to ``origin`` and read
        its answer: (status, headers as sent, body, reason phrase). ``handle_async_request``'s
        road without the ``httpx.Request`` and ``httpx.Response`` around it (``_transport.py``'s
        calls take it: ~50 us of a call's client CPU), the same pool, timeouts and exceptions."""
        connection = await self._sendable(origin, timeouts.get("pool"), timeouts.get("connect"))
        keep = False
        try:
            status, headers, content, keep = await connection.exchange(
                data, timeouts.get("write"), timeouts.get("read")
            )
        finally:
            self._release(origin, connection, keep)
        return status, headers, content, connection.reason

    def _head(self, method: str, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes | None:
        """``request_head``, remembered: it depends on the body's length only."""
        key = (method, target, len(body), tuple(headers))
        try:
            return self._heads[key]
        except KeyError:
            pass
        head = request_head(method.encode("ascii"), target, headers, body)
        if len(self._heads) >= 4096:  # many distinct heads (lengths, actors): never grow without bound
            self._heads.clear()
        self._heads[key] = head
        return head

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for connection, _ in idle:
                connection.close()
        self._idle.clear()
        await self._fallback.aclose()

    # the pool

    async def _sendable(self, origin: _Origin, pool_timeout: float | None, connect_timeout: float | None) -> Connection:
        """A connection the request can be written to now (``exchange`` writes without awaiting
        first): one found closed meanwhile is dropped and another taken, the request unsent."""
        for _ in range(_UNSENT_TRIES):
            connection = await self._acquire(origin, pool_timeout, connect_timeout)
            if not connection.lost:
                return connection
            self._release(origin, connection, keep=False)
        # A server that closes every new connection at once: nothing was sent.
        raise httpx.ConnectError("the server closed the connection before the request was sent")

    async def _acquire(self, origin: _Origin, pool_timeout: float | None, connect_timeout: float | None) -> Connection:
        loop = asyncio.get_running_loop()
        deadline = None if pool_timeout is None else loop.time() + pool_timeout
        while True:
            idle = self._idle.get(origin)
            now = time.monotonic()
            while idle:
                connection, since = idle.pop()
                if (self._expiry is None or now - since < self._expiry) and connection.usable():
                    return connection
                self._drop(connection)  # expired, or closed by the server while idle: unsent
            if self._max is None or self._open < self._max or self._evict_one():
                self._open += 1
                try:
                    return await self._connect(origin, connect_timeout)
                except BaseException:
                    self._open -= 1
                    self._wake()
                    raise
            # Every connection is in use: wait for one to come back (or to close).
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout_at(deadline):
                    await waiter
            except BaseException as exc:
                if waiter.done() and not waiter.cancelled():
                    # Woken, then cancelled or timed out before running: the connection that
                    # came free is another waiter's now, else that one waits for nothing.
                    self._wake()
                else:
                    waiter.cancel()
                if isinstance(exc, TimeoutError):
                    raise httpx.PoolTimeout("no connection of the pool came free in time") from None
                raise

    def _evict_one(self) -> bool:
        """Close an idle connection to another origin, to open one to this origin instead."""
        for idle in self._idle.values():
            if idle:
                connection, _ = idle.pop(0)
                self._drop(connection)
                return True
        return False

    def _release(self, origin: _Origin, connection: Connection, keep: bool) -> None:
        idle = self._idle.setdefault(origin, [])
        if keep and not connection.lost and not self._closed and (self._keep is None or len(idle) < self._keep):
            idle.append((connection, time.monotonic()))
        else:
            self._drop(connection)
        self._wake()

    def _drop(self, connection: Connection) -> None:
        connection.close()
        self._open -= 1

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _connect(self, origin: _Origin, timeout: float | None) -> Connection:
        scheme, host, port = origin
        context = self._tls() if scheme == b"https" else None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, connection = await loop.create_connection(
                    lambda: Connection(self._max_body),
                    host,
                    port,
                    ssl=context,
                    server_hostname=host if context is not None else None,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout("timed out connecting") from None
        except OSError as exc:  # refused, unresolvable, a certificate refused (ssl.SSLError)
            raise httpx.ConnectError(str(exc)) from None
        sock: Any = transport.get_extra_info("socket")
        if sock is not None:
            # Small requests: never wait for the peer's delayed ACK before sending (Nagle).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            # The context httpx itself builds for ``verify`` (certifi's bundle for True), with
            # ALPN naming HTTP/1.1 as httpcore does.
            context = httpx.create_ssl_context(verify=self._verify)
            context.set_alpn_protocols(["http/1.1"])
            self._ssl = context
        return self._ssl


def response_of(status: int, headers: list[tuple[bytes, bytes]], content: bytes, reason: bytes) -> httpx.Response:
    """An answer read whole as the ``httpx.Response`` this transport gives."""
    return httpx.Response(
        status,
        headers=headers,
        stream=httpx.ByteStream(content),
        extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
    )
