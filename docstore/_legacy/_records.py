"""What the importer makes of one record: its stored documents, its depth check, the reason it is refused.

Split from ``_importer.py`` (which reads files and writes batches): these are the rules
for a single record, shared by every kind of file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Container, Mapping
from pathlib import Path
from typing import Any

from .._errors import PersistenceError
from .._mapping import MAX_DEPTH, check_document, student_field, to_document
from .._models import Session, StoredItem
from .._students import students_of_legacy_session
from ._formats import FORMAT_2025_12_18, RecordError
from ._patches import PatchError, apply_patch
from ._reader import ReadError

__all__ = [
    "LEGACY_PREFIX",
    "MAX_RAW_DEPTH",
    "NOT_A_NAME_CHARACTER",
    "SKIPPED_FILES",
    "Convert",
    "Progress",
    "check_depth",
    "one_format",
    "reason",
    "rebuild_code",
    "small_file",
    "split_stream_key",
    "stored",
    "stored_session",
]

# Called with (file name, bytes of it read so far, its size).
Progress = Callable[[str, int, int], None]
# (key, record) -> (record id, document to store, format name); raises RecordError.
Convert = Callable[[str, dict[str, Any]], tuple[str, dict[str, Any], str]]
SKIPPED_FILES = {
    "auth-sessions.json": "web login sessions with copies of user accounts: not imported (no value, holds secrets)",
}
# A file the repositories do not model goes verbatim into legacy_<its name, these characters as _>.
LEGACY_PREFIX = "legacy_"
NOT_A_NAME_CHARACTER = re.compile(r"[^A-Za-z0-9_]")
# A raw record may be deeper than what it becomes (a Map entry is two levels of lists),
# but never this deep: beyond it, it is refused before anything walks it recursively.
MAX_RAW_DEPTH = 4 * MAX_DEPTH
_MAX_RAW_DEPTH = MAX_RAW_DEPTH


def stored(item: StoredItem) -> dict[str, Any]:
    """The document to write for ``item``; ``RecordError`` when no engine could store it."""
    try:
        return to_document(item)
    except PersistenceError as error:
        raise RecordError(error.message) from None


def stored_session(session: Session) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The session's document (without students) and its student records; ``RecordError`` if either cannot be stored.

    The records are made as every upgrade path makes them (``students_of_legacy_session``),
    stamped with the session's metadata: the same input gives the same records, so a re-run
    finds them ``unchanged``.
    """
    document = stored(session)
    embedded = {
        student_field(student_id): {"id": student_id, **student.model_dump(exclude={"id"})}
        for student_id, student in session.students.items()
    }
    try:
        document, records = students_of_legacy_session({**document, "students": embedded})
        for record in records:
            check_document(record, f"student {record['student_id']!r}")
    except PersistenceError as error:
        raise RecordError(error.message) from None
    return document, records


def check_depth(value: Any) -> None:
    """``RecordError`` for a value nested deeper than any record may be (iterative: never a RecursionError)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > _MAX_RAW_DEPTH:
            raise RecordError(f"nested deeper than {_MAX_RAW_DEPTH} levels")
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values() if isinstance(child, dict | list))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item if isinstance(child, dict | list))


def reason(error: BaseException) -> str:
    """What a reject line says about ``error``."""
    if isinstance(error, PersistenceError):
        return error.message
    if isinstance(error, RecordError | PatchError | ReadError):
        return str(error)
    if isinstance(error, RecursionError):
        return f"nested deeper than {_MAX_RAW_DEPTH} levels"
    # Not foreseen: still one record's problem, never the import's.
    return f"cannot be imported ({type(error).__name__}: {error})"


def small_file(path: Path) -> Any:
    """A file that holds one record (one problem): read whole, it is small."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except RecursionError:
        raise ReadError(f"nested deeper than {_MAX_RAW_DEPTH} levels", "$") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReadError(f"malformed JSON: {exc}", "$") from None
    except OSError as exc:
        raise ReadError(f"cannot read the file: {exc.strerror}", "$") from None


def split_stream_key(
    key: str, sessions: Container[str] = (), record: Mapping[str, Any] | None = None
) -> tuple[str, str]:
    """(session id, student id) of a stream key ``<sessionId>:<studentId>``.

    Either id may hold colons (the original tool took any id): the key is split after the
    ``record``'s own ``sessionId``/``studentId`` where they join to the key, else after the
    first prefix that is a session of ``sessions``, else at its first colon.
    """
    if record is not None:
        session_id, student_id = record.get("sessionId"), record.get("studentId")
        joined = f"{session_id}:{student_id}" if isinstance(session_id, str) and isinstance(student_id, str) else None
        if session_id and student_id and joined == key:
            return str(session_id), str(student_id)
    position = key.find(":")
    while position > 0:
        if key[:position] in sessions and position < len(key) - 1:
            return key[:position], key[position + 1 :]
        position = key.find(":", position + 1)
    session_id, separator, student_id = key.partition(":")
    if not separator or not session_id or not student_id:
        raise RecordError(f"stream key {key!r} is not '<sessionId>:<studentId>'")
    return session_id, student_id


def one_format(formats: set[str]) -> str | None:
    return "/".join(sorted(formats)) or None


def rebuild_code(raw: dict[str, Any], fmt: str, code: str, broken_base: bool) -> str:
    """The revision's full code, from the code of the one before it."""
    if fmt == FORMAT_2025_12_18:
        value = raw.get("code")
        if not isinstance(value, str):
            raise RecordError("code: expected a string")
        return value
    if raw.get("isDiff") is False:
        value = raw.get("fullCode")
        if not isinstance(value, str):
            raise RecordError("fullCode: expected a string")
        return value
    if raw.get("isDiff") is not True:
        raise RecordError("isDiff: expected true or false")
    patch = raw.get("diff")
    if not isinstance(patch, str):
        raise RecordError("diff: expected patch text")
    if broken_base:
        raise PatchError("the revision this diff applies to was rejected")
    return apply_patch(code, patch)
