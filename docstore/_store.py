"""``Store`` and ``open_store``: lifecycle, namespaces, health."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

from beanie import init_beanie
from pydantic import ValidationError
from pymongo.errors import ConfigurationError

from ._config import StorageConfig, mask_secrets
from ._documents import document_models
from ._driver_errors import translate_error
from ._engines import AtomicWork, Engine, make_engine
from ._errors import ErrorCode, PersistenceError
from ._mapping import require_id
from ._problems import ProblemRepository
from ._revisions import RevisionRepository
from ._sessions import SessionRepository

__all__ = ["CollectionStats", "HealthReport", "Store", "open_store"]

T = TypeVar("T")


@dataclass(frozen=True)
class HealthReport:
    ok: bool
    engine: str
    latency_ms: float
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CollectionStats:
    documents: int
    indexes: list[str]


class _State:
    """What a store and all its namespace views share: one engine and its collections."""

    def __init__(self, config: StorageConfig) -> None:
        self.config = config
        self.engine: Engine | None = None
        self.collections: dict[str, Any] = {}
        self.status = "new"  # -> "open" -> "closed"
        self.lock = asyncio.Lock()

    def open_engine(self) -> Engine:
        """The engine, once initialized and until shut down; STORAGE_ERROR otherwise."""
        if self.status != "open" or self.engine is None:
            raise PersistenceError(
                ErrorCode.STORAGE_ERROR,
                "the store is shut down"
                if self.status == "closed"
                else "the store is not initialized; call `await store.initialize()` or use `async with store:`",
            )
        return self.engine

    def collection(self, name: str) -> Any:
        self.open_engine()
        return self.collections[name]

    def raw_collection(self, name: str) -> Any:
        """Any collection of the database, bound or not (the importer's ``legacy_*`` ones)."""
        engine = self.open_engine()
        bound = self.collections.get(name)
        # `is not None`, not `or`: PyMongo collections refuse truth testing.
        return bound if bound is not None else engine.database[name]

    @property
    def supports_text_search(self) -> bool:
        return self.engine is not None and self.engine.supports_text_search

    async def run_atomically(self, work: AtomicWork[T]) -> tuple[T, bool]:
        return await self.open_engine().run_atomically(work)


class Store:
    """The three repositories over one engine. ``open_store()`` makes one."""

    def __init__(
        self,
        config: StorageConfig,
        *,
        namespace: str | None = None,
        actor: str | None = None,
        _state: _State | None = None,
    ) -> None:
        self._state = _state or _State(config)
        self.config = config
        self.namespace = namespace
        self.actor = actor
        self.sessions = SessionRepository(self._state, namespace, actor)
        self.problems = ProblemRepository(self._state, namespace, actor)
        self.revisions = RevisionRepository(self._state, namespace, actor)

    def __repr__(self) -> str:
        scope = f", namespace={self.namespace!r}" if self.namespace else ""
        return f"Store({self.config.masked_url!r}{scope}, {self._state.status})"

    def for_namespace(self, namespace: str, *, actor: str | None = None) -> Store:
        """A view on the same store: reads see only ``namespace``, writes are stamped with it."""
        require_id(namespace, "namespace")
        return Store(self.config, namespace=namespace, actor=actor or self.actor, _state=self._state)

    def as_actor(self, actor: str) -> Store:
        """The same view, recording ``actor`` as created_by/modified_by of what it writes."""
        return Store(self.config, namespace=self.namespace, actor=require_id(actor, "actor"), _state=self._state)

    @property
    def engine_name(self) -> str:
        return self.config.engine

    # -- lifecycle ---------------------------------------------------------------
    async def initialize(self) -> None:
        """Connect (or open the files), create indexes, load data. Safe to call twice."""
        state = self._state
        async with state.lock:
            if state.status == "open":
                return
            if state.status == "closed":
                raise PersistenceError(ErrorCode.STORAGE_ERROR, "the store is shut down; open a new one")
            try:
                engine = make_engine(state.config)
            except (ValueError, ConfigurationError) as exc:  # the driver refused the URL or an option
                raise PersistenceError(
                    ErrorCode.INVALID_DATA, f"invalid configuration: {mask_secrets(str(exc))}"
                ) from None
            try:
                await engine.open()
                models = document_models()
                await init_beanie(database=engine.database, document_models=models.all())
                await engine.load()
            except BaseException as exc:
                await _close_quietly(engine)
                if isinstance(exc, Exception):
                    raise translate_error(exc) from None
                raise
            state.engine = engine
            state.collections = {model.get_collection_name(): model.get_pymongo_collection() for model in models.all()}
            state.status = "open"

    async def shutdown(self) -> None:
        """Flush and release everything. Safe to call twice; calls afterwards fail."""
        state = self._state
        async with state.lock:
            if state.status == "closed":
                return
            engine, state.engine, state.status = state.engine, None, "closed"
            state.collections = {}
            if engine is not None:
                await engine.close()

    async def __aenter__(self) -> Store:
        await self.initialize()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.shutdown()

    def raw_collection(self, name: str) -> Any:
        """A collection as the driver sees it (documents, not domain items).

        For tools that move whole collections (import, export, restore); business
        code uses the repositories.
        """
        return self._state.raw_collection(name)

    async def stats(self) -> dict[str, CollectionStats]:
        """Documents and indexes of every collection, by name."""
        database = self._state.open_engine().database
        result: dict[str, CollectionStats] = {}
        for name in sorted(await database.list_collection_names()):
            collection = self.raw_collection(name)
            indexes = sorted(await collection.index_information())
            # The collection metadata, not a scan: stats must stay cheap on a large server.
            result[name] = CollectionStats(await collection.estimated_document_count(), indexes)
        return result

    async def health(self) -> HealthReport:
        """Ping the engine. Never raises: a failure is ``ok=False`` with the reason."""
        engine = self._state.engine
        started = time.perf_counter()
        if engine is None:
            return HealthReport(False, self.engine_name, 0.0, {"error": f"store is {self._state.status}"})
        try:
            details = await engine.server_info()
        except Exception as exc:  # health reports, it does not raise
            error = translate_error(exc)
            latency = (time.perf_counter() - started) * 1000
            return HealthReport(False, engine.name, latency, {"error": error.message, "code": error.code.value})
        latency = (time.perf_counter() - started) * 1000
        return HealthReport(True, engine.name, latency, details)


async def _close_quietly(engine: Engine) -> None:
    with contextlib.suppress(Exception):  # the original error is the one worth reporting
        await engine.close()


def open_store(target: str | StorageConfig | None = None, *, actor: str | None = None, **settings: Any) -> Store:
    """A store for a URL or a ``StorageConfig``; with neither, from ``DOCSTORE_*`` (default local).

    The store is not connected yet: use ``async with open_store(...) as store:``
    or ``await store.initialize()``.
    """
    try:
        if isinstance(target, StorageConfig):
            config = StorageConfig.model_validate({**target.model_dump(), **settings}) if settings else target
        elif target is None:
            config = StorageConfig(**settings)
        elif isinstance(target, str):
            config = StorageConfig(url=target, **settings)
        else:
            raise TypeError(f"open_store takes a URL or a StorageConfig, not {type(target).__name__}")
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise PersistenceError(ErrorCode.INVALID_DATA, f"invalid configuration: {mask_secrets(problems)}") from None
    return Store(config, actor=actor)
