"""An httpx transport to an ASGI app in this process that streams the answer as the app sends it.

httpx's own ``ASGITransport`` waits for the app to finish and hands back the whole body:
right for a call, never ending for a live feed (``GET /v1/sessions/watch`` answers for as
long as the feed is open). This one runs the app as a task and passes each body message
on when it comes; closing the response tells the app the client has gone
(``http.disconnect``) and ends the task.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

__all__ = ["StreamingASGITransport"]

_DONE = {"type": "docstore.done"}


class StreamingASGITransport(httpx.AsyncBaseTransport):
    """``httpx.AsyncClient(transport=StreamingASGITransport(app))``: requests reach ``app`` without a socket."""

    def __init__(self, app: Any, client: tuple[str, int] = ("127.0.0.1", 123)) -> None:
        self.app = app
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(key.lower(), value) for key, value in request.headers.raw],
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "server": (request.url.host, request.url.port),
            "client": self.client,
            "root_path": "",
        }
        body = request.stream.__aiter__()  # type: ignore[union-attr]
        sent_all = False
        gone = asyncio.Event()
        messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        async def receive() -> dict[str, Any]:
            nonlocal sent_all
            if sent_all:
                await gone.wait()
                return {"type": "http.disconnect"}
            try:
                chunk = await body.__anext__()
            except StopAsyncIteration:
                sent_all = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.request", "body": chunk, "more_body": True}

        async def send(message: dict[str, Any]) -> None:
            await messages.put(message)

        async def run() -> None:
            try:
                await self.app(scope, receive, send)
            except BaseException as exc:  # handed to the reader, raised there
                await messages.put({"type": "docstore.error", "error": exc})
            finally:
                await messages.put(_DONE)

        task = asyncio.create_task(run())
        start = await messages.get()
        if start["type"] != "http.response.start":
            await _finish(task, gone)
            error = start.get("error")
            raise error if isinstance(error, BaseException) else RuntimeError("the app sent no response")
        return httpx.Response(start["status"], headers=start.get("headers", []), stream=_Body(messages, task, gone))


class _Body(httpx.AsyncByteStream):
    def __init__(self, messages: asyncio.Queue[dict[str, Any]], task: asyncio.Task[None], gone: asyncio.Event) -> None:
        self._messages, self._task, self._gone = messages, task, gone

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            message = await self._messages.get()
            kind = message["type"]
            if kind == "http.response.body":
                if message.get("body"):
                    yield message["body"]
                if not message.get("more_body", False):
                    return
            elif kind == "docstore.error":
                raise message["error"]
            elif message is _DONE:
                return

    async def aclose(self) -> None:
        await _finish(self._task, self._gone)


async def _finish(task: asyncio.Task[None], gone: asyncio.Event) -> None:
    gone.set()  # the app's next receive() says the client has gone
    if not task.done():
        await asyncio.sleep(0)
    if not task.done():
        task.cancel()
    with contextlib.suppress(BaseException):
        await task
