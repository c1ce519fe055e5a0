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

A document the restore replaces or deletes that cannot be read (damaged: a ``local://``
checksum mismatch) is recorded as damaged (``damaged``: the error) with no previous version;
undoing leaves what is there (the backup's sound copy, once written; nothing, once a damaged
student record the backup lacks was deleted): nothing readable is lost, and a restore can
repair a damaged store. Damage is told by ``PersistenceError.damaged``, and a scan reads
past it (``documents_past_damage``).

Phases of ``state``: ``saving`` (the record is being written; the store's own
collections are untouched), ``writing`` (the backup is being written), ``done`` (the
restore is complete; only the record is left to delete).

A record is also that of a restore still *running*: ``state`` names its process (host, pid,
a token) and when it was last heard from (``alive_at``, at most ``_HEARTBEAT_S`` old while it
writes). Only a record whose process is gone may be undone: on this host, its pid is dead
(or, in this process, its journal is no longer active); from another host, nothing was
heard for ``LIVE_FOR_S``. Otherwise a second restore refuses (``CONFLICT``) rather than undo
the first one's documents under its feet.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from bson import json_util

from ._backup_check import JOURNAL, JSON_OPTIONS, UNDO, dumps
from ._errors import ErrorCode, PersistenceError
from ._interfaces import DocumentStore
from ._store import Store
from ._time import utc_now

__all__ = [
    "LIVE_FOR_S",
    "Journal",
    "describe",
    "documents_past_damage",
    "interrupted_restore",
    "interrupted_restore_of",
    "is_damage",
    "running_elsewhere",
    "undo_interrupted",
]

_STATE = "state"
_BATCH = 500
_PARALLEL_DELETES = 64  # concurrent deletes share commits (SQLite's group commit, MongoDB's pipeline)
# A restore writes ``alive_at`` at least this often while it works; one on another host not
# heard from for LIVE_FOR_S is taken for dead (a pid cannot be checked across machines).
_HEARTBEAT_S = 10.0
LIVE_FOR_S = 120.0
_HOST = socket.gethostname()
_ACTIVE: set[str] = set()  # tokens of this process's restores that are running


async def interrupted_restore(store: Store) -> dict[str, Any] | None:
    """The record of a restore that did not finish (``phase``, ``backup``, ``started_at``), or None."""
    return await interrupted_restore_of(store.documents)


async def interrupted_restore_of(documents: DocumentStore) -> dict[str, Any] | None:
    """``interrupted_restore`` of a backend's documents (what ``Store.health()`` asks)."""
    return await documents.get_document(JOURNAL, _STATE)


def is_damage(error: BaseException) -> bool:
    """Whether ``error`` says stored documents are damaged (unreadable), not that the store failed.

    Told by ``PersistenceError.damaged`` (the ids), which every backend and the remote wire
    carry, never by the message's words.
    """
    return isinstance(error, PersistenceError) and bool(error.damaged)


async def documents_past_damage(
    documents: DocumentStore, name: str, ids: set[str]
) -> AsyncIterator[tuple[str, dict[str, Any] | None, str | None]]:
    """(id, document, None) for each sound document of ``name``; (id, None, why) for each damaged one.

    A damaged document does not stop a ``local://`` scan: ``iter_documents`` yields every
    sound document, then raises naming each damaged one (``PersistenceError.damaged``),
    yielded here after the sound ones. Should a backend stop at the first damage instead,
    each of ``ids`` not yet seen is then read on its own (an id not stored is left out).
    Any other failure is raised.
    """
    seen: set[str] = set()
    try:
        async for document in documents.iter_documents(name):
            seen.add(document["_id"])
            yield document["_id"], document, None
    except PersistenceError as error:
        if not is_damage(error):
            raise
        for document_id in error.damaged:
            seen.add(document_id)
            yield document_id, None, error.message
        rest = sorted(ids - seen)
        for start in range(0, len(rest), _PARALLEL_DELETES):
            chunk = rest[start : start + _PARALLEL_DELETES]
            found = await asyncio.gather(
                *(documents.get_document(name, document_id) for document_id in chunk), return_exceptions=True
            )
            for document_id, result in zip(chunk, found, strict=True):
                if isinstance(result, BaseException):
                    if not is_damage(result):
                        raise result from None
                    yield document_id, None, str(getattr(result, "message", result))
                elif result is not None:
                    yield document_id, result, None


def running_elsewhere(state: dict[str, Any], own: str | None = None) -> str | None:
    """Who is still running the restore ``state`` records (None: no one, it may be undone).

    ``own``: the token of the caller's own restore (undoing itself after a failure).
    """
    owner = state.get("owner")
    if not isinstance(owner, dict) or owner.get("token") == own:
        return None  # a record of a release before owners: as before, taken for interrupted
    host, pid, token = owner.get("host"), owner.get("pid"), owner.get("token")
    if host == _HOST and isinstance(pid, int):
        # In this process, only an active journal is running (an earlier one may have failed to undo itself).
        alive = token in _ACTIVE if pid == os.getpid() else _pid_alive(pid, owner.get("started"))
        return f"process {pid} on this host" if alive else None
    heard = state.get("alive_at")
    if isinstance(heard, datetime) and time.time() - heard.timestamp() < LIVE_FOR_S:
        return f"process {pid} on {host}, heard from at {heard}"
    return None


