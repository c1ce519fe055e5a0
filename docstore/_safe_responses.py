"""``DocstoreRoute``: an endpoint typed with a domain model answers with its public model.

``-> Session`` or ``-> Page[ProblemSpec]`` would send ``metadata``, ``namespace_id`` and
the problem's ``solution``. Routes of this class replace each domain model in the response
model (at any depth: ``Page[...]``, ``list[...]``, ``dict[..., ...]``, ``X | None``) with its
public model (``_public.py``) before FastAPI builds the response field, so the JSON and
``/openapi.json`` both show the public form. An endpoint that means to send everything
says so: ``response_model=Annotated[Session, SEND_PRIVATE_FIELDS]``.
"""

from __future__ import annotations

import functools
import operator
import types
import typing
from typing import Annotated, Any

from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute
from pydantic import BaseModel

from ._leak_check import PRIVATE_EXTENSION
from ._models import CodeRevision, ExecutionResult, ProblemSpec, Session, Student
from ._page import Page
from ._public import PublicExecutionResult, PublicProblem, PublicRevision, PublicSession, PublicStudent

__all__ = ["SEND_PRIVATE_FIELDS", "DocstoreRoute", "chooses_private_fields", "public_type"]


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


class DocstoreRoute(APIRoute):
    """An ``APIRoute`` whose response model shows docstore items in their public form."""

    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        response_model = kwargs.get("response_model", DefaultPlaceholder(None))
        if isinstance(response_model, DefaultPlaceholder):
            # No model declared: FastAPI reads the endpoint's return annotation.
            try:
                hints = typing.get_type_hints(endpoint, include_extras=True)
            except Exception:  # an annotation that does not resolve: FastAPI reports it its own way
                hints = {}
            returned = hints.get("return")
            if returned is not None and public_type(returned) is not returned:
                kwargs["response_model"] = public_type(returned)
        elif response_model is not None:  # None: no model, on purpose
            kwargs["response_model"] = public_type(response_model)
            if chooses_private_fields(response_model):
                # The start-up check (_leak_check) lets this operation send raw models.
                kwargs["openapi_extra"] = {**(kwargs.get("openapi_extra") or {}), PRIVATE_EXTENSION: True}
        super().__init__(path, endpoint, **kwargs)
