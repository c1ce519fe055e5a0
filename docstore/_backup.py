"""Export and restore: every collection as JSON lines of MongoDB Extended JSON.

Canonical Extended JSON keeps every BSON type (dates, 64-bit integers), so a
backup taken from one engine restores into another unchanged, and exporting the
restored store gives the same files again, byte for byte.

    DIR/<collection>.jsonl   one document per line, sorted by _id
    DIR/manifest.json        collections and their document counts

A restore is all or nothing: the whole backup is checked before anything is
written (``restore_store`` says what that can promise when storage fails midway).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bson import json_util
from bson.errors import BSONError

from ._errors import ErrorCode, PersistenceError
from ._mapping import check_collection_name, check_document, from_document
from ._models import DEFAULT_NAMESPACE, CodeRevision, ProblemSpec, Session, StoredItem, normalize_join_code
from ._store import Store

__all__ = ["MANIFEST", "InvalidBackup", "export_store", "restore_store"]

_JSON_OPTIONS = json_util.JSONOptions(json_mode=json_util.JSONMode.CANONICAL, tz_aware=True)
_BATCH = 1000
MANIFEST = "manifest.json"
# The collections the repositories read: a restored document must parse as their item.
_MODELS: dict[str, type[StoredItem]] = {"sessions": Session, "problems": ProblemSpec, "revisions": CodeRevision}
# Enough to fix a backup by; the count says how many more there were.
_MAX_PROBLEMS = 100


class InvalidBackup(PersistenceError):
    """A backup that cannot be restored as it is (INVALID_DATA); ``problems`` lists every reason.

    Raised before anything is written: the store is unchanged.
    """

    def __init__(self, directory: Path, problems: list[str], more: int = 0) -> None:
        self.directory = directory
        self.problems = problems
        self.more = more
        total = len(problems) + more
        super().__init__(
            ErrorCode.INVALID_DATA,
            f"{directory} cannot be restored ({total} problem{'s' if total != 1 else ''}; the store is unchanged): "
            + "; ".join(problems[:3])
            + (" ..." if total > 3 else ""),
        )

    def __reduce__(self) -> Any:
        return (type(self), (self.directory, self.problems, self.more))


async def export_store(store: Store, directory: str | Path) -> dict[str, int]:
    """Write every collection of ``store`` to ``directory``; documents per collection."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    documents = store.documents
    for name in await documents.collection_names():
        count = 0
        temporary = folder / f"{name}.jsonl.tmp"
        with open(temporary, "w", encoding="utf-8") as out:
            async for document in documents.iter_documents(name):
                out.write(_dumps(document) + "\n")
                count += 1
        temporary.replace(folder / f"{name}.jsonl")
        counts[name] = count
    manifest = {"format": 1, "source_engine": store.engine_name, "collections": counts}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return counts


async def restore_store(store: Store, directory: str | Path) -> dict[str, int]:
    """Load an export into ``store``, replacing documents with the same ids; documents per collection.

    **All or nothing.** First the whole backup is checked, and nothing is written
    unless all of it passes: the manifest's shape, every collection name, every line
    a document with a string ``_id`` (unique in its file) that any engine can store
    (MongoDB's keys, depth and 16 MB limits), the counts the manifest gives, every
    session, problem and revision readable by the repositories, and active join codes
    that clash neither inside the backup nor with an active session of the store that
    the backup does not replace. Any failure is ``InvalidBackup`` listing every problem
    found, and the store is unchanged.

    Then it writes. Before each collection is written, the documents it will replace
    are saved aside (a temporary file); if a write fails midway (the server goes away,
    a document is refused) the restore undoes itself: documents it added are deleted
    and replaced ones are put back, and the error says so. What it cannot promise: a
    rollback that itself fails (the server is gone for good) leaves the store partly
    restored; the error then names the file that holds the replaced documents, kept
    for a later repair. Writers running during a restore are not isolated from it (no
    engine offers a transaction that large), and the backup's files must not change
    while it runs.
    """
    folder = Path(directory)
    plan = _check_backup(folder)
    clashes = await _active_codes_outside(store, plan)
    if clashes:
        raise InvalidBackup(folder, clashes)
    return await _write(store, folder, plan)


# -- checking --------------------------------------------------------------------------


@dataclass
class _Plan:
    """What the check of a backup found: the collections, their ids, and its active join codes."""

    collections: dict[str, int]
    ids: dict[str, set[str]] = field(default_factory=dict)
    active_codes: dict[tuple[Any, str], str] = field(default_factory=dict)  # (namespace, join code) -> session id
    problems: list[str] = field(default_factory=list)
    more: int = 0

    def problem(self, text: str) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(text)
        else:
            self.more += 1


