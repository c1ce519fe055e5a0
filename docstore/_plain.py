"""Revisions read without pydantic: the same instances, a third of the cost.

pydantic validates a stored revision in ~13 us, most of it calling ``to_utc_ms`` from Rust
on three datetimes; the checks here take a third of that. They accept only what pydantic
would accept *unchanged* (exact types, every field present, datetimes naive or UTC at
millisecond precision) and build the instance it would build; anything else is None, and
``from_document`` hands it to pydantic, which validates it or says what is wrong. This is a
validation, not a shortcut on trust: a document a tool wrote through ``Store.documents``
passes the same checks. tests/unit/test_plain_revision.py holds it to pydantic's answers
and to the models' fields as they are now (a field added there fails that test).

The same checks serve a save (``plain_new_body``: a caller's revision that validation would
give back unchanged; tests/unit/test_plain_new_revision.py) and a row read again
(``built_revision`` of remembered values, ``_sqlite/_revision_rows.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from ._models import CodeRevision, ExecutionResult, StorageMetadata
from ._time import utc_epoch

__all__ = ["Fields", "built_revision", "plain_fields", "plain_new_body", "plain_revision"]

_METADATA = "_metadata"  # _mapping.METADATA (which imports this module)

_REVISION_KEYS = frozenset(
    {"_id", "session_id", "student_id", "code", "timestamp", "execution_result", "namespace_id", "extra", _METADATA}
)
_METADATA_KEYS = frozenset({"created_at", "updated_at", "version", "created_by", "modified_by"})
# Every field of the model: what pydantic records as set when validating a whole document.
_REVISION_FIELDS = frozenset(CodeRevision.model_fields)
_RESULT_KEYS = frozenset({"success", "output", "error", "execution_time_ms", "extra"})
_ZERO = timedelta(0)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
# The epoch in each zero-offset zone met (by id: a tzinfo need not be hashable), for ``_utc``.
_ZONE_EPOCHS: dict[int, tuple[Any, datetime]] = {}
_new = object.__new__
# The slots of every pydantic model, set through their descriptors (a third cheaper than
# ``object.__setattr__``, which looks each one up first): what validation sets, no more.
_SLOTS = BaseModel.__dict__
_set_dict = _SLOTS["__dict__"].__set__
_set_fields = _SLOTS["__pydantic_fields_set__"].__set__
_set_extra = _SLOTS["__pydantic_extra__"].__set__
_set_private = _SLOTS["__pydantic_private__"].__set__
_ALL_RESULT_FIELDS = frozenset(ExecutionResult.model_fields)


def _built(model: type[BaseModel], values: dict[str, Any], fields: frozenset[str]) -> Any:
    """An instance of ``model`` holding ``values`` (every field, in field order), as validation leaves it."""
    item = _new(model)
    _set_dict(item, values)
    _set_fields(item, set(fields))
    _set_extra(item, None)
    _set_private(item, None)
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
    if zone is None and not value.fold:
        # ``value.replace(tzinfo=UTC)``, in a seventh of its time (replace parses keywords):
        # the same wall time, fold 0, tzinfo ``UTC``. Most rows hold two such datetimes.
        return _EPOCH + (value - _NAIVE_EPOCH)
    if zone is None:
        return value.replace(tzinfo=UTC)
    epoch = utc_epoch(zone) if not value.fold else None
    if epoch is not None:
        # A zone known to be fixed at offset zero (bson's ``utc``): no ``utcoffset`` call.
        return _EPOCH + (value - epoch)
    if value.fold or value.utcoffset() != _ZERO:
        return None
    # ``value.replace(tzinfo=UTC)`` by arithmetic (0.6 against 1.3 us; every datetime PyMongo
    # decodes with tz_aware is in its ``utc``): both operands in one zone subtract as wall
    # times, and both are at offset zero, so the difference is the UTC one.
    known = _ZONE_EPOCHS.get(id(zone))
    if known is not None and known[0] is zone:
        return _EPOCH + (value - known[1])
    epoch = datetime(1970, 1, 1, tzinfo=zone)
    if epoch.utcoffset() == _ZERO and len(_ZONE_EPOCHS) < 8:  # a few zones (the drivers'), never one per value
        _ZONE_EPOCHS[id(zone)] = (zone, epoch)
    return value.replace(tzinfo=UTC)


def _same(value: Any, other: Any) -> bool:
    """Whether ``_utc`` of both is the same (the same wall time in the same zone, or one object)."""
    return value is other or (
        type(value) is datetime
        and type(other) is datetime
        and value.tzinfo is other.tzinfo
        and value.fold == other.fold
        and value == other
    )


def plain_revision(raw: Mapping[str, Any]) -> CodeRevision | None:
    """The revision pydantic would make of ``raw``, if ``raw`` is plainly valid; else None."""
    fields = plain_fields(raw)
    return None if fields is None else built_revision(fields)


# What ``plain_fields`` gives: the values of a revision, in this order, as validation makes them
# (``result`` is ExecutionResult's values in its field order, or None; ``extra`` a dict).
Fields = tuple[Any, ...]


def plain_fields(raw: Mapping[str, Any]) -> Fields | None:
    """The field values pydantic would make of ``raw``, if ``raw`` is plainly valid; else None.

    (id, session_id, student_id, code, timestamp, result, namespace_id, extra,
    created_at, updated_at, version, created_by, modified_by): ``built_revision`` makes
    the instance. Nothing in it is shared with ``raw`` but immutable values and ``extra``.
    """
    if raw.keys() != _REVISION_KEYS:
        return None
    metadata, extra = raw[_METADATA], raw["extra"]
    if type(metadata) is not dict or metadata.keys() != _METADATA_KEYS or type(extra) is not dict:
        return None
    item_id, session_id, student_id, code = raw["_id"], raw["session_id"], raw["student_id"], raw["code"]
    namespace_id, version = raw["namespace_id"], metadata["version"]
    created_by, modified_by = metadata["created_by"], metadata["modified_by"]
    if not (
        type(item_id) is str
        and item_id
        and type(session_id) is str
        and type(student_id) is str
        and type(code) is str
        and type(namespace_id) is str
        and type(version) is int
        and version >= 1
        and (created_by is None or type(created_by) is str)
        and (modified_by is None or type(modified_by) is str)
        and (not extra or all(type(key) is str for key in extra))
    ):
        return None
    # Datetimes: the same value (a stored revision's three often are) is converted once.
    stamp, created, updated = raw["timestamp"], metadata["created_at"], metadata["updated_at"]
    created_at = _utc(created)
    updated_at = created_at if _same(updated, created) else _utc(updated)
    timestamp = created_at if _same(stamp, created) else _utc(stamp)
    if timestamp is None or created_at is None or updated_at is None:
        return None
    result = raw["execution_result"]
    if result is not None:
        result = _plain_result(result)
        if result is None:
            return None
    return (
        item_id, session_id, student_id, code, timestamp, result, namespace_id, extra,
        created_at, updated_at, version, created_by, modified_by,
    )  # fmt: skip


def built_revision(fields: Fields) -> CodeRevision:
    """The instance validation makes of the values ``plain_fields`` gave: new objects, every time.

    Every mutable part (the three instances, their field sets, both ``extra`` dicts) is
    made here, so two instances built from the same values share only immutable ones.
    """
    (
        item_id, session_id, student_id, code, timestamp, result, namespace_id, extra,
        created_at, updated_at, version, created_by, modified_by,
    ) = fields  # fmt: skip
    stored = _built(StorageMetadata, {
        "created_at": created_at,
        "updated_at": updated_at,
        "version": version,
        "created_by": created_by,
        "modified_by": modified_by,
    }, _METADATA_KEYS)  # fmt: skip
    if result is not None:
        success, output, error, took, result_extra = result
        result = _built(ExecutionResult, {
            "success": success,
            "output": output,
            "error": error,
            "execution_time_ms": took,
            "extra": dict(result_extra),  # pydantic copies a dict[str, Any] (keys checked to be text)
        }, _ALL_RESULT_FIELDS)  # fmt: skip
    revision: CodeRevision = _built(CodeRevision, {
        "id": item_id,
        "metadata": stored,
        "session_id": session_id,
        "student_id": student_id,
        "code": code,
        "timestamp": timestamp,
        "execution_result": result,
        "namespace_id": namespace_id,
        "extra": dict(extra),
    }, _REVISION_FIELDS)  # fmt: skip
    return revision


def _plain_result(raw: Any) -> tuple[Any, ...] | None:
    """ExecutionResult's values, in field order, if ``raw`` is plainly valid; else None."""
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
    return success, output, error, took, extra


