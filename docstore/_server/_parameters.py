"""The rules every engine applies to a repository argument, by its name, as pydantic constraints.

The wire's body models come from the Protocols' signatures (``_wire.methods``),
which say ``str`` or ``int``; the engines refuse more than the type does (an empty id, a
limit over ``MAX_PAGE_SIZE``, an integer beyond 64 bits). Stating those rules in the body
model makes the server refuse them before the engine does (the same 422) and puts them in
the OpenAPI document, so a request valid by the schema is one the engines take. Rules go
by argument name, so a method added to a Protocol gets them without a change here.
"""

from __future__ import annotations

import types
import typing
from datetime import datetime
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from .._page import MAX_PAGE_SIZE

__all__ = ["IMMUTABLE_FIELDS", "INT64_MAX", "INT64_MIN", "Updates", "constrained"]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# What no update may set (``_mapping.validate_updates`` refuses these names).
IMMUTABLE_FIELDS = frozenset({"id", "metadata", "namespace_id"})
_ID = Field(min_length=1)
_INT64 = Field(ge=INT64_MIN, le=INT64_MAX)
_RULES: dict[str, Any] = {
    "created_by": _ID,
    "limit": Field(ge=1, le=MAX_PAGE_SIZE),
    "offset": Field(ge=0, le=INT64_MAX),
    "expected_version": Field(ge=INT64_MIN, le=INT64_MAX),
    # A student id is a key inside its session: at most 256 characters, no NUL.
    "student_id": Field(min_length=1, max_length=256, pattern=r"^[^\u0000]+$"),
    # Join codes are looked up stripped: at least one character that is not a space.
    "join_code": Field(min_length=1, pattern=r"\S"),
    # Made by a previous page: URL-safe base64 (its content is checked by the engine).
    "cursor": Field(min_length=1, max_length=4096, pattern=r"^[A-Za-z0-9_-]+$"),
}
# Parameters whose type on the wire is narrower than in Python: ``after`` takes an ISO
# 8601 string over JSON (a datetime or any text in process, where the engine parses it).
_WIRE_TYPES: dict[str, Any] = {"after": datetime | None}


class Updates(BaseModel):
    """A partial update of an item, as its own model: the fields an update may set, typed.

    The endpoint passes on only the fields the caller sent (``fields_sent``); the
    engine then checks them as it checks every update (``_mapping.validate_updates``).
    """

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _not_empty(self) -> Updates:
        if not self.model_fields_set:
            raise ValueError("updates is empty")
        return self

    def fields_sent(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


@cache
def _updates_of(item: type[BaseModel]) -> type[Updates]:
    fields: dict[str, Any] = {
        name: (field.annotation, None) for name, field in item.model_fields.items() if name not in IMMUTABLE_FIELDS
    }
    model: type[Updates] = create_model(f"{item.__name__}Updates", __base__=Updates, __config__=None, **fields)
    model.model_config["json_schema_extra"] = {"minProperties": 1}
    return model


def constrained(name: str, annotation: Any, returns: Any = None) -> Any:
    """``annotation`` with the rules for an argument called ``name`` on its plain branch.

    ``updates`` (a ``dict`` in the Protocol) becomes the ``Updates`` model of the item the
    method returns: its updatable fields, typed, at least one.
    """
    if name == "updates":
        items = [t for t in (returns, *typing.get_args(returns)) if isinstance(t, type) and issubclass(t, BaseModel)]
        if items:
            return _updates_of(items[0])
    annotation = _WIRE_TYPES.get(name, annotation)
    rule = _RULES.get(name, _ID if name.endswith("_id") else None)
    if rule is None:
        return _int64(annotation)
    return _on_plain_branch(annotation, lambda plain: Annotated[plain, rule])


def _int64(annotation: Any) -> Any:
    """Every plain ``int`` argument within 64 bits (what every engine stores and compares)."""
    return _on_plain_branch(annotation, lambda plain: Annotated[plain, _INT64] if plain is int else plain)


def _on_plain_branch(annotation: Any, wrap: Any) -> Any:
    """``wrap`` applied to the non-None member of ``X | None`` (or to ``X``)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        members = typing.get_args(annotation)
        wrapped = [member if member is type(None) else wrap(member) for member in members]
        return typing.Union[tuple(wrapped)]  # noqa: UP007 (built from a runtime list)
    return wrap(annotation)
