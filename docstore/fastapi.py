"""docstore in a FastAPI app: errors as HTTP, the store's lifespan, dependencies, safe responses.

    from fastapi import Depends, FastAPI
    from docstore import Session, open_store
    from docstore.fastapi import Namespace, install, namespace_from_token, store_lifespan

    app = FastAPI(lifespan=store_lifespan(open_store()))
    install(app)  # PersistenceError -> {code, message} + HTTP_STATUS; items answer in public form

    @app.get("/sessions/{join_code}")
    async def join(join_code: str, cs: Namespace = Depends(namespace_from_token())) -> Session | None:
        return await cs.sessions.get_session_by_join_code(join_code)  # sent as PublicSession

Loaded only when imported (``import docstore`` does not load FastAPI); needs the
``docstore[server]`` extra. README: "Using docstore in a web app".
"""

# No `from __future__ import annotations`: FastAPI reads the annotations of the dependency
# functions made in closures below, which string annotations would hide from it.

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, TypeAlias

try:
    from fastapi import Depends, FastAPI, Header, Request, Response
    from fastapi.routing import APIRouter as _APIRouter
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
except ModuleNotFoundError as _error:  # pragma: no cover - exercised in a subprocess
    from ._extras import missing_extra

    if not missing_extra(_error, "server"):
        raise
    raise ImportError(
        f"docstore.fastapi needs the docstore[server] extra ({_error.name} is not installed): "
        "pip install 'docstore[server]'"
    ) from None

from ._errors import HTTP_STATUS, ErrorCode, PersistenceError
from ._leak_check import leaking_operations
from ._page import Page
from ._public import (
    PublicExecutionResult,
    PublicProblem,
    PublicProblemWithSolution,
    PublicRevision,
    PublicSession,
    PublicStudent,
    public_page,
)
from ._safe_responses import SEND_PRIVATE_FIELDS, DocstoreRoute, public_type
from ._server._auth import Authenticator
from ._server._context import _server_paths
from ._server._errors import error_response, status_code_of
from ._server._errors import install_error_handlers as _install_server_handlers
from ._store import Store

__all__ = [
    "HTTP_STATUS",
    "SEND_PRIVATE_FIELDS",
    "APIRouter",
    "DocstoreRoute",
    "Namespace",
    "Page",
    "PublicExecutionResult",
    "PublicProblem",
    "PublicProblemWithSolution",
    "PublicRevision",
    "PublicSession",
    "PublicStudent",
    "StoreDep",
    "check_responses",
    "get_store",
    "install",
    "install_error_handlers",
    "namespace_from_header",
    "namespace_from_token",
    "namespace_view",
    "public_page",
    "public_type",
    "store_lifespan",
]

_STATE = "docstore_store"
_AUTHENTICATOR = "docstore_authenticator"

# A namespace view of the store (``store.for_namespace(ns)``), as a dependency gives it.
Namespace: TypeAlias = Store


def install_error_handlers(app: FastAPI) -> None:
    """``PersistenceError`` as ``{"code", "message"}`` with the status of ``HTTP_STATUS``, as
    ``docstore serve`` answers; FastAPI's own 422/404/405 in the same shape.

    A message never shows where a ``local://`` store lives on the server (``<store>``):
    the app's callers are not its operators.
    """
    _install_server_handlers(app)

    async def persistence(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PersistenceError)
        message = exc.message
        store = getattr(request.app.state, _STATE, None)
        if isinstance(store, Store):
            for path in _server_paths(store):
                message = message.replace(path, "<store>")
        return error_response(status_code_of(exc), message, exc.code)

    app.add_exception_handler(PersistenceError, persistence)


def install(app: FastAPI) -> None:
    """Errors as ``{code, message}`` with ``HTTP_STATUS``; routes added from now on answer safely.

    Routes declared on ``app`` after this call use ``DocstoreRoute``: an endpoint typed
    ``-> Session`` (or ``Page[ProblemSpec]``, ...) sends the public model. Routers of
    your own: ``docstore.fastapi.APIRouter()`` (or ``APIRouter(route_class=DocstoreRoute)``).
    """
    install_error_handlers(app)
    app.router.route_class = DocstoreRoute


APIRouter = functools.partial(_APIRouter, route_class=DocstoreRoute)
"""``fastapi.APIRouter`` whose routes answer with the public models (``DocstoreRoute``)."""


