"""An app under test: its lifespan entered, reached in process through httpx (no socket)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

__all__ = ["Client", "serving"]


class Client(httpx.AsyncClient):
    """An httpx client of one app, which it keeps at hand (``client.app``)."""

    def __init__(self, app: FastAPI) -> None:
        super().__init__(transport=httpx.ASGITransport(app=app), base_url="http://app.test")
        self.app = app


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[Client]:
    """The app started (its lifespan runs: the store opens) and a client of it; stopped on exit."""
    async with app.router.lifespan_context(app), Client(app) as client:
        yield client
