"""A student's record: one stored document per (session, student), the rules every backend shares.

Students used to live inside their session's document, so every post rewrote the whole
class. Each student now has a record of their own in the ``session_students``
collection::

    {"_id": "<session id>/<student id, percent-encoded>",
     "session_id", "student_id", "namespace_id",      # keys: the record is found by these
     "name", "code", "last_update", "extra",          # the Student's own fields
     "_metadata": {...}}                              # as every stored item

The session document keeps only the session's own fields (no ``students`` key) and stays
small whatever the class size; ``get_session`` assembles ``Session.students`` from the
records. ``_id`` is derived from the two keys (the student id percent-encoded, so the last
``/`` separates them whatever either holds), which makes every write of a record an
idempotent upsert by ``_id``: import, migration and restore can run twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

from ._backend_common import damaged, not_found
from ._errors import ErrorCode, PersistenceError
from ._mapping import METADATA, check_document, invalid, read_back, require_id, student_field, student_id_of
from ._models import Student
from ._time import utc_now

__all__ = [
    "LAST_ACTIVITY_STEP_S",
    "SESSION_STUDENTS",
    "checked_code",
    "embedded_students",
    "ended_error",
    "post_target",
    "record_id",
    "student_from_record",
    "student_not_found",
    "student_record",
    "students_of_legacy_session",
]

SESSION_STUDENTS = "session_students"
# ``last_activity`` of a session is written by student posts at most this often (seconds):
# a post within the step of the last write leaves the session document alone.
LAST_ACTIVITY_STEP_S = 1.0
_STUDENT_FIELDS = ("name", "code", "last_update", "extra")


def check_student_id(student_id: object) -> str:
    """A student id as callers give it: any text of 1 to 256 characters, no NUL."""
    student_id = require_id(student_id, "student id")
    student_field(student_id)  # the id rules (length, NUL) are written once, there
    return student_id


def checked_code(student_id: str, code: object) -> str:
    """A student's new code as ``update_student_code`` takes it: text any engine can store."""
    if not isinstance(code, str):
        raise invalid("code must be a string")
    check_document({"code": code}, f"code of student {student_id!r}")
    return code


def record_id(session_id: str, student_id: str) -> str:
    """The ``_id`` of a student's record: unique per (session, student), reversible."""
    return f"{session_id}/{quote(student_id, safe='')}"


def student_record(
    session_id: str,
    namespace_id: str,
    student: Student,
    *,
    now: datetime | None = None,
    actor: str | None = None,
    version: int = 1,
    created: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The stored document of ``student`` in ``session_id`` (checked: INVALID_DATA if it cannot be stored).

    ``created`` is the previous record's ``_metadata`` when one is replaced, so its
    creation time and author are kept and the version moves on.
    """
    check_student_id(student.id)
    now = now or utc_now()
    metadata = {
        "created_at": now,
        "updated_at": now,
        "version": version,
        "created_by": actor,
        "modified_by": actor,
    }
    if created is not None:
        metadata["created_at"] = created.get("created_at", now)
        metadata["created_by"] = created.get("created_by")
    body = student.model_dump(include=set(_STUDENT_FIELDS))
    document = {
        "_id": record_id(session_id, student.id),
        "session_id": session_id,
        "student_id": student.id,
        "namespace_id": namespace_id,
        **body,
        METADATA: metadata,
    }
    check_document(document, f"student {student.id!r}")
    return document


def student_from_record(raw: Mapping[str, Any]) -> Student:
    """The ``Student`` of a stored record; STORAGE_ERROR naming it when it does not read back."""
    data = {name: raw[name] for name in _STUDENT_FIELDS if name in raw}
    data["id"] = raw.get("student_id")
    return read_back(Student, data, "student record", raw.get("_id"))


D = TypeVar("D", bound=Mapping[str, Any])


def post_target(session_id: str, document: D | None) -> D:
    """The session a post goes to, as read inside the post's transaction: it must be in the
    view (else NOT_FOUND) and active (else PERMISSION_DENIED, ``ended_error``)."""
    if document is None:
        raise not_found("Session", session_id)
    active = document.get("active")
    if active is False:
        raise ended_error(session_id)
    if active is not True:
        raise damaged("Session", session_id, f"active is {active!r}")
    return document


def students_of_legacy_session(session: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Split a session document of the earlier layout (students inside) into the new one.

    Returns the session document without ``students`` and one record per student, each
    stamped with the session's metadata (the best the old layout knew). Used by every
    upgrade path (``local://`` on open, ``docstore init`` on MongoDB, restore of an old
    backup), so all three convert the same way. Student keys are ``student_field`` names
    (``%``, ``.``, ``$`` percent-encoded); the student's own ``id`` is authoritative.
    """
    document = {key: value for key, value in session.items() if key != "students"}
    students = session.get("students") or {}
    if not isinstance(students, Mapping):
        raise invalid(f"session {session.get('_id')!r}: students is a {type(students).__name__}, not a map")
    session_id = document["_id"]
    namespace = document.get("namespace_id")
    found = document.get(METADATA)
    metadata: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    records: list[dict[str, Any]] = []
    for key, value in students.items():
        if not isinstance(value, Mapping):
            raise invalid(f"session {session_id!r}: student {key!r} is a {type(value).__name__}, not a map")
        student_id = value.get("id", student_id_of(key))
        records.append(
            {
                "_id": record_id(session_id, str(student_id)),
                "session_id": session_id,
                "student_id": student_id,
                "namespace_id": namespace,
                **{name: value[name] for name in _STUDENT_FIELDS if name in value},
                METADATA: {
                    "created_at": metadata.get("created_at"),
                    "updated_at": metadata.get("updated_at"),
                    "version": 1,
                    "created_by": metadata.get("created_by"),
                    "modified_by": metadata.get("modified_by"),
                },
            }
        )
    return document, records


def embedded_students(session: Mapping[str, Any]) -> str | None:
    """Why a tool's session document is refused: one carrying ``students`` is of the earlier
    layout, whose students would never be read (restore and import convert it first)."""
    if "students" in session:
        return "students live in session_students; convert with docstore restore/import"
    return None


def ended_error(session_id: str) -> PersistenceError:
    """What a post to an ended session gets (nothing is written)."""
    return PersistenceError(ErrorCode.PERMISSION_DENIED, f"session {session_id!r} has ended: it takes no more posts")


def student_not_found(session_id: str, student_id: str) -> PersistenceError:
    """What a write to a student the session does not have gets (nothing is written)."""
    return PersistenceError(ErrorCode.NOT_FOUND, f"student {student_id!r} not found in session {session_id!r}")
