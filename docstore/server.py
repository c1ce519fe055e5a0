"""The docstore HTTP API, to mount in an ASGI app of your own.

    from docstore import open_store
    from docstore.server import create_app

    store = open_store("mongodb://...")
    app.mount("/store", create_app(store, admin_token=...))

``docstore serve`` runs the same app with uvicorn and ``uvicorn_limits()`` (head caps, slow
clients' deadlines, feeds closed on SIGTERM): pass them to ``uvicorn.run(app, **uvicorn_limits())``
when you run it yourself. Importing this module loads FastAPI; ``import docstore`` does not.
"""

try:
    from ._server import create_app, ensure_someone_can_authenticate, uvicorn_limits
except ModuleNotFoundError as _error:
    from ._extras import missing_extra

    if not missing_extra(_error, "server"):
        raise
    raise ImportError(
        f"docstore.server needs the docstore[server] extra ({_error.name} is not installed): "
        "pip install 'docstore[server]'"
    ) from None

__all__ = ["create_app", "ensure_someone_can_authenticate", "uvicorn_limits"]
