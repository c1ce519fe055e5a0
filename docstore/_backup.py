"""Export and restore: every collection as JSON lines of MongoDB Extended JSON.

Canonical Extended JSON keeps every BSON type (dates, 64-bit integers), so a
backup taken from one engine restores into another unchanged, and exporting the
restored store gives the same files again, byte for byte.

    DIR/<collection>.jsonl   one document per line, sorted by _id
    DIR/manifest.json        collections, their document counts, and the layout

``"layout": 2`` (students as ``session_students`` records); a manifest without it is
layout 1 (students inside their session's document, releases up to f1272aa), which a
restore converts with ``_students.students_of_legacy_session``.

A restore is all or nothing: the whole backup is checked before anything is written
(``_backup_check``), and a durable record in the store (``_restore_journal``) lets a
restore that failed or was killed be undone; what the restore reads of the store before it
writes is ``_backup_in_store``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from ._backup_check import (
    JOURNAL,
    LAYOUT,
    MANIFEST,
    SHA256,
    UNDO,
    InvalidBackup,
    Plan,
    check_backup,
    dumps,
    read_lines,
    split_session,
)
from ._backup_in_store import check_in_store, free_join_codes, stale_students
from ._errors import ErrorCode, PersistenceError
from ._restore_journal import Journal, describe, interrupted_restore, undo_interrupted
from ._safe_files import NewFiles, refuse_symlink
from ._store import Store
from ._students import SESSION_STUDENTS

__all__ = [
    "MANIFEST",
    "InvalidBackup",
    "RestoreCounts",
    "export_store",
    "restore_checked",
    "restore_store",
    "undo_interrupted_restore",
]

_BATCH = 1000
# progress(step, documents done, documents in all): "exporting revisions", "restoring sessions", ...
Progress = Callable[[str, int, int], None]


def _no_progress(_step: str, _done: int, _total: int) -> None:
    return None


async def export_store(store: Store, directory: str | Path, *, progress: Progress | None = None) -> dict[str, int]:
    """Write every collection of ``store`` to ``directory``; documents per collection.

    Every file is created new and all are renamed into place at the end (a failure, such
    as a damaged document, leaves an earlier export in ``directory`` whole): a symlink in
    ``directory`` where a file would go is refused (INVALID_DATA) before anything is written. A store in the
    middle of a restore is refused (STORAGE_ERROR): its documents are half of two states.
    ``progress("exporting <collection>", done, total)`` is called as documents are written.
    """
    folder = Path(directory)
    state = await interrupted_restore(store)
    if state is not None:
        raise PersistenceError(ErrorCode.STORAGE_ERROR, f"cannot export: {describe(state)}")
    folder.mkdir(parents=True, exist_ok=True)
    names = [name for name in await store.documents.collection_names() if name not in (JOURNAL, UNDO)]
    # Sessions before their students, and a student record only with its session: the store is
    # in use while it is exported, and a record whose session was deleted meanwhile would make
    # the whole backup unrestorable ("its session is neither in the backup nor in the store").
    names.sort(key=lambda name: (name == SESSION_STUDENTS, name))
    sessions: set[str] = set()
    totals = {name: info.documents for name, info in (await store.documents.collection_stats()).items()}
    for path in [folder / MANIFEST, *(folder / f"{name}.jsonl" for name in names)]:
        refuse_symlink(path)
    counts: dict[str, int] = {}
    # Each file's SHA-256, in the manifest: a restore refuses a file changed since (a flipped byte
    # still parses) and a directory holding parts of two exports (killed between two renames).
    digests: dict[str, str] = {}
    files = NewFiles()  # every file renamed into place at the end: a failure leaves the earlier export whole
    try:
        for name in names:
            report = _step(progress, f"exporting {name}", totals.get(name, 0))
            if name == "sessions":
                found = await _export_collection(store, files, folder, name, report, seen=sessions)
            elif name == SESSION_STUDENTS:
                found = await _export_collection(
                    store, files, folder, name, report, keep=lambda record: record.get("session_id") in sessions
                )
            else:
                found = await _export_collection(store, files, folder, name, report)
            counts[name], digests[name] = found
        manifest = {
            "format": 1,
            "layout": LAYOUT,
            "source_engine": store.engine_name,
            "collections": counts,
            SHA256: digests,
        }
        with files.open(folder / MANIFEST) as out:
            out.write(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        files.commit()
    finally:
        files.discard()
    return counts


def _step(progress: Progress | None, step: str, total: int) -> Callable[[int], None]:
    """``report(done)`` for one step: every ``_BATCH`` documents and at the end, never over ``total``."""
    call = progress or _no_progress
    call(step, 0, total)

    def report(done: int) -> None:
        call(step, done, max(total, done))

    return report


async def _export_collection(
    store: Store,
    files: NewFiles,
    folder: Path,
    name: str,
    report: Callable[[int], None] = lambda _: None,
    *,
    seen: set[str] | None = None,
    keep: Callable[[dict[str, Any]], bool] | None = None,
) -> tuple[int, str]:
    """Write collection ``name`` to a new file of ``files``; its document count and SHA-256.

    ``seen`` collects the ids written; ``keep`` says which documents to write (default: all).
    """
    count = 0
    digest = hashlib.sha256()
    with files.open(folder / f"{name}.jsonl") as out:
        async for document in store.documents.iter_documents(name):
            if keep is not None and not keep(document):
                continue
            if seen is not None:
                seen.add(document["_id"])
            line = dumps(document) + "\n"
            out.write(line)
            digest.update(line.encode("utf-8"))
            count += 1
            if count % _BATCH == 0:
                report(count)
    report(count)
    return count, digest.hexdigest()


class RestoreCounts(dict[str, int]):
    """Documents restored per collection; ``damaged``: the replaced ones that were damaged ("collection/id");
    ``damaged_deleted``: the damaged student records of the backup's sessions that the backup lacks (deleted)."""

    damaged: list[str]
    damaged_deleted: list[str]

    def __init__(self, counts: dict[str, int], damaged: list[str], damaged_deleted: list[str] | None = None) -> None:
        super().__init__(counts)
        self.damaged = damaged
        self.damaged_deleted = damaged_deleted or []


