"""``RemoteBackend``: a store whose engine is a docstore server (``http://`` and ``https://``)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from .._config import StorageConfig
from .._errors import ErrorCode, PersistenceError
from .._interfaces import DocumentStore, Repositories, Scope
from .._wire import API_PREFIX
from ._document_store import RemoteDocumentStore
from ._repositories import RemoteProblemRepository, RemoteRevisionRepository, RemoteSessionRepository
from ._transport import Transport

__all__ = ["RemoteBackend"]


class RemoteBackend:
    """``StorageBackend`` over HTTP: the same repositories, served by ``docstore serve``."""

    name = "remote"

    def __init__(self, config: StorageConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        """``transport``: what requests go through instead of a socket to the URL (injected, as httpx does)."""
        self.config = config
        self._transport = Transport(config, transport)
        self._documents = RemoteDocumentStore(self._transport)

    async def initialize(self) -> None:
        self._transport.open()
        # Fail now, as the other engines do, when the server cannot be reached or the
        # token is refused: not at the first call of a request handler.
        await self.server_info()

    async def shutdown(self) -> None:
        await self._transport.close()

    async def server_info(self) -> dict[str, Any]:
        content = await self._transport.request("GET", f"{API_PREFIX}/info", read=True)
        try:
            info = json.loads(content)
            server_engine = info.pop("engine")
        except (ValueError, KeyError, AttributeError, TypeError, RecursionError):
            raise PersistenceError(ErrorCode.STORAGE_ERROR, "the server's /v1/info is not a docstore answer") from None
        return {"remote": self.config.masked_url, "server_engine": server_engine, **info}

    def repositories(self, scope: Scope) -> Repositories:
        return Repositories(
            RemoteSessionRepository(self._transport, scope),
            RemoteProblemRepository(self._transport, scope),
            RemoteRevisionRepository(self._transport, scope),
        )

    @property
    def documents(self) -> DocumentStore:
        return self._documents
