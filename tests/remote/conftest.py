"""A server over memory:// in process, its store, and tokens for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from docstore import Store
from docstore._server._tokens import TokenStore

from .servers import ADMIN_TOKEN, InProcess, asgi_server


@dataclass
class Served:
    server: InProcess  # how clients reach it
    store: Store  # the server's own store (what the server sees)

    @property
    def url(self) -> str:
        return self.server.url

    async def token(self, namespace: str, *, read_only: bool = False, name: str | None = None) -> str:
        secret, _ = await TokenStore(self.store.documents).create(namespace, read_only=read_only, name=name)
        return secret

    def client(self, token: str | None = ADMIN_TOKEN, **settings: Any) -> Store:
        return self.server.open(token=token, **settings)


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    async with asgi_server("memory://") as (server, store):
        yield Served(server, store)
