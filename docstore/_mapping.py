"""Domain item <-> stored document, and the checks every written value passes.

Layout of a stored document: the item's fields, ``_id`` for ``id``, and
``_metadata`` for ``metadata``. Nothing else knows these names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Annotated, Any, TypeVar

import bson
import bson.errors
from pydantic import BaseModel, TypeAdapter, ValidationError

from ._errors import ErrorCode, PersistenceError
from ._models import StoredItem

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "METADATA",
    "check_encodable",
    "check_keys",
    "from_document",
    "invalid",
    "require_id",
    "to_document",
    "validate_updates",
]

METADATA = "_metadata"
# MongoDB's limit is 16 MiB per document; keep room for the metadata and the update itself.
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024 - 64 * 1024
T = TypeVar("T", bound=StoredItem)
_IMMUTABLE = frozenset({"id", "metadata", "_id", METADATA})


def invalid(message: str) -> PersistenceError:
    return PersistenceError(ErrorCode.INVALID_DATA, message)


def require_id(value: object, what: str = "id") -> str:
    """Ids come from callers: only a plain non-empty string may reach a query."""
    if type(value) is not str or not value:
        raise invalid(f"{what} must be a non-empty string, not {type(value).__name__}")
    return value


def check_keys(value: Any, path: str = "") -> None:
    """Refuse keys that MongoDB would read as operators or paths (``$x``, ``a.b``)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if type(key) is not str:
                raise invalid(f"key {key!r} at {path or 'top level'} is not a string")
            if key.startswith("$") or "." in key or "\x00" in key:
                raise invalid(f"key {key!r} at {path or 'top level'} may not start with '$' or contain '.'")
            check_keys(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_keys(item, f"{path}[{index}]")


def check_encodable(value: Mapping[str, Any], what: str) -> None:
    """Refuse, before any driver sees it, what MongoDB would refuse: text that is not valid
    UTF-8 (lone surrogates) and documents over the 16 MB limit."""
    try:
        size = len(bson.encode(value))
    except (bson.errors.BSONError, UnicodeError) as exc:
        raise invalid(f"{what} cannot be stored: {exc}") from None
    if size > MAX_DOCUMENT_BYTES:
        raise invalid(f"{what} is {size:,} bytes; a stored document holds at most {MAX_DOCUMENT_BYTES:,}")


def to_document(item: StoredItem) -> dict[str, Any]:
    if item.metadata is None:
        raise invalid("item has no metadata; repositories set it before writing")
    body = item.model_dump(exclude={"id", "metadata"})
    check_keys(body)
    document = {"_id": item.id, **body, METADATA: item.metadata.model_dump()}
    check_encodable(document, f"{type(item).__name__} {item.id!r}")
    return document


def from_document(model: type[T], raw: Mapping[str, Any]) -> T:
    data = {name: raw[name] for name in _field_names(model) if name in raw}
    data["id"] = raw["_id"]
    data["metadata"] = raw.get(METADATA)
    return model.model_validate(data)


@cache
def _field_names(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(model.model_fields)


@cache
def _field_adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    field = model.model_fields[name]
    annotation: Any = field.annotation
    if field.metadata:
        annotation = Annotated[(annotation, *field.metadata)]
    return TypeAdapter(annotation)


def validate_updates(
    model: type[StoredItem], updates: Mapping[str, Any], *, immutable: Iterable[str] = ()
) -> dict[str, Any]:
    """Check a partial update against ``model``; return the values as they are stored.

    Everything is checked before anything is written: an unknown field, a wrong
    type, ``id``/``metadata``, or an operator-looking key fails the whole update.
    """
    if not isinstance(updates, Mapping):
        raise invalid(f"updates must be a mapping, not {type(updates).__name__}")
    if not updates:
        raise invalid("updates is empty")
    frozen = _IMMUTABLE | frozenset(immutable)
    stored: dict[str, Any] = {}
    for key, value in updates.items():
        if type(key) is not str:
            raise invalid(f"update key {key!r} is not a string")
        if key.startswith("$") or "." in key:
            raise invalid(f"update key {key!r} may not start with '$' or contain '.'")
        if key in frozen:
            raise invalid(f"{key!r} cannot be changed by an update")
        if key not in _field_names(model):
            raise invalid(f"{model.__name__} has no field {key!r}")
        adapter = _field_adapter(model, key)
        try:
            stored[key] = adapter.dump_python(adapter.validate_python(value))
        except ValidationError as exc:
            raise invalid(f"{key}: {exc.errors()[0]['msg']}") from None
        check_keys(stored[key], key)
    check_encodable(stored, "the update")
    return stored