def _check_backup(folder: Path) -> _Plan:
    """Every problem of the backup in ``folder``; ``InvalidBackup`` if there is any."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise InvalidBackup(folder, [f"not a docstore export (no {MANIFEST})"])
    plan = _Plan(collections=_read_manifest(folder, manifest_path))
    if not plan.problems:
        for name, expected in plan.collections.items():
            _check_collection(folder, name, expected, plan)
    if plan.problems:
        raise InvalidBackup(folder, plan.problems, plan.more)
    return plan


def _read_manifest(folder: Path, path: Path) -> dict[str, int]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidBackup(folder, [f"{MANIFEST} is not readable JSON: {exc}"]) from None
    if not isinstance(manifest, dict):
        raise InvalidBackup(folder, [f"{MANIFEST} must be an object, not {type(manifest).__name__}"])
    problems: list[str] = []
    if manifest.get("format", 1) != 1:
        problems.append(f"{MANIFEST}: unknown format {manifest.get('format')!r} (this docstore reads format 1)")
    collections = manifest.get("collections")
    if not isinstance(collections, dict):
        problems.append(f'{MANIFEST}: "collections" must be an object of collection name -> document count')
        raise InvalidBackup(folder, problems)
    counts: dict[str, int] = {}
    for name, count in collections.items():
        try:
            check_collection_name(name)
        except PersistenceError as error:
            problems.append(f"{MANIFEST}: {error.message}")
            continue
        if type(count) is not int or count < 0:
            problems.append(f"{MANIFEST}: the count of {name} must be a whole number >= 0, not {count!r}")
            continue
        if not (folder / f"{name}.jsonl").is_file():
            problems.append(f"{name}.jsonl is missing")
            continue
        counts[name] = count
    if problems:
        raise InvalidBackup(folder, problems)
    return counts


def _check_collection(folder: Path, name: str, expected: int, plan: _Plan) -> None:
    ids = plan.ids.setdefault(name, set())
    model = _MODELS.get(name)
    count = 0
    for line_number, document, error in _read_lines(folder / f"{name}.jsonl"):
        count += 1
        where = f"{name}.jsonl line {line_number}"
        if error is not None:
            plan.problem(f"{where}: {error}")
            continue
        assert document is not None
        document_id = document.get("_id")
        if type(document_id) is not str or not document_id:
            plan.problem(f"{where}: no string _id")
            continue
        if document_id in ids:
            plan.problem(f"{where}: _id {document_id!r} appears twice")
            continue
        ids.add(document_id)
        try:
            check_document(document, f"document {document_id!r}")
            item = from_document(model, document) if model is not None else None
        except PersistenceError as failure:
            plan.problem(f"{where}: {failure.message}")
            continue
        if isinstance(item, Session) and item.active and item.join_code:
            other = plan.active_codes.setdefault((item.namespace_id, item.join_code), item.id)
            if other != item.id:
                plan.problem(f"{where}: active join code {item.join_code!r} is also that of session {other!r}")
    if count != expected:
        plan.problem(f"{name}.jsonl holds {count} documents, the manifest says {expected}")


def _read_lines(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, document or None, what is wrong or None) for each line of a ``.jsonl`` file."""
    try:
        with open(path, encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                try:
                    value = json_util.loads(line, json_options=_JSON_OPTIONS)
                except (ValueError, TypeError, BSONError, RecursionError, OverflowError) as exc:
                    yield number, None, f"not a JSON document ({type(exc).__name__}: {str(exc)[:200]})"
                    continue
                if not isinstance(value, dict):
                    yield number, None, f"a document must be an object, not {type(value).__name__}"
                    continue
                yield number, value, None
    except UnicodeDecodeError as exc:
        yield 0, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    except OSError as exc:
        yield 0, None, f"cannot be read ({exc.strerror})"


async def _active_codes_outside(store: Store, plan: _Plan) -> list[str]:
    """Active sessions of the store, not replaced by the backup, whose join code the backup uses."""
    if not plan.active_codes:
        return []
    replaced = plan.ids.get("sessions", set())
    clashes: list[str] = []
    async for document in store.documents.iter_documents("sessions"):
        if document["_id"] in replaced or not document.get("active"):
            continue
        code = _active_code(document)
        if code is not None and code in plan.active_codes:
            clashes.append(
                f"sessions.jsonl: session {plan.active_codes[code]!r} would take active join code {code[1]!r} "
                f"from session {document['_id']!r} of the store (end that session first)"
            )
    return clashes


def _active_code(document: Mapping[str, Any]) -> tuple[Any, str] | None:
    """(namespace, normalized code) of an active session: codes are unique within a namespace."""
    code = document.get("join_code")
    normalized = normalize_join_code(code) if isinstance(code, str) else None
    if not document.get("active") or not normalized:
        return None
    return document.get("namespace_id", DEFAULT_NAMESPACE), normalized


# -- writing -----------------------------------------------------------------------------


async def _write(store: Store, folder: Path, plan: _Plan) -> dict[str, int]:
    """Write the checked backup; on a failure, put the store back as it was before."""
    counts: dict[str, int] = {}
    with tempfile.NamedTemporaryFile(
        "w+", encoding="utf-8", prefix="docstore-restore-", suffix=".jsonl", delete=False
    ) as undo:
        undo_path = Path(undo.name)
        written: list[tuple[str, str]] = []  # (collection, _id) of every document sent
        try:
            for name in plan.collections:
                ids = plan.ids[name]
                await _save_previous(store, name, ids, undo)
                if name == "sessions":
                    await _free_join_codes(store, folder, ids, written)
                counts[name] = await _write_collection(store, folder, name, written)
        except BaseException as error:
            # Cancelled or failed: undo what was written (shielded from nothing: best effort).
            await _roll_back(store, undo, written, undo_path, error)
            raise
    undo_path.unlink(missing_ok=True)
    return counts


async def _save_previous(store: Store, name: str, ids: set[str], undo: IO[str]) -> None:
    """Write aside the store's documents of ``name`` that the backup will replace."""
    async for document in store.documents.iter_documents(name):
        if document["_id"] in ids:
            undo.write(json.dumps([name, _dumps(document)]) + "\n")
    undo.flush()


async def _free_join_codes(store: Store, folder: Path, ids: set[str], written: list[tuple[str, str]]) -> None:
    """Delete replaced active sessions whose join code the backup changes, before writing any.

    Otherwise a backup session could be refused for a code that the store's old
    version of another backup session still holds (two sessions swapping codes).
    The deleted versions are in the undo file; ``written`` makes the rollback restore them.
    """
    new_codes: dict[str, tuple[Any, str] | None] = {}
    for _, document, _error in _read_lines(folder / "sessions.jsonl"):
        if document is not None:
            new_codes[document["_id"]] = _active_code(document)
    async for document in store.documents.iter_documents("sessions"):
        session_id = document["_id"]
        code = _active_code(document)
        if session_id in ids and code is not None and new_codes.get(session_id) != code:
            written.append(("sessions", session_id))
            await store.documents.delete_document("sessions", session_id)


async def _write_collection(store: Store, folder: Path, name: str, written: list[tuple[str, str]]) -> int:
    batch: list[dict[str, Any]] = []
    count = 0
    for _, document, _error in _read_lines(folder / f"{name}.jsonl"):
        assert document is not None  # checked before
        batch.append(document)
        count += 1
        if len(batch) >= _BATCH:
            await _upsert(store, name, batch, written)
            batch = []
    if batch:
        await _upsert(store, name, batch, written)
    return count


async def _upsert(store: Store, name: str, batch: list[dict[str, Any]], written: list[tuple[str, str]]) -> None:
    written.extend((name, document["_id"]) for document in batch)
    result = await store.documents.upsert_documents(name, batch)
    if result.failed:
        position, reason = result.failed[0]
        raise PersistenceError(
            ErrorCode.STORAGE_ERROR,
            f"the store refused {name} document {batch[position]['_id']!r}: {reason}"
            + (f" (and {len(result.failed) - 1} more)" if len(result.failed) > 1 else ""),
        )


async def _roll_back(
    store: Store, undo: IO[str], written: list[tuple[str, str]], undo_path: Path, error: BaseException
) -> None:
    """Put back what the restore replaced and delete what it added; raise if that fails too."""
    undo.flush()
    undo.seek(0)
    previous: dict[tuple[str, str], dict[str, Any]] = {}
    for line in undo:
        name, text = json.loads(line)
        document = json_util.loads(text, json_options=_JSON_OPTIONS)
        previous[(name, document["_id"])] = document
    try:
        # Everything written goes first, replaced documents too: with none of the backup's
        # sessions left, putting the old ones back cannot clash on a join code.
        for name, document_id in reversed(written):
            await store.documents.delete_document(name, document_id)
        for (name, document_id), document in previous.items():
            if (await store.documents.upsert_documents(name, [document])).failed:
                raise PersistenceError(ErrorCode.STORAGE_ERROR, f"the store refused {name} {document_id!r}")
    except Exception as again:
        raise PersistenceError(
            ErrorCode.STORAGE_ERROR,
            f"restore failed ({_describe(error)}) and so did undoing it ({_describe(again)}): the store may hold "
            f"part of the backup; the documents it replaced are in {undo_path}",
        ) from error
    undo_path.unlink(missing_ok=True)
    if isinstance(error, PersistenceError):
        raise PersistenceError(
            error.code, f"restore failed and was undone (the store is as it was): {error.message}"
        ) from None


def _describe(error: BaseException) -> str:
    return error.message if isinstance(error, PersistenceError) else f"{type(error).__name__}: {error}"


def _dumps(document: Mapping[str, Any]) -> str:
    return json_util.dumps(document, json_options=_JSON_OPTIONS, sort_keys=True)
