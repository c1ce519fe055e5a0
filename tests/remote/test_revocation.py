"""Revocation wins every race with a token's "last used" bookkeeping, on every server process.

The bookkeeping used to read the token's document and write it back whole: a revocation
landing between the two was undone (the token stored again, working again).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from docstore import open_store
from docstore._server import _auth
from docstore._server._tokens import TOKENS, TokenStore
from docstore.server import create_app

from .servers import ADMIN_TOKEN, InProcess, asgi_server

ROUNDS = 60


async def _count(client: httpx.AsyncClient, token: str) -> int:
    response = await client.post("/v1/sessions/count_sessions", json={}, headers={"Authorization": f"Bearer {token}"})
    return response.status_code


async def test_a_revocation_landing_before_the_bookkeeping_write_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worst interleaving, forced: the token is revoked just before the server's write."""
    async with asgi_server("memory://") as (server, store):
        tokens = TokenStore(store.documents)
        secret, _ = await tokens.create("cs101", name="raced")
        documents = store.documents
        write: Callable[..., Awaitable[Any]] = documents.upsert_documents

        async def revoke_first(collection: str, batch: list[dict[str, Any]], **options: Any) -> Any:
            if await tokens.find(secret) is not None:
                await tokens.revoke("raced")
            return await write(collection, batch, **options)

        monkeypatch.setattr(documents, "upsert_documents", revoke_first)
        async with server.http() as client:
            # Authenticated before the revocation, so this one call may still be served...
            assert await _count(client, secret) in (200, 401)
        assert await tokens.find(secret) is None  # ...but the token is not stored again
        assert [info.name for info in await tokens.list()] == []


async def test_revocation_wins_every_race_with_concurrent_use(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """60 rounds: a token used by 8 concurrent requests while it is revoked; it never comes back."""
    monkeypatch.setattr(_auth, "TOUCH_EVERY_S", 0.0)  # bookkeeping on every use: the widest race
    async with asgi_server(f"local://{tmp_path}") as (server, store):
        tokens = TokenStore(store.documents)
        async with server.http() as client:
            came_back = 0
            for round_ in range(ROUNDS):
                secret, _ = await tokens.create("cs101", name=f"t{round_}")
                uses = [asyncio.create_task(_count(client, secret)) for _ in range(8)]
                await asyncio.sleep(0)
                await tokens.revoke(f"t{round_}")  # the CLI's way: in the store, not through the server
                statuses = await asyncio.gather(*uses)
                assert set(statuses) <= {200, 401}
                came_back += await tokens.find(secret) is not None
            assert came_back == 0
            _app_of(server).state.docstore.auth.forget()  # what TOKEN_CACHE_S does on its own
            for round_ in range(0, ROUNDS, 7):
                assert await _count(client, f"t{round_}") == 401


async def test_revoked_in_the_store_every_server_process_refuses_within_the_bound(tmp_path: Path) -> None:
    """Two servers over one local:// store (two processes in production): both refuse the
    token at most ``TOKEN_CACHE_S`` after a revocation made elsewhere (the CLI)."""
    url = f"local://{tmp_path}"
    async with open_store(url) as first, open_store(url) as second:
        secret, _ = await TokenStore(first.documents).create("cs101", name="shared")
        apps = [create_app(store, admin_token=ADMIN_TOKEN) for store in (first, second)]
        clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") for app in apps]
        try:
            assert [await _count(client, secret) for client in clients] == [200, 200]
            async with open_store(url) as cli:
                await TokenStore(cli.documents).revoke("shared")
            await asyncio.sleep(_auth.TOKEN_CACHE_S + 0.1)  # the bound, and a margin for the clock
            assert [await _count(client, secret) for client in clients] == [401, 401]
        finally:
            for client in clients:
                await client.aclose()


async def test_bookkeeping_shows_in_the_list_and_is_dropped_with_the_token() -> None:
    async with asgi_server("memory://") as (server, store):
        tokens = TokenStore(store.documents)
        secret, _ = await tokens.create("cs101", name="used")
        async with server.http() as client:
            assert await _count(client, secret) == 200
        [info] = await tokens.list()
        assert info.last_used is not None and info.last_used >= info.created_at
        await tokens.revoke("used")
        assert await tokens.list() == []
        assert [d async for d in store.documents.iter_documents(TOKENS)] == []


def _app_of(server: InProcess) -> Any:
    """The app behind an in-process server (its transport's)."""
    return getattr(server.transport, "app")  # noqa: B009 (the in-process transport's app, whatever its class)