async def restore_store(store: Store, directory: str | Path, *, progress: Progress | None = None) -> RestoreCounts:
    """Load an export into ``store``, replacing documents with the same ids; documents per collection.

    **All or nothing.** First the whole backup is checked, and nothing is written
    unless all of it passes: the manifest's shape and layout, every collection name,
    every line a document with a string ``_id`` (unique in its file) that any engine
    can store (MongoDB's keys, depth and 16 MB limits), the counts the manifest gives,
    every session, problem, revision and student record readable by the repositories
    (a student record under its key, of a session of the backup or the store, in that
    session's namespace), and active join codes that clash neither inside the backup
    nor with an active session of the store that the backup does not replace. Any
    failure is ``InvalidBackup`` listing every problem found, and the store is unchanged.
    A layout-1 backup (students inside sessions) is converted as it is written.

    A session of the backup replaces the store's session whole: its students are those
    of the backup (the store's other student records of that session are deleted).

    Then it writes, under a durable record kept in the store itself
    (``_restore_journal``): every document it will replace or add is recorded first,
    with its previous version. If a write fails midway, the restore undoes itself and
    the error says so. If the process is killed, or the undo fails too (the server is
    gone), the record stays: ``docstore health`` and ``export`` say the store is
    mid-restore, and the next ``restore_store`` (or ``undo_interrupted_restore``) undoes
    it first. Writers running during a restore are not isolated from it, and the
    backup's files must not change while it runs. A damaged document of the store (a
    ``local://`` checksum mismatch) that the backup holds is replaced by the backup's copy
    (``RestoreCounts.damaged`` names them), and a damaged student record of a session the
    backup replaces that the backup lacks is deleted (``RestoreCounts.damaged_deleted``);
    undoing keeps the backup's copy, and the deletion, since the damaged one was unreadable.
    ``progress("checking <collection>" or "restoring <collection>", done, total)`` is called
    as documents are checked and written.
    """
    folder = Path(directory)
    return await restore_checked(store, check_backup(folder, progress), progress)


async def restore_checked(store: Store, plan: Plan, progress: Progress | None = None) -> RestoreCounts:
    """``restore_store`` of a backup already checked (``check_backup``): its checks against the store, then the writes.

    For a caller that checks the backup before it opens (or creates) the store.
    """
    await undo_interrupted_restore(store)
    clashes = await check_in_store(store, plan)
    if clashes:
        raise InvalidBackup(plan.folder, clashes)
    return await _write(store, plan, progress)


async def undo_interrupted_restore(store: Store) -> dict[str, Any] | None:
    """Undo a restore that was killed or failed midway (none: None); the record of the one undone."""
    return await undo_interrupted(store)


