"""The OpenAPI document, exact: request bodies as validated, every error status a route answers.

The repository routes read their bodies themselves (strict validation from the raw bytes,
``_routes.py``), so FastAPI does not see them: their schemas are generated here from the
same body models (validation mode, under ``In.`` names so they never clash with FastAPI's
response schemas) and every integer gets the 64-bit range the engines hold to.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .._errors import ErrorCode
from ._parameters import INT64_MAX, INT64_MIN

__all__ = ["ErrorBody", "error_responses", "install_openapi"]

_PREFIX = "In."
# What each error status means here (a route documents every one it can answer).
_STATUSES = {
    400: "INVALID_DATA: a Content-Length that is not a number",
    401: "PERMISSION_DENIED: no, unknown or revoked token",
    403: "PERMISSION_DENIED: another namespace, a read-only token, not an admin",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    412: "CONFLICT: expected_version does not match",
    413: "INVALID_DATA: body over the server's limit",
    422: (
        "INVALID_DATA: a value the engines refuse (the message names the field). Beyond this schema: "
        "a cursor must come from a previous page of the same listing; free-form values (extra) must be "
        "storable (64-bit integers, nesting up to 100, no key starting with '$' or holding '.'); "
        "a student's key in students is its id; a join code keeps a visible character once normalized"
    ),
    431: "INVALID_DATA: request line and headers over 32 KiB, or over 100 headers",
    500: "STORAGE_ERROR",
    503: "UNAVAILABLE",
    504: "TIMEOUT",
}


# Rules every engine enforces on a field of a model sent whole, which the domain model does
# not state (it refuses nothing at construction; the engines refuse it on the way in): the
# document states them, so a schema-valid body is never refused for them.
_STORED_RULES: dict[str, dict[str, dict[str, Any]]] = {
    # A student id is a key inside its session (``_mapping.student_field``): no NUL.
    "Student": {"id": {"pattern": "^[^\\u0000]+$"}},
}


class ErrorBody(BaseModel):
    """Every error answer."""

    code: ErrorCode
    message: str
    # Only when stored documents were found damaged (``PersistenceError.damaged``): their ids.
    damaged: list[str] | None = None


def error_responses(*, write: bool = True) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: every error status, each an ``ErrorBody``."""
    statuses = _STATUSES if write else {s: d for s, d in _STATUSES.items() if s not in (409, 412)}
    return {status: {"model": ErrorBody, "description": text} for status, text in statuses.items()}


def install_openapi(app: FastAPI, bodies: Mapping[str, type[BaseModel]]) -> None:
    """``app.openapi()`` with ``bodies`` (path -> model) as the POST request bodies."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes, tags=app.openapi_tags
            )
            _add_bodies(document, bodies)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_bodies(document: dict[str, Any], bodies: Mapping[str, type[BaseModel]]) -> None:
    keyed, definitions = models_json_schema(
        [(model, "validation") for model in bodies.values()], ref_template=f"#/components/schemas/{_PREFIX}{{model}}"
    )
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in definitions.get("$defs", {}).items():
        # A caller's metadata is ignored (the store stamps its own): any number goes there.
        components[_PREFIX + name] = schema if name == "StorageMetadata" else _int64(schema)
        for field, rule in _STORED_RULES.get(name, {}).items():
            schema["properties"][field].update(rule)
    for path, model in bodies.items():
        operation = document["paths"].get(path, {}).get("post")
        if operation is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": keyed[(model, "validation")]}},
            }


def _int64(schema: Any) -> Any:
    """Every integer in ``schema`` within 64 bits, where no narrower bound is stated."""
    if isinstance(schema, dict):
        if schema.get("type") == "integer":
            schema.setdefault("minimum", INT64_MIN)
            schema.setdefault("maximum", INT64_MAX)
        for value in schema.values():
            _int64(value)
    elif isinstance(schema, list):
        for value in schema:
            _int64(value)
    return schema
