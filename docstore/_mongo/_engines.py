"""The engines of the MongoDB dialect: the database behind a ``MongoBackend``.

An engine hands out a database with PyMongo's async surface; the repositories and
Beanie do not know which one they talk to. This module holds the ``Engine`` Protocol,
``MongoEngine`` (``mongodb://``, ``mongodb+srv://``: PyMongo's ``AsyncMongoClient``,
transactions where the server has them) and ``make_engine``, which picks one by URL
scheme. ``memory://``'s engine lives in ``docstore._memory`` (mongomock) and is imported
by ``make_engine`` only when asked for. ``local://DIR`` is not this dialect: it is
``docstore._sqlite``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit

from pymongo import AsyncMongoClient

from .._config import StorageConfig

__all__ = ["AtomicWork", "Engine", "MongoEngine", "make_engine", "without_transaction"]


T = TypeVar("T")
# Given the driver session to pass to every call (None where there are no transactions).
AtomicWork = Callable[[Any], Awaitable[T]]


class Engine(Protocol):
    name: str
    supports_text_search: bool

    @property
    def database(self) -> Any: ...

    async def open(self) -> None:
        """Connect, or take hold of the files; before Beanie creates the indexes."""

    async def load(self) -> None:
        """Bring back stored data; after the indexes exist."""

    async def close(self) -> None: ...

    async def server_info(self) -> dict[str, Any]:
        """Answer a ping with facts about the server; raise if it cannot be reached."""

    async def run_atomically(self, work: AtomicWork[T]) -> tuple[T, bool]:
        """Run ``work`` in a transaction where the server has them; (result, whether it did)."""


async def without_transaction(work: AtomicWork[T]) -> tuple[T, bool]:
    return await work(None), False


class MongoEngine:
    name = "mongodb"
    supports_text_search = True
    supports_transactions = False  # until load() has asked the server

    def __init__(self, config: StorageConfig) -> None:
        options: dict[str, Any] = {
            "tz_aware": True,
            "serverSelectionTimeoutMS": config.server_selection_timeout_ms,
            "connectTimeoutMS": config.connect_timeout_ms,
            "socketTimeoutMS": config.socket_timeout_ms,
            "maxPoolSize": config.max_pool_size,
            "minPoolSize": config.min_pool_size,
            "appname": config.app_name,
            "retryWrites": config.retry_writes,
            "retryReads": config.retry_reads,
            # Acknowledged by a majority: a write survives the loss of the primary.
            "w": _write_concern(config.write_concern or "majority"),
        }
        if config.tls_ca_file:
            options["tlsCAFile"] = config.tls_ca_file
        # Options written in the URL win over the settings' defaults.
        in_url = {key.lower() for key in parse_qs(urlsplit(config.url).query)}
        options = {key: value for key, value in options.items() if key.lower() not in in_url or key == "tz_aware"}
        if config.username is not None:
            # Apart from the URL, so that any password works as it is (no percent-encoding);
            # the settings refuse credentials given both ways.
            options["username"] = config.username
            if config.password is not None:
                options["password"] = config.password.get_secret_value()
        self._client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(config.url, **options)
        self._database = self._client[config.database]

    @property
    def database(self) -> Any:
        return self._database

    async def open(self) -> None:
        # The client connects lazily; the first command (Beanie's buildInfo) tells.
        return None

    async def load(self) -> None:
        # Transactions need a replica set or a sharded cluster, not a standalone server.
        hello = await self._database.command("hello")
        self.supports_transactions = "setName" in hello or hello.get("msg") == "isdbgrid"

    async def run_atomically(self, work: AtomicWork[T]) -> tuple[T, bool]:
        if not self.supports_transactions:
            return await without_transaction(work)
        async with self._client.start_session() as session:
            result: T = await session.with_transaction(work)
            return result, True

    async def close(self) -> None:
        await self._client.close()

    async def server_info(self) -> dict[str, Any]:
        await self._database.command("ping")
        info = await self._database.command("buildInfo")
        return {"server_version": info.get("version"), "transactions": self.supports_transactions}


def _write_concern(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def make_engine(config: StorageConfig) -> Engine:
    if config.engine == "mongodb":
        return MongoEngine(config)
    if config.engine == "memory":
        # Imported here only: a mongodb:// store loads neither mongomock nor the memory engine.
        from .._memory._engine import MemoryEngine

        return MemoryEngine(config)
    raise ValueError(f"the MongoDB dialect does not serve {config.engine!r} stores")
