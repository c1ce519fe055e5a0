"""Property tests run many examples against one store, on one event loop per test."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from docstore import Store
from tests.conftest import ENGINES, StoreFactory, skip_without_mongodb

T = TypeVar("T")


class StoreRunner:
    """A store on one engine and the loop it lives on, for synchronous hypothesis tests.

    On a remote engine the factory's server runs on that same loop (it serves while a
    ``run`` awaits the client), entered and left as the ``factory`` fixture does.
    """

    def __init__(self, factory: StoreFactory) -> None:
        self._runner = asyncio.Runner()
        self._factory = factory
        self._server = contextlib.AsyncExitStack()
        self.run(self._server.enter_async_context(factory.serving()))
        self.store: Store = factory.open()
        self.run(self.store.initialize())

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self._runner.run(coroutine)

    def close(self) -> None:
        self.run(self.store.shutdown())
        self.run(self._factory.drop())
        self.run(self._server.aclose())
        self._runner.close()


@pytest.fixture(params=["memory", "local"])
def runner(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreRunner]:
    """A runner on each embedded engine (the hostile-input properties)."""
    made = StoreRunner(StoreFactory(request.param, tmp_path))
    yield made
    made.close()


@pytest.fixture(params=ENGINES)
def engine_runner(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreRunner]:
    """A runner on each engine the ``factory`` fixture offers (MongoDB when a server is configured)."""
    if request.param == "mongodb":
        skip_without_mongodb()
    made = StoreRunner(StoreFactory(request.param, tmp_path))
    yield made
    made.close()
