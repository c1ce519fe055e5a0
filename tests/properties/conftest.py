"""Property tests run many examples against one store, on one event loop per test."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from docstore import Store, open_store

T = TypeVar("T")


class StoreRunner:
    """A store (memory or local) and the loop it lives on, for synchronous hypothesis tests."""

    def __init__(self, url: str) -> None:
        self._runner = asyncio.Runner()
        self.store: Store = open_store(url)
        self.run(self.store.initialize())

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self._runner.run(coroutine)

    def close(self) -> None:
        self.run(self.store.shutdown())
        self._runner.close()


@pytest.fixture(params=["memory", "local"])
def runner(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreRunner]:
    made = StoreRunner("memory://" if request.param == "memory" else f"local://{tmp_path / 'store'}")
    yield made
    made.close()
