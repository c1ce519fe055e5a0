"""One ``POST /v1/{repository}/{method}`` per repository method, built from the Protocols.

The body model of each route is the method's signature, with the rules every engine
applies to an argument of that name (``_parameters.constrained``), validated strictly
from the raw bytes at every depth: ``"5"`` is not a limit, ``0`` is not a datetime,
``false`` is not a number, in a nested model as at the top. The engine behind then runs
its own checks, so a call answers over HTTP exactly what it answers in process, and the
OpenAPI document states the same rules (``_schema.py``).
"""

from __future__ import annotations

import inspect
import json
import logging
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from starlette.responses import Response

from .._errors import ErrorCode, PersistenceError
from .._wire import WireMethod, methods
from .._wire_values import from_extended, map_free_form, map_result, may_hold_extended, to_extended
from ._auth import Authenticator
from ._context import Context, Grant, context_of
from ._dispatch import Handler
from ._parameters import Updates, constrained
from ._schema import error_responses

__all__ = ["add_repository_routes", "body_models"]

log = logging.getLogger("docstore.server")


async def _grant(request: Request) -> Grant:
    return await context_of(request).grant(request)


def _body_model(method: WireMethod) -> type[BaseModel]:
    fields: dict[str, Any] = {
        name: (constrained(name, annotation, method.returns), ... if default is inspect.Parameter.empty else default)
        for name, annotation, default in method.parameters
    }
    title = "".join(part.title() for part in f"{method.repository}_{method.name}".split("_"))
    model: type[BaseModel] = create_model(title, __config__=ConfigDict(extra="forbid", strict=True), **fields)
    return model


def _validated(model: type[BaseModel], raw: bytes) -> BaseModel:
    """``raw`` as ``model``, strictly at every depth (``strict=True`` reaches nested models;
    a model's own config would not), but with JSON Schema's integers: ``1.0`` is one."""
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        if not any(_integral_float(error.get("input")) for error in exc.errors() if error["type"] == "int_type"):
            raise
    # Rare: read integral numbers as ints, then check again (only this path parses twice).
    return model.model_validate_json(json.dumps(json.loads(raw, parse_float=_number)), strict=True)


def _integral_float(value: Any) -> bool:
    return type(value) is float and value.is_integer()


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def body_models() -> dict[str, type[BaseModel]]:
    """Every route's body model, by path (the OpenAPI document's request bodies)."""
    return {method.path: _body_model(method) for catalogue in methods().values() for method in catalogue.values()}


async def _answer(method: WireMethod, body_model: type[BaseModel], request: Request, grant: Grant) -> Response:
    """What a repository route answers once ``grant`` let the caller in."""
    if grant.caller.read_only and not method.read:
        raise Authenticator.refuse(
            403, f"read-only token {grant.caller.name!r} tried {method.path}", "this token is read-only"
        )
    raw = await request.body()
    try:
        body = _validated(body_model, raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None
    arguments = {name: _argument(getattr(body, name)) for name, _, _ in method.parameters}
    if may_hold_extended(raw):
        _free_form_in(method, arguments)
    repository = getattr(grant.view, method.repository)
    try:
        result = await getattr(repository, method.name)(**arguments)
    except PersistenceError:
        raise
    except Exception as exc:  # a bug, not the caller's fault: never a raw 500 page
        log.exception("%s failed", method.path)
        raise PersistenceError(ErrorCode.STORAGE_ERROR, f"{method.name} failed: {type(exc).__name__}") from None
    # Free-form values JSON cannot hold go as Extended JSON (``_wire.to_extended``).
    return Response(method.result.dump_json(map_result(result, to_extended)), media_type="application/json")


def _free_form_in(method: WireMethod, arguments: dict[str, Any]) -> None:
    """The free-form values of ``arguments`` as the client had them (Extended JSON decoded)."""
    try:
        for name, model in method.free_form_arguments:
            value = arguments[name]
            if isinstance(value, list):
                arguments[name] = [map_free_form(item, model, from_extended) for item in value]
            elif value is not None:
                arguments[name] = map_free_form(value, model, from_extended)
    except ValueError as exc:
        raise PersistenceError(ErrorCode.INVALID_DATA, str(exc)) from None


def _handler(method: WireMethod, body_model: type[BaseModel]) -> Handler:
    """The route for ``RepositoryDispatch`` (the fast path): auth on every call, then the answer."""

    async def handle(request: Request, context: Context) -> Response:
        return await _answer(method, body_model, request, await context.grant(request))

    return handle


def _endpoint(method: WireMethod, body_model: type[BaseModel]) -> Any:
    """The same route for FastAPI: what the OpenAPI document describes (and answers any
    request the fast path does not take)."""

    async def endpoint(request: Request, grant: Grant) -> Response:
        return await _answer(method, body_model, request, grant)

    # FastAPI reads the signature: the request (its body is read above) and the auth dependency.
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
            inspect.Parameter("grant", inspect.Parameter.KEYWORD_ONLY, annotation=Grant, default=Depends(_grant)),
        ],
        return_annotation=Response,
    )
    endpoint.__name__ = f"{method.repository}_{method.name}"
    return endpoint


def _argument(value: Any) -> Any:
    """A body field as the repository method takes it (an update as the dict of what was sent)."""
    return value.fields_sent() if isinstance(value, Updates) else value


def add_repository_routes(app: FastAPI) -> tuple[dict[str, type[BaseModel]], dict[str, Handler]]:
    """Add the routes; their body models (for the OpenAPI document) and handlers (the fast path), by path."""
    models = body_models()
    handlers: dict[str, Handler] = {}
    for repository, catalogue in methods().items():
        router = APIRouter(tags=[repository])
        for method in catalogue.values():
            router.add_api_route(
                method.path,
                _endpoint(method, models[method.path]),
                methods=["POST"],
                response_model=None if method.returns is type(None) else method.returns,
                summary=method.doc.splitlines()[0] if method.doc else method.name,
                description=method.doc,
                responses=error_responses(write=not method.read),
            )
            handlers[method.path] = _handler(method, models[method.path])
        app.include_router(router)
    return models, handlers
