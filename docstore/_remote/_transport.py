"""The one place where HTTP meets ``PersistenceError``: a request in, JSON or an error code out.

- a refused connection (nothing was sent) is UNAVAILABLE;
- a server slower than the timeout settings is TIMEOUT;
- a connection dropped before the answer is tried once more for a read (reads change
  nothing), never for a write (the write may have happened: the caller decides);
- an error answer carries its ``ErrorCode`` (``_wire.error_from_response``).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx

from .._config import StorageConfig, mask_secrets
from .._errors import ErrorCode, PersistenceError
from .._wire import ACTOR_HEADER, NAMESPACE_HEADER, error_from_response, header_value
from ._answer_limit import AnswerTooLarge, bounded_body, bounded_lines
from ._one_send import one_send_transport
from ._raw_calls import RawCalls, plain_answer, raw_calls, response_of

__all__ = ["Dropped", "Transport"]

# The connection broke after the request went out (or while it did): the server may
# have acted on it.
_DROPPED = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


class Transport:
    """An ``httpx.AsyncClient`` to one server, with the error mapping and the retry rule."""

    def __init__(self, config: StorageConfig, injected: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = config.url.rstrip("/")
        # A transport the caller gave (``open_store(..., transport=...)``: an app in this
        # process, a mock): both clients go through it, and neither closes it.
        self._injected = _Borrowed(injected) if injected is not None else None
        # What errors name: the URL without its credentials (a user:password@ in it is sent
        # as basic auth, and must never reach a message, a log or the CLI's output).
        self.shown_url = config.masked_url.rstrip("/")
        token = config.token.get_secret_value() if config.token is not None else None
        # identity: docstore's answers are JSON on a fast link, and an inflated answer has no
        # bound (a 1 MB gzip body is 1 GB decoded); an encoded answer is refused unread.
        self._headers = {"Accept-Encoding": "identity"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._timeout = httpx.Timeout(
            config.socket_timeout_ms / 1000,
            connect=config.connect_timeout_ms / 1000,
            pool=config.server_selection_timeout_ms / 1000,
        )
        self._limits = httpx.Limits(
            max_connections=config.max_pool_size, max_keepalive_connections=config.max_pool_size
        )
        self._retry_reads = config.retry_reads
        # The most bytes of an answer (or of a line of a streamed one) held: ``_answer_limit.py``.
        self.max_answer_bytes = config.max_answer_mb * 1024 * 1024
        self._ca_file = config.tls_ca_file
        self._client: httpx.AsyncClient | None = None
        self._streams: httpx.AsyncClient | None = None
        # Absolute URLs, parsed once: httpx re-parses and merges a relative path on every call.
        self._urls: dict[str, httpx.URL] = {}
        # The client's transport, which ``request`` calls itself (see ``_send``), and the
        # whole headers of a call by (body?, namespace, actor), merged once.
        self._calls: httpx.AsyncBaseTransport | None = None
        self._call_headers: dict[tuple[bool, str | None, str | None], httpx.Headers] = {}
        self._timeouts = self._timeout.as_dict()
        self._raw: RawCalls | None = None

    def _url(self, path: str) -> httpx.URL:
        found = self._urls.get(path)
        if found is None:
            found = self._urls[path] = httpx.URL(self.base_url + path)
        return found

    def _tls(self) -> ssl.SSLContext | bool:
        """The CA bundle of ``tls_ca_file`` (a private CA), else the system's."""
        if self._ca_file is None:
            return True
        try:
            return ssl.create_default_context(cafile=self._ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise PersistenceError(ErrorCode.INVALID_DATA, f"tls_ca_file {self._ca_file!r}: {exc}") from None

    def open(self) -> None:
        transport = self._injected or self._lean()
        client = self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers=self._headers,
            timeout=self._timeout,
            limits=self._limits,
            transport=transport,
            event_hooks={"response": [_refuse_encoded]},
        )
        # A URL with user:password@ takes AsyncClient's road for every call: its auth step
        # sends them as basic auth (and picks between them and the bearer token), which the
        # direct road does not repeat.
        self._calls = None if httpx.URL(self.base_url).userinfo else transport
        self._call_headers.clear()
        # Calls with a body go to the lean transport itself when it is the client's (``_raw_calls.py``).
        self._raw = None
        if self._calls is not None:
            self._raw = raw_calls(transport, lambda *call: self._request(client, *call), self._timeouts)

    def _lean(self) -> httpx.AsyncBaseTransport:
        """docstore's own keep-alive HTTP/1.1 under httpx (``_lean.py``), httpcore (sending each
        request in one write) for what it leaves: streamed bodies, anything unusual."""
        verify = self._tls()
        fallback = one_send_transport(
            verify=verify,
            limits=self._limits,
            # Small requests: never wait for the peer's delayed ACK before sending (Nagle).
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )
        try:
            from ._lean import LeanTransport  # needs httptools (the remote extra brings it)
        except ImportError:
            return fallback
        return LeanTransport(verify=verify, limits=self._limits, fallback=fallback, max_body=self.max_answer_bytes)

    async def close(self) -> None:
        self._calls = None
        self._raw = None
        client, self._client = self._client, None
        streams, self._streams = self._streams, None
        for opened in (client, streams):
            if opened is not None:
                await opened.aclose()

    def _streams_now(self) -> httpx.AsyncClient:
        """The client of long-lived streams (live feeds): a pool of its own, so that any number
        of open feeds never takes a connection the calls need."""
        self._client_now()  # refused once shut down
        if self._streams is None:
            unbounded = httpx.Limits(max_connections=None, max_keepalive_connections=0)
            self._streams = httpx.AsyncClient(
                base_url=self.base_url,
                headers=self._headers,
                timeout=self._timeout,
                limits=unbounded,
                transport=self._injected or httpx.AsyncHTTPTransport(verify=self._tls(), limits=unbounded),
                event_hooks={"response": [_refuse_encoded]},
            )
        return self._streams

    def _client_now(self) -> httpx.AsyncClient:
        if self._client is None:
            raise PersistenceError(ErrorCode.STORAGE_ERROR, "the remote store is shut down")
        return self._client

    def _headers_for(self, body: bytes | None, namespace: str | None, actor: str | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if namespace is not None:
            headers[NAMESPACE_HEADER] = header_value(namespace)
        if actor is not None:
            headers[ACTOR_HEADER] = header_value(actor)
        return headers

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        params: dict[str, Any] | None = None,
        read: bool,
        namespace: str | None = None,
        actor: str | None = None,
    ) -> bytes:
        """The body of a 2xx answer; any other outcome as a ``PersistenceError``."""
        client = self._client_now()
        attempts = 2 if read and self._retry_reads else 1
        for attempt in range(1, attempts + 1):
            try:
                with self._translated(path, read):
                    if params is None and self._calls is not None:
                        status, content = await self._send(client, method, path, body, namespace, actor)
                    else:
                        headers = self._headers_for(body, namespace, actor)
                        request = client.build_request(
                            method, self._url(path), content=body, params=params, headers=headers
                        )
                        # Streamed, so that the body is read under the bound (``client.request`` reads it whole).
                        response = await client.send(request, stream=True)
                        status, content = response.status_code, await bounded_body(response, self.max_answer_bytes)
            except _Dropped:
                if attempt < attempts:
                    continue  # a read changes nothing: ask again, once
                raise self._dropped(read) from None
            if 200 <= status <= 299:  # httpx's ``is_success``
                return content
            raise error_from_response(status, content)
        raise AssertionError("unreachable")

    async def _send(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        body: bytes | None,
        namespace: str | None,
        actor: str | None,
    ) -> tuple[int, bytes]:
        """The status and body of what ``client.request(method, url, content=body, headers=...)`` answers:
        the same request (the client's headers merged with the call's, its timeouts) handed
        to the client's transport directly.

        ``AsyncClient.send`` around the transport costs ~45 us a call here (header merging,
        the auth and redirect machinery, cookies, event hooks), none of which a call uses:
        no auth flow beyond the bearer header (a URL with credentials takes ``client.request``),
        redirects are not followed (a 3xx is an error answer either way); cookies are kept and
        sent back as ``send`` does, looked at only when there are some.
        ``tests/remote/test_direct_send.py`` holds both roads to the same request on the wire
        and the same outcome.
        """
        cookies = client.cookies
        # Not an empty body: httpx heads one with Content-Length 0 elsewhere, or none (not a POST).
        if self._raw is not None and body and not cookies.jar:
            answer = await self._raw.call(method, path, body, namespace, actor)
            if answer is not None:
                if plain_answer(answer):
                    return answer[0], answer[2]
                # A cookie to keep or an encoding to refuse (rare): as the answer below is handled.
                request = self._request(client, method, path, body, namespace, actor)
                return await self._read(cookies, request, response_of(*answer))
        request = self._request(client, method, path, body, namespace, actor)
        if cookies.jar:  # what a server or its proxy set (an affinity cookie) goes back, as send() does
            cookies.set_cookie_header(request)
        assert self._calls is not None
        return await self._read(cookies, request, await self._calls.handle_async_request(request))

    def _request(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        body: bytes | None,
        namespace: str | None,
        actor: str | None,
    ) -> httpx.Request:
        """The ``httpx.Request`` of a call: the client's headers merged with the call's, its timeouts."""
        key = (body is not None, namespace, actor)
        headers = self._call_headers.get(key)
        if headers is None:
            headers = httpx.Headers(client.headers)
            headers.update(self._headers_for(body, namespace, actor))
            if len(self._call_headers) > 1024:  # many actors: never grow without bound
                self._call_headers.clear()
            self._call_headers[key] = headers
        request = httpx.Request(method, self._url(path), headers=headers, content=body)
        request.extensions = {"timeout": self._timeouts}
        return request

    async def _read(
        self, cookies: httpx.Cookies, request: httpx.Request, response: httpx.Response
    ) -> tuple[int, bytes]:
        response.request = request
        if "set-cookie" in response.headers:
            cookies.extract_cookies(response)
        await _refuse_encoded(response)
        return response.status_code, await bounded_body(response, self.max_answer_bytes)

    async def stream_lines(self, path: str) -> AsyncIterator[str]:
        """The non-empty lines of a streamed 2xx answer to ``GET path`` (no retry: it may be long)."""
        client = self._client_now()
        try:
            with self._translated(path, True):
                async with client.stream("GET", path) as response:
                    if not response.is_success:
                        raise error_from_response(response.status_code, await response.aread())
                    async for raw in bounded_lines(response.aiter_raw(), self.max_answer_bytes):
                        line = raw.removesuffix(b"\r").decode("utf-8", errors="replace")
                        if line:
                            yield line
        except _Dropped:
            raise self._dropped(True) from None

    @asynccontextmanager
    async def event_stream(
        self,
        path: str,
        *,
        params: dict[str, str],
        headers: dict[str, str],
        namespace: str | None,
        actor: str | None,
        read_timeout_s: float,
    ) -> AsyncIterator[httpx.Response]:
        """A streamed 2xx answer to ``GET path`` (the live feed); refusals and failures as for ``request``.

        A connection that breaks while the body streams raises ``Dropped``: the caller
        reconnects (the feed resumes from its position).
        """
        client = self._streams_now()
        timeout = httpx.Timeout(read_timeout_s, connect=self._timeout.connect, pool=self._timeout.pool)
        with self._translated(path, True):
            async with client.stream(
                "GET",
                self._url(path),
                params=params,
                headers={**self._headers_for(None, namespace, actor), **headers},
                timeout=timeout,
            ) as response:
                if not response.is_success:
                    raise error_from_response(response.status_code, await response.aread())
                yield response

    @contextmanager
    def _translated(self, path: str, read: bool) -> Iterator[None]:
        """httpx's exceptions as ``PersistenceError``; a dropped connection as ``_Dropped``."""
        try:
            yield
        except AnswerTooLarge as exc:
            raise PersistenceError(ErrorCode.STORAGE_ERROR, f"{self.shown_url}, {path}: {exc}") from None
        except httpx.TimeoutException:
            raise PersistenceError(ErrorCode.TIMEOUT, f"{self.shown_url} did not answer {path} in time") from None
        except httpx.ConnectError as exc:
            message = f"cannot reach {self.shown_url}: {mask_secrets(str(exc))}"
            raise PersistenceError(ErrorCode.UNAVAILABLE, message) from None
        except _DROPPED as exc:
            raise _Dropped(mask_secrets(str(exc))) from None
        except httpx.HTTPError as exc:
            raise PersistenceError(ErrorCode.UNAVAILABLE, f"{self.shown_url}: {mask_secrets(repr(exc))}") from None

    def _dropped(self, read: bool) -> PersistenceError:
        what = "a read" if read else "a write (it may or may not have been applied)"
        return PersistenceError(ErrorCode.UNAVAILABLE, f"{self.shown_url} dropped the connection during {what}")


async def _refuse_encoded(response: httpx.Response) -> None:
    """An answer with a ``Content-Encoding`` docstore did not ask for (it asks for identity),
    closed unread: httpx would inflate it whole, without a bound."""
    encoding = response.headers.get("content-encoding")
    if encoding is not None and encoding.strip().lower() != "identity":
        await response.aclose()
        raise httpx.DecodingError(f"the server answered with Content-Encoding {encoding!r}, not asked for")


class _Borrowed(httpx.AsyncBaseTransport):
    """An injected transport, used but never closed: its owner may share it among stores
    (several clients of one app in this process) and closes it when it is done."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Nothing: the store does not own it."""


class _Dropped(Exception):
    """The connection broke after the request went out."""


Dropped = _Dropped
