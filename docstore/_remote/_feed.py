"""A session's live feed from a docstore server (``GET /v1/sessions/watch``, Server-Sent Events).

The client keeps the position of the last change it handed out and, when the
connection drops (or the server goes silent past the keep-alive), reconnects by itself
with ``Last-Event-ID``: nothing lost, nothing repeated. A server that stays away past
``RECONNECT_WINDOW_S`` is UNAVAILABLE; a refusal on reconnecting (EXPIRED, NOT_FOUND) is
raised as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator

import httpx
from pydantic import ValidationError

from .._changes import SessionChange, SessionFeed, position_text
from .._errors import TRANSIENT_CODES, ErrorCode, PersistenceError
from .._interfaces import Scope
from .._mapping import require_id
from .._wire import API_PREFIX
from .._wire_values import from_extended, map_result, may_hold_extended
from ._answer_limit import AnswerTooLarge, bounded_lines
from ._transport import Dropped, Transport

__all__ = ["MAX_WATCHED_ID_BYTES", "RECONNECT_WINDOW_S", "RemoteFeed"]

WATCH_PATH = f"{API_PREFIX}/sessions/watch"
# The server sends a keep-alive every 10 s: three missed ones mean the connection is dead.
READ_TIMEOUT_S = 30.0
RECONNECT_WINDOW_S = 30.0
# The server takes a request head of at most 32 KiB (``_server/_protocol.py``); httpx a query
# of at most 64 KiB. A session id is percent-encoded in the query: up to 3 bytes a byte.
MAX_WATCHED_ID_BYTES = 8 * 1024


class RemoteFeed(SessionFeed):
    """``watch()`` of a remote store: one SSE stream, resumed after every drop."""

    def __init__(self, transport: Transport, scope: Scope, session_id: str, after: str | None) -> None:
        self._transport = transport
        self._scope = scope
        self._session_id = require_id(session_id, "session id")
        self.position = after
        self._stream: contextlib.AsyncExitStack | None = None
        self._lines: AsyncIterator[str] | None = None

    async def _open(self) -> None:
        # The session id travels in the URL's query: what no URL can carry is refused here,
        # as an engine refuses text it cannot store (httpx raised UnicodeEncodeError or InvalidURL).
        try:
            encoded = self._session_id.encode("utf-8")
        except UnicodeEncodeError:
            raise PersistenceError(ErrorCode.INVALID_DATA, "the session id is text that cannot be stored") from None
        if len(encoded) > MAX_WATCHED_ID_BYTES:
            raise PersistenceError(
                ErrorCode.INVALID_DATA,
                f"a session id over {MAX_WATCHED_ID_BYTES:,} bytes cannot be watched through a server "
                "(it goes in the URL)",
            )
        await self._connect()

    async def _connect(self) -> None:
        await self._disconnect()
        stack = contextlib.AsyncExitStack()
        # Checked here by the rule of every feed: the position travels in a header.
        headers = {"Last-Event-ID": position_text(self.position)} if self.position is not None else {}
        try:
            response = await stack.enter_async_context(
                self._transport.event_stream(
                    WATCH_PATH,
                    params={"session_id": self._session_id},
                    headers=headers,
                    namespace=self._scope.namespace,
                    actor=self._scope.actor,
                    read_timeout_s=READ_TIMEOUT_S,
                )
            )
        except BaseException:
            await stack.aclose()
            raise
        self._stream, self._lines = stack, _event_lines(response.aiter_raw(), self._transport.max_answer_bytes)
        kind, position, _ = await self._event()
        if kind != "open":
            raise PersistenceError(ErrorCode.STORAGE_ERROR, f"the server's feed began with {kind!r}, not 'open'")
        if self.position is None:
            self.position = position  # where the feed starts: a reconnect resumes from here

    async def _event(self) -> tuple[str, str | None, str]:
        """The next event of the stream: (event, id, data)."""
        if self._lines is None:
            raise Dropped("not connected")
        kind, position, data = "message", None, list[str]()
        held, limit = 0, self._transport.max_answer_bytes
        try:
            async for line in self._lines:
                if not line:
                    if data or kind != "message":
                        return kind, position, "\n".join(data)
                    continue
                if line.startswith(":"):
                    continue  # keep-alive
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "event":
                    kind = value
                elif field == "id":
                    position = value
                elif field == "data":
                    held += len(value)
                    if held > limit:  # an event of endless data lines: bounded as one line is
                        raise AnswerTooLarge(limit, "an event of the live feed")
                    data.append(value)
        except AnswerTooLarge as exc:
            raise PersistenceError(ErrorCode.STORAGE_ERROR, f"{self._transport.shown_url}: {exc}") from None
        raise Dropped("the server closed the feed")

    async def _next(self) -> SessionChange | None:
        while True:
            try:
                kind, _, data = await self._event()
            except (Dropped, httpx.HTTPError):
                await self._reconnect()
                continue
            except PersistenceError as error:
                if error.code not in TRANSIENT_CODES:
                    raise
                await self._reconnect()
                continue
            if kind == "change":
                try:
                    change = SessionChange.model_validate_json(data)
                    if may_hold_extended(data):  # free-form values JSON cannot hold
                        change = map_result(change, from_extended)
                except ValueError as exc:  # ValidationError, or malformed Extended JSON
                    detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
                    raise PersistenceError(
                        ErrorCode.STORAGE_ERROR, f"the server sent a change that does not read: {detail}"
                    ) from None
                self.position = change.position
                return change
            if kind == "end":
                return None
            if kind == "error":
                raise _error(data)

    async def _reconnect(self) -> None:
        deadline = time.monotonic() + RECONNECT_WINDOW_S
        delay = 0.05
        while True:
            try:
                await self._connect()
                return
            except (Dropped, httpx.HTTPError):
                pass
            except PersistenceError as error:
                if error.code not in TRANSIENT_CODES:
                    raise
            if time.monotonic() + delay > deadline:
                raise PersistenceError(
                    ErrorCode.UNAVAILABLE,
                    f"{self._transport.shown_url} stayed away for {RECONNECT_WINDOW_S:.0f} s; "
                    "watch again with after=feed.position",
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def _disconnect(self) -> None:
        stream, self._stream, self._lines = self._stream, None, None
        if stream is not None:
            with contextlib.suppress(Exception):
                await stream.aclose()

    async def _close(self) -> None:
        await self._disconnect()


async def _event_lines(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[str]:
    """The lines of an event stream as SSE splits them: at LF (a CR before it dropped), never
    at the other Unicode line boundaries (U+2028 in a student's code is text, not a line end);
    a line past ``limit`` bytes is ``AnswerTooLarge`` before more of it is held."""
    async for line in bounded_lines(chunks, limit):
        yield line.removesuffix(b"\r").decode("utf-8", errors="replace")


def _error(data: str) -> PersistenceError:
    try:
        body = json.loads(data)
        return PersistenceError(ErrorCode(body["code"]), str(body["message"]))
    except (ValueError, KeyError, TypeError, RecursionError):
        return PersistenceError(ErrorCode.STORAGE_ERROR, "the server ended the feed with an unreadable error")
