"""The remote backend (``http://`` and ``https://``): the repositories of a docstore server, over httpx."""

from __future__ import annotations

from typing import Any

import httpx

from ._asgi import StreamingASGITransport
from ._backend import RemoteBackend

__all__ = ["RemoteBackend", "asgi_transport"]


def asgi_transport(app: Any) -> httpx.AsyncBaseTransport:
    """A transport that reaches the ASGI ``app`` in this process, without a socket (tests, embedding);
    live feeds stream through it as over a socket. Inject it::

        transport = asgi_transport(create_app(server_store))
        async with open_store("http://docstore.invalid", token=..., transport=transport) as store: ...
    """
    return StreamingASGITransport(app)