def _pid_alive(pid: int, started: Any = None) -> bool:
    """Whether process ``pid`` runs, and is the one that began at ``started`` (a reused pid is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process
    except OSError:
        return False
    stat = _process_stat(pid)
    if stat is None:
        return True  # no /proc: the pid alone
    state, start = stat
    return state != "Z" and (started is None or started == start)  # a zombie has ended


def _process_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks) of ``pid`` from Linux's /proc; None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return fields[0], int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def describe(state: dict[str, Any]) -> str:
    """One line for a person: what was interrupted, and what to run."""
    running = running_elsewhere(state)
    if running is not None:
        return (
            f"a restore of {state.get('backup')!r} begun at {state.get('started_at')} is running ({running}); "
            "wait for it to finish"
        )
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
        self.token = secrets.token_hex(8)
        self._heard = 0.0
        self.damaged: list[str] = []  # "collection/id" of the replaced documents that could not be read
        self.damaged_deleted: list[str] = []  # the same, of the student records the restore deletes

    async def begin(self) -> None:
        _ACTIVE.add(self.token)
        stat = _process_stat(os.getpid())
        owner = {"host": _HOST, "pid": os.getpid(), "token": self.token, "started": stat and stat[1]}
        await self._state("saving", started_at=utc_now(), owner=owner)

    def end(self) -> None:
        """This restore is over (finished, or undone): its record, if any is left, is an interrupted one."""
        _ACTIVE.discard(self.token)

    async def heartbeat(self) -> None:
        """Say this restore is alive (at most every ``_HEARTBEAT_S``): another host's restore waits for it."""
        if time.monotonic() - self._heard >= _HEARTBEAT_S:
            await self._state(None)

    async def save(
        self,
        name: str,
        ids: set[str],
        extra: Iterable[dict[str, Any]] = (),
        extra_damaged: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Record the store's documents of ``name`` with these ids (or that there is none), and ``extra`` ones.

        ``extra_damaged``: (id, why) of damaged documents the restore deletes (recorded as damaged).
        """
        found: set[str] = set()
        batch: list[dict[str, Any]] = []
        async for document_id, document, damage in documents_past_damage(self.store.documents, name, ids):
            if document_id in ids and document_id not in found:
                found.add(document_id)
                if damage is not None:
                    self.damaged.append(f"{name}/{document_id}")
                batch = await self._add(batch, name, document_id, document, damage)
        for document in extra:
            found.add(document["_id"])
            batch = await self._add(batch, name, document["_id"], document)
        for document_id, damage in extra_damaged:
            found.add(document_id)
            self.damaged_deleted.append(f"{name}/{document_id}")
            batch = await self._add(batch, name, document_id, None, damage)
        for document_id in sorted(ids - found):
            batch = await self._add(batch, name, document_id, None)
        await self._flush(batch)
        await self.heartbeat()

    async def writing(self) -> None:
        await self._state("writing")

    async def finish(self) -> None:
        """The restore is complete: delete the record (``done`` first, so a kill now changes nothing)."""
        await self._state("done")
        await _forget(self.store)

    async def _state(self, phase: str | None, **fields: Any) -> None:
        previous = await self.store.documents.get_document(JOURNAL, _STATE) or {}
        phase = phase or previous.get("phase", "saving")
        self._heard = time.monotonic()
        document = {
            **previous,
            "_id": _STATE,
            "phase": phase,
            "backup": str(self.folder),
            "alive_at": utc_now(),
            **fields,
        }
        _check(await self.store.documents.upsert_documents(JOURNAL, [document]), JOURNAL)

    async def _add(
        self,
        batch: list[dict[str, Any]],
        name: str,
        document_id: str,
        previous: dict[str, Any] | None,
        damage: str | None = None,
    ) -> list[dict[str, Any]]:
        # As text: a stored document may be as deep as any engine allows; one level more would not be.
        entry: dict[str, Any] = {
            "_id": f"{name}/{document_id}",
            "collection": name,
            "document_id": document_id,
            "previous": None if previous is None else dumps(previous),
        }
        if damage is not None:
            entry["damaged"] = damage  # unreadable before: undoing leaves the backup's copy there
        batch.append(entry)
        if len(batch) < _BATCH:
            return batch
        await self._flush(batch)
        return []

    async def _flush(self, batch: list[dict[str, Any]]) -> None:
        if batch:
            _check(await self.store.documents.upsert_documents(UNDO, batch), UNDO)
            await self.heartbeat()  # a large collection's record takes long: still heard from


async def undo_interrupted(store: Store, own: str | None = None) -> dict[str, Any] | None:
    """Undo the restore the store's record describes (none: None); the record it undid.

    Every replaced document is put back and every added one deleted; then the record is
    deleted. A document that was damaged before the restore is left as it is now (the
    backup's copy, once written), and the record returned says how many (``damaged``).
    Safe to run again after a failure or a kill midway. A restore still running
    (``running_elsewhere``) is never undone: CONFLICT. ``own``: the caller's own journal token.
    """
    state = await interrupted_restore(store)
    if state is None:
        return None
    running = running_elsewhere(state, own)
    if running is not None:
        raise PersistenceError(
            ErrorCode.CONFLICT,
            f"another restore is running ({running}): a restore of {state.get('backup')!r} begun at "
            f"{state.get('started_at')}; wait for it to finish",
        )
    state = {**state, "damaged": 0}
    if state.get("phase") == "writing":
        documents = store.documents
        everything = [entry async for entry in documents.iter_documents(UNDO)]
        # Unreadable before the restore: nothing to put back, and the backup's sound copy is kept.
        entries = [entry for entry in everything if entry.get("damaged") is None]
        state["damaged"] = len(everything) - len(entries)
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
