"""``MongoBackend``: the MongoDB dialect behind a store, for ``mongodb://`` and ``memory://``.

One engine (``_engines.py``) hands out a database with PyMongo's async surface:
PyMongo's ``AsyncMongoClient`` in production, mongomock through
``_mongomock_adapter`` in memory. Beanie 2 binds the collections and creates the
indexes; the repositories then run the same MongoDB queries on either.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, TypeVar

from beanie import init_beanie
from pymongo.errors import ConfigurationError

from .._config import StorageConfig, mask_secrets
from .._errors import ErrorCode, PersistenceError
from .._interfaces import DocumentStore, Repositories, Scope
from ._document_store import MongoDocumentStore
from ._documents import document_models
from ._driver_errors import translate_error
from ._engines import AtomicWork, Engine, make_engine
from ._problems import MongoProblemRepository
from ._revisions import MongoRevisionRepository
from ._sessions import MongoSessionRepository

__all__ = ["MongoBackend"]

T = TypeVar("T")


class MongoBackend:
    """``StorageBackend`` over one MongoDB-dialect engine."""

    def __init__(self, config: StorageConfig) -> None:
        self.config = config
        try:
            self._engine: Engine = make_engine(config)
        except (ValueError, ConfigurationError) as exc:  # the driver refused the URL or an option
            raise PersistenceError(ErrorCode.INVALID_DATA, f"invalid configuration: {mask_secrets(str(exc))}") from None
        self.name = self._engine.name
        self._collections: dict[str, Any] = {}
        self._open = False
        self._documents = MongoDocumentStore(self)

    # -- what the repositories see (``_repository.StoreState``) -------------------
    def collection(self, name: str) -> Any:
        """A collection of the database, bound by Beanie or not (``legacy_*``)."""
        bound = self._collections.get(name)
        # `is not None`, not `or`: PyMongo collections refuse truth testing.
        return bound if bound is not None else self._engine.database[name]

    @property
    def database(self) -> Any:
        return self._engine.database

    @property
    def supports_text_search(self) -> bool:
        return self._engine.supports_text_search

    async def run_atomically(self, work: AtomicWork[T]) -> tuple[T, bool]:
        return await self._engine.run_atomically(work)

    # -- StorageBackend --------------------------------------------------------------
    async def initialize(self) -> None:
        try:
            await self._engine.open()
            models = document_models()
            await init_beanie(database=self._engine.database, document_models=models.all())
            await self._engine.load()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise translate_error(exc) from None
        self._collections = {model.get_collection_name(): model.get_pymongo_collection() for model in models.all()}
        self._open = True

    async def shutdown(self) -> None:
        self._collections = {}
        with contextlib.suppress(Exception):  # nothing left to report to; the engine is gone either way
            await self._engine.close()

    async def server_info(self) -> dict[str, Any]:
        try:
            return await self._engine.server_info()
        except Exception as exc:
            raise translate_error(exc) from None

    def repositories(self, scope: Scope) -> Repositories:
        return Repositories(
            MongoSessionRepository(self, scope.namespace, scope.actor),
            MongoProblemRepository(self, scope.namespace, scope.actor),
            MongoRevisionRepository(self, scope.namespace, scope.actor),
        )

    @property
    def documents(self) -> DocumentStore:
        return self._documents
