"""``DocumentStore`` over a server's admin endpoints: export, import, restore and stats on ``http(s)://``.

These need an admin token (a namespace token is refused, as ``store.documents`` is on a
namespace view). Documents travel as canonical Extended JSON (``_wire.encode_document``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from .._arguments import check_batch_size
from .._errors import ErrorCode, PersistenceError
from .._interfaces import BatchResult, CollectionStats
from .._mapping import check_collection_name, check_stored_document, require_id
from .._upsert_plan import batch_of
from .._wire import ADMIN_PREFIX, DEFAULT_MAX_BODY_BYTES, ERROR_LINE, decode_documents, encode_document, error_from_body
from ._transport import Transport

__all__ = ["MAX_REQUEST_BYTES", "RemoteDocumentStore"]

# The largest upsert body sent: the server's default limit, less room for a proxy's
# idea of a megabyte. A server configured below it refuses a large batch whole.
MAX_REQUEST_BYTES = DEFAULT_MAX_BODY_BYTES - 64 * 1024


class RemoteDocumentStore:
    """The whole-collection surface of the store behind a server."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def collection_names(self) -> list[str]:
        names = _json(await self._transport.request("GET", f"{ADMIN_PREFIX}/collections", read=True))
        with _answer_of("collections"):
            return [str(name) for name in names]

    async def collection_stats(self) -> dict[str, CollectionStats]:
        raw = _json(await self._transport.request("GET", f"{ADMIN_PREFIX}/stats", read=True))
        with _answer_of("stats"):
            return {str(name): CollectionStats(int(s["documents"]), list(s["indexes"])) for name, s in raw.items()}

    async def iter_documents(self, collection: str, *, batch_size: int = 1000) -> AsyncIterator[dict[str, Any]]:
        check_collection_name(collection)
        check_batch_size(batch_size)  # refused as on every engine, though the server streams its own batches
        # One streamed answer, one document per line: O(n) however large the collection.
        # errors=inline: a read failing midway on the server ends with an error line (an earlier
        # server ignores the parameter and breaks the stream there, as it always did).
        async for line in self._transport.stream_lines(f"{ADMIN_PREFIX}/documents/{collection}?errors=inline"):
            yield _document(line)

    async def get_document(self, collection: str, document_id: str) -> dict[str, Any] | None:
        check_collection_name(collection)
        content = await self._transport.request(
            "GET",
            f"{ADMIN_PREFIX}/documents/{collection}/one",
            params={"id": require_id(document_id)},
            read=True,
        )
        with _answer_of("a document"):
            found = decode_documents(content)
            return None if found is None else dict(found)

    async def upsert_documents(
        self, collection: str, documents: Sequence[dict[str, Any]], *, dry_run: bool = False
    ) -> BatchResult:
        """Each document refused or written on its own, as on every engine.

        What ``check_stored_document`` refuses never leaves the client (the server would
        refuse the whole body for it); the rest travels in requests of at most
        ``MAX_REQUEST_BYTES``, and the server's positions are mapped back to the caller's.
        """
        check_collection_name(collection)
        documents = batch_of(documents)  # the engines' rule, before anything travels
        failed: list[tuple[int, str]] = []
        encoded: list[tuple[int, bytes]] = []
        for position, document in enumerate(documents):
            reason = check_stored_document(document)
            line = None if reason is not None else _encoded(document)
            if line is None:
                failed.append((position, reason or "the document cannot be encoded as Extended JSON"))
            elif len(line) + 2 > MAX_REQUEST_BYTES:
                size = f"{len(line):,} bytes as JSON; a request holds at most {MAX_REQUEST_BYTES:,}"
                failed.append((position, f"the document is {size}"))
            else:
                encoded.append((position, line))
        inserted = updated = unchanged = 0
        for chunk in _chunks(encoded):
            raw = _json(
                await self._transport.request(
                    "POST",
                    f"{ADMIN_PREFIX}/documents/{collection}",
                    body=b"[" + b",".join(line for _, line in chunk) + b"]",
                    params={"dry_run": "true" if dry_run else "false"},
                    read=False,
                )
            )
            with _answer_of("an upsert"):
                inserted += int(raw["inserted"])
                updated += int(raw["updated"])
                unchanged += int(raw["unchanged"])
                # The server counts positions within its chunk: back to the caller's.
                failed.extend((chunk[int(index)][0], str(why)) for index, why in raw["failed"])
        return BatchResult(inserted, updated, unchanged, sorted(failed))

    async def delete_document(self, collection: str, document_id: str) -> bool:
        check_collection_name(collection)
        content = await self._transport.request(
            "DELETE",
            f"{ADMIN_PREFIX}/documents/{collection}/one",
            params={"id": require_id(document_id)},
            read=False,
        )
        return bool(_json(content))


def _encoded(document: dict[str, Any]) -> bytes | None:
    """One document as canonical Extended JSON (UTF-8), or None when it has no such form."""
    try:
        return encode_document(document).encode()
    except (TypeError, ValueError, OverflowError, RecursionError, UnicodeError):
        return None


def _chunks(encoded: list[tuple[int, bytes]]) -> Iterator[list[tuple[int, bytes]]]:
    """Consecutive runs of documents whose JSON array fits in one request."""
    chunk: list[tuple[int, bytes]] = []
    size = 2  # the brackets
    for item in encoded:
        if chunk and size + len(item[1]) + 1 > MAX_REQUEST_BYTES:
            yield chunk
            chunk, size = [], 2
        chunk.append(item)
        size += len(item[1]) + 1
    if chunk:
        yield chunk


def _json(content: bytes) -> Any:
    try:
        return json.loads(content)
    except (ValueError, RecursionError):  # RecursionError: nested past the stack
        raise PersistenceError(ErrorCode.STORAGE_ERROR, "the server answered something that is not JSON") from None


@contextlib.contextmanager
def _answer_of(what: str) -> Iterator[None]:
    """An answer of the wrong shape (another server, another protocol) as STORAGE_ERROR, not
    the TypeError, KeyError or ValueError reading it would raise."""
    try:
        yield
    except (TypeError, KeyError, ValueError, AttributeError, IndexError, RecursionError) as exc:
        message = f"the server's answer to {what} is not a docstore answer ({type(exc).__name__})"
        raise PersistenceError(ErrorCode.STORAGE_ERROR, message) from None


def _document(line: str) -> dict[str, Any]:
    try:
        found = decode_documents(line)
    except (ValueError, TypeError, RecursionError):  # bson's json_util raises TypeError for a bad $oid
        raise PersistenceError(ErrorCode.STORAGE_ERROR, "the server sent a document that is not JSON") from None
    if not isinstance(found, dict):
        raise PersistenceError(ErrorCode.STORAGE_ERROR, "the server sent a document that is not an object")
    if ERROR_LINE in found:  # the read failed midway on the server (``_wire.error_line``)
        raise error_from_body(found[ERROR_LINE])
    return found
