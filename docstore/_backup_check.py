"""Checking a backup before a restore writes anything: every problem, or the plan of what to write.

Split from ``_backup.py`` (export and the restore's steps) because the checks are one idea:
nothing is written unless the whole backup passes them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bson import json_util

from ._backup_files import JSON_OPTIONS, TooLarge, read_lines, read_manifest_text
from ._errors import ErrorCode, PersistenceError
from ._mapping import check_collection_name, check_document, from_document
from ._models import DEFAULT_NAMESPACE, CodeRevision, ProblemSpec, Session, StoredItem, normalize_join_code
from ._students import SESSION_STUDENTS, record_id, student_from_record, students_of_legacy_session

__all__ = [
    "JOURNAL",
    "JSON_OPTIONS",
    "LAYOUT",
    "MANIFEST",
    "SHA256",
    "UNDO",
    "InvalidBackup",
    "Plan",
    "active_code",
    "check_backup",
    "dumps",
    "read_lines",
    "split_session",
]

MANIFEST = "manifest.json"
# The manifest's object of collection name -> SHA-256 (hex) of its file. Absent in the
# backups of releases before it: those are restored on their content checks alone.
SHA256 = "sha256"
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
# The layout an export holds: 1 = students inside their session's document (releases up to
# f1272aa, manifests without "layout"); 2 = students as session_students records.
LAYOUT = 2
# The restore's durable record in the store itself (see ``_restore_journal``): never exported,
# never restored from a backup.
JOURNAL, UNDO = "docstore_restore", "docstore_restore_undo"
# The collections the repositories read: a restored document must parse as their item.
_MODELS: dict[str, type[StoredItem]] = {"sessions": Session, "problems": ProblemSpec, "revisions": CodeRevision}
_PROGRESS_EVERY = 1000  # documents checked between two calls of a restore's progress
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


@dataclass
class Plan:
    """What the check of a backup found: its collections, their ids, and what to check in the store."""

    folder: Path
    collections: dict[str, int]
    layout: int = LAYOUT
    digests: dict[str, str] | None = None  # collection -> SHA-256 the manifest gives; None: it gives none
    ids: dict[str, set[str]] = field(default_factory=dict)
    active_codes: dict[tuple[Any, str], str] = field(default_factory=dict)  # (namespace, join code) -> session id
    namespaces: dict[str, Any] = field(default_factory=dict)  # session id of the backup -> its namespace
    # Student records whose session is not in the backup: (where, session id, namespace), checked in the store.
    outside: list[tuple[str, str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    more: int = 0

    def problem(self, text: str) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(text)
        else:
            self.more += 1

    def order(self) -> list[str]:
        """The collections to write: sessions first, then their students, then the rest by name."""
        first = [name for name in ("sessions", SESSION_STUDENTS) if name in self.ids]
        return first + sorted(name for name in self.ids if name not in first)


def check_backup(folder: Path, progress: Callable[[str, int, int], None] | None = None) -> Plan:
    """Every problem of the backup in ``folder``; ``InvalidBackup`` if there is any.

    ``progress("checking <collection>", done, total)`` is called as documents are checked.
    """
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise InvalidBackup(folder, [f"not a docstore export (no {MANIFEST})"])
    plan = _read_manifest(folder, manifest_path)
    # Sessions first: a student record's session may be one of them.
    for name in sorted(plan.collections, key=lambda name: (name != "sessions", name)):
        _check_collection(plan, name, progress)
    _check_digests(plan)
    if plan.layout == 1:
        plan.ids.setdefault(SESSION_STUDENTS, set())
    if plan.problems:
        raise InvalidBackup(folder, plan.problems, plan.more)
    return plan


def _read_manifest(folder: Path, path: Path) -> Plan:
    try:
        manifest = json.loads(read_manifest_text(path))
    except TooLarge as exc:
        raise InvalidBackup(folder, [f"{MANIFEST}: {exc}"]) from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidBackup(folder, [f"{MANIFEST} is not readable JSON: {exc}"]) from None
    if not isinstance(manifest, dict):
        raise InvalidBackup(folder, [f"{MANIFEST} must be an object, not {type(manifest).__name__}"])
    problems: list[str] = []
    if manifest.get("format", 1) != 1:
        problems.append(f"{MANIFEST}: unknown format {manifest.get('format')!r} (this docstore reads format 1)")
    layout = manifest.get("layout", 1)
    if type(layout) is not int or layout not in (1, LAYOUT):
        problems.append(f"{MANIFEST}: unknown layout {layout!r} (this docstore reads layouts 1 and {LAYOUT})")
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
        if name in (JOURNAL, UNDO):
            problems.append(f"{MANIFEST}: {name} is docstore's record of a restore, never part of a backup")
            continue
        if type(count) is not int or count < 0:
            problems.append(f"{MANIFEST}: the count of {name} must be a whole number >= 0, not {count!r}")
            continue
        if not (folder / f"{name}.jsonl").is_file():
            problems.append(f"{name}.jsonl is missing")
            continue
        counts[name] = count
    digests = _read_digests(manifest, counts, problems)
    if problems:
        raise InvalidBackup(folder, problems)
    return Plan(folder=folder, collections=counts, layout=layout, digests=digests)


def _read_digests(manifest: dict[str, Any], counts: dict[str, int], problems: list[str]) -> dict[str, str] | None:
    """The manifest's checksums (None when it has none); a malformed or missing one is a problem."""
    if SHA256 not in manifest:
        return None
    digests = manifest[SHA256]
    if not isinstance(digests, dict):
        problems.append(f'{MANIFEST}: "{SHA256}" must be an object of collection name -> SHA-256 of its file')
        return None
    for name, digest in digests.items():
        if not isinstance(digest, str) or not _HEX_DIGEST.fullmatch(digest):
            problems.append(f'{MANIFEST}: "{SHA256}" of {name!r} must be a SHA-256 (64 hex digits), not {digest!r}')
    # A collection without an entry is not checked: how a file changed on purpose is restored.
    return {name: digest for name, digest in digests.items() if isinstance(digest, str)}


