"""A plain legacy revision's stored document, built without pydantic: the same document, a tenth of the cost.

Nearly every legacy revision is plain: the fields of its format and nothing else, text
where text is expected, ISO dates, a boolean ``success``. For those, the document that
``stored(revision_from_legacy(...))`` writes is built here directly, key for key and value
for value (its BSON, hence its content hash, is the same: a re-run of an import made
before finds it ``unchanged``). Anything else, or anything in doubt, is None, and the
caller takes the general path, which validates it with pydantic or says what is wrong.

The document's own checks (no lone surrogate, no document over 16 MB) are the ones every
``upsert_documents`` makes of every document it writes, so they are made once, there; a
record refused there is a reject line like any other. tests/legacy/test_fast_paths.py holds
this module to the general path's documents.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from .._mapping import METADATA
from .._time import to_utc_ms

__all__ = ["plain_revision_document"]

# The keys a plain revision may have (every format's): no other key, so nothing goes to ``extra``.
_PLAIN_KEYS = frozenset(
    {"id", "sessionId", "studentId", "code", "isDiff", "fullCode", "diff", "timestamp", "executionResult"}
    | {"namespaceId", METADATA}
)
_RESULT_KEYS = frozenset({"success", "output", "error", "executionTimeMs"})
_LARGEST_VERSION = 2**31  # far within 64 bits: a larger one takes the general path and its checks


def _text(value: Any) -> bool:
    """Whether ``value`` is text pydantic takes as it is: a str without a lone surrogate (it refuses those)."""
    if type(value) is not str:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _date(value: Any) -> datetime | None:
    """``parse_date`` of an ISO date string, or None where it would refuse or it is not a string."""
    if type(value) is not str:
        return None
    try:
        return to_utc_ms(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def plain_revision_document(
    raw: dict[str, Any], code: str, session_id: str, student_id: str, default_namespace: str
) -> dict[str, Any] | None:
    """The document the general path stores for ``raw`` (its code rebuilt), if ``raw`` is plain; else None."""
    if not raw.keys() <= _PLAIN_KEYS:
        return None
    revision_id = raw.get("id")
    metadata = raw.get(METADATA)
    namespace = raw.get("namespaceId") or default_namespace
    if not (
        revision_id
        and _text(revision_id)
        and type(metadata) is dict
        and _text(namespace)
        and _text(session_id)
        and _text(student_id)
        and _text(code)
    ):
        return None
    version = metadata.get("version", 1)
    if type(version) is not int or not 1 <= version < _LARGEST_VERSION:
        return None
    # The same string is one date: revisions often repeat their creation time.
    created_text, stamp_text = metadata.get("createdAt"), raw.get("timestamp")
    updated_text = metadata.get("updatedAt", created_text)
    created = _date(created_text)
    updated = created if updated_text == created_text else _date(updated_text)
    timestamp = created if stamp_text == created_text else _date(stamp_text)
    if created is None or updated is None or timestamp is None:
        return None
    result = raw.get("executionResult")
    if result is not None:
        result = _plain_result(result)
        if result is None:
            return None
    return {
        "_id": revision_id,
        "session_id": session_id,
        "student_id": student_id,
        "code": code,
        "timestamp": timestamp,
        "execution_result": result,
        "namespace_id": namespace,
        "extra": {},
        METADATA: {
            "created_at": created,
            "updated_at": updated,
            "version": version,
            "created_by": None,
            "modified_by": None,
        },
    }


def _plain_result(raw: Any) -> dict[str, Any] | None:
    if type(raw) is not dict or not raw.keys() <= _RESULT_KEYS:
        return None
    success, output, error = raw.get("success"), raw.get("output", ""), raw.get("error", "")
    took = raw.get("executionTimeMs")
    if not (
        type(success) is bool
        and _text(output)
        and _text(error)
        and (took is None or (type(took) is float and math.isfinite(took)))
    ):
        return None
    return {"success": success, "output": output, "error": error, "execution_time_ms": took, "extra": {}}
