"""One ``POST /v1/{repository}/{method}`` per repository method, built from the Protocols.

The body model of each route is the method's signature (strict for plain values, so
``"5"`` is not a limit: the engine would refuse it too); the engine behind then runs
its own checks, so a call answers over HTTP exactly what it answers in process.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel, ConfigDict, create_model
from starlette.responses import Response

from .._errors import ErrorCode, PersistenceError
from .._remote._wire import WireMethod, methods
from ._auth import Authenticator
from ._context import Grant, context_of

__all__ = ["add_repository_routes"]

log = logging.getLogger("docstore.server")


async def _grant(request: Request) -> Grant:
    return await context_of(request).grant(request)


def _body_model(method: WireMethod) -> type[BaseModel]:
    fields: dict[str, Any] = {
        name: (annotation, ... if default is inspect.Parameter.empty else default)
        for name, annotation, default in method.parameters
    }
    title = "".join(part.title() for part in f"{method.repository}_{method.name}".split("_"))
    model: type[BaseModel] = create_model(title, __config__=ConfigDict(extra="forbid", strict=True), **fields)
    return model


def _endpoint(method: WireMethod, body_model: type[BaseModel]) -> Any:
    async def endpoint(body: BaseModel, grant: Grant) -> Response:
        if grant.caller.read_only and not method.read:
            raise Authenticator.refuse(
                403, f"read-only token {grant.caller.name!r} tried {method.path}", "this token is read-only"
            )
        arguments = {name: getattr(body, name) for name, _, _ in method.parameters}
        repository = getattr(grant.view, method.repository)
        try:
            result = await getattr(repository, method.name)(**arguments)
        except PersistenceError:
            raise
        except Exception as exc:  # a bug, not the caller's fault: never a raw 500 page
            log.exception("%s failed", method.path)
            raise PersistenceError(ErrorCode.STORAGE_ERROR, f"{method.name} failed: {type(exc).__name__}") from None
        return Response(method.result.dump_json(result), media_type="application/json")

    # FastAPI reads the signature: the body model and the auth dependency.
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=body_model),
            inspect.Parameter("grant", inspect.Parameter.KEYWORD_ONLY, annotation=Grant, default=Depends(_grant)),
        ],
        return_annotation=Response,
    )
    endpoint.__name__ = f"{method.repository}_{method.name}"
    return endpoint


def add_repository_routes(app: FastAPI) -> None:
    for repository, catalogue in methods().items():
        router = APIRouter(tags=[repository])
        for method in catalogue.values():
            router.add_api_route(
                method.path,
                _endpoint(method, _body_model(method)),
                methods=["POST"],
                response_model=None if method.returns is type(None) else method.returns,
                summary=method.doc.splitlines()[0] if method.doc else method.name,
                description=method.doc,
                responses={403: {"description": "PERMISSION_DENIED"}, 422: {"description": "INVALID_DATA"}},
            )
        app.include_router(router)
