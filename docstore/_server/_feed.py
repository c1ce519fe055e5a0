"""``GET /v1/sessions/watch``: a session's live feed as Server-Sent Events.

Why SSE and not a websocket: one long HTTP response passes proxies and load balancers
as any other, needs no second protocol in the client (httpx streams it), and carries
the resume rule in the standard itself (``id:`` per event, ``Last-Event-ID`` on
reconnect). The feed only goes one way, which is all SSE does.

    event: open      id: <where the feed starts>   (the feed is entered)
    event: change    id: <position>   data: <SessionChange as JSON>
    event: end                                      (the session was deleted)
    event: error     data: {"code", "message"}      (e.g. EXPIRED: resume from a snapshot)
    : keep-alive                                    (every KEEPALIVE_S of silence)

Errors on entering (NOT_FOUND, INVALID_DATA, EXPIRED, 401/403) are ordinary error
answers before the stream starts. The body is produced as the client reads it (one
change at a time, pulled from the engine's log), so a slow client costs the server its
position, never a growing buffer. A namespace token watches only its namespace's
sessions (its view refuses the others as NOT_FOUND); read-only tokens may watch.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Request
from starlette.responses import StreamingResponse

from .._changes import SessionFeed
from .._errors import PersistenceError
from .._wire import API_PREFIX
from .._wire_values import map_result, to_extended
from ._context import Grant, context_of
from ._schema import ErrorBody, error_responses

__all__ = ["KEEPALIVE_S", "WATCH_PATH", "add_feed_routes"]

WATCH_PATH = f"{API_PREFIX}/sessions/watch"
KEEPALIVE_S = 10.0


async def _grant(request: Request) -> Grant:
    return await context_of(request).grant(request)


def _event(kind: str, data: str = "{}", position: str | None = None) -> bytes:
    head = f"event: {kind}\n" + (f"id: {position}\n" if position is not None else "")
    return f"{head}data: {data}\n\n".encode()


async def _events(feed: SessionFeed, shown: Callable[[str], str]) -> AsyncIterator[bytes]:
    try:
        yield _event("open", position=feed.position)
        while True:
            try:
                change = await asyncio.wait_for(anext(feed), KEEPALIVE_S)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            except StopAsyncIteration:
                yield _event("end")
                return
            except PersistenceError as error:
                # As every error answer: the store's place on the server is for admins only.
                yield _event("error", json.dumps({"code": error.code.value, "message": shown(error.message)}))
                return
            # Free-form values JSON cannot hold as Extended JSON, as in every answer.
            yield _event("change", map_result(change, to_extended).model_dump_json(), change.position)
    finally:
        await feed.aclose()


def add_feed_routes(app: FastAPI) -> None:
    @app.get(
        WATCH_PATH,
        tags=["sessions"],
        summary="A session's live feed (Server-Sent Events)",
        description=__doc__,
        responses={
            200: {"content": {"text/event-stream": {}}, "description": "the feed"},
            **error_responses(write=False),
            410: {"model": ErrorBody, "description": "EXPIRED"},
        },
        response_model=None,
    )
    async def watch(
        request: Request,
        grant: Annotated[Grant, Depends(_grant)],
        session_id: Annotated[str, Query(min_length=1)],
        after: Annotated[str | None, Query(description="resume right after this position")] = None,
    ) -> StreamingResponse:
        # The standard header wins: it is what a reconnecting EventSource sends.
        position = request.headers.get("last-event-id", after)
        feed = grant.view.sessions.watch(session_id, after=position)
        await feed.__aenter__()  # refusals become ordinary error answers, before any byte is streamed
        return StreamingResponse(
            _events(feed, lambda message: context_of(request).shown_to(request, message)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
