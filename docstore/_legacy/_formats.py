"""The original tool's three on-disk formats, and how each record becomes a docstore item.

Pure functions: a legacy record in, a domain item out, or ``RecordError`` saying why not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from .._models import CodeRevision, ExecutionResult, ProblemSpec, Session, StorageMetadata, Student
from .._time import to_utc_ms

__all__ = [
    "FORMAT_2025_12_18",
    "FORMAT_2025_12_20",
    "FORMAT_2026_01_05",
    "RecordError",
    "decode_dates",
    "detect_revision_format",
    "detect_session_format",
    "problem_from_file",
    "problem_from_list",
    "revision_from_legacy",
    "session_from_legacy",
]

T = TypeVar("T")

FORMAT_2025_12_18 = "2025-12-18"
FORMAT_2025_12_20 = "2025-12-20"
FORMAT_2026_01_05 = "2026-01-05"

# The only fields that hold dates (the original reader turned *every* date-like
# string into a date, even inside code; we do not).
DATE_FIELDS = frozenset(
    {
        "createdAt",
        "updatedAt",
        "lastLoginAt",
        "joinedAt",
        "lastUpdated",
        "endedAt",
        "lastActivity",
        "lastUpdate",
        "timestamp",
    }
)


class RecordError(ValueError):
    """A legacy record that cannot become a docstore item; the message says why."""


def parse_date(value: Any, field: str) -> datetime:
    if isinstance(value, bool):
        raise RecordError(f"{field}: expected a date, got {value!r}")
    if isinstance(value, int | float):
        try:
            return to_utc_ms(datetime.fromtimestamp(value / 1000, UTC))  # epoch milliseconds
        except (OverflowError, OSError, ValueError):
            # 1e20, NaN: the platform's "[Errno 75] Value too large" is no reason to give a reader.
            raise RecordError(f"{field}: epoch milliseconds {value!r} are outside years 1-9999") from None
    if isinstance(value, str):
        try:
            return to_utc_ms(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            pass
    raise RecordError(f"{field}: expected an ISO date or epoch milliseconds, got {value!r}")


def decode_dates(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record kept verbatim, with its known date fields (at any depth) turned into dates."""

    def walk(value: Any, key: str | None) -> Any:
        if isinstance(value, Mapping):
            if value.get("__type") == "Map" and isinstance(value.get("entries"), list):
                return {str(k): walk(v, None) for k, v in value["entries"]}
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, None) for v in value]
        if key in DATE_FIELDS and value is not None:
            try:
                return parse_date(value, key)
            except RecordError:
                return value  # kept as it was: nothing is lost
        return value

    decoded: dict[str, Any] = walk(record, None)
    return decoded


def detect_session_format(record: Mapping[str, Any]) -> str:
    if "connectedStudents" in record:
        return FORMAT_2025_12_18
    if "problem" in record and "namespaceId" in record:
        return FORMAT_2026_01_05
    if "students" in record and "joinCode" in record:
        return FORMAT_2025_12_20
    raise RecordError(f"unknown session shape (keys: {sorted(record)[:12]})")


def detect_revision_format(record: Mapping[str, Any]) -> str:
    if "code" in record and "isDiff" not in record:
        return FORMAT_2025_12_18
    if "isDiff" in record:
        return FORMAT_2026_01_05 if "namespaceId" in record else FORMAT_2025_12_20
    raise RecordError(f"unknown revision shape (keys: {sorted(record)[:12]})")


def _require(record: Mapping[str, Any], field: str, kind: type | tuple[type, ...] = str) -> Any:
    if field not in record:
        raise RecordError(f"missing required field {field!r}")
    value = record[field]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise RecordError(f"{field}: expected {getattr(kind, '__name__', kind)}, got {type(value).__name__}")
    return value


def _optional_date(record: Mapping[str, Any], field: str) -> datetime | None:
    value = record.get(field)
    return None if value is None else parse_date(value, field)


