"""The request-size limit, enforced while the body streams in (never after reading it whole)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._wire import DEFAULT_MAX_BODY_BYTES
from ._errors import error_response

__all__ = ["DEFAULT_MAX_BODY_BYTES", "DISCARD_BYTES", "BodyLimit", "BodyTooLarge"]

# A client that sends its whole body before it reads the answer (Python's urllib,
# requests) gets "connection reset" instead of the 413 when the server closes with bytes
# of it unread. So up to this much of a refused body is read and thrown away (never kept)
# before the 413; past it the 413 goes out at once with "Connection: close". A client
# that asked "Expect: 100-continue" (curl) has sent nothing yet: it gets the 413 at once.
DISCARD_BYTES = 64 * 1024 * 1024


class BodyTooLarge(HTTPException):
    """413. An ``HTTPException``: FastAPI passes those through its body parsing untouched."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than {limit:,} bytes")


class BodyLimit:
    """ASGI middleware: 413 for a declared ``Content-Length`` over the limit, before reading
    any of it into memory; for a chunked body, as soon as the bytes received pass it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, waits_for_continue = None, False
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit():
                    await _refuse(send, HTTPException(400, "Content-Length is not a number"))
                    return
                declared = int(value)
            elif name == b"expect":
                waits_for_continue = value.lower() == b"100-continue"
        if declared is not None and declared > self.max_bytes:
            # Nothing sent yet (100-continue) or too much to read through: answer and close.
            close = waits_for_continue or declared > DISCARD_BYTES
            if not close:
                await _discard(receive, DISCARD_BYTES)
            await _refuse(send, BodyTooLarge(self.max_bytes), close=close)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # A chunked body has no end in sight: stop reading it here (uvicorn drops
                    # what still arrives on a kept-alive connection).
                    raise BodyTooLarge(self.max_bytes)
            return message

        try:
            await self.app(scope, limited, send)
        except ClientDisconnect:
            # The client left before its body was whole (or was closed for sending it too
            # slowly, ``_protocol.py``): there is no one to answer, and nothing to log but
            # noise (uvicorn logged a whole traceback per such client).
            return


async def _discard(receive: Receive, most: int) -> None:
    """Read and drop the rest of a request body, at most ``most`` bytes of it."""
    read = 0
    while read <= most:
        message = await receive()
        if message["type"] != "http.request":
            return  # the client went away
        read += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _refuse(send: Send, error: HTTPException, *, close: bool = False) -> None:
    response = error_response(error.status_code, error.detail)
    headers = [*response.raw_headers, (b"connection", b"close")] if close else response.raw_headers
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
