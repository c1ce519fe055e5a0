"""``MemoryEngine``: the engine of ``memory://``, a mongomock database gone on shutdown.

It hands ``MongoBackend`` a database with PyMongo's async surface (``_mongomock_adapter``),
so the repositories, Beanie models, index plans and migrations of ``docstore._mongo`` run
here exactly as they run on ``mongodb://``. No transactions, no text index (search is a
word regex on this engine).
"""

from __future__ import annotations

from typing import Any, TypeVar

from .._config import StorageConfig
from .._mongo._engines import AtomicWork, without_transaction
from ._pins import check_pinned_versions, check_request_slots

__all__ = ["MemoryEngine"]

T = TypeVar("T")


class MemoryEngine:
    name = "memory"
    supports_text_search = False

    def __init__(self, config: StorageConfig) -> None:
        # Before importing the adapter: with another mongomock it might import and then misbehave.
        check_pinned_versions()
        check_request_slots()
        from ._mongomock_adapter import MockDatabase

        self._database = MockDatabase(config.database)

    @property
    def database(self) -> Any:
        return self._database

    async def open(self) -> None:
        return None

    async def load(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def server_info(self) -> dict[str, Any]:
        return {"server_version": "mongomock (in memory)", "transactions": False}

    async def run_atomically(self, work: AtomicWork[T]) -> tuple[T, bool]:
        return await without_transaction(work)