def _metadata(record: Mapping[str, Any]) -> StorageMetadata:
    """``_metadata`` when the format has it; else created/updated times and version 1."""
    legacy = record.get("_metadata")
    if legacy is not None:
        if not isinstance(legacy, Mapping):
            raise RecordError("_metadata: expected an object")
        version = legacy.get("version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise RecordError(f"_metadata.version: expected a positive integer, got {version!r}")
        return StorageMetadata(
            created_at=parse_date(_require(legacy, "createdAt", (str, int)), "_metadata.createdAt"),
            updated_at=parse_date(legacy.get("updatedAt", legacy.get("createdAt")), "_metadata.updatedAt"),
            version=version,
        )
    created = parse_date(_require(record, "createdAt", (str, int)), "createdAt")
    updated = _optional_date(record, "updatedAt") or created
    return StorageMetadata(created_at=created, updated_at=updated, version=1)


def _extra(record: Mapping[str, Any], modelled: frozenset[str]) -> dict[str, Any]:
    """The record's fields docstore does not model, dates decoded (the modelled ones are not walked)."""
    unmodelled = {key: value for key, value in record.items() if key not in modelled}
    return decode_dates(unmodelled) if unmodelled else {}


def _students(value: Any) -> dict[str, Student]:
    if not (isinstance(value, Mapping) and value.get("__type") == "Map" and isinstance(value.get("entries"), list)):
        raise RecordError("students: expected a Map ({'__type': 'Map', 'entries': [...]})")
    students: dict[str, Student] = {}
    for index, entry in enumerate(value["entries"]):
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], Mapping)):
            raise RecordError(f"students: entry {index} is not a [id, student] pair")
        key, raw = entry
        try:
            student = Student(
                id=str(raw.get("id", key)),
                name=raw.get("name", ""),
                code=raw.get("code", ""),
                last_update=_optional_date(raw, "lastUpdate"),
                extra=_extra(raw, _STUDENT_FIELDS),
            )
        except ValidationError as exc:
            # Named as the student's: "id: ..." alone reads as the session's own id.
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise RecordError(f"students[{str(key)!r}].{where}: {first['msg']}") from None
        students[str(key)] = student
    return students


_STUDENT_FIELDS = frozenset({"id", "name", "code", "lastUpdate"})
_SESSION_FIELDS = frozenset(
    {
        "id",
        "joinCode",
        "problemText",
        "problem",
        "connectedStudents",
        "students",
        "featuredStudentId",
        "featuredCode",
        "creatorId",
        "namespaceId",
        "createdAt",
        "lastActivity",
        "endedAt",
        "_metadata",
    }
)
_PROBLEM_FIELDS = frozenset(
    {"id", "title", "description", "starterCode", "solution", "difficulty", "tags", "createdAt", "namespaceId"}
)
_OLD_PROBLEM_FIELDS = _PROBLEM_FIELDS | {"createdBy", "_metadata"}
_NEW_PROBLEM_FIELDS = _PROBLEM_FIELDS | {"authorId"}
_EXECUTION_RESULT_FIELDS = frozenset({"success", "output", "error", "executionTimeMs"})
# The code fields of every format: the code is rebuilt from them (``_patches``).
_REVISION_FIELDS = frozenset(
    {"id", "sessionId", "studentId", "code", "isDiff", "fullCode", "diff", "timestamp", "executionResult"}
) | {"namespaceId", "_metadata"}


def _revision_fields(record: Mapping[str, Any]) -> frozenset[str]:
    """The fields a revision's item is built from: createdAt/updatedAt only when there is no _metadata."""
    return _REVISION_FIELDS if "_metadata" in record else _REVISION_FIELDS | {"createdAt", "updatedAt"}


