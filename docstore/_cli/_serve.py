"""``docstore serve``: the HTTP API over a store, with uvicorn (FastAPI loaded only here).

``--workers N`` runs N uvicorn worker processes on one listening socket. Each worker opens
the store itself (``worker_app``, imported by uvicorn in the new process) with the same
settings, read from the environment the parent hands down: the store URL, the admin token
(``DOCSTORE_ADMIN_TOKEN``), the body limit and the access log, so every worker applies them.
Only stores that several processes can share: ``local://`` (SQLite, WAL) and MongoDB.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import click

from ._app import EXIT_OK, Failure, errors, main, open_from_url, run, url_option

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from fastapi import FastAPI

__all__ = ["serve", "worker_app"]

# What the parent hands down to each worker process (beside the DOCSTORE_* settings).
_WORKER_URL = "DOCSTORE_SERVE_URL"
_WORKER_MAX_BODY = "DOCSTORE_SERVE_MAX_BODY_BYTES"
# Log lines name the process: with several workers, which one answered or refused.
_LOG_FORMAT = "%(levelname)s:     [%(process)d] %(name)s: %(message)s"


@main.command()
@url_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every one).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--max-body-mb", default=16.0, show_default=True, type=click.FloatRange(min=0, min_open=True), help="Largest body."
)
@click.option("--access-log/--no-access-log", default=False, show_default=True, help="One log line per request.")
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes (local://, MongoDB)."
)
def serve(url: str | None, host: str, port: int, max_body_mb: float, access_log: bool, workers: int) -> None:
    """Serve the store over HTTP: /v1/... (token needed), /v1/health, /docs.

    Tokens: DOCSTORE_ADMIN_TOKEN (every namespace) and those of `docstore token create`.
    The server refuses to start when no one could authenticate.
    """
    max_body_bytes = int(max_body_mb * 1024 * 1024)
    if workers > 1:
        _serve_workers(url, host, port, max_body_bytes, access_log, workers)
        return
    _use_uvloop()
    run(_serve(url, host, port, max_body_bytes, access_log), handle_sigterm=False)  # uvicorn's own shutdown


def _use_uvloop() -> None:
    """uvloop where it is installed (as uvicorn itself would pick it): about twice the requests per second."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def _server_extra_missing() -> str | None:
    """Why ``serve`` cannot run in this install, or None."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ModuleNotFoundError as error:
        return f"docstore serve needs the docstore[server] extra ({error.name} is not installed): " + (
            "pip install 'docstore[server]'"
        )
    return None


def _limits() -> dict[str, Any]:
    """uvicorn settings capping a request's line and headers (431) before they are buffered."""
    from .._server import uvicorn_limits

    return uvicorn_limits()


async def _serve(url: str | None, host: str, port: int, max_body_bytes: int, access_log: bool) -> int:
    missing = _server_extra_missing()
    if missing is not None:
        raise Failure(missing)
    import uvicorn

    # Refusals are logged by "docstore.server" (who, never the token), beside uvicorn's lines.
    logging.basicConfig(format=_LOG_FORMAT, level=logging.INFO)

    from .._server import ADMIN_TOKEN_VARIABLE, create_app, ensure_someone_can_authenticate

    store = open_from_url(url)
    if store.engine_name == "remote":
        raise Failure("serve a store (mongodb://, local://, memory://), not another server")
    async with store:
        app = create_app(store, admin_token=os.environ.get(ADMIN_TOKEN_VARIABLE), max_body_bytes=max_body_bytes)
        await ensure_someone_can_authenticate(app)  # PERMISSION_DENIED: exit 2 with the reason
        errors.print(f"docstore serving {store.config.masked_url} on http://{host}:{port}", highlight=False)
        config = uvicorn.Config(
            app, host=host, port=port, log_level="info", proxy_headers=True, access_log=access_log, **_limits()
        )
        await uvicorn.Server(config).serve()
    return EXIT_OK


def _serve_workers(url: str | None, host: str, port: int, max_body_bytes: int, access_log: bool, workers: int) -> None:
    """Check the store once here, then let uvicorn run ``workers`` processes of ``worker_app``."""
    missing = _server_extra_missing()
    if missing is not None:
        _fail(missing)
    import uvicorn

    store = open_from_url(url)
    if store.engine_name not in ("local", "mongodb"):
        _fail(f"--workers needs a store that several processes share (local://, mongodb://), not {store.engine_name}")
    # The same refusals as one process gives (no one could authenticate, unreachable store),
    # once, before any worker starts; the parent then holds nothing open.
    run_checked = _check_before_workers(store)
    if run_checked is not None:
        _fail(run_checked)
    os.environ[_WORKER_URL] = store.config.url
    os.environ[_WORKER_MAX_BODY] = str(max_body_bytes)
    where = f"{store.config.masked_url} on http://{host}:{port}"
    errors.print(f"docstore serving {where} ({workers} workers)", highlight=False)
    uvicorn.run(
        f"{__name__}:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        log_config=_uvicorn_log_config(),
        proxy_headers=True,
        access_log=access_log,
        **_limits(),  # the same head caps (431) in every worker
    )


def _fail(message: str) -> None:
    async def failing() -> int:
        raise Failure(message)

    run(failing())


def _check_before_workers(store: Any) -> str | None:
    """Why the workers must not start (as ``docstore serve`` alone would refuse), or None."""
    from .._errors import PersistenceError
    from .._server import ADMIN_TOKEN_VARIABLE, create_app, ensure_someone_can_authenticate

    async def check() -> None:
        async with store:
            app = create_app(store, admin_token=os.environ.get(ADMIN_TOKEN_VARIABLE))
            await ensure_someone_can_authenticate(app)

    try:
        asyncio.run(check())
    except PersistenceError as error:
        return error.message
    return None


def _uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's logging, each line naming its process."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    for formatter in config["formatters"].values():
        formatter["fmt"] = formatter["fmt"].replace("%(levelprefix)s", "%(levelprefix)s [%(process)d]")
    config["loggers"]["docstore"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def worker_app() -> FastAPI:
    """One worker's app (``uvicorn ... --factory``): its own store, opened and closed with the worker."""
    from .._server import ADMIN_TOKEN_VARIABLE, create_app

    store = open_from_url(os.environ.get(_WORKER_URL))
    app = create_app(
        store,
        admin_token=os.environ.get(ADMIN_TOKEN_VARIABLE),
        max_body_bytes=int(os.environ.get(_WORKER_MAX_BODY, str(16 * 1024 * 1024))),
    )
    served = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(started: FastAPI) -> AsyncIterator[None]:
        async with store, served(started):
            yield

    app.router.lifespan_context = lifespan
    return app