def _unicode(text: str | None) -> bool:
    """Whether ``text`` (a checked ``str`` or None) holds no lone surrogate."""
    if text is None or text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


# Any valid metadata: what stands for a caller's None (valid, and replaced by the save anyway).
_SOME_METADATA = {"created_at": _EPOCH, "updated_at": _EPOCH, "version": 1, "created_by": None, "modified_by": None}


def _simple_new_body(values: dict[str, Any]) -> tuple[str, dict[str, Any], bool] | None:
    """``plain_new_body`` of the usual new revision (no result, no metadata, ``extra`` empty), read from its
    fields as they are; None for anything else, which takes the dump below.

    Such a revision's dump holds the very objects its fields hold (a dump copies only models and
    containers, and there are none left here), so the checks below are those ``plain_fields`` makes
    of that dump, without making it (1.2 us) nor the mapping it checks (a third of a save's work on
    the event loop before its hand-off, with the rest of ``plain_new_body``).
    """
    extra = values.get("extra")
    if values.get("execution_result") is not None or values.get("metadata") is not None:
        return None
    if type(extra) is not dict or extra:
        return None
    item_id, session_id, student_id = values.get("id"), values.get("session_id"), values.get("student_id")
    code, namespace_id = values.get("code"), values.get("namespace_id")
    if not (
        type(item_id) is str
        and item_id
        and type(session_id) is str
        and type(student_id) is str
        and type(code) is str
        and type(namespace_id) is str
        and _unicode(item_id)
        and _unicode(session_id)
        and _unicode(student_id)
        and _unicode(code)
        and _unicode(namespace_id)
    ):
        return None
    timestamp = _utc(values.get("timestamp"))
    if timestamp is None:
        return None
    body = {
        "session_id": session_id,
        "student_id": student_id,
        "code": code,
        "timestamp": timestamp,
        "execution_result": None,
        "namespace_id": namespace_id,
        "extra": {},
    }
    return item_id, body, False