def _validated(build: Callable[[], T]) -> T:
    try:
        return build()
    except ValidationError as exc:
        first = exc.errors()[0]
        raise RecordError(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None


def session_from_legacy(record: Mapping[str, Any], default_namespace: str) -> tuple[str, Session]:
    """(format, Session) for one record of ``sessions.json``."""
    fmt = detect_session_format(record)
    status = record.get("status")
    ended_at = _optional_date(record, "endedAt")
    # 2025-12-18 has neither status nor end time: a session stayed until deleted.
    active = status == "active" if status is not None else ended_at is None
    students_field = "connectedStudents" if fmt == FORMAT_2025_12_18 else "students"
    problem = record.get("problem")

    def build() -> Session:
        return Session(
            id=_require(record, "id"),
            join_code=record.get("joinCode"),
            problem_text=record.get("problemText") or "",
            problem=problem_from_file(problem, default_namespace, embedded=True) if problem is not None else None,
            students=_students(_require(record, students_field, Mapping)),
            featured_student_id=record.get("featuredStudentId"),
            featured_code=record.get("featuredCode"),
            instructor_id=record.get("creatorId"),
            namespace_id=record.get("namespaceId") or default_namespace,
            active=active,
            created_at=parse_date(_require(record, "createdAt", (str, int)), "createdAt"),
            last_activity=parse_date(record.get("lastActivity", record.get("createdAt")), "lastActivity"),
            ended_at=ended_at,
            extra=_extra(record, _SESSION_FIELDS),
            metadata=_metadata(record),
        )

    return fmt, _validated(build)


def problem_from_list(record: Mapping[str, Any], default_namespace: str) -> ProblemSpec:
    """One record of ``problems.json`` (2025-12-18 and 2025-12-20): author in ``createdBy``."""
    return _problem(record, default_namespace, "createdBy", _OLD_PROBLEM_FIELDS, _metadata(record))


def problem_from_file(record: Any, default_namespace: str, *, embedded: bool = False) -> ProblemSpec:
    """One ``problems/<id>.json`` (2026-01-05), or the copy a session embeds: author in ``authorId``."""
    if not isinstance(record, Mapping):
        raise RecordError("problem: expected an object")
    metadata = None if embedded else _metadata(record)
    return _problem(record, default_namespace, "authorId", _NEW_PROBLEM_FIELDS, metadata)


def _problem(
    record: Mapping[str, Any],
    default_namespace: str,
    author_field: str,
    modelled: frozenset[str],
    metadata: StorageMetadata | None,
) -> ProblemSpec:
    return _validated(
        lambda: ProblemSpec(
            id=_require(record, "id"),
            title=_require(record, "title"),
            description=record.get("description", ""),
            starter_code=record.get("starterCode", ""),
            solution=record.get("solution"),
            difficulty=record.get("difficulty"),
            tags=record.get("tags", []),
            created_at=parse_date(_require(record, "createdAt", (str, int)), "createdAt"),
            created_by=record.get(author_field),
            namespace_id=record.get("namespaceId") or default_namespace,
            extra=_extra(record, modelled),
            metadata=metadata,
        )
    )


def revision_from_legacy(
    record: Mapping[str, Any], code: str, session_id: str, student_id: str, default_namespace: str
) -> CodeRevision:
    """One revision, its code already rebuilt (see ``_patches``)."""
    result = record.get("executionResult")
    if result is not None and not isinstance(result, Mapping):
        raise RecordError("executionResult: expected an object")
    return _validated(
        lambda: CodeRevision(
            id=_require(record, "id"),
            session_id=session_id,
            student_id=student_id,
            code=code,
            timestamp=parse_date(_require(record, "timestamp", (str, int)), "timestamp"),
            execution_result=None
            if result is None
            else ExecutionResult(
                success=result.get("success"),
                output=result.get("output", ""),
                error=result.get("error", ""),
                execution_time_ms=result.get("executionTimeMs"),
                extra=_extra(result, _EXECUTION_RESULT_FIELDS),
            ),
            namespace_id=record.get("namespaceId") or default_namespace,
            extra=_extra(record, _revision_fields(record)),
            metadata=_metadata(record)
            if "_metadata" in record or "createdAt" in record
            else StorageMetadata(
                created_at=parse_date(record["timestamp"], "timestamp"),
                updated_at=parse_date(record["timestamp"], "timestamp"),
            ),
        )
    )
