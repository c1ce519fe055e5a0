"""``Store`` and ``open_store``: a backend picked by URL scheme, namespaces, lifecycle, health."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from pydantic import ValidationError

from ._cache import ReadCache, cached_repositories
from ._config import StorageConfig, mask_secrets
from ._errors import ErrorCode, PersistenceError
from ._interfaces import (
    CollectionStats,
    DocumentStore,
    ProblemRepository,
    Repositories,
    RevisionRepository,
    Scope,
    SessionRepository,
    StorageBackend,
)
from ._mapping import require_id

__all__ = ["HealthReport", "Store", "make_backend", "open_store"]


@dataclass(frozen=True)
class HealthReport:
    """What ``Store.health()`` found: reachable or not, how fast, and facts about the engine."""

    ok: bool
    engine: str
    latency_ms: float
    details: dict[str, Any] = field(default_factory=dict)


def make_backend(config: StorageConfig) -> StorageBackend:
    """The backend for the config's URL scheme (imported on demand: a memory store loads no SQLite)."""
    engine = config.engine
    if engine in ("mongodb", "memory"):
        from ._mongo import MongoBackend

        return MongoBackend(config)
    if engine == "local":
        from ._mongo import MongoBackend as LocalBackend  # replaced by _sqlite in the next step

        return LocalBackend(config)
    if engine == "remote":
        from ._remote import RemoteBackend

        return RemoteBackend(config)
    raise PersistenceError(ErrorCode.INVALID_DATA, f"no backend for {config.masked_url!r}")


class _Shared:
    """What a store and all its namespace views share: one backend and its state."""

    def __init__(self, config: StorageConfig) -> None:
        self.config = config
        self.backend: StorageBackend | None = None
        self.status = "new"  # -> "open" -> "closed"
        self.lock = asyncio.Lock()
        # One read cache for the store and all its views (their entries are keyed by namespace).
        self.cache = ReadCache(config.cache_ttl_s, config.cache_max_entries) if config.cache_ttl_s > 0 else None

    def open_backend(self) -> StorageBackend:
        """The backend, once initialized and until shut down; STORAGE_ERROR otherwise."""
        if self.status != "open" or self.backend is None:
            raise PersistenceError(
                ErrorCode.STORAGE_ERROR,
                "the store is shut down"
                if self.status == "closed"
                else "the store is not initialized; call `await store.initialize()` or use `async with store:`",
            )
        return self.backend


class _Unopened:
    """Stands in for every repository until the store is open: each call says why it cannot run."""

    def __init__(self, shared: _Shared) -> None:
        self._shared = shared

    def __getattr__(self, name: str) -> Any:
        async def refuse(*_: Any, **__: Any) -> Any:
            self._shared.open_backend()  # raises STORAGE_ERROR saying why
            raise AssertionError("unreachable")

        return refuse


