"""``DocstoreRoute``: an endpoint typed with a domain model answers with its public model.

``-> Session`` or ``-> Page[ProblemSpec]`` would send ``metadata``, ``namespace_id`` and
the problem's ``solution``. Routes of this class replace each domain model in the response
model (at any depth: ``Page[...]``, ``list[...]``, ``dict[..., ...]``, ``X | None``) with its
public model (``_public.py``) before FastAPI builds the response field, so the JSON and
``/openapi.json`` both show the public form. An endpoint that means to send everything
says so: ``response_model=Annotated[Session, SEND_PRIVATE_FIELDS]``.

A response type that lets any value through (``Any``, ``object``, a bare ``dict`` or
``list``, ``dict[str, Any]``, an app's model with an ``Any`` field, no model at all) names no
docstore model to replace, and the start-up check (``_leak_check``) cannot see what such a
route returns: there, each docstore item the endpoint returns is made public as it is
returned (``public_value``: at any depth of dicts, lists, tuples, pages and models).
"""

from __future__ import annotations

import functools
import inspect
import operator
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any

from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute
from pydantic import BaseModel

from ._leak_check import PRIVATE_EXTENSION
from ._models import CodeRevision, ExecutionResult, ProblemSpec, Session, Student
from ._page import Page
from ._public import PublicExecutionResult, PublicProblem, PublicRevision, PublicSession, PublicStudent

__all__ = [
    "SEND_PRIVATE_FIELDS",
    "DocstoreRoute",
    "chooses_private_fields",
    "lets_anything_through",
    "public_type",
    "public_value",
]


class _SendPrivateFields:
    """Marker: this response model is sent as it is, private fields included."""

    def __repr__(self) -> str:
        return "SEND_PRIVATE_FIELDS"


SEND_PRIVATE_FIELDS = _SendPrivateFields()

_PUBLIC: dict[type[BaseModel], type[BaseModel]] = {
    Session: PublicSession,
    ProblemSpec: PublicProblem,
    CodeRevision: PublicRevision,
    Student: PublicStudent,
    ExecutionResult: PublicExecutionResult,
}


def public_type(annotation: Any) -> Any:
    """``annotation`` with every domain model replaced by its public model."""
    if isinstance(annotation, type):
        for domain, public in _PUBLIC.items():
            if issubclass(annotation, domain):
                return public
        generic = getattr(annotation, "__pydantic_generic_metadata__", None)
        if generic and generic.get("origin") is Page and generic.get("args"):
            return Page[public_type(generic["args"][0])]  # type: ignore[misc]
        return annotation
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is None or not args:
        return annotation
    if origin is Annotated:
        if any(isinstance(extra, _SendPrivateFields) for extra in annotation.__metadata__):
            return annotation  # chosen on purpose
        return Annotated[(public_type(args[0]), *annotation.__metadata__)]
    mapped = tuple(public_type(arg) for arg in args)
    if mapped == args:
        return annotation
    if origin is types.UnionType or origin is typing.Union:
        return functools.reduce(operator.or_, mapped)
    if origin is typing.Literal:
        return annotation
    return origin[mapped]


def chooses_private_fields(annotation: Any) -> bool:
    """True when ``annotation`` (at any depth) is marked ``SEND_PRIVATE_FIELDS``."""
    if typing.get_origin(annotation) is Annotated and any(
        isinstance(extra, _SendPrivateFields) for extra in annotation.__metadata__
    ):
        return True
    generic = getattr(annotation, "__pydantic_generic_metadata__", None) if isinstance(annotation, type) else None
    arguments = generic.get("args", ()) if generic else typing.get_args(annotation)
    return any(chooses_private_fields(argument) for argument in arguments)


_OPEN = (Any, object, dict, list, tuple, set, frozenset)


def lets_anything_through(annotation: Any, seen: frozenset[type] = frozenset()) -> bool:
    """Whether a response type can hold a value of any type somewhere (``Any``, ``object``,
    a bare container, an app's model with such a field), which ``public_type`` cannot map."""
    if annotation is None or any(annotation is open_type for open_type in _OPEN):
        return True
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return lets_anything_through(args[0], seen)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and annotation not in seen:
        if annotation in _PUBLIC.values() or issubclass(annotation, tuple(_PUBLIC)):
            return False
        inner = seen | {annotation}
        return any(lets_anything_through(field.annotation, inner) for field in annotation.model_fields.values())
    return origin is not None and origin is not typing.Literal and any(lets_anything_through(a, seen) for a in args)


def public_value(value: Any) -> Any:
    """``value`` with every docstore item in it (at any depth) made its public model."""
    if isinstance(value, BaseModel):
        for domain, public in _PUBLIC.items():
            if isinstance(value, domain):
                return public.model_validate(value, from_attributes=True)
        if isinstance(value, Page):
            return Page([public_value(item) for item in value.items], value.next_cursor)
        changed = {name: public_value(getattr(value, name)) for name in type(value).model_fields}
        changed = {name: new for name, new in changed.items() if new is not getattr(value, name)}
        return value.model_copy(update=changed) if changed else value
    if isinstance(value, dict):
        return {key: public_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return type(value)(public_value(item) for item in value) if not hasattr(value, "_fields") else value
    return value


def _made_public(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` answering ``public_value`` of what it returns (sync or async as it was)."""
    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def answering(*args: Any, **kwargs: Any) -> Any:
            return public_value(await endpoint(*args, **kwargs))

        return answering

    @functools.wraps(endpoint)
    def answering_sync(*args: Any, **kwargs: Any) -> Any:
        return public_value(endpoint(*args, **kwargs))

    return answering_sync


class DocstoreRoute(APIRoute):
    """An ``APIRoute`` whose response model shows docstore items in their public form."""

    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        response_model = kwargs.get("response_model", DefaultPlaceholder(None))
        declared = response_model
        if isinstance(response_model, DefaultPlaceholder):
            # No model declared: FastAPI reads the endpoint's return annotation.
            try:
                hints = typing.get_type_hints(endpoint, include_extras=True)
            except Exception:  # an annotation that does not resolve: FastAPI reports it its own way
                hints = {}
            declared = returned = hints.get("return")
            if returned is not None and public_type(returned) is not returned:
                kwargs["response_model"] = public_type(returned)
        elif response_model is not None:  # None: no model, on purpose
            kwargs["response_model"] = public_type(response_model)
            if chooses_private_fields(response_model):
                # The start-up check (_leak_check) lets this operation send raw models.
                kwargs["openapi_extra"] = {**(kwargs.get("openapi_extra") or {}), PRIVATE_EXTENSION: True}
        if not chooses_private_fields(declared) and lets_anything_through(declared):
            # Nothing to replace in the type: the items are made public as they are returned.
            endpoint = _made_public(endpoint)
        super().__init__(path, endpoint, **kwargs)