def plain_new_body(revision: object) -> tuple[str, dict[str, Any], bool] | None:
    """A caller's revision that validation would give back as it is: its id, its new document's body, and
    whether ``check_document`` has anything left to check in it. None: anything else (validated in full).

    What ``revalidated`` then ``model_dump`` make of it, from one dump and the hand-written checks:
    pydantic does not validate assignment, so the dump may hold anything, and only a dump
    that ``plain_fields`` accepts is taken. The body is built from the checked values.
    Left to check: only free-form ``extra`` values and a float that may not be finite
    (the keys, the version, the aware datetimes are what this function just checked).
    """
    if type(revision) is not CodeRevision:
        return None  # a subclass, or anything else: the full path says what is wrong
    simple = _simple_new_body(revision.__dict__)
    if simple is not None:
        return simple
    raw = revision.model_dump(warnings=False)
    metadata = raw["metadata"]
    fields = plain_fields({
        "_id": raw["id"],
        "session_id": raw["session_id"],
        "student_id": raw["student_id"],
        "code": raw["code"],
        "timestamp": raw["timestamp"],
        "execution_result": raw["execution_result"],
        "namespace_id": raw["namespace_id"],
        "extra": raw["extra"],
        _METADATA: _SOME_METADATA if metadata is None else metadata,
    })  # fmt: skip
    if fields is None:
        return None
    item_id, session_id, student_id, code, timestamp, result, namespace_id, extra = fields[:8]
    # pydantic refuses text that is not Unicode (a lone surrogate) in every ``str``, keys too.
    texts = [item_id, session_id, student_id, code, namespace_id, *extra, *fields[11:]]
    if result is not None:
        texts += [result[1], result[2], *result[4]]
    if not all(_unicode(text) for text in texts):
        return None
    left = bool(extra)
    if result is not None:
        success, output, error, took, result_extra = result
        left = left or bool(result_extra) or (took is not None and not math.isfinite(took))
        result = {
            "success": success,
            "output": output,
            "error": error,
            "execution_time_ms": took,
            "extra": dict(result_extra),
        }
    body = {
        "session_id": session_id,
        "student_id": student_id,
        "code": code,
        "timestamp": timestamp,
        "execution_result": result,
        "namespace_id": namespace_id,
        "extra": dict(extra),
    }
    return item_id, body, left