# -- writing -----------------------------------------------------------------------------


async def _write(store: Store, plan: Plan, progress: Progress | None = None) -> RestoreCounts:
    """Write the checked backup under the journal; on a failure, undo it."""
    journal = Journal(store, plan.folder)
    counts: dict[str, int] = {name: 0 for name in plan.collections}
    try:
        await journal.begin()
        stale, stale_damaged = await stale_students(store, plan)
        for name in plan.order():
            if name == SESSION_STUDENTS:
                await journal.save(name, plan.ids[name], stale, stale_damaged)
            else:
                await journal.save(name, plan.ids[name])
        await journal.writing()
        if "sessions" in plan.ids:
            await free_join_codes(store, plan)
        for record_id in [document["_id"] for document in stale] + [record_id for record_id, _ in stale_damaged]:
            await store.documents.delete_document(SESSION_STUDENTS, record_id)
        for name in plan.order():
            if name not in plan.collections:
                continue  # students of a layout-1 backup: written with the sessions they came out of
            report = _step(progress, f"restoring {name}", plan.collections[name])
            written = await _write_collection(store, plan, name, report, journal.heartbeat)
            for collection, count in written.items():
                counts[collection] = counts.get(collection, 0) + count
        await journal.finish()
    except BaseException as error:
        # Cancelled or failed: undo what was written (the journal says what that was).
        await _roll_back(store, error, journal.token)
        raise
    finally:
        journal.end()
    return RestoreCounts(counts, journal.damaged, journal.damaged_deleted)


async def _documents(plan: Plan, name: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """(collection, document) to write for the backup's ``name``: a layout-1 session brings its students."""
    for _, document, _error in read_lines(plan.folder / f"{name}.jsonl"):
        assert document is not None  # checked before
        if name != "sessions":
            yield name, document
            continue
        session, records = split_session(document, plan.layout)
        yield name, session
        for record in records:
            yield SESSION_STUDENTS, record


async def _write_collection(
    store: Store,
    plan: Plan,
    name: str,
    report: Callable[[int], None] = lambda _: None,
    heartbeat: Callable[[], Awaitable[None]] | None = None,
) -> dict[str, int]:
    """Write the backup's ``name`` (and the students of layout-1 sessions); documents written per collection."""
    batches: dict[str, list[dict[str, Any]]] = {}
    counts: dict[str, int] = {name: 0}
    async for collection, document in _documents(plan, name):
        batch = batches.setdefault(collection, [])
        batch.append(document)
        counts[collection] = counts.get(collection, 0) + 1
        if len(batch) >= _BATCH:
            await _flush(store, batches)
            report(counts[name])
            if heartbeat is not None:
                await heartbeat()
    await _flush(store, batches)
    report(counts[name])
    return counts


async def _flush(store: Store, batches: dict[str, list[dict[str, Any]]]) -> None:
    # Sessions before their students: a backend may look for a record's session.
    for collection in sorted(batches, key=lambda collection: collection != "sessions"):
        await _upsert(store, collection, batches[collection])
        batches[collection] = []


async def _upsert(store: Store, name: str, batch: list[dict[str, Any]]) -> None:
    if not batch:
        return
    result = await store.documents.upsert_documents(name, batch)
    if result.failed:
        position, reason = result.failed[0]
        raise PersistenceError(
            ErrorCode.STORAGE_ERROR,
            f"the store refused {name} document {batch[position]['_id']!r}: {reason}"
            + (f" (and {len(result.failed) - 1} more)" if len(result.failed) > 1 else ""),
        )


async def _roll_back(store: Store, error: BaseException, own: str) -> None:
    """Put back what the restore replaced and delete what it added; raise if that fails too."""
    try:
        await undo_interrupted(store, own)
    except Exception as again:
        raise PersistenceError(
            ErrorCode.STORAGE_ERROR,
            f"restore failed ({_describe(error)}) and so did undoing it ({_describe(again)}): the store is "
            "mid-restore; the documents it replaced are kept in the store itself (collection "
            f"{UNDO}), and the next `docstore restore` undoes it",
        ) from error
    if isinstance(error, PersistenceError):
        raise PersistenceError(
            error.code, f"restore failed and was undone (the store is as it was): {error.message}"
        ) from None


def _describe(error: BaseException) -> str:
    return error.message if isinstance(error, PersistenceError) else f"{type(error).__name__}: {error}"