def _check_digests(plan: Plan) -> None:
    """Every file is the one the export wrote: byte for byte, as its manifest's SHA-256 says."""
    if plan.digests is None:
        return
    for name in sorted(plan.collections):
        if name not in plan.digests:
            continue
        digest = hashlib.sha256()
        try:
            with open(plan.folder / f"{name}.jsonl", "rb") as data:
                for block in iter(lambda: data.read(1 << 20), b""):
                    digest.update(block)
        except OSError as exc:
            plan.problem(f"{name}.jsonl cannot be read ({exc.strerror})")
            continue
        if digest.hexdigest() != plan.digests[name]:
            plan.problem(
                f"{name}.jsonl does not match the manifest's checksum (sha256): it was damaged or changed since "
                f"the export, or the export did not finish; to restore a file changed on purpose, remove its "
                f'entry from "{SHA256}" in {MANIFEST}'
            )


def split_session(document: dict[str, Any], layout: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A backup's session document as it is stored now, and its student records (layout 1 only)."""
    if layout == 1:
        return students_of_legacy_session(document)
    return document, []


def _check_collection(plan: Plan, name: str, progress: Callable[[str, int, int], None] | None = None) -> None:
    ids = plan.ids.setdefault(name, set())
    model = _MODELS.get(name)
    count = 0
    total = plan.collections[name]
    if progress is not None:
        progress(f"checking {name}", 0, total)
    for line_number, document, error in read_lines(plan.folder / f"{name}.jsonl"):
        count += 1
        if progress is not None and count % _PROGRESS_EVERY == 0:
            progress(f"checking {name}", count, max(total, count))
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
            records: list[dict[str, Any]] = []
            if name == "sessions":
                if plan.layout != 1 and "students" in document:
                    raise PersistenceError(
                        ErrorCode.INVALID_DATA, f"session {document_id!r} holds students, which layout 2 keeps apart"
                    )
                document, records = split_session(document, plan.layout)
                plan.namespaces[document_id] = document.get("namespace_id")
            check_document(document, f"document {document_id!r}")
            item = from_document(model, document) if model is not None else None
            if name == SESSION_STUDENTS:
                _check_record(plan, where, document)
        except PersistenceError as failure:
            plan.problem(f"{where}: {failure.message}")
            continue
        for record in records:
            _check_converted(plan, where, record)
        if isinstance(item, Session) and item.active and item.join_code:
            other = plan.active_codes.setdefault((item.namespace_id, item.join_code), item.id)
            if other != item.id:
                plan.problem(f"{where}: active join code {item.join_code!r} is also that of session {other!r}")
    if progress is not None:
        progress(f"checking {name}", count, max(total, count))
    if count != plan.collections[name]:
        plan.problem(f"{name}.jsonl holds {count} documents, the manifest says {plan.collections[name]}")


def _check_converted(plan: Plan, where: str, record: dict[str, Any]) -> None:
    """A student taken out of a layout-1 session: it must be a record any engine stores and reads."""
    ids = plan.ids.setdefault(SESSION_STUDENTS, set())
    try:
        check_document(record, f"student {record.get('student_id')!r}")
        student_from_record(record)
    except PersistenceError as failure:
        plan.problem(f"{where}: {failure.message}")
        return
    if record["_id"] in ids:
        plan.problem(f"{where}: student record {record['_id']!r} appears twice")
    ids.add(record["_id"])


def _check_record(plan: Plan, where: str, record: Mapping[str, Any]) -> None:
    """A ``session_students`` record of the backup: a student, under its own key, of a session it names."""
    student_from_record(record)
    session_id, student_id = record.get("session_id"), record.get("student_id")
    if type(session_id) is not str or not session_id:
        raise PersistenceError(ErrorCode.INVALID_DATA, f"student record {record['_id']!r} names no session")
    if record["_id"] != record_id(session_id, str(student_id)):
        raise PersistenceError(
            ErrorCode.INVALID_DATA,
            f"student record {record['_id']!r} is not under its key {record_id(session_id, str(student_id))!r}",
        )
    if session_id in plan.namespaces:
        if plan.namespaces[session_id] != record.get("namespace_id"):
            raise PersistenceError(
                ErrorCode.INVALID_DATA,
                f"student record {record['_id']!r} is in namespace {record.get('namespace_id')!r}, "
                f"its session in {plan.namespaces[session_id]!r}",
            )
    else:
        plan.outside.append((where, session_id, record.get("namespace_id")))


def active_code(document: Mapping[str, Any]) -> tuple[Any, str] | None:
    """(namespace, normalized code) of an active session: codes are unique within a namespace."""
    code = document.get("join_code")
    normalized = normalize_join_code(code) if isinstance(code, str) else None
    if not document.get("active") or not normalized:
        return None
    return document.get("namespace_id", DEFAULT_NAMESPACE), normalized


def dumps(document: Mapping[str, Any]) -> str:
    """One line of an export: canonical Extended JSON, keys sorted (byte-identical on re-export)."""
    return json_util.dumps(document, json_options=JSON_OPTIONS, sort_keys=True)
