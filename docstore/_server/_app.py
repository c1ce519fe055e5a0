"""``create_app(store)``: the docstore HTTP API as a FastAPI app, to serve or to mount."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .._errors import ErrorCode, PersistenceError
from .._store import Store
from ._admin import add_admin_routes
from ._auth import Authenticator
from ._context import Context
from ._dispatch import RepositoryDispatch
from ._errors import install_error_handlers
from ._feed import add_feed_routes
from ._limits import DEFAULT_MAX_BODY_BYTES, BodyLimit
from ._routes import add_repository_routes
from ._schema import install_openapi

__all__ = ["ADMIN_TOKEN_VARIABLE", "create_app", "ensure_someone_can_authenticate"]

ADMIN_TOKEN_VARIABLE = "DOCSTORE_ADMIN_TOKEN"


def create_app(
    store: Store,
    *,
    admin_token: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """The API over ``store``: every repository method under ``/v1/...``, docs at ``/docs``.

    ``admin_token`` (default: ``$DOCSTORE_ADMIN_TOKEN``) may act on every namespace;
    other callers need a token made by ``docstore token create``. The store is opened on
    the first request if its owner has not opened it; its owner shuts it down. Run as an
    app of its own (uvicorn), startup refuses when no one could authenticate; mounted in
    another app, call ``ensure_someone_can_authenticate`` yourself if you want the check.
    """
    if max_body_bytes <= 0:
        raise PersistenceError(ErrorCode.INVALID_DATA, "max_body_bytes must be > 0")
    context = Context(store, Authenticator(store, admin_token or os.environ.get(ADMIN_TOKEN_VARIABLE)))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await ensure_someone_can_authenticate(app)
        yield

    app = FastAPI(
        title="docstore",
        summary="Sessions, problems and code revisions of a live-coding classroom",
        version="1",
        lifespan=lifespan,
    )
    app.state.docstore = context
    install_error_handlers(app)
    add_admin_routes(app)
    add_feed_routes(app)  # before the repository routes: GET /v1/sessions/watch is not a method
    bodies, handlers = add_repository_routes(app)
    install_openapi(app, bodies)
    # Added before BodyLimit, so inside it: a body is limited before a handler reads it.
    app.add_middleware(RepositoryDispatch, context=context, handlers=handlers)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    return app


async def ensure_someone_can_authenticate(app: FastAPI) -> None:
    """PERMISSION_DENIED when there is neither an admin token nor a stored token."""
    context: Context = app.state.docstore
    await context.ready()
    if not await context.auth.anyone_can_authenticate():
        raise PersistenceError(
            ErrorCode.PERMISSION_DENIED,
            f"no one could authenticate: set {ADMIN_TOKEN_VARIABLE} or create a token "
            "with `docstore token create --namespace NS --url STORE`",
        )
