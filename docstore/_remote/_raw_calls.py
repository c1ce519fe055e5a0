"""A call with a body written straight to the lean transport (``_lean.py``): no ``httpx.Request``
built for it, no ``httpx.Response`` made of its answer.

Measured per call on the project's machine (a canned answer, no socket): building the request
(the client's headers merged again, Host and Content-Length worked out) and the response (its
headers normalized, its body streamed through ``aread``) was ~50 us of a call's ~120-180 us of
client CPU, and more once a call has waited on a server that took milliseconds (the
caches go cold while the client sleeps). What depends on the body in the request's head is
its length alone, so the head the lean transport writes for the ``httpx.Request`` of a call is
worked out once per (method, path, scope), from that very request, and reused with each call's
length: the bytes on the wire are those the httpx road sends (``tests/remote/test_raw_calls.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

__all__ = ["RawCalls", "plain_answer", "raw_calls", "response_of"]

# (status, headers as sent, body, reason phrase)
RawAnswer = tuple[int, list[tuple[bytes, bytes]], bytes, bytes]
# The request of a call: (method, path, body, namespace, actor) -> the httpx.Request httpx's road sends.
MakeRequest = Callable[[str, str, bytes, str | None, str | None], httpx.Request]
# Answer headers that need httpx's handling: a cookie to keep, an encoding to refuse.
_LOOKED_AT = frozenset({b"set-cookie", b"content-encoding"})
_UNKNOWN: Any = object()
_HEADS_KEPT = 1024


def raw_calls(transport: httpx.AsyncBaseTransport, request: MakeRequest, timeouts: dict[str, Any]) -> RawCalls | None:
    """The raw road over ``transport`` when it is docstore's lean transport (else None: httpx's road)."""
    try:
        from ._lean import LeanTransport
    except ImportError:  # no httptools: httpcore under httpx, as ever
        return None
    return RawCalls(transport, request, timeouts) if type(transport) is LeanTransport else None


def plain_answer(answer: RawAnswer) -> bool:
    """Whether an answer needs nothing of httpx: no cookie set, no content encoding."""
    return not any(name.lower() in _LOOKED_AT for name, _ in answer[1])


def response_of(status: int, headers: list[tuple[bytes, bytes]], content: bytes, reason: bytes) -> httpx.Response:
    """An answer as the ``httpx.Response`` the lean transport gives for it."""
    from ._lean import response_of as lean_response

    return lean_response(status, headers, content, reason)


class RawCalls:
    """The lean transport's calls with a body, each head worked out once."""

    def __init__(self, lean: Any, request: MakeRequest, timeouts: dict[str, Any]) -> None:
        self._lean = lean
        self._request = request
        self._timeouts = timeouts
        # (method, path, namespace, actor) -> (origin, head up to its Content-Length value, the rest) or None
        self._heads: dict[tuple[str, str, str | None, str | None], tuple[Any, bytes, bytes] | None] = {}

    async def call(
        self, method: str, path: str, body: bytes, namespace: str | None, actor: str | None
    ) -> RawAnswer | None:
        """The answer to the call (``body`` not empty), or None when the lean transport would
        leave it to httpcore (then nothing was sent: the caller takes httpx's road)."""
        if self._lean.closed:
            return None
        key = (method, path, namespace, actor)
        found = self._heads.get(key, _UNKNOWN)
        if found is _UNKNOWN:
            found = self._head(method, path, body, namespace, actor)
            if len(self._heads) >= _HEADS_KEPT:  # many actors: never grow without bound
                self._heads.clear()
            self._heads[key] = found
        if found is None:
            return None
        origin, before, after = found
        data = b"%s%d%s%s" % (before, len(body), after, body)
        answer: RawAnswer = await self._lean.exchange(origin, data, self._timeouts)
        return answer

    def _head(
        self, method: str, path: str, body: bytes, namespace: str | None, actor: str | None
    ) -> tuple[Any, bytes, bytes] | None:
        """The head the lean transport writes for this call's ``httpx.Request``, cut around its
        Content-Length value; None when it would not write it (httpcore's road)."""
        request = self._request(method, path, body, namespace, actor)
        origin = self._lean.origin(request.url)
        raw = request.headers.raw
        lengths = [(name, value) for name, value in raw if name.lower() == b"content-length"]
        if origin is None or len(lengths) != 1 or lengths[0][1] != b"%d" % len(body):
            return None
        head: bytes | None = self._lean.head(method, request.url.raw_path, raw, body)
        if head is None:
            return None
        # The one line of the head that is this header (h11 writes each "name: value\r\n").
        name, value = lengths[0]
        line = b"\r\n%s: %s\r\n" % (name, value)
        if head.count(line) != 1:
            return None
        at = head.index(line) + 2 + len(name) + 2
        return origin, head[:at], head[at + len(value) :]
