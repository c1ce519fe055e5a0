"""Shared fixtures: a store on every engine the machine can offer."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from docstore import Store, open_store

MONGODB_URL_VARIABLE = "DOCSTORE_TEST_MONGODB_URL"
ENGINES = ["memory", "local", "mongodb"]


class StoreFactory:
    """Opens stores on one engine; a local engine reopens the same folder."""

    def __init__(self, engine: str, tmp_path: Path) -> None:
        self.engine = engine
        self.local_dir = tmp_path / "store"
        self.database = f"docstore_test_{uuid.uuid4().hex[:12]}"
        self.url = {
            "memory": "memory://",
            "local": f"local://{self.local_dir}",
            "mongodb": os.environ.get(MONGODB_URL_VARIABLE, ""),
        }[engine]

    def open(self) -> Store:
        return open_store(self.url, database=self.database)

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
    yield made
    await made.drop()


@pytest.fixture
async def store(factory: StoreFactory) -> AsyncIterator[Store]:
    async with factory.open() as opened:
        yield opened
