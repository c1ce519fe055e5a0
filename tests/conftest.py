"""Shared fixtures: a store on every engine the machine can offer."""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from docstore import Store, open_store

if TYPE_CHECKING:
    import httpx

MONGODB_URL_VARIABLE = "DOCSTORE_TEST_MONGODB_URL"
# remote-memory: the client to a server over memory://, in process (ASGI, no socket);
# remote-local: the client to a server over local://, through uvicorn on a real socket.
ENGINES = ["memory", "local", "mongodb", "remote-memory", "remote-local"]


class StoreFactory:
    """Opens stores on one engine; a local engine reopens the same folder.

    ``engine`` is the name a store reports (``remote`` for both remote engines);
    ``behind`` is the engine behind a server.
    """

    def __init__(self, engine: str, tmp_path: Path) -> None:
        self.engine, _, self.behind = engine.partition("-")
        self.local_dir = tmp_path / "store"
        self.database = f"docstore_test_{uuid.uuid4().hex[:12]}"
        self.url = {
            "memory": "memory://",
            "local": f"local://{self.local_dir}",
            "mongodb": os.environ.get(MONGODB_URL_VARIABLE, ""),
            "remote": "",  # set once the server runs
        }[self.engine]
        self.token: str | None = None
        self.transport: httpx.AsyncBaseTransport | None = None  # remote-memory: the app in this process

    def open(self) -> Store:
        if self.engine == "remote":
            return open_store(self.url, token=self.token, transport=self.transport)
        return open_store(self.url, database=self.database)

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
        """For a remote engine: a server over its engine for as long as the test runs."""
        if self.engine != "remote":
            yield
            return
        from tests.remote.servers import ADMIN_TOKEN, asgi_server, uvicorn_server

        self.token = ADMIN_TOKEN
        if self.behind == "memory":
            async with asgi_server("memory://") as (server, _):
                self.url, self.transport = server.url, server.transport
                yield
        else:
            async with uvicorn_server(f"local://{self.local_dir}") as self.url:
                yield

    async def drop(self) -> None:
        if self.engine == "mongodb":
            from pymongo import AsyncMongoClient

            client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(self.url)
            await client.drop_database(self.database)
            await client.close()


def skip_without_mongodb() -> None:
    if not os.environ.get(MONGODB_URL_VARIABLE):
        pytest.skip(f"{MONGODB_URL_VARIABLE} is not set: no MongoDB server to run the contract suite against")


@pytest.fixture(params=ENGINES)
async def factory(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    if request.param == "mongodb":
        skip_without_mongodb()
    made = StoreFactory(request.param, tmp_path)
    async with made.serving():
        yield made
    await made.drop()


@pytest.fixture
async def store(factory: StoreFactory) -> AsyncIterator[Store]:
    async with factory.open() as opened:
        yield opened


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs of its own (root only: skipped where mounting is not permitted)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)
