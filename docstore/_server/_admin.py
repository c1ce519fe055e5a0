"""Health (no token), server facts, and the whole-collection surface for admin tools."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from pydantic_core import to_jsonable_python
from starlette.responses import Response, StreamingResponse

from .._errors import ErrorCode, PersistenceError
from .._mapping import invalid
from .._wire import ADMIN_PREFIX, API_PREFIX, decode_documents, encode_document, error_line
from ._auth import Authenticator
from ._context import Grant, context_of
from ._schema import error_responses
from ._tokens import TOKENS

__all__ = ["add_admin_routes"]


def _json(value: Any) -> Response:
    return Response(json.dumps(to_jsonable_python(value, fallback=str)), media_type="application/json")


async def _grant(request: Request) -> Grant:
    return await context_of(request).grant(request)


async def _admin(request: Request) -> Grant:
    grant = await context_of(request).grant(request)
    if not grant.caller.admin or grant.view.namespace is not None:
        raise Authenticator.refuse(
            403, f"token {grant.caller.name!r} asked for {request.url.path}", "whole collections need an admin token"
        )
    return grant


AnyGrant = Annotated[Grant, Depends(_grant)]
AdminGrant = Annotated[Grant, Depends(_admin)]
# The names and ids the document store takes (``_mapping.check_collection_name``, ``require_id``).
Collection = Annotated[str, Path(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")]
DocumentId = Annotated[str, Query(min_length=1)]
# A client that reads ``{"$error": ...}`` lines asks for them; an earlier release's client does not.
InlineErrors = Annotated[Literal["inline"] | None, Query()]
_READ_ERRORS = error_responses(write=False)
_WRITE_ERRORS = error_responses()


# A batch: documents in canonical Extended JSON. A document the store cannot keep (no
# string ``_id``, a value no engine stores) is reported in "failed", not refused with the batch.
_BATCH = {"type": "array", "items": {"type": "object"}}
_LINES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        "description": (
            'One line each; with errors=inline, a read failing midway ends the stream with {"$error": {"code", '
            '"message"}}; without it, the stream breaks there'
        ),
    }
}


def add_admin_routes(app: FastAPI) -> None:
    public = APIRouter(tags=["health"], responses=_READ_ERRORS)

    @public.get(f"{API_PREFIX}/health", summary="Is the store behind this server reachable? (no token)")
    async def health(request: Request) -> Response:
        context = context_of(request)
        try:
            await context.ready()
            ok = (await context.store.health()).ok
        except PersistenceError:
            ok = False
        return _json({"ok": ok}) if ok else Response('{"ok":false}', 503, media_type="application/json")

    @public.get(f"{API_PREFIX}/info", summary="The engine behind this server (any token); its facts (admin)")
    async def info(grant: AnyGrant) -> Response:
        report = await grant.view.health()
        if not report.ok:
            raise PersistenceError(ErrorCode(report.details.get("code", "UNAVAILABLE")), "the store is unreachable")
        # Facts such as a local store's path are the operator's business, not every app's.
        return _json({"engine": report.engine, **(report.details if grant.caller.admin else {})})

    admin = APIRouter(prefix=ADMIN_PREFIX, tags=["admin"], responses=_READ_ERRORS)

    @admin.get("/collections", summary="Collection names")
    async def collections(grant: AdminGrant) -> Response:
        return _json(await grant.view.documents.collection_names())

    @admin.get("/stats", summary="Documents and indexes per collection")
    async def stats(grant: AdminGrant) -> Response:
        found = await grant.view.documents.collection_stats()
        return _json({name: {"documents": s.documents, "indexes": s.indexes} for name, s in found.items()})

    @admin.get(
        "/documents/{collection}",
        summary="Every document, one canonical Extended JSON line each",
        response_class=StreamingResponse,
        responses=_LINES,
    )
    async def documents(
        request: Request, collection: Collection, grant: AdminGrant, errors: InlineErrors = None
    ) -> Response:
        source = grant.view.documents.iter_documents(collection)
        # Fetch the first one now: a bad collection name is a 422, not a broken stream.
        try:
            first = await anext(source)
        except StopAsyncIteration:
            return Response(b"", media_type="application/x-ndjson")

        async def lines() -> AsyncIterator[bytes]:
            yield (encode_document(first) + "\n").encode()
            try:
                async for document in source:
                    yield (encode_document(document) + "\n").encode()
            except PersistenceError as error:
                if errors is None:
                    # A client of an earlier release would take the error line for a document (an
                    # export through it would end early yet succeed): for it, the stream breaks.
                    raise
                # The 200 is out: the failure (a damaged document, named) is the stream's last line,
                # not a broken connection the client could only call "dropped".
                shown = PersistenceError(
                    error.code, context_of(request).shown_to(request, error.message), damaged=error.damaged
                )
                yield (error_line(shown) + "\n").encode()

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    @admin.get("/documents/{collection}/one", summary="One document by _id (null when there is none)")
    async def get_one(collection: Collection, id: DocumentId, grant: AdminGrant) -> Response:
        found = await grant.view.documents.get_document(collection, id)
        return Response(encode_document(found), media_type="application/json")

    @admin.delete(
        "/documents/{collection}/one",
        summary="Delete one document by _id; whether it was there",
        responses=_WRITE_ERRORS,
    )
    async def delete_one(request: Request, collection: Collection, id: DocumentId, grant: AdminGrant) -> Response:
        deleted = await grant.view.documents.delete_document(collection, id)
        if collection == TOKENS:
            context_of(request).auth.forget()
        return _json(deleted)

    @admin.post(
        "/documents/{collection}",
        summary="Upsert a batch of documents (a canonical Extended JSON array)",
        responses=_WRITE_ERRORS,
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _BATCH}}}},
    )
    async def upsert(request: Request, collection: Collection, grant: AdminGrant, dry_run: bool = False) -> Response:
        try:
            batch = decode_documents(await request.body())
        except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: hostile nesting
            raise invalid(f"body is not a canonical Extended JSON array: {type(exc).__name__}") from None
        if not isinstance(batch, list) or not all(isinstance(d, dict) for d in batch):
            raise invalid("body must be a JSON array of documents")
        result = await grant.view.documents.upsert_documents(collection, batch, dry_run=dry_run)
        if collection == TOKENS:
            context_of(request).auth.forget()
        return _json(
            {
                "inserted": result.inserted,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "failed": [list(item) for item in result.failed],
            }
        )

    app.include_router(public)
    app.include_router(admin)
