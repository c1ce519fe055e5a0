"""``local://DIR``: the in-memory engine, made durable in DIR.

Layout of DIR:

    LOCK                  held (flock) by the one process that has the store open
    snapshot.bson         every document at the last compaction, with its generation G
    journal-G.bin         every write applied since that snapshot, fsync'd before
                          the write is acknowledged

Opening loads the snapshot and replays journal-G in order (writes are
deterministic: ids and times are chosen before a write reaches the engine).
Compaction writes snapshot G+1 beside the old one, renames it into place, then
starts journal-(G+1): a crash at any point leaves either the old pair or the
new one, never a journal applied twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._config import StorageConfig
from .._errors import ErrorCode, PersistenceError
from ._engines import MemoryEngine
from ._journal import NAIVE, Journal, fsync_dir, read_records, write_records

__all__ = ["LocalEngine"]

SNAPSHOT = "snapshot.bson"
_FORMAT = 1
_BATCH = 1000
# Compact on open when replaying took more records than this.
_COMPACT_AFTER_RECORDS = 10_000
# Compact while running once the journal holds this many records, so that a store
# left open for weeks still opens in seconds.
COMPACT_WHILE_RUNNING_AFTER = 200_000


class LocalEngine(MemoryEngine):
    """The memory engine (its database, no transactions, no text index) plus the files."""

    name = "local"

    def __init__(self, config: StorageConfig) -> None:
        super().__init__(config)
        self.path = Path(config.local_path).expanduser()
        self._lock_fd = -1
        self._generation = 0
        self._journal: Journal | None = None
        self._compaction_lock = asyncio.Lock()
        self._compaction_task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PersistenceError(ErrorCode.UNAVAILABLE, f"cannot create {self.path}: {exc.strerror}") from None
        self._lock()

    def _lock(self) -> None:
        fd = os.open(self.path / "LOCK", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise PersistenceError(
                ErrorCode.UNAVAILABLE,
                f"local store {self.path} is open in another process (pid {holder}); "
                "close it there first (one process per local store)",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    async def load(self) -> None:
        """Load the snapshot and replay the journal; runs after indexes exist (uniqueness holds)."""
        snapshot, _ = read_records(self.path / SNAPSHOT, NAIVE)
        if snapshot:
            header = snapshot[0]
            if header.get("format") != _FORMAT:
                raise PersistenceError(
                    ErrorCode.STORAGE_ERROR, f"{self.path / SNAPSHOT} has unknown format {header.get('format')!r}"
                )
            self._generation = int(header["generation"])
            for record in snapshot[1:]:
                # This engine wrote and checked these documents itself: no second validation.
                self._database[record["c"]].load_trusted(record["docs"])
        journal_path = self._journal_path(self._generation)
        entries, valid_length = read_records(journal_path)
        for entry in entries:
            await self._database[entry["c"]].replay(entry["m"], entry["a"], entry["k"])
        self._remove_stale_journals()
        self._use(Journal(journal_path, valid_length))
        if len(entries) > _COMPACT_AFTER_RECORDS:
            await self.compact()

    def _journal_path(self, generation: int) -> Path:
        return self.path / f"journal-{generation}.bin"

    def _remove_stale_journals(self) -> None:
        current = self._journal_path(self._generation).name
        for stale in self.path.glob("journal-*.bin"):
            if stale.name != current:
                stale.unlink()

    def _use(self, journal: Journal) -> None:
        self._journal = journal
        self._database.journal = journal
        journal.when_records(COMPACT_WHILE_RUNNING_AFTER, self._compact_soon)

    def _compact_soon(self) -> None:
        if self._compaction_task is None or self._compaction_task.done():
            self._compaction_task = asyncio.ensure_future(self.compact())
            # A failed compaction leaves the journal as it was; the next one tries again.
            self._compaction_task.add_done_callback(lambda task: task.cancelled() or task.exception())

    async def compact(self) -> None:
        async with self._compaction_lock:
            await self._compact()

    async def _compact(self) -> None:
        """Fold the journal into a new snapshot.

        After ``settle`` nothing here suspends (the in-memory engine never does), so
        no write can slip in between the snapshot and the switch to a new journal.
        """
        if self._journal is not None:
            await self._journal.settle()
        collections = {name: await self._dump(name) for name in await self._database.list_collection_names()}
        generation = self._generation + 1
        write_records(self.path / SNAPSHOT, self._snapshot_records(generation, collections))
        old_journal = self._journal
        self._generation = generation
        self._use(Journal(self._journal_path(generation), 0))
        if old_journal is not None:
            old_journal.close()
        self._remove_stale_journals()
        fsync_dir(self.path)

    async def _dump(self, name: str) -> list[dict[str, Any]]:
        documents: list[dict[str, Any]] = await self._database[name].find({}).to_list(None)
        return documents

    @staticmethod
    def _snapshot_records(generation: int, collections: dict[str, list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
        yield {"format": _FORMAT, "generation": generation, "collections": sorted(collections)}
        for name, documents in collections.items():
            for start in range(0, len(documents), _BATCH):
                yield {"c": name, "docs": documents[start : start + _BATCH]}

    async def close(self) -> None:
        if self._compaction_task is not None:
            with contextlib.suppress(Exception):
                await self._compaction_task
        if self._journal is not None:
            if self._journal.records:
                await self.compact()
            self._journal.close()
            self._journal = None
            self._database.journal = None
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = -1

    async def server_info(self) -> dict[str, Any]:
        return {"server_version": "mongomock (journaled)", "path": str(self.path.resolve()), "transactions": False}