def store_lifespan(
    store: Store,
    then: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A lifespan that opens ``store`` when the app starts and shuts it down when it stops.

    ``then``: the app's own lifespan, entered once the store is open (and left before it
    closes). It first runs ``check_responses(app)``: an endpoint that would answer with
    a raw domain model stops the start. With ``lazy_connect=True`` the app starts even while the store's server is
    down (``health()`` says so, calls are UNAVAILABLE until it is back).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        check_responses(app)
        async with store:
            setattr(app.state, _STATE, store)
            try:
                if then is None:
                    yield
                else:
                    async with then(app):
                        yield
            finally:
                delattr(app.state, _STATE)

    return lifespan


def check_responses(app: FastAPI) -> None:
    """INVALID_DATA naming every endpoint that would answer with a raw domain model.

    ``store_lifespan`` runs it at start-up. Such an endpoint was declared before
    ``install(app)`` or in a plain ``fastapi.APIRouter``: declare a public model, use
    ``docstore.fastapi.APIRouter``, or mark the model ``SEND_PRIVATE_FIELDS``.
    """
    leaks = leaking_operations(app.openapi())
    if leaks:
        raise PersistenceError(
            ErrorCode.INVALID_DATA,
            f"{', '.join(leaks)} would answer with metadata (author e-mails), namespace and solution: declare "
            "a public model (docstore.fastapi.PublicSession, ...), declare it after install(app) or in a "
            "docstore.fastapi.APIRouter, or choose Annotated[Session, SEND_PRIVATE_FIELDS]",
        )


def get_store(request: Request) -> Store:
    """Dependency: the app's store (the whole store: every namespace)."""
    store = getattr(request.app.state, _STATE, None)
    if not isinstance(store, Store):
        raise PersistenceError(
            ErrorCode.STORAGE_ERROR, "the app has no store: FastAPI(lifespan=docstore.fastapi.store_lifespan(store))"
        )
    return store


StoreDep = Annotated[Store, Depends(get_store)]
"""An endpoint parameter typed ``StoreDep`` receives the whole store."""


def namespace_view(
    resolve: Callable[..., str | tuple[str, str | None] | Awaitable[str | tuple[str, str | None]]],
) -> Callable[..., Awaitable[Store]]:
    """Dependency: the namespace view your own auth picks. ``resolve`` is itself a dependency
    (it may depend on your current-user dependency) returning a namespace or (namespace, actor).
    """

    async def dependency(request: Request, chosen: Annotated[Any, Depends(resolve)]) -> Store:
        namespace, actor = chosen if isinstance(chosen, tuple) else (chosen, None)
        return get_store(request).for_namespace(namespace, actor=actor)

    return dependency


def namespace_from_header(
    header: str = "X-Docstore-Namespace", actor_header: str | None = None
) -> Callable[..., Awaitable[Store]]:
    """Dependency: the view of the namespace a request header names (422 when it is missing).

    Only behind something that sets the header itself (an authenticating proxy, a gateway):
    a client that may write the header can pick any namespace.
    """

    async def dependency(
        request: Request, namespace: Annotated[str, Header(alias=header)]
    ) -> Store:
        actor = request.headers.get(actor_header) if actor_header else None
        return get_store(request).for_namespace(namespace, actor=actor)

    return dependency


_bearer = HTTPBearer(auto_error=False, description="A token of `docstore token create --namespace NS`")


def namespace_from_token(*, actor_from_name: bool = True) -> Callable[..., Awaitable[Store]]:
    """Dependency: the view of the namespace of the caller's bearer token (``docstore token create``).

    No or an unknown/revoked token: 401; a read-only token on anything but GET/HEAD: 403.
    The token's name is recorded as the actor unless ``actor_from_name=False``. Tokens are
    checked as ``docstore serve`` checks them (hashed; a check is cached for a second).
    """

    async def dependency(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Store:
        store = get_store(request)
        # One authenticator per app and store: it caches checked tokens for a second.
        kept = getattr(request.app.state, _AUTHENTICATOR, None)
        if isinstance(kept, tuple) and kept[0] is store:
            authenticator: Authenticator = kept[1]
        else:
            # Namespace tokens only: the app's own admin needs are the app's business.
            authenticator = Authenticator(store, None)
            setattr(request.app.state, _AUTHENTICATOR, (store, authenticator))
        header = f"Bearer {credentials.credentials}" if credentials is not None else None
        client = request.client.host if request.client else "unknown"
        caller = await authenticator.caller(header, client)
        if caller.namespace is None:  # no admin token is given to this authenticator: never
            raise authenticator.refuse(403, f"admin token from {client}", "a namespace token is required")
        if caller.read_only and request.method not in ("GET", "HEAD"):
            raise authenticator.refuse(403, f"read-only token {caller.name!r} writing", "this token is read-only")
        return store.for_namespace(caller.namespace, actor=caller.name if actor_from_name else None)

    return dependency
