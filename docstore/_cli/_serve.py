"""``docstore serve``: the HTTP API over a store, with uvicorn (FastAPI loaded only here)."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import click

from ._app import EXIT_OK, Failure, errors, main, open_from_url, run, url_option

__all__ = ["serve"]


@main.command()
@url_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every one).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--max-body-mb", default=16.0, show_default=True, type=click.FloatRange(min=0, min_open=True), help="Largest body."
)
@click.option("--access-log/--no-access-log", default=False, show_default=True, help="One log line per request.")
def serve(url: str | None, host: str, port: int, max_body_mb: float, access_log: bool) -> None:
    """Serve the store over HTTP: /v1/... (token needed), /v1/health, /docs.

    Tokens: DOCSTORE_ADMIN_TOKEN (every namespace) and those of `docstore token create`.
    The server refuses to start when no one could authenticate.
    """
    _use_uvloop()
    run(_serve(url, host, port, int(max_body_mb * 1024 * 1024), access_log))


def _use_uvloop() -> None:
    """uvloop where it is installed (as uvicorn itself would pick it): about twice the requests per second."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def _limits() -> dict[str, Any]:
    """uvicorn settings capping a request's line and headers (431) before they are buffered."""
    from .._server import uvicorn_limits

    return uvicorn_limits()


async def _serve(url: str | None, host: str, port: int, max_body_bytes: int, access_log: bool) -> int:
    import uvicorn

    # Refusals are logged by "docstore.server" (who, never the token), beside uvicorn's lines.
    logging.basicConfig(format="%(levelname)s:     %(name)s: %(message)s", level=logging.INFO)

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
