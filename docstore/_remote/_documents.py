"""``DocumentStore`` over a server's admin endpoints: export, import, restore and stats on ``http(s)://``.

These need an admin token (a namespace token is refused, as ``store.documents`` is on a
namespace view). Documents travel as canonical Extended JSON (``_wire.encode_document``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from .._errors import ErrorCode, PersistenceError
from .._interfaces import BatchResult, CollectionStats
from .._mapping import check_collection_name, invalid, require_id
from ._transport import Transport
from ._wire import ADMIN_PREFIX, decode_documents, encode_document

__all__ = ["RemoteDocumentStore"]


class RemoteDocumentStore:
    """The whole-collection surface of the store behind a server."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def collection_names(self) -> list[str]:
        names = _json(await self._transport.request("GET", f"{ADMIN_PREFIX}/collections", read=True))
        return [str(name) for name in names]

    async def collection_stats(self) -> dict[str, CollectionStats]:
        raw = _json(await self._transport.request("GET", f"{ADMIN_PREFIX}/stats", read=True))
        return {name: CollectionStats(int(s["documents"]), list(s["indexes"])) for name, s in raw.items()}

    async def iter_documents(self, collection: str, *, batch_size: int = 1000) -> AsyncIterator[dict[str, Any]]:
        check_collection_name(collection)
        # One streamed answer, one document per line: O(n) however large the collection.
        async for line in self._transport.stream_lines(f"{ADMIN_PREFIX}/documents/{collection}"):
            yield _document(line)

    async def get_document(self, collection: str, document_id: str) -> dict[str, Any] | None:
        check_collection_name(collection)
        content = await self._transport.request(
            "GET",
            f"{ADMIN_PREFIX}/documents/{collection}/one",
            params={"id": require_id(document_id)},
            read=True,
        )
        found = decode_documents(content)
        return None if found is None else dict(found)

    async def upsert_documents(
        self, collection: str, documents: Sequence[dict[str, Any]], *, dry_run: bool = False
    ) -> BatchResult:
        check_collection_name(collection)
        try:
            body = encode_document(list(documents)).encode()
        except (TypeError, ValueError, OverflowError) as exc:
            raise invalid(f"documents cannot be sent: {exc}") from None
        content = await self._transport.request(
            "POST",
            f"{ADMIN_PREFIX}/documents/{collection}",
            body=body,
            params={"dry_run": "true" if dry_run else "false"},
            read=False,
        )
        raw = _json(content)
        return BatchResult(
            raw["inserted"], raw["updated"], raw["unchanged"], [(int(i), str(why)) for i, why in raw["failed"]]
        )

    async def delete_document(self, collection: str, document_id: str) -> bool:
        check_collection_name(collection)
        content = await self._transport.request(
            "DELETE",
            f"{ADMIN_PREFIX}/documents/{collection}/one",
            params={"id": require_id(document_id)},
            read=False,
        )
        return bool(_json(content))


def _json(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        raise PersistenceError(ErrorCode.STORAGE_ERROR, "the server answered something that is not JSON") from None


def _document(line: str) -> dict[str, Any]:
    try:
        found = decode_documents(line)
    except ValueError:
        raise PersistenceError(ErrorCode.STORAGE_ERROR, "the server sent a document that is not JSON") from None
    if not isinstance(found, dict):
        raise PersistenceError(ErrorCode.STORAGE_ERROR, "the server sent a document that is not an object")
    return found
