"""Import a legacy data directory into a store: streaming, idempotent, resumable.

Order: sessions first (their student maps tell which revision streams are orphans; each
session's students become ``session_students`` records, written after it), then problems,
revisions, and every other file into ``legacy_<name>``. Every record is written in batches of
upserts with its own id, so running the import again finishes an interrupted one and changes
nothing after a complete one.

What it promises about bad input: each record that cannot be stored exactly on every engine
(a document over 16 MB, a value nested too deep, a lone UTF-16 surrogate, an integer beyond 64
bits, a date outside years 1-9999, an operator key in a verbatim record) is one reject line and
the import goes on; nothing is replaced or dropped silently (a problem in both ``problems.json``
and ``problems/``, two files for one ``legacy_`` collection, a verbatim record with its own
``_id``: the second is a reject; fields docstore does not model go to ``extra``); and no input
raises out of ``import_legacy`` but a directory that does not exist and a store that fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._errors import ErrorCode, PersistenceError
from .._mapping import check_collection_name, check_document
from .._models import DEFAULT_NAMESPACE
from .._store import Store
from ._batch import Batch
from ._collector import fewer_collections
from ._formats import (
    FORMAT_2026_01_05,
    RecordError,
    decode_dates,
    problem_from_file,
    problem_from_list,
    session_from_legacy,
)
from ._links import refuse_links_leading_out
from ._reader import ReadError, iter_object, json_path
from ._records import (
    LEGACY_PREFIX,
    NOT_A_NAME_CHARACTER,
    SKIPPED_FILES,
    Convert,
    Progress,
    check_depth,
    one_format,
    reason,
    small_file,
    split_stream_key,
    stored,
    stored_session,
)
from ._report import FileOutcome, ImportReport, RejectSink
from ._revisions import import_revisions

__all__ = ["Progress", "import_legacy"]


SESSIONS, PROBLEMS, REVISIONS = "sessions", "problems", "revisions"


class _Importer:
    def __init__(
        self,
        store: Store,
        directory: Path,
        *,
        namespace: str,
        dry_run: bool,
        batch_size: int,
        rejects: RejectSink,
        progress: Progress | None,
    ) -> None:
        self.store = store
        self.directory = directory
        self.namespace = namespace
        self.dry_run = dry_run
        self.batch_size = batch_size
        self.rejects = rejects
        self.progress = progress
        self.report = ImportReport(
            source=str(directory), target=store.config.masked_url, dry_run=dry_run, namespace=namespace
        )
        self.session_students: dict[str, frozenset[str]] = {}
        # Student records of the session just converted, handed to its batch (``_keyed_file``).
        self.students_of: dict[str, list[dict[str, Any]]] = {}
        # Problem id -> the file that brought it (problems.json and problems/ may both hold one).
        self.problem_sources: dict[str, str] = {}
        # legacy_<name> collection -> the file written into it (two files never share one).
        self.other_collections: dict[str, str] = {}
        # Reject lines of records read while a batch is written: (file, path, reason, record).
        self.deferred: list[tuple[str, str, str, Any]] | None = None

    def reject(self, kind: str, file: str, path: str, reason: str, record: Any = None) -> None:
        """A record refused as it was read: its line waits while a batch is written (``_batch``)."""
        self.report.kind(kind).rejected += 1
        if self.deferred is not None:
            self.deferred.append((file, path, reason, record))
        else:
            self.rejects.reject(file, path, reason, record)

    def refused(self, kind: str, file: str, path: str, reason: str, record: Any = None) -> None:
        """A record the store refused: its line is written at once (the batch's own place in the order)."""
        self.report.kind(kind).rejected += 1
        self.rejects.reject(file, path, reason, record)

    def progress_for(self, file: Path) -> Callable[[int], None] | None:
        if self.progress is None:
            return None
        try:
            size = file.stat().st_size
        except OSError:
            return None  # unreadable (a link that leads nowhere): the read says so, as a reject line
        name = self.name_of(file)
        report = self.progress
        return lambda done: report(name, done, size)

    def name_of(self, file: Path) -> str:
        return file.relative_to(self.directory).as_posix()

    async def run(self) -> ImportReport:
        started = time.perf_counter()
        # A link that leads nowhere is listed (then a reject, unreadable), never skipped without a word.
        files = sorted(p for p in self.directory.rglob("*") if p.is_file() or (p.is_symlink() and not p.exists()))
        handled: set[Path] = set()
        for name, step in (
            ("sessions.json", self._sessions),
            ("problems.json", self._problem_list),
            ("revisions.json", self._revisions),
        ):
            path = self.directory / name
            if path.is_file():
                await step(path)
                handled.add(path)
        problem_folder = self.directory / "problems"
        if problem_folder.is_dir():
            handled |= await self._problem_folder(problem_folder)
        for path in files:
            if path in handled:
                continue
            name = self.name_of(path)
            if name in SKIPPED_FILES:
                self.report.files[name] = FileOutcome(kind="skipped", status="skipped", reason=SKIPPED_FILES[name])
            elif path.suffix != ".json" or "/" in name:
                self.report.files[name] = FileOutcome(kind="unknown", status="failed", reason="not a legacy data file")
                self.reject("files", name, "$", "not a legacy JSON data file of a known kind; left as it is")
            else:
                await self._other(path)
        self.report.elapsed_s = time.perf_counter() - started
        return self.report

    # -- files keyed by id --------------------------------------------------------
    async def _keyed_file(self, path: Path, kind: str, collection: str, convert: Convert) -> set[str]:
        """Read a file keyed by record id, convert each record, write them in batches.

        ``convert(key, record)`` returns (record id, stored document, format) or raises
        ``RecordError``; returns the formats seen.
        """
        name = self.name_of(path)
        outcome = self.report.files[name] = FileOutcome(kind=collection)
        counts = self.report.kind(kind)
        seen: set[str] = set()
        formats: set[str] = set()
        async with Batch(self, collection, kind, self.batch_size) as batch:
            try:
                for key, raw in iter_object(path, self.progress_for(path)):
                    counts.read += 1
                    where = json_path(key)
                    try:
                        if not isinstance(raw, dict):
                            raise RecordError(f"expected an object, got {type(raw).__name__}")
                        check_depth(raw)
                        record_id, document, fmt = convert(key, raw)
                        if record_id in seen:
                            raise RecordError(f"duplicate id {record_id!r}")
                    except Exception as error:  # every bad record is a reject, whatever broke on it
                        self.students_of.clear()  # a rejected session's students are not written either
                        self.reject(kind, name, where, reason(error), raw)
                        await batch.rejected()
                        continue
                    seen.add(record_id)
                    formats.add(fmt)
                    await batch.add(document, (name, (key,), raw), self.students_of.pop(record_id, None))
            except ReadError as error:
                self.broken_file(outcome, kind, name, error)
        outcome.format = one_format(formats)
        return formats

    async def _sessions(self, path: Path) -> None:
        def convert(key: str, raw: dict[str, Any]) -> tuple[str, dict[str, Any], str]:
            fmt, session = session_from_legacy(raw, self.namespace)
            if session.id != key:
                raise RecordError(f"id {session.id!r} differs from its key {key!r}")
            # Remembered for the revisions: a stream whose student is not here is an orphan.
            document, records = stored_session(session)
            self.session_students[session.id] = frozenset(session.students)
            self.students_of[session.id] = records
            return session.id, document, fmt

        await self._keyed_file(path, "sessions", SESSIONS, convert)

    async def _problem_list(self, path: Path) -> None:
        def convert(key: str, raw: dict[str, Any]) -> tuple[str, dict[str, Any], str]:
            if "_metadata" not in raw and "authorId" in raw:
                raise RecordError("unknown problem shape (newest-format problem in problems.json)")
            problem = problem_from_list(raw, self.namespace)
            document = stored(problem)
            self.problem_sources.setdefault(problem.id, self.name_of(path))
            return problem.id, document, "2025-12-18/2025-12-20"

        await self._keyed_file(path, "problems", PROBLEMS, convert)

    async def _other(self, path: Path) -> None:
        """A file the repositories do not model: each record verbatim into ``legacy_<name>``."""
        name = self.name_of(path)
        collection = LEGACY_PREFIX + NOT_A_NAME_CHARACTER.sub("_", path.stem)
        try:
            check_collection_name(collection)
            if collection in self.other_collections:
                raise RecordError(
                    f"its records would go to {collection}, where those of {self.other_collections[collection]} "
                    "went; rename one of the two files and import again"
                )
        except (RecordError, PersistenceError) as error:
            self.report.files[name] = FileOutcome(kind="unknown", status="failed", reason=reason(error))
            self.reject(path.stem, name, "$", f"file not imported: {reason(error)}")
            return
        self.other_collections[collection] = name

        def convert(key: str, raw: dict[str, Any]) -> tuple[str, dict[str, Any], str]:
            record_id = raw.get("id", key)
            if not isinstance(record_id, str) or not record_id:
                raise RecordError("record has no string id")
            if "_id" in raw:
                # Kept verbatim under its id, so its own _id would be overwritten (or win).
                raise RecordError("record has its own '_id' field, which docstore keeps for the record id")
            document = decode_dates(raw)
            document = {"_id": record_id, **document}
            check_document(document)  # kept verbatim, so checked here: no key may look like an operator
            return record_id, document, "keyed by id"

        await self._keyed_file(path, path.stem, collection, convert)

    async def _problem_folder(self, folder: Path) -> set[Path]:
        """``problems/index.json`` plus one file per problem (2026-01-05)."""
        counts = self.report.kind("problems")
        handled: set[Path] = set()
        index_ids: set[str] = set()
        index = folder / "index.json"
        if index.is_file():
            handled.add(index)
            index_ids = self._read_problem_index(index)
        found: set[str] = set()
        async with Batch(self, PROBLEMS, "problems", self.batch_size) as batch:
            for path in sorted(folder.glob("*.json")):
                if path == index:
                    continue
                handled.add(path)
                name = self.name_of(path)
                self.report.files[name] = FileOutcome(kind="problems", format=FORMAT_2026_01_05)
                counts.read += 1
                raw: Any = None
                try:
                    raw = small_file(path)
                    check_depth(raw)
                    problem = problem_from_file(raw, self.namespace)
                    if problem.id != path.stem:
                        raise RecordError(f"id {problem.id!r} differs from its file name")
                    document = stored(problem)
                    found.add(problem.id)
                    if problem.id in self.problem_sources:
                        raise RecordError(
                            f"problem {problem.id!r} is also in {self.problem_sources[problem.id]}, "
                            "which was imported; this copy was not"
                        )
                except Exception as error:  # every bad file is a reject, whatever broke on it
                    self.reject("problems", name, "$", reason(error), raw)
                    await batch.rejected()
                    continue
                self.problem_sources[problem.id] = name
                await batch.add(document, (name, (), raw))
        for missing in sorted(index_ids - found):
            self.reject(
                "problems",
                "problems/index.json",
                json_path("problems"),
                f"index lists problem {missing!r} but there is no problems/{missing}.json",
            )
        return handled

    def _read_problem_index(self, index: Path) -> set[str]:
        name = self.name_of(index)
        outcome = self.report.files[name] = FileOutcome(
            kind="problem index", format=FORMAT_2026_01_05, reason="checked against the problem files"
        )
        ids: set[str] = set()
        try:
            for key, value in iter_object(index):
                if key != "problems":
                    continue
                if not isinstance(value, list):
                    self.reject("problems", name, json_path(key), "expected a list of problems", value)
                    continue
                for position, entry in enumerate(value):
                    problem_id = entry.get("id") if isinstance(entry, dict) else None
                    if isinstance(problem_id, str) and problem_id:
                        ids.add(problem_id)
                    else:
                        self.reject("problems", name, json_path(key, position), "index entry has no string id", entry)
        except ReadError as error:
            self.broken_file(outcome, "problems", name, error)
        return ids

    async def _revisions(self, path: Path) -> None:
        await import_revisions(self, path)

    def is_orphan(self, key: str) -> bool:
        try:
            session_id, student_id = split_stream_key(key, self.session_students)
        except RecordError:
            return False
        students = self.session_students.get(session_id)
        return students is None or student_id not in students

    def broken_file(self, outcome: FileOutcome, kind: str, name: str, error: ReadError) -> None:
        outcome.status = "failed"
        outcome.reason = error.reason
        self.reject(kind, name, error.path, f"file is unreadable from here on: {error.reason}")


async def import_legacy(
    directory: str | Path,
    store: Store,
    *,
    namespace: str = DEFAULT_NAMESPACE,
    dry_run: bool = False,
    batch_size: int = 500,
    rejects_path: str | Path | None = None,
    progress: Progress | None = None,
    follow_symlinks: bool = False,
) -> ImportReport:
    """Import a legacy data directory into an initialized ``store``; see ``ImportReport``.

    A symbolic link under ``directory`` that leads out of it, or nowhere, is INVALID_DATA
    before anything is read (``_links``), unless ``follow_symlinks``.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise FileNotFoundError(f"legacy data directory {folder} does not exist or is not a directory")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if not follow_symlinks:
        refuse_links_leading_out(folder)
    from .._restore_journal import describe, interrupted_restore  # here: it imports the store's modules

    state = await interrupted_restore(store)
    if state is not None:
        # The restore's undo deletes what it added and puts back what it replaced, by id: it
        # would take the import's documents with it. As export does, refuse until it is undone.
        raise PersistenceError(ErrorCode.STORAGE_ERROR, f"cannot import: {describe(state)}")
    rejects = RejectSink(Path(rejects_path) if rejects_path is not None else None)
    try:
        importer = _Importer(
            store,
            folder,
            namespace=namespace,
            dry_run=dry_run,
            batch_size=batch_size,
            rejects=rejects,
            progress=progress,
        )
        with fewer_collections(batch_size):
            return await importer.run()
    finally:
        rejects.close()
