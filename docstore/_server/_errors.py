"""Every failure as ``{"code", "message"}`` with the status of its code (``HTTP_STATUS``)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute, Match

from .._errors import HTTP_STATUS, ErrorCode, PersistenceError
from .._wire import error_body

__all__ = ["error_response", "install_error_handlers", "status_code_of", "validation_message"]

log = logging.getLogger("docstore.server")

# Statuses Starlette answers on its own (no route, wrong method, ...) and their codes.
_CODE_OF_STATUS = {401: ErrorCode.PERMISSION_DENIED, 403: ErrorCode.PERMISSION_DENIED, 404: ErrorCode.NOT_FOUND}


def status_code_of(error: PersistenceError) -> int:
    return int(getattr(error, "status", HTTP_STATUS[error.code]))


def error_response(
    status: int,
    message: str,
    code: ErrorCode | None = None,
    headers: Mapping[str, str] | None = None,
    damaged: tuple[str, ...] = (),
) -> Response:
    if code is None:
        code = _CODE_OF_STATUS.get(status, ErrorCode.INVALID_DATA if status < 500 else ErrorCode.STORAGE_ERROR)
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    body = error_body(PersistenceError(code, message, damaged=damaged))
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def validation_message(error: RequestValidationError) -> str:
    """Each problem as ``field: what is wrong`` (the ``body`` prefix dropped)."""
    parts = []
    for detail in error.errors()[:5]:
        location = [str(part) for part in detail.get("loc", ()) if part != "body"]
        parts.append(f"{'.'.join(location) or 'body'}: {detail.get('msg', 'invalid')}")
    return "; ".join(parts)


def _allowed_methods(request: Request) -> list[str]:
    allowed: set[str] = set()
    _collect_methods(request.app.router.routes, dict(request.scope), allowed)
    return sorted(allowed)


def _collect_methods(routes: Iterable[BaseRoute], scope: dict[str, Any], allowed: set[str]) -> None:
    """The methods of every route matching ``scope``'s path, in included routers too."""
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        # A router included in the app (FastAPI wraps it: its routes are the original's).
        inner = getattr(route, "routes", None) or getattr(getattr(route, "original_router", None), "routes", None)
        if inner is not None:
            _collect_methods(inner, {**scope, **child}, allowed)
        elif match is Match.PARTIAL:
            allowed.update(getattr(route, "methods", None) or ())


def install_error_handlers(app: FastAPI) -> None:
    async def persistence(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PersistenceError)
        message = request.app.state.docstore.shown_to(request, exc.message)
        return error_response(status_code_of(exc), message, exc.code, damaged=exc.damaged)

    async def validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_response(422, validation_message(exc), ErrorCode.INVALID_DATA)

    async def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        # Starlette's own headers stay: "Allow" on a 405 (RFC 9110 requires it), listing
        # the methods of every route at that path (Starlette names only the first's).
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return error_response(exc.status_code, str(exc.detail), headers=headers)

    app.add_exception_handler(PersistenceError, persistence)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(HTTPException, http)
