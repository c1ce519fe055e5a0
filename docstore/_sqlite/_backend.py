"""``SqliteBackend``: ``local://DIR`` on one SQLite file in WAL mode, ``DIR/docstore.sqlite3``.

Any number of processes may open the same store: SQLite's own locks order their
writes, WAL lets every reader go on meanwhile, and the unique index on the active
join code holds across all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

from .._config import StorageConfig
from .._errors import ErrorCode, PersistenceError
from .._interfaces import DocumentStore, Repositories, Scope
from ._database import Database
from ._document_store import SqliteDocumentStore
from ._feed import TRIM_EVERY_S, SqliteChangeLog, log_name, numbered_by_autoincrement, trim_changes
from ._files import open_database_file
from ._problems import SqliteProblemRepository
from ._revisions import SqliteRevisionRepository
from ._schema import DATABASE_FILE
from ._sessions import SqliteSessionRepository
from ._upgrade import upgrade_if_needed

__all__ = ["SqliteBackend"]


class SqliteBackend:
    """``StorageBackend`` for ``local://DIR``."""

    name = "local"

    def __init__(self, config: StorageConfig) -> None:
        self.config = config
        self.directory = Path(config.local_path).expanduser()
        self._database = Database(self.directory / DATABASE_FILE)
        self._documents = SqliteDocumentStore(self._database)
        self._log: SqliteChangeLog | None = None
        self._trimmer: asyncio.Task[None] | None = None

    async def initialize(self) -> None:
        connection = await asyncio.to_thread(self._open)
        self._log = SqliteChangeLog(
            self._database, log_name(connection), autoincrement=numbered_by_autoincrement(connection)
        )
        self._database.start(connection)
        self._trimmer = asyncio.create_task(self._trim_changes())

    async def _trim_changes(self) -> None:
        """The feed's retention, applied every TRIM_EVERY_S while the store is open."""
        while True:
            await asyncio.sleep(TRIM_EVERY_S)
            with contextlib.suppress(PersistenceError):  # a full disk now: the next round tries again
                await self._database.write(trim_changes)

    def _open(self) -> sqlite3.Connection:
        directory = self.directory
        if not directory.exists():
            if not self.config.create:
                raise PersistenceError(ErrorCode.UNAVAILABLE, f"no docstore store at {directory} (create=False)")
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise PersistenceError(ErrorCode.UNAVAILABLE, f"cannot create {directory}: {exc.strerror}") from None
        elif not directory.is_dir():
            raise PersistenceError(ErrorCode.STORAGE_ERROR, f"{directory} is not a directory")
        upgrade_if_needed(directory)
        return open_database_file(directory, create=self.config.create)

    async def shutdown(self) -> None:
        trimmer, self._trimmer = self._trimmer, None
        # The store may be shut down from another event loop than the one it opened on (and
        # that one may be closed): the trimmer is then gone with its loop.
        if trimmer is not None and not trimmer.get_loop().is_closed():
            trimmer.cancel()
            if trimmer.get_loop() is asyncio.get_running_loop():
                with contextlib.suppress(asyncio.CancelledError):
                    await trimmer
        if self._log is not None:
            self._log.close()
        await asyncio.to_thread(self._database.close)

    async def server_info(self) -> dict[str, Any]:
        def info(connection: sqlite3.Connection) -> dict[str, Any]:
            mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
            return {
                "path": str(self._database.path.resolve()),
                "sqlite_version": sqlite3.sqlite_version,
                "journal_mode": mode,
                "transactions": True,
            }

        return await self._database.read(info)

    def repositories(self, scope: Scope) -> Repositories:
        return Repositories(
            SqliteSessionRepository(self._database, scope.namespace, scope.actor, log=self._log),
            SqliteProblemRepository(self._database, scope.namespace, scope.actor),
            SqliteRevisionRepository(self._database, scope.namespace, scope.actor),
        )

    @property
    def documents(self) -> DocumentStore:
        return self._documents