class Store:
    """The three repositories over one backend. ``open_store()`` makes one.

    ``sessions``, ``problems`` and ``revisions`` are the repository interfaces; which
    backend serves them (MongoDB, memory, local files, a remote server) is the URL's
    business, never the caller's.
    """

    def __init__(self, config: StorageConfig, *, scope: Scope | None = None, _shared: _Shared | None = None) -> None:
        self._shared = _shared or _Shared(config)
        self.config = config
        self.scope = scope or Scope()
        self._repositories: Repositories | None = None

    @property
    def sessions(self) -> SessionRepository:
        """Sessions and their students."""
        return self._repositories_now().sessions

    @property
    def problems(self) -> ProblemRepository:
        """The problem library."""
        return self._repositories_now().problems

    @property
    def revisions(self) -> RevisionRepository:
        """Code revisions."""
        return self._repositories_now().revisions

    def _repositories_now(self) -> Repositories:
        """The backend's repositories for this view, made on first use after opening."""
        shared = self._shared
        if shared.status != "open" or shared.backend is None:
            self._repositories = None
            unopened: Any = _Unopened(shared)  # every call on it raises STORAGE_ERROR saying why
            return Repositories(unopened, unopened, unopened)
        if self._repositories is None:
            repositories = shared.backend.repositories(self.scope)
            if shared.cache is not None:
                repositories = cached_repositories(repositories, shared.cache, self.scope.namespace)
            self._repositories = repositories
        return self._repositories

    @property
    def namespace(self) -> str | None:
        return self.scope.namespace

    @property
    def actor(self) -> str | None:
        return self.scope.actor

    def __repr__(self) -> str:
        where = f", namespace={self.namespace!r}" if self.namespace else ""
        return f"Store({self.config.masked_url!r}{where}, {self._shared.status})"

    def for_namespace(self, namespace: str, *, actor: str | None = None) -> Store:
        """A view on the same store: reads see only ``namespace``, writes are stamped with it."""
        require_id(namespace, "namespace")
        if self.namespace is not None and namespace != self.namespace:
            raise PersistenceError(ErrorCode.PERMISSION_DENIED, "a namespace view cannot open another namespace")
        return Store(self.config, scope=Scope(namespace, actor or self.actor), _shared=self._shared)

    def as_actor(self, actor: str) -> Store:
        """The same view, recording ``actor`` as created_by/modified_by of what it writes."""
        return Store(self.config, scope=Scope(self.namespace, require_id(actor, "actor")), _shared=self._shared)

    @property
    def engine_name(self) -> str:
        """The backend's name: ``mongodb``, ``memory``, ``local`` or ``remote``."""
        backend = self._shared.backend
        return backend.name if backend is not None else self.config.engine

    @property
    def documents(self) -> DocumentStore:
        """Whole collections of stored documents, for tools (import, export, restore).

        Unscoped, so a namespace view may not have it (PERMISSION_DENIED).
        """
        if self.namespace is not None:
            raise PersistenceError(ErrorCode.PERMISSION_DENIED, "a namespace view cannot reach whole collections")
        return self._shared.open_backend().documents

    # -- lifecycle ---------------------------------------------------------------
    async def initialize(self) -> None:
        """Connect (or open the files), create indexes. Safe to call twice."""
        shared = self._shared
        async with shared.lock:
            if shared.status == "open":
                return
            if shared.status == "closed":
                raise PersistenceError(ErrorCode.STORAGE_ERROR, "the store is shut down; open a new one")
            backend = make_backend(shared.config)
            try:
                await backend.initialize()
            except BaseException:
                await backend.shutdown()
                raise
            shared.backend = backend
            shared.status = "open"

    async def shutdown(self) -> None:
        """Flush and release everything. Safe to call twice; calls afterwards fail."""
        shared = self._shared
        async with shared.lock:
            if shared.status == "closed":
                return
            backend, shared.backend, shared.status = shared.backend, None, "closed"
            if shared.cache is not None:
                shared.cache.clear()
            if backend is not None:
                await backend.shutdown()

    async def __aenter__(self) -> Store:
        await self.initialize()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.shutdown()

    async def stats(self) -> dict[str, CollectionStats]:
        """Documents and indexes of every collection, by name."""
        return await self.documents.collection_stats()

    async def health(self) -> HealthReport:
        """Ping the backend. Never raises: a failure is ``ok=False`` with the reason."""
        backend = self._shared.backend
        started = time.perf_counter()
        if backend is None:
            return HealthReport(False, self.engine_name, 0.0, {"error": f"store is {self._shared.status}"})
        try:
            details = await backend.server_info()
        except PersistenceError as error:
            latency = (time.perf_counter() - started) * 1000
            return HealthReport(False, backend.name, latency, {"error": error.message, "code": error.code.value})
        latency = (time.perf_counter() - started) * 1000
        if self._shared.cache is not None:
            details = {**details, "cache": self._shared.cache.stats()}
        return HealthReport(True, backend.name, latency, details)


def open_store(target: str | StorageConfig | None = None, *, actor: str | None = None, **settings: Any) -> Store:
    """A store for a URL or a ``StorageConfig``; with neither, from ``DOCSTORE_*`` (default local).

    The store is not connected yet: use ``async with open_store(...) as store:``
    or ``await store.initialize()``. A bad URL or setting is ``INVALID_DATA``.
    """
    try:
        if isinstance(target, StorageConfig):
            config = StorageConfig.model_validate({**target.model_dump(), **settings}) if settings else target
        elif target is None:
            config = StorageConfig(**settings)
        elif isinstance(target, str):
            config = StorageConfig(url=target, **settings)
        else:
            raise PersistenceError(
                ErrorCode.INVALID_DATA, f"open_store takes a URL or a StorageConfig, not {type(target).__name__}"
            )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise PersistenceError(ErrorCode.INVALID_DATA, f"invalid configuration: {mask_secrets(problems)}") from None
    return Store(config, scope=Scope(None, require_id(actor, "actor") if actor is not None else None))
