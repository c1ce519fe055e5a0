"""The request-size limit, enforced while the body streams in (never after reading it whole)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._remote._wire import DEFAULT_MAX_BODY_BYTES
from ._errors import error_response

__all__ = ["DEFAULT_MAX_BODY_BYTES", "BodyLimit", "BodyTooLarge"]


class BodyTooLarge(HTTPException):
    """413. An ``HTTPException``: FastAPI passes those through its body parsing untouched."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than {limit:,} bytes")


class BodyLimit:
    """ASGI middleware: 413 for a declared ``Content-Length`` over the limit, before reading
    anything; for a chunked body, as soon as the bytes received pass it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit():
                    await _refuse(send, HTTPException(400, "Content-Length is not a number"))
                    return
                if int(value) > self.max_bytes:
                    await _refuse(send, BodyTooLarge(self.max_bytes))
                    return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited, send)


async def _refuse(send: Send, error: HTTPException) -> None:
    response = error_response(error.status_code, error.detail)
    await send({"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})
