"""The wire protocol shared by the remote backend and ``docstore serve`` (no FastAPI here).

Every repository method is ``POST /v1/{repository}/{method}`` with a JSON object of its
arguments, named as in the Protocol, and answers 200 with the method's result as JSON
(``null`` for "not found"). A failure is the ``HTTP_STATUS`` of its code with the body
``{"code": "<ErrorCode>", "message": "..."}``. The catalogue below is read from the
Protocols themselves, so a method added to ``_interfaces.py`` is on the wire on both ends.

Headers: ``Authorization: Bearer <token>``; ``X-Docstore-Namespace`` and
``X-Docstore-Actor`` carry the caller's ``Scope``.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import re
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote, unquote

from bson import json_util
from pydantic import BaseModel, TypeAdapter

from ._errors import HTTP_STATUS, ErrorCode, PersistenceError
from ._interfaces import ProblemRepository, RevisionRepository, SessionRepository
from ._wire_values import DOCUMENT_JSON, free_form_fields

__all__ = [
    "ACTOR_HEADER",
    "ADMIN_PREFIX",
    "API_PREFIX",
    "DEFAULT_MAX_BODY_BYTES",
    "ERROR_LINE",
    "NAMESPACE_HEADER",
    "REPOSITORIES",
    "WireMethod",
    "decode_documents",
    "encode_document",
    "error_body",
    "error_from_body",
    "error_from_response",
    "error_line",
    "from_header",
    "header_value",
    "is_read",
    "methods",
]

API_PREFIX = "/v1"
ADMIN_PREFIX = f"{API_PREFIX}/admin"
NAMESPACE_HEADER = "X-Docstore-Namespace"
ACTOR_HEADER = "X-Docstore-Actor"
# The largest request body a server takes unless told otherwise (``serve``'s limit);
# the client splits a batch of documents to stay under it.
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024

REPOSITORIES: dict[str, type[Any]] = {
    "sessions": SessionRepository,
    "problems": ProblemRepository,
    "revisions": RevisionRepository,
}
# Methods that change nothing: a read-only token may call them, and a client may send
# them again after a dropped connection. Everything else is a write.
_READ_PREFIXES = ("get_", "list_", "count_", "search_", "tag_counts")

_STATUS_CODES: dict[int, ErrorCode] = {status: code for code, status in HTTP_STATUS.items()}
# Statuses a server or a proxy answers on its own, outside the table.
_STATUS_CODES.update({400: ErrorCode.INVALID_DATA, 401: ErrorCode.PERMISSION_DENIED, 405: ErrorCode.INVALID_DATA})
_STATUS_CODES.update({413: ErrorCode.INVALID_DATA, 415: ErrorCode.INVALID_DATA, 502: ErrorCode.UNAVAILABLE})


def header_value(text: str) -> str:
    """A namespace or actor as a header value: percent-encoded UTF-8 (any text, no line breaks)."""
    return quote(text, safe="")


_ESCAPES = re.compile(r"%(?:[0-9A-Fa-f]{2})?")


def from_header(value: str | None, name: str = "header") -> str | None:
    """What ``header_value`` wrote; INVALID_DATA for anything else (a ``%`` not followed by
    two hex digits, bytes that are not UTF-8): read leniently, different headers would name
    one namespace (``%ff`` and ``%fe`` both U+FFFD; ``%zz`` the same as ``%25zz``)."""
    if value is None:
        return None
    if any(len(escape) != 3 for escape in _ESCAPES.findall(value)):
        raise PersistenceError(ErrorCode.INVALID_DATA, f"{name} is not percent-encoded: a '%' without two hex digits")
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        raise PersistenceError(ErrorCode.INVALID_DATA, f"{name} is not percent-encoded UTF-8") from None


def is_read(method: str) -> bool:
    return method.startswith(_READ_PREFIXES)


@dataclass(frozen=True)
class WireMethod:
    """One repository method as it crosses the wire."""

    repository: str
    name: str
    # (name, annotation, default or inspect.Parameter.empty), in the Protocol's order.
    parameters: tuple[tuple[str, Any, Any], ...]
    returns: Any
    doc: str

    @property
    def path(self) -> str:
        return f"{API_PREFIX}/{self.repository}/{self.name}"

    @property
    def read(self) -> bool:
        return is_read(self.name)

    @property
    def result(self) -> TypeAdapter[Any]:
        return _adapter(self.returns)

    @property
    def free_form_arguments(self) -> tuple[tuple[str, type[BaseModel]], ...]:
        """The arguments that may hold free-form values, each with the model it is (or updates)."""
        return _free_form_arguments(self)


@cache
def _free_form_arguments(method: WireMethod) -> tuple[tuple[str, type[BaseModel]], ...]:
    found: list[tuple[str, type[BaseModel]]] = []
    for name, annotation, _ in method.parameters:
        # An update is of the item the method returns; an item argument is its own model.
        where = method.returns if name == "updates" else annotation
        for member in (where, *typing.get_args(where)):
            if isinstance(member, type) and issubclass(member, BaseModel) and free_form_fields(member):
                found.append((name, member))
                break
    return tuple(found)


@cache
def _adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)


@cache
def methods() -> dict[str, dict[str, WireMethod]]:
    """Every repository method, by repository and name."""
    catalogue: dict[str, dict[str, WireMethod]] = {}
    for repository, protocol in REPOSITORIES.items():
        found: dict[str, WireMethod] = {}
        for name, function in vars(protocol).items():
            if name.startswith("_") or not inspect.iscoroutinefunction(function):
                continue
            hints = typing.get_type_hints(function)
            signature = inspect.signature(function)
            parameters = tuple(
                (p.name, hints[p.name], p.default) for p in signature.parameters.values() if p.name != "self"
            )
            found[name] = WireMethod(repository, name, parameters, hints["return"], inspect.getdoc(function) or "")
        catalogue[repository] = found
    return catalogue


def error_body(error: PersistenceError) -> bytes:
    return json.dumps(_error_fields(error)).encode()


def _error_fields(error: PersistenceError) -> dict[str, Any]:
    """``{"code", "message"}``, and ``"damaged"`` (the ids, ``PersistenceError.damaged``) when there are any."""
    fields: dict[str, Any] = {"code": error.code.value, "message": error.message}
    if error.damaged:
        fields["damaged"] = list(error.damaged)
    return fields


# The last line of a streamed answer (an admin collection) whose read failed once the 200 had
# gone out: ``{"$error": {"code", "message", "damaged"?}}``. No stored document has a key
# starting with "$", so the line is never mistaken for one.
ERROR_LINE = "$error"


def error_line(error: PersistenceError) -> str:
    """The line a stream ends with when it fails midway (``ERROR_LINE``)."""
    return json.dumps({ERROR_LINE: _error_fields(error)})


def error_from_response(status: int, content: bytes) -> PersistenceError:
    """The ``PersistenceError`` an error response stands for (its code, else its status)."""
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):  # RecursionError: a hostile answer nested past the stack
        body = None
    return error_from_body(body, status)


def error_from_body(body: Any, status: int = 500) -> PersistenceError:
    """The ``PersistenceError`` of an error's JSON (a response's body, or an ``ERROR_LINE``'s value)."""
    message = f"the server answered HTTP {status}"
    code = _STATUS_CODES.get(status, ErrorCode.STORAGE_ERROR)
    damaged: tuple[str, ...] = ()
    if isinstance(body, dict):
        if isinstance(body.get("message"), str):
            message = body["message"]
        # A proxy's or a foreign server's error has no code: its status says enough.
        with contextlib.suppress(ValueError):
            code = ErrorCode(str(body.get("code")))
        found = body.get("damaged")
        if isinstance(found, list) and all(isinstance(item, str) for item in found):
            damaged = tuple(found)
    return PersistenceError(code, message, damaged=damaged)


# Stored documents (the admin endpoints) cross as canonical Extended JSON, as in an
# export (``DOCUMENT_JSON``): dates, 64-bit integers and exact floats survive the trip.
def encode_document(value: Any) -> str:
    """A document (or a list of them) as one line of canonical Extended JSON."""
    return json_util.dumps(value, json_options=DOCUMENT_JSON)


def decode_documents(text: str | bytes) -> Any:
    """What ``encode_document`` wrote; ValueError when it is not Extended JSON."""
    return json_util.loads(text, json_options=DOCUMENT_JSON)
