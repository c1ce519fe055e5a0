"""``Store`` and ``open_store``: a backend picked by URL scheme, namespaces, lifecycle, health."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from pydantic import SecretStr, ValidationError

from ._config import StorageConfig, mask_secrets
from ._connect import connecting_details, open_or_defer, stop_retrying, unreachable
from ._errors import ErrorCode, PersistenceError
from ._extras import make_backend
from ._guarded import guarded_documents, guarded_problems, guarded_revisions, guarded_sessions
from ._interfaces import (
    CollectionStats,
    DocumentStore,
    IndexAdministration,
    ProblemRepository,
    Repositories,
    RevisionRepository,
    Scope,
    SessionRepository,
    StorageBackend,
)
from ._mapping import require_id

if TYPE_CHECKING:
    import httpx  # an optional extra (docstore[remote]): imported by the remote backend only

    from ._cache import ReadCache
    from ._memory_feed import MemoryChangeLog  # memory:// only: imported where that engine opens

__all__ = ["HealthReport", "Store", "StoreSettings", "make_backend", "open_store"]


@dataclass(frozen=True)
class HealthReport:
    """What ``Store.health()`` found: reachable or not, how fast, and facts about the engine."""

    ok: bool
    engine: str
    latency_ms: float
    details: dict[str, Any] = field(default_factory=dict)


class _Shared:
    """What a store and all its namespace views share: one backend and its state."""

    def __init__(self, config: StorageConfig, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.transport = transport  # http(s):// only: what the client's requests go through (injected)
        self.backend: StorageBackend | None = None
        self.status = "new"  # -> ("connecting" ->) "open" -> "closed"
        self.last_error: PersistenceError | None = None  # why a lazy store is still connecting
        self.retrying: asyncio.Task[None] | None = None  # its background connect
        self.lock = asyncio.Lock()
        # One read cache for the store and all its views (their entries are keyed by namespace).
        self.cache: ReadCache | None = None
        if config.cache_ttl_s > 0:
            from ._cache import ReadCache  # here: a store without a read cache never loads it

            self.cache = ReadCache(config.cache_ttl_s, config.cache_max_entries)
        # memory:// only: the in-process log its live feeds read (other engines keep their own).
        self.change_log: MemoryChangeLog | None = None

    def open_backend(self) -> StorageBackend:
        """The backend, once initialized and until shut down; STORAGE_ERROR otherwise."""
        if self.status == "connecting":
            raise unreachable(self)
        if self.status != "open" or self.backend is None:
            raise PersistenceError(
                ErrorCode.STORAGE_ERROR,
                "the store is shut down"
                if self.status == "closed"
                else "the store is not initialized; call `await store.initialize()` or use `async with store:`",
            )
        return self.backend




def _documents(shared: _Shared) -> DocumentStore:
    """The backend's whole collections, through the read cache if the store has one."""
    from ._cached_documents import cached_documents  # here: opening and reading never needs it

    return cached_documents(shared.open_backend().documents, shared.cache)


