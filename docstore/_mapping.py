"""Domain item <-> stored document, and the checks every written value passes.

Layout of a stored document (the canonical form every backend keeps and every tool
moves): the item's fields, ``_id`` for ``id``, and ``_metadata`` for ``metadata``.
A session's students are records of their own (``_students.py``), never inside its
document. ``student_field`` (the id with ``%``, ``.`` and ``$`` percent-encoded) named
them inside the session document of the earlier layout, which upgrades still read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache
from typing import Annotated, Any, TypeVar

import bson
import bson.errors
import bson.tz_util
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import SchemaValidator

from ._errors import ErrorCode, PersistenceError
from ._models import CodeRevision, Session, StoredItem, normalize_join_code
from ._plain import plain_revision
from ._time import treat_as_utc

__all__ = [
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "METADATA",
    "check_collection_name",
    "check_document",
    "check_stored_document",
    "encode_stored_document",
    "from_document",
    "invalid",
    "read_back",
    "require_id",
    "sized_encoding",
    "student_field",
    "student_id_of",
    "to_document",
    "tool_document",
    "validate_updates",
]

METADATA = "_metadata"
# MongoDB's limit is 16 MiB per document; keep room for the metadata and the update itself.
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024 - 64 * 1024
# MongoDB refuses documents nested deeper than 100 levels; so does every engine here.
MAX_DEPTH = 100
_INT64 = (-(2**63), 2**63 - 1)
T = TypeVar("T", bound=StoredItem)
# Never changed by an update: identity, bookkeeping, and the namespace (a view that could
# set it would move an item into another namespace).
_IMMUTABLE = frozenset({"id", "metadata", "_id", METADATA, "namespace_id"})
_COLLECTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_FIELD_ESCAPES = {"%": "%25", ".": "%2E", "$": "%24"}
_FIELD_ESCAPE = re.compile(r"[%.$]")
_FIELD_UNESCAPE = re.compile(r"%(25|2E|24)")
# Every datetime PyMongo and mongomock decode (tz_aware) is in bson's fixed ``utc``: validating
# one then costs arithmetic, not ``astimezone`` and a Python ``utcoffset`` call (``_time.py``).
treat_as_utc(bson.tz_util.utc)


def invalid(message: str) -> PersistenceError:
    return PersistenceError(ErrorCode.INVALID_DATA, message)


def check_collection_name(name: object) -> str:
    """A collection name a tool may use: letters, digits and ``_``, a letter first, at most 64."""
    if type(name) is not str or not _COLLECTION_NAME.fullmatch(name):
        raise invalid(f"collection name {name!r} must be a letter, then letters, digits or '_' (at most 64)")
    return name


def require_id(value: object, what: str = "id") -> str:
    """Ids come from callers: only a plain non-empty string may reach a query."""
    if type(value) is not str or not value:
        raise invalid(f"{what} must be a non-empty string, not {type(value).__name__}")
    if not value.isascii():
        # A lone surrogate has no UTF-8 form: no engine can store it, so none may look it up
        # either (mongomock would answer "not there" where SQLite and JSON refuse it).
        try:
            value.encode()
        except UnicodeEncodeError:
            raise invalid(f"{what} is not valid Unicode text (it holds a lone surrogate)") from None
    return value


def student_field(student_id: str) -> str:
    """The field name under ``students`` that holds this student (reversible, collision-free)."""
    if len(student_id) > 256:
        raise invalid("student id is longer than 256 characters")
    if "\x00" in student_id:
        raise invalid("student id may not contain NUL")
    return _FIELD_ESCAPE.sub(lambda m: _FIELD_ESCAPES[m[0]], student_id)


def student_id_of(field: str) -> str:
    return _FIELD_UNESCAPE.sub(lambda m: chr(int(m[1], 16)), field)


def check_document(value: Any, what: str = "the document", *, size: bool = True) -> None:
    """Refuse, before anything is written, what some engine could not store exactly.

    Keys that MongoDB reads as operators or paths (``$x``, ``a.b``), nesting deeper than
    ``MAX_DEPTH``, integers beyond 64 bits, NaN and infinite floats (``public()``
    promises JSON, which has neither), text that is not valid UTF-8 (lone
    surrogates), datetimes that are not aware, and documents over the 16 MB limit.
    Iterative, so a hostile depth is an error, never a ``RecursionError``.
    """
    # Paths are kept as links (parent, key or index) and spelt out only for an error:
    # formatting one per value was most of the cost of every write. Text, None and
    # booleans need no check of their own (bson.encode finds lone surrogates), so they
    # are never stacked.
    stack: list[tuple[Any, _Where, int]] = [(value, None, 0)]
    while stack:
        item, where, depth = stack.pop()
        kind = type(item)
        # Exact types first: isinstance(item, Mapping) is an ABC check, the slowest step of a
        # walk over thousands of scalars (an import). Subclasses take the general branches below.
        if kind is float:
            if not math.isfinite(item):
                raise invalid(f"{_path(where) or what}: {item} is not a finite number (not JSON)")
            continue
        if kind is int:
            if not _INT64[0] <= item <= _INT64[1]:
                raise invalid(f"{_path(where) or what}: integer {item} does not fit in 64 bits")
            continue
        if kind is datetime:
            if item.tzinfo is None:
                raise invalid(f"{_path(where) or what}: datetime must be timezone-aware")
            continue
        if kind is dict or isinstance(item, Mapping):
            if depth >= MAX_DEPTH:
                raise invalid(f"{what} is nested deeper than {MAX_DEPTH} levels (at {_path(where) or 'top level'})")
            for key, child in item.items():
                if type(key) is not str:
                    raise invalid(f"key {key!r} at {_path(where) or 'top level'} is not a string")
                if key.startswith("$") or "." in key or "\x00" in key:
                    raise invalid(f"key {key!r} at {_path(where) or 'top level'} may not start with '$' or contain '.'")
                if type(child) is not str and child is not None and type(child) is not bool:
                    stack.append((child, (where, key), depth + 1))
        elif isinstance(item, list | tuple):
            if depth >= MAX_DEPTH:
                raise invalid(f"{what} is nested deeper than {MAX_DEPTH} levels (at {_path(where) or 'top level'})")
            stack.extend(
                (child, (where, index), depth + 1)
                for index, child in enumerate(item)
                if type(child) is not str and child is not None and type(child) is not bool
            )
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise invalid(f"{_path(where) or what}: {item} is not a finite number (not JSON)")
        elif isinstance(item, int):
            if not _INT64[0] <= item <= _INT64[1]:
                raise invalid(f"{_path(where) or what}: integer {item} does not fit in 64 bits")
        elif isinstance(item, datetime) and item.tzinfo is None:
            raise invalid(f"{_path(where) or what}: datetime must be timezone-aware")
    if size:
        check_size(value, what)


def check_stored_document(document: object) -> str | None:
    """Why a whole stored document (a tool's, for ``upsert_documents``) cannot be written, or None.

    What every backend's ``upsert_documents`` asks of each document of a batch, so that
    one bad document is a ``BatchResult.failed`` entry, never a failed batch: a dict,
    an ``_id`` that is a non-empty string, and everything ``check_document`` refuses.
    A reason, not an exception: the caller keeps going with the rest of the batch.
    """
    encoded = encode_stored_document(document)
    return encoded if isinstance(encoded, str) else None


def encode_stored_document(document: object) -> bytes | str:
    """``check_stored_document``, giving the BSON it encoded to measure the document if it passes.

    For a caller that needs the bytes anyway (a content hash, a blob): one encoding, not two.
    """
    if type(document) is not dict:
        return f"a document must be a dict, not {type(document).__name__}"
    if "_id" not in document:
        return "the document has no _id"
    if type(document["_id"]) is not str or not document["_id"]:
        return f"_id must be a non-empty string, not {type(document['_id']).__name__}"
    what = f"document {document['_id']!r}"
    try:
        check_document(document, what, size=False)
        return sized_encoding(document, what)
    except PersistenceError as error:
        return error.message
    except RecursionError:  # a cycle or a depth bson.encode cannot walk; check_document is iterative
        return "the document cannot be encoded (RecursionError)"


def tool_document(collection: str, document: Any) -> Any:
    """A tool's document as it is stored: under the rules the repositories' writes follow.

    A session's ``join_code`` is kept in its normal form (``normalize_join_code``), as
    a repository keeps it, so a restored or imported session is found by its code and
    holds it against every other active session. Anything else is left as it is (a copy
    only when something changed); ``check_stored_document`` refuses what cannot be stored.
    """
    if collection != "sessions" or type(document) is not dict:
        return document
    code = document.get("join_code")
    if not isinstance(code, str) or normalize_join_code(code) == code:
        return document
    return {**document, "join_code": normalize_join_code(code)}


# Where a value sits: None at the top, else (where its parent sits, its key or index).
_Where = tuple[Any, str | int] | None


def _path(where: _Where) -> str:
    """``a.b[0].c`` for the links of ``where``: spelt out only for an error message."""
    steps: list[str | int] = []
    while where is not None:
        where, step = where
        steps.append(step)
    path = ""
    for step in reversed(steps):
        if isinstance(step, int):
            path += f"[{step}]"
        else:
            path = f"{path}.{step}" if path else step
    return path


def check_size(value: Mapping[str, Any], what: str) -> None:
    sized_encoding(value, what)


def sized_encoding(value: Mapping[str, Any], what: str) -> bytes:
    """The BSON of ``value``; INVALID_DATA if it cannot be encoded or is over the limit."""
    try:
        blob = bson.encode(value)
    except (bson.errors.BSONError, UnicodeError, OverflowError, ValueError) as exc:
        raise invalid(f"{what} cannot be stored: {exc}") from None
    if len(blob) > MAX_DOCUMENT_BYTES:
        raise invalid(f"{what} is {len(blob):,} bytes; a stored document holds at most {MAX_DOCUMENT_BYTES:,}")
    return blob


def to_document(item: StoredItem) -> dict[str, Any]:
    if item.metadata is None:
        raise invalid("item has no metadata; repositories set it before writing")
    # A session's students are records of their own (``_students.py``): never in its document.
    body = item.model_dump(exclude={"id", "metadata", "students"} if isinstance(item, Session) else {"id", "metadata"})
    document = {"_id": item.id, **body, METADATA: item.metadata.model_dump()}
    check_document(document, f"{type(item).__name__} {item.id!r}")
    return document


def from_document(model: type[T], raw: Mapping[str, Any]) -> T:
    """The domain item of a stored document.

    A stored document that does not validate is the store's problem, not the caller's:
    STORAGE_ERROR naming the item, never INVALID_DATA.
    """
    if model is CodeRevision:
        # Most reads are of revisions; a plain one is checked by hand, anything else by pydantic.
        item = plain_revision(raw)
        if item is not None:
            return item  # type: ignore[return-value]  # model is CodeRevision
    if raw.keys() <= _stored_names(model):
        # The layout docstore writes (every read of a repository): rename two keys and go.
        data = dict(raw)
        data["id"] = data.pop("_id", None)
        data["metadata"] = data.pop(METADATA, None)
    else:  # keys no field has (a tool's document): left out, as the MongoDB dialect leaves them
        data = {name: raw[name] for name in _field_names(model) if name in raw}
        data["id"] = raw.get("_id")
        data["metadata"] = raw.get(METADATA)
    if model is Session and isinstance(data.get("students"), Mapping):
        data["students"] = {student_id_of(key): value for key, value in data["students"].items()}
    return read_back(model, data, model.__name__, raw.get("_id"))


M = TypeVar("M", bound=BaseModel)


def read_back(model: type[M], data: Mapping[str, Any], what: str, item_id: object) -> M:
    """``model`` validated from stored ``data``; STORAGE_ERROR naming the item when it does not read back.

    A stored document that does not validate is the store's problem, not the caller's.
    """
    try:
        validator = model.__pydantic_validator__
        if type(validator) is SchemaValidator:
            # What ``model_validate`` calls, without its Python wrapper (~0.4 us of every item
            # read); a model whose validator is not built yet (``defer_build``) builds it there.
            item: M = validator.validate_python(data)
            return item
        return model.model_validate(data)
    except (ValidationError, RecursionError, OverflowError) as exc:
        detail = exc.errors()[0] if isinstance(exc, ValidationError) else {"msg": type(exc).__name__, "loc": ()}
        where = ".".join(map(str, detail["loc"])) or "document"
        raise PersistenceError(
            ErrorCode.STORAGE_ERROR, f"stored {what} {item_id!r} is damaged: {where}: {detail['msg']}"
        ) from None


@cache
def _field_names(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(model.model_fields)


@cache
def _stored_names(model: type[BaseModel]) -> frozenset[str]:
    """The keys of a stored document of ``model``: its fields, ``id`` and ``metadata`` renamed."""
    return (_field_names(model) - {"id", "metadata"}) | {"_id", METADATA}


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
    type, ``id``/``metadata``/``namespace_id``, or an operator-looking key fails the
    whole update.
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
            # Twice: pydantic takes a model instance as valid without looking inside, and
            # one changed by attribute assignment (or model_construct) may hold anything.
            # Its plain dump is validated in full, so a bad value never reaches storage.
            plain = adapter.dump_python(adapter.validate_python(value), warnings=False)
            stored[key] = adapter.dump_python(adapter.validate_python(plain))
        except ValidationError as exc:
            raise invalid(f"{key}: {exc.errors()[0]['msg']}") from None
        except (RecursionError, OverflowError) as exc:
            raise invalid(f"{key}: {type(exc).__name__}") from None
        if key == "students":
            # The class, keyed by student id: a backend writes it as records (``_students.py``).
            for student_id, student in stored[key].items():
                student_field(student_id)  # the id rules (length, NUL), checked before any write
                # Each record on its own: plain ids ('a.b$') are keys of no stored document.
                check_document(student, f"student {student_id!r}")
    check_document({key: value for key, value in stored.items() if key != "students"}, "the update")
    return stored
