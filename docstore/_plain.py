"""Revisions read without pydantic: the same instances, a third of the cost.

pydantic validates a stored revision in ~13 us, most of it calling ``to_utc_ms`` from Rust
on three datetimes; the checks here take a third of that. They accept only what pydantic
would accept *unchanged* (exact types, every field present, datetimes naive or UTC at
millisecond precision) and build the instance it would build; anything else is None, and
``from_document`` hands it to pydantic, which validates it or says what is wrong. This is a
validation, not a shortcut on trust: a document a tool wrote through ``Store.documents``
passes the same checks. tests/unit/test_plain_revision.py holds it to pydantic's answers
and to the models' fields as they are now (a field added there fails that test).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from ._models import CodeRevision, ExecutionResult, StorageMetadata

__all__ = ["plain_revision"]

_METADATA = "_metadata"  # _mapping.METADATA (which imports this module)

_REVISION_KEYS = frozenset(
    {"_id", "session_id", "student_id", "code", "timestamp", "execution_result", "namespace_id", "extra", _METADATA}
)
_METADATA_KEYS = frozenset({"created_at", "updated_at", "version", "created_by", "modified_by"})
_RESULT_KEYS = frozenset({"success", "output", "error", "execution_time_ms", "extra"})
_ZERO = timedelta(0)
_new = object.__new__
_set = object.__setattr__


def _built(model: type[BaseModel], values: dict[str, Any]) -> Any:
    """An instance of ``model`` holding ``values`` (every field, in field order), as validation leaves it."""
    item = _new(model)
    _set(item, "__dict__", values)
    _set(item, "__pydantic_fields_set__", set(values))
    _set(item, "__pydantic_extra__", None)
    _set(item, "__pydantic_private__", None)
    return item


def _utc(value: Any) -> datetime | None:
    """``to_utc_ms(value)`` for a datetime it would not change but for the tzinfo; else None.

    A tzinfo other than ``UTC`` at offset zero (mongomock's, PyMongo's ``utc``) is what
    ``astimezone(UTC)`` would turn into the same wall time with ``UTC``.
    """
    if type(value) is not datetime or value.microsecond % 1000:
        return None
    zone = value.tzinfo
    if zone is UTC:
        return value
    if zone is None or (not value.fold and value.utcoffset() == _ZERO):
        return value.replace(tzinfo=UTC)
    return None


def plain_revision(raw: Mapping[str, Any]) -> CodeRevision | None:
    """The revision pydantic would make of ``raw``, if ``raw`` is plainly valid; else None."""
    if raw.keys() != _REVISION_KEYS:
        return None
    item_id, session_id, student_id, code = raw["_id"], raw["session_id"], raw["student_id"], raw["code"]
    namespace_id, extra, metadata = raw["namespace_id"], raw["extra"], raw[_METADATA]
    if not (
        type(item_id) is str
        and item_id
        and type(session_id) is str
        and type(student_id) is str
        and type(code) is str
        and type(namespace_id) is str
        and type(extra) is dict
        and type(metadata) is dict
        and metadata.keys() == _METADATA_KEYS
        and all(type(key) is str for key in extra)
    ):
        return None
    version, created_by, modified_by = metadata["version"], metadata["created_by"], metadata["modified_by"]
    if not (
        type(version) is int
        and version >= 1
        and (created_by is None or type(created_by) is str)
        and (modified_by is None or type(modified_by) is str)
    ):
        return None
    timestamp, created_at = _utc(raw["timestamp"]), _utc(metadata["created_at"])
    updated_at = created_at if metadata["updated_at"] == metadata["created_at"] else _utc(metadata["updated_at"])
    if timestamp is None or created_at is None or updated_at is None:
        return None
    result = raw["execution_result"]
    if result is not None:
        result = _plain_result(result)
        if result is None:
            return None
    stored = _built(
        StorageMetadata,
        {
            "created_at": created_at,
            "updated_at": updated_at,
            "version": version,
            "created_by": created_by,
            "modified_by": modified_by,
        },
    )
    values = {
        "id": item_id,
        "metadata": stored,
        "session_id": session_id,
        "student_id": student_id,
        "code": code,
        "timestamp": timestamp,
        "execution_result": result,
        "namespace_id": namespace_id,
        "extra": dict(extra),  # pydantic copies a dict[str, Any] (keys from BSON are text)
    }
    revision: CodeRevision = _built(CodeRevision, values)
    return revision


def _plain_result(raw: Any) -> ExecutionResult | None:
    if type(raw) is not dict or raw.keys() != _RESULT_KEYS:
        return None
    success, output, error = raw["success"], raw["output"], raw["error"]
    took, extra = raw["execution_time_ms"], raw["extra"]
    if not (
        type(success) is bool
        and type(output) is str
        and type(error) is str
        and (took is None or type(took) is float)
        and type(extra) is dict
    ):
        return None
    if not all(type(key) is str for key in extra):
        return None
    values = {"success": success, "output": output, "error": error, "execution_time_ms": took, "extra": dict(extra)}
    result: ExecutionResult = _built(ExecutionResult, values)
    return result
