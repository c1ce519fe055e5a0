"""The durable record of a restore, kept in the store itself, so a killed restore is undone later.

A restore replaces documents one batch at a time: no engine offers one transaction
that large through ``store.documents``. So before its first write, it records in the
store (collection ``docstore_restore_undo``) every document it will replace or add,
with the previous version (or none), and marks the restore as begun (document
``state`` of ``docstore_restore``). If the process dies (``kill -9``, SIGTERM, a power
cut), the record survives with the store: the next ``docstore restore``, ``docstore
health``, ``export`` and ``Store.health()`` see it, and ``docstore restore`` undoes it
(puts back every replaced document, deletes every added one) before doing anything
else. Undoing is idempotent, so a kill during the undo is undone by the next run.

Phases of ``state``: ``saving`` (the record is being written; the store's own
collections are untouched), ``writing`` (the backup is being written), ``done`` (the
restore is complete; only the record is left to delete).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bson import json_util

from ._backup_check import JOURNAL, JSON_OPTIONS, UNDO, dumps
from ._errors import ErrorCode, PersistenceError
from ._interfaces import DocumentStore
from ._store import Store
from ._time import utc_now

__all__ = ["Journal", "describe", "interrupted_restore", "interrupted_restore_of", "undo_interrupted"]

_STATE = "state"
_BATCH = 500
_PARALLEL_DELETES = 64  # concurrent deletes share commits (SQLite's group commit, MongoDB's pipeline)


async def interrupted_restore(store: Store) -> dict[str, Any] | None:
    """The record of a restore that did not finish (``phase``, ``backup``, ``started_at``), or None."""
    return await interrupted_restore_of(store.documents)


async def interrupted_restore_of(documents: DocumentStore) -> dict[str, Any] | None:
    """``interrupted_restore`` of a backend's documents (what ``Store.health()`` asks)."""
    return await documents.get_document(JOURNAL, _STATE)


def describe(state: dict[str, Any]) -> str:
    """One line for a person: what was interrupted, and what to run."""
    return (
        f"the store is mid-restore: a restore of {state.get('backup')!r} begun at {state.get('started_at')} "
        f"did not finish ({state.get('phase')}); run `docstore restore` to undo it (or `docstore restore DIR` "
        "to undo it and restore DIR)"
    )


class Journal:
    """The record of one restore: begun, each replaced or added document saved, then finished."""

    def __init__(self, store: Store, folder: Path) -> None:
        self.store = store
        self.folder = folder

    async def begin(self) -> None:
        await self._state("saving", started_at=utc_now())

    async def save(self, name: str, ids: set[str], extra: Iterable[dict[str, Any]] = ()) -> None:
        """Record the store's documents of ``name`` with these ids (or that there is none), and ``extra`` ones."""
        found: set[str] = set()
        batch: list[dict[str, Any]] = []
        async for document in self.store.documents.iter_documents(name):
            if document["_id"] in ids:
                found.add(document["_id"])
                batch = await self._add(batch, name, document["_id"], document)
        for document in extra:
            found.add(document["_id"])
            batch = await self._add(batch, name, document["_id"], document)
        for document_id in sorted(ids - found):
            batch = await self._add(batch, name, document_id, None)
        await self._flush(batch)

    async def writing(self) -> None:
        await self._state("writing")

    async def finish(self) -> None:
        """The restore is complete: delete the record (``done`` first, so a kill now changes nothing)."""
        await self._state("done")
        await _forget(self.store)

    async def _state(self, phase: str, **fields: Any) -> None:
        previous = await self.store.documents.get_document(JOURNAL, _STATE) or {}
        document = {**previous, "_id": _STATE, "phase": phase, "backup": str(self.folder), **fields}
        _check(await self.store.documents.upsert_documents(JOURNAL, [document]), JOURNAL)

    async def _add(
        self, batch: list[dict[str, Any]], name: str, document_id: str, previous: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        # As text: a stored document may be as deep as any engine allows; one level more would not be.
        batch.append(
            {
                "_id": f"{name}/{document_id}",
                "collection": name,
                "document_id": document_id,
                "previous": None if previous is None else dumps(previous),
            }
        )
        if len(batch) < _BATCH:
            return batch
        await self._flush(batch)
        return []

    async def _flush(self, batch: list[dict[str, Any]]) -> None:
        if batch:
            _check(await self.store.documents.upsert_documents(UNDO, batch), UNDO)


async def undo_interrupted(store: Store) -> dict[str, Any] | None:
    """Undo the restore the store's record describes (none: None); the record it undid.

    Every replaced document is put back and every added one deleted; then the record is
    deleted. Safe to run again after a failure or a kill midway.
    """
    state = await interrupted_restore(store)
    if state is None:
        return None
    if state.get("phase") == "writing":
        documents = store.documents
        entries = [entry async for entry in documents.iter_documents(UNDO)]
        # Added documents go, and replaced sessions too before any comes back: with none of the
        # backup's sessions left, putting the old ones back cannot clash on an active join code.
        gone = [
            (entry["collection"], entry["document_id"])
            for entry in entries
            if entry.get("previous") is None or entry["collection"] == "sessions"
        ]
        for start in range(0, len(gone), _PARALLEL_DELETES):
            await asyncio.gather(
                *(
                    documents.delete_document(name, document_id)
                    for name, document_id in gone[start : start + _PARALLEL_DELETES]
                )
            )
        by_collection: dict[str, list[dict[str, Any]]] = {}
        for entry in entries:
            if entry.get("previous") is not None:
                by_collection.setdefault(entry["collection"], []).append(
                    json_util.loads(entry["previous"], json_options=JSON_OPTIONS)
                )
        for name, previous in sorted(by_collection.items(), key=lambda item: item[0] != "sessions"):
            for start in range(0, len(previous), _BATCH):
                _check(await documents.upsert_documents(name, previous[start : start + _BATCH]), name)
    await _forget(store)
    return state


async def _forget(store: Store) -> None:
    """Delete the record: the undo entries, then the state (so a kill midway leaves a record to finish)."""
    documents = store.documents
    ids = [entry["_id"] async for entry in documents.iter_documents(UNDO)]
    for start in range(0, len(ids), _PARALLEL_DELETES):
        await asyncio.gather(
            *(documents.delete_document(UNDO, entry) for entry in ids[start : start + _PARALLEL_DELETES])
        )
    await documents.delete_document(JOURNAL, _STATE)


def _check(result: Any, name: str) -> None:
    if result.failed:
        position, reason = result.failed[0]
        raise PersistenceError(ErrorCode.STORAGE_ERROR, f"the store refused {name} document #{position}: {reason}")
