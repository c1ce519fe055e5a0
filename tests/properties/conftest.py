"""Property tests run many examples against one store, on one event loop per test."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from docstore import Store, open_store

T = TypeVar("T")


class StoreRunner:
    """A memory store and the loop it lives on, for synchronous hypothesis tests."""

    def __init__(self) -> None:
        self._runner = asyncio.Runner()
        self.store: Store = open_store("memory://")
        self.run(self.store.initialize())

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self._runner.run(coroutine)

    def close(self) -> None:
        self.run(self.store.shutdown())
        self._runner.close()


@pytest.fixture
def runner() -> Iterator[StoreRunner]:
    made = StoreRunner()
    yield made
    made.close()
