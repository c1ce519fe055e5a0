"""The repository routes' fast path: ``POST /v1/{repository}/{method}`` found by one dict lookup.

Measured per call in process (``scripts/bench_remote.py``'s ASGI column): FastAPI's
router tries every route's pattern in turn and solves the auth dependency through its
generic machinery, about 0.1 ms a call before the endpoint runs, several times what the
endpoint's own work costs (auth from a cache, one strict validation from the raw bytes,
one serialization in Rust). The FastAPI routes stay registered, unchanged, for what
FastAPI does well (the OpenAPI document, ``/docs``, a 405 for another method on the same
path); this middleware answers the POSTs before FastAPI's router is reached, with the
same handler and the same error answers as the app's exception handlers give.

It sits inside ``BodyLimit`` (a body over the limit is still refused while it streams in).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .._errors import ErrorCode, PersistenceError
from ._context import Context
from ._errors import error_response, status_code_of, validation_message

__all__ = ["Handler", "RepositoryDispatch"]

# What a repository route does once its caller is known to be allowed in: the answer.
Handler = Callable[[Request, Context], Awaitable[Response]]


class RepositoryDispatch:
    """ASGI middleware: a POST to a repository route goes straight to its handler."""

    def __init__(self, app: ASGIApp, context: Context, handlers: Mapping[str, Handler]) -> None:
        self.app = app
        self._context = context
        self._handlers = dict(handlers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            handler = self._handlers.get(_route_path(scope))
            if handler is not None:
                response = await self._answer(handler, Request(scope, receive))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _answer(self, handler: Handler, request: Request) -> Response:
        """The handler's answer; a failure as the app's exception handlers answer it (``_errors.py``)."""
        try:
            return await handler(request, self._context)
        except PersistenceError as exc:
            return error_response(status_code_of(exc), self._context.shown_to(request, exc.message), exc.code)
        except RequestValidationError as exc:
            return error_response(422, validation_message(exc), ErrorCode.INVALID_DATA)
        except HTTPException as exc:  # 413 from BodyLimit while the body streamed in
            return error_response(exc.status_code, str(exc.detail), headers=exc.headers)


def _route_path(scope: Scope) -> str:
    """The path as the app's router matches it (a mounted app's ``root_path`` taken off:
    Starlette's ``get_route_path``, private there)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] == "/":
        return path[len(root) :]
    return path
