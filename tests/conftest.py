"""Shared fixtures: a store on every engine the machine can offer."""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from docstore import Store, open_store

try:
    from _pytest.nodeid import NodeId
except ImportError:  # pytest before 9: an item's id is the string ``_nodeid``

    class NodeId:  # type: ignore[no-redef]  # never an item's id: the string road is taken
        pass

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


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers at most. Many tests start servers and subprocesses of their own,
    whose deadlines assume they are not sharing a core with more than one other test."""
    return max(1, min(2, os.cpu_count() or 1))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """One node id an item. schemathesis gives every operation of a test the test's own id, and
    pytest-xdist schedules items by id: it would run one operation of forty."""
    shared = Counter(item.nodeid for item in items)
    for item in items:
        if shared[item.nodeid] > 1:
            own = f"{item.nodeid.rpartition('::')[0]}::{item.name}"  # the name holds the operation
            if isinstance(getattr(item, "_id", None), NodeId):
                item._id = NodeId.parse(own)  # pytest 9's structured id (what ``nodeid`` reads)
            else:
                setattr(item, "_nodeid", own)  # noqa: B010  # no such attribute in pytest 9's stubs
    if len({item.nodeid for item in items}) != len(items):
        raise pytest.UsageError("two test items share a node id: pytest-xdist would run only one of them")


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
