"""``MongoBackend``: the MongoDB dialect behind a store, for ``mongodb://`` and ``memory://``.

One engine (``_engines.make_engine``) hands out a database with PyMongo's async surface:
PyMongo's ``AsyncMongoClient`` for ``mongodb://``, mongomock through
``docstore._memory`` for ``memory://``. Beanie 2 binds the collections; this module
creates and upgrades the declared indexes (``_indexes``), opens and migrates the student
layout (``_migration``), answers health, shards, and hands out the three repositories and
the tools' ``DocumentStore``, which run the same MongoDB queries on either engine.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

from beanie import init_beanie
from pymongo.errors import ConfigurationError, OperationFailure

from .._config import StorageConfig, mask_secrets
from .._errors import ErrorCode, PersistenceError
from .._interfaces import DocumentStore, Repositories, Scope
from ._beanie_models import document_models
from ._document_store import MongoDocumentStore
from ._driver_errors import translate_error
from ._engines import AtomicWork, Engine, make_engine
from ._indexes import DECLARED, SHARD_KEYS, IndexChange, plan_index_changes
from ._migration import MigrationReport, layout_is_current, layout_status, mark_if_new, migrate_layout, pending_error
from ._naive_reads import NaiveReader, naive_reader
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
        self._readers: dict[str, NaiveReader | None] = {}
        self._open = False
        self._documents = MongoDocumentStore(self)
        # Whether the database is known to be in the session_students layout (cached once true).
        self._layout_current = False

    # -- what the repositories see (``_repository.StoreState``) -------------------
    def collection(self, name: str) -> Any:
        """A collection of the database, bound by Beanie or not (``legacy_*``)."""
        bound = self._collections.get(name)
        # `is not None`, not `or`: PyMongo collections refuse truth testing.
        return bound if bound is not None else self._engine.database[name]

    def reader(self, name: str) -> NaiveReader | None:
        """The collection's reader decoding datetimes naive (``_naive_reads``), made once; None on mongomock."""
        if name not in self._readers:
            self._readers[name] = naive_reader(self.collection(name))
        return self._readers[name]

    @property
    def database(self) -> Any:
        return self._engine.database

    @property
    def supports_text_search(self) -> bool:
        return self._engine.supports_text_search

    async def run_atomically(self, work: AtomicWork[T]) -> tuple[T, bool]:
        return await self._engine.run_atomically(work)

    async def check_student_layout(self) -> None:
        """Refuse student writes to a database that still holds students inside sessions.

        One read of the marker until it is found, then nothing (it is never removed).
        """
        if self._layout_current:
            return
        if not await layout_is_current(self.collection):
            raise pending_error()
        self._layout_current = True

    # -- StorageBackend --------------------------------------------------------------
    async def initialize(self) -> None:
        try:
            await self._engine.open()
            models = document_models()
            await init_beanie(database=self._engine.database, document_models=models.all())
            self._collections = {model.get_collection_name(): model.get_pymongo_collection() for model in models.all()}
            self._readers = {}
            # Only what cannot break a running service: missing indexes are made; a changed
            # or renamed one waits for `docstore init` and `health()` says so.
            await self._apply([change for change in await self.index_plan() if change.safe_at_startup], at_startup=True)
            await self._engine.load()
            # A database without any session starts in this layout; an older one waits for `docstore init`.
            self._layout_current = await mark_if_new(self.collection)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise translate_error(exc) from None
        self._open = True

    async def shutdown(self) -> None:
        self._collections = {}
        self._readers = {}
        with contextlib.suppress(Exception):  # nothing left to report to; the engine is gone either way
            await self._engine.close()

    async def server_info(self) -> dict[str, Any]:
        try:
            info = await self._engine.server_info()
            pending = [change for change in await self.index_plan() if change.pending]
        except Exception as exc:
            raise translate_error(exc) from None
        info["indexes"] = (
            "up to date"
            if not pending
            else "out of date, run `docstore init`: " + "; ".join(change.describe() for change in pending)
        )
        try:
            info["migration"] = await layout_status(self.collection)
        except Exception as exc:
            raise translate_error(exc) from None
        return info

    async def migrate_layout(self, say: Callable[[str], None]) -> MigrationReport:
        """Move students embedded in sessions into ``session_students`` (``_migration``); print each step."""
        try:
            report = await migrate_layout(self.collection, say)
        except Exception as exc:
            raise translate_error(exc) from None
        if not report.left:
            self._layout_current = True
        return report

    # -- index upgrades (``docstore init``) -------------------------------------------
    async def index_plan(self, *, drop_unknown: bool = False) -> list[IndexChange]:
        """What would bring this database's indexes up to date (see ``_indexes``)."""
        plan: list[IndexChange] = []
        for name, declared in DECLARED.items():
            existing = await self.collection(name).index_information()
            plan += plan_index_changes(
                name,
                declared,
                existing,
                drop_unknown=drop_unknown,
                text_indexes=self._engine.supports_text_search,
            )
        return plan

    async def upgrade_indexes(self, *, drop_unknown: bool = False) -> list[IndexChange]:
        """Create missing indexes, rebuild changed ones by name, drop undeclared ones if asked.

        Returns the steps taken (unknown indexes that were kept included).
        """
        try:
            plan = await self.index_plan(drop_unknown=drop_unknown)
            await self._apply(plan)
        except Exception as exc:
            raise translate_error(exc) from None
        return plan

    async def _apply(self, plan: list[IndexChange], *, at_startup: bool = False) -> None:
        for change in plan:
            collection = self.collection(change.collection)
            if change.action in ("drop", "replace", "rebuild"):
                await collection.drop_index(change.name)
            if change.action in ("create", "rebuild") and change.spec is not None:
                try:
                    await collection.create_indexes([change.spec.model()])
                except OperationFailure:
                    # At startup an index the server refuses (an equivalent one under
                    # another name, duplicates under a new unique key) must not stop the
                    # service: health() still lists it, and `docstore init` says why.
                    if not at_startup:
                        raise

    async def shard_collections(self) -> list[str]:
        """Shard the collections that have a shard key (``SHARD_KEYS``); needs a mongos.

        Safe to run again: a collection already sharded on the same key is left as it is.
        """
        try:
            hello = await self.database.command("hello") if self.name == "mongodb" else {}
            if hello.get("msg") != "isdbgrid":
                raise PersistenceError(
                    ErrorCode.INVALID_DATA, "--shard needs a sharded cluster: connect to a mongos, not a replica set"
                )
            admin = self.database.client.admin
            done: list[str] = []
            for name, key in SHARD_KEYS.items():
                namespace = f"{self.database.name}.{name}"
                # shardCollection needs an index that starts with the key: the declared
                # revision indexes do (``_indexes.REVISION_INDEXES``).
                await admin.command("shardCollection", namespace, key=dict(key))
                done.append(f"{namespace} sharded on {{{', '.join(f'{k}: {v}' for k, v in key)}}}")
            return done
        except PersistenceError:
            raise
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