class Store:
    """The three repositories over one backend. ``open_store()`` makes one.

    ``sessions``, ``problems`` and ``revisions`` are the repository interfaces; which
    backend serves them (MongoDB, memory, local files, a remote server) is the URL's
    business, never the caller's.
    """

    def __init__(
        self,
        config: StorageConfig,
        *,
        scope: Scope | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        _shared: _Shared | None = None,
    ) -> None:
        self._shared = _shared or _Shared(config, transport)
        self.config = config
        self.scope = scope or Scope()
        # (backend, its repositories for this view): made on first use after opening.
        self._repositories: tuple[StorageBackend, Repositories] | None = None
        shared = self._shared
        self._guards = (
            guarded_sessions(shared, lambda: self._open_repositories().sessions),
            guarded_problems(shared, lambda: self._open_repositories().problems),
            guarded_revisions(shared, lambda: self._open_repositories().revisions),
            guarded_documents(shared, lambda: _documents(shared)),
        )

    @property
    def sessions(self) -> SessionRepository:
        """Sessions and their students."""
        return self._guards[0]

    @property
    def problems(self) -> ProblemRepository:
        """The problem library."""
        return self._guards[1]

    @property
    def revisions(self) -> RevisionRepository:
        """Code revisions."""
        return self._guards[2]

    def _open_repositories(self) -> Repositories:
        """The backend's repositories for this view; STORAGE_ERROR unless the store is open."""
        backend = self._shared.open_backend()
        if self._repositories is None or self._repositories[0] is not backend:
            repositories = backend.repositories(self.scope)
            log = self._shared.change_log
            if log is not None:
                from ._memory_feed import recording  # memory:// only (log is set for it alone)

                sessions, revisions = recording(repositories.sessions, repositories.revisions, log, self.namespace)
                repositories = Repositories(sessions, repositories.problems, revisions)
            cache = self._shared.cache
            if cache is not None:
                from ._cache import cached_repositories

                repositories = cached_repositories(repositories, cache, self.scope.namespace)
            self._repositories = (backend, repositories)
        return self._repositories[1]

    @property
    def namespace(self) -> str | None:
        """The namespace this view is confined to; None for the whole store."""
        return self.scope.namespace

    @property
    def actor(self) -> str | None:
        """Who this view records as created_by/modified_by; None when nobody was named."""
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
        self._shared.open_backend()  # STORAGE_ERROR now, saying why, rather than at the first call
        return self._guards[3]

    def index_administration(self) -> IndexAdministration | None:
        """The backend's index management (``docstore init``), or None where the backend keeps its own."""
        if self.namespace is not None:
            raise PersistenceError(ErrorCode.PERMISSION_DENIED, "a namespace view cannot manage indexes")
        documents = self._shared.open_backend().documents
        return documents if isinstance(documents, IndexAdministration) else None

    # -- lifecycle ---------------------------------------------------------------
    async def initialize(self) -> None:
        """Connect (or open the files), create indexes. Safe to call twice.

        With ``lazy_connect``, a server out of reach does not fail it: the store connects in
        the background and calls are UNAVAILABLE until then (``_connect.py``).
        """
        shared = self._shared
        async with shared.lock:
            if shared.status in ("open", "connecting"):
                return
            if shared.status == "closed":
                raise PersistenceError(ErrorCode.STORAGE_ERROR, "the store is shut down; open a new one")
            # Only a server can come back by itself: local:// and memory:// open or fail now.
            lazy = shared.config.lazy_connect and shared.config.engine in ("mongodb", "remote")
            await open_or_defer(shared, lambda: make_backend(shared.config, shared.transport), lazy)
            if shared.backend is not None and shared.backend.name == "memory":
                # memory:// never waits for a server: it is open here, not in the background.
                from ._memory_feed import MemoryChangeLog  # here: no other engine loads it

                shared.change_log = MemoryChangeLog()
            backend = shared.backend
        if backend is None:  # connecting in the background (lazy_connect): nothing to read yet
            return
        # A remote store's server says so in its own health: no extra round trip on every open.
        note = None if backend.name == "remote" else await _interrupted_restore(backend)
        if note is not None:
            logging.getLogger("docstore").warning("%s: %s", shared.config.masked_url, note)

    async def shutdown(self) -> None:
        """Flush and release everything. Safe to call twice; calls afterwards fail."""
        shared = self._shared
        async with shared.lock:
            if shared.status == "closed":
                return
            backend, shared.backend, shared.status = shared.backend, None, "closed"
            await stop_retrying(shared)
            if shared.cache is not None:
                shared.cache.clear()
            if shared.change_log is not None:
                shared.change_log.close()
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
            if self._shared.status == "connecting":
                return HealthReport(False, self.engine_name, 0.0, connecting_details(self._shared))
            return HealthReport(False, self.engine_name, 0.0, {"error": f"store is {self._shared.status}"})
        try:
            details = await backend.server_info()
        except PersistenceError as error:
            latency = (time.perf_counter() - started) * 1000
            return HealthReport(False, backend.name, latency, {"error": error.message, "code": error.code.value})
        latency = (time.perf_counter() - started) * 1000
        note = await _interrupted_restore(backend)
        if note is not None:
            return HealthReport(False, backend.name, latency, {**details, "restore": note})
        if self._shared.cache is not None:
            details = {**details, "cache": self._shared.cache.stats()}
        return HealthReport(True, backend.name, latency, details)


class StoreSettings(TypedDict, total=False):
    """The keyword settings of ``open_store``: every ``StorageConfig`` field but ``url``.

    Spelled out so that a type checker catches a misspelled or mistyped setting
    (``open_store("memory://", databse="x")``); at run time a misspelling is
    INVALID_DATA all the same. See ``StorageConfig`` for what each one means.
    """

    database: str
    server_selection_timeout_ms: int
    connect_timeout_ms: int
    socket_timeout_ms: int
    max_pool_size: int
    min_pool_size: int
    tls_ca_file: str | None
    app_name: str
    write_concern: str | None
    retry_writes: bool
    retry_reads: bool
    username: str | None
    password: str | SecretStr | None
    token: str | SecretStr | None
    max_answer_mb: int
    cache_ttl_s: float
    cache_max_entries: int
    create: bool
    lazy_connect: bool


async def _interrupted_restore(backend: StorageBackend) -> str | None:
    """What to tell whoever opens or pings a store that a restore left half-done (``_restore_journal``)."""
    from ._restore_journal import describe, interrupted_restore_of  # here: it imports this module

    try:
        state = await interrupted_restore_of(backend.documents)
    except Exception:  # advisory: a token without whole collections, a server that answers junk
        return None
    return None if state is None else describe(state)


def open_store(
    target: str | StorageConfig | None = None,
    *,
    actor: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    **settings: Unpack[StoreSettings],
) -> Store:
    """A store for a URL or a ``StorageConfig``; with neither, from ``DOCSTORE_*`` (default local).

    ``settings`` override the config's fields (``StoreSettings``); ``actor`` is recorded
    as created_by/modified_by of what the store writes. ``transport`` (``http(s)://``
    only) is the httpx transport its requests go through, as ``httpx.AsyncClient`` takes
    one: a server app in this process (``docstore._remote.asgi_transport(app)``), a mock;
    the caller owns it (the store never closes it). The store is not connected yet:
    use ``async with open_store(...) as store:`` or ``await store.initialize()``. A bad
    URL or setting is ``INVALID_DATA``.
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
    if transport is not None and config.engine != "remote":
        raise PersistenceError(ErrorCode.INVALID_DATA, f"transport= is for http(s):// stores, not {config.engine}://")
    scope = Scope(None, require_id(actor, "actor") if actor is not None else None)
    return Store(config, scope=scope, transport=transport)
