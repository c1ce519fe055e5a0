"""Idempotent bulk upserts: what an import needs from the engines.

Each document carries a hash of its own content (``_content_hash``). A batch
reads the hashes stored under its ids, then writes only what is new or
different, in one unordered bulk write. Running the same batch twice writes
nothing the second time, so an interrupted import is finished by running it
again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from pymongo import InsertOne, ReplaceOne
from pymongo.errors import BulkWriteError

from .._interfaces import BatchResult
from .._mapping import encode_stored_document, invalid
from ._driver_errors import translated

__all__ = ["CONTENT_HASH", "upsert_batch"]

CONTENT_HASH = "_content_hash"


def _content_hash(encoded: bytes) -> str:
    """The hash of a document's BSON (the same document hashes the same on every engine)."""
    return hashlib.blake2b(encoded, digest_size=16).hexdigest()


@translated
async def upsert_batch(
    collection: Any,
    given: Sequence[dict[str, Any]],
    *,
    dry_run: bool = False,
    stored_form: Callable[[dict[str, Any]], dict[str, Any]] = dict,
    refuse: Callable[[dict[str, Any]], str | None] | None = None,
) -> BatchResult:
    """Insert new documents, replace changed ones, leave identical ones alone.

    The hash is taken of the document as given; ``stored_form`` then adds what the
    engine derives (the active join code), so the same document hashes the same on
    every engine. Each document passes ``check_stored_document`` first: one that does
    not is a ``failed`` entry and the others are written. ``given`` must be a sequence
    (a string or a single dict is INVALID_DATA, not a batch of characters or keys).
    ``refuse`` gives the collection's own reason to refuse a document (a ``failed`` entry too).
    """
    if not isinstance(given, Sequence) or isinstance(given, str | bytes | bytearray):
        raise invalid(f"documents must be a sequence of dicts, not {type(given).__name__}")
    result = BatchResult()
    # (batch position, stored form): only documents that passed the shared check.
    documents: list[tuple[int, dict[str, Any]]] = []
    for position, document in enumerate(given):
        # Checked and encoded once: the encoding that measured it is the one hashed.
        encoded = encode_stored_document(document)
        if isinstance(encoded, str):
            result.failed.append((position, encoded))
            continue
        reason = refuse(document) if refuse is not None else None
        if reason is not None:
            result.failed.append((position, reason))
            continue
        stored = stored_form(document)
        stored[CONTENT_HASH] = _content_hash(encoded)
        documents.append((position, stored))
    if not documents:
        return result
    ids = [document["_id"] for _, document in documents]
    stored_hashes = {
        row["_id"]: row.get(CONTENT_HASH)
        for row in await collection.find({"_id": {"$in": ids}}, {CONTENT_HASH: 1}).to_list(None)
    }
    requests: list[InsertOne[dict[str, Any]] | ReplaceOne[dict[str, Any]]] = []
    planned: list[tuple[int, str]] = []  # (batch position, "inserted" | "updated"), one per request
    for position, document in documents:
        known = document["_id"] in stored_hashes
        if known and stored_hashes[document["_id"]] == document[CONTENT_HASH]:
            result.unchanged += 1
        elif known:
            requests.append(ReplaceOne({"_id": document["_id"]}, document))
            planned.append((position, "updated"))
        else:
            # Known to be new: an insert, cheaper than an upsert on every engine.
            requests.append(InsertOne(document))
            planned.append((position, "inserted"))
    failed: dict[int, str] = {}
    if requests and not dry_run:
        try:
            await collection.bulk_write(requests, ordered=False)
        except BulkWriteError as exc:
            for error in exc.details.get("writeErrors", []):
                failed[error["index"]] = _reason(error)
    for request_index, (position, outcome) in enumerate(planned):
        if request_index in failed:
            result.failed.append((position, failed[request_index]))
        elif outcome == "inserted":
            result.inserted += 1
        else:
            result.updated += 1
    result.failed.sort()  # refused before and during the write: in batch order
    return result


def _reason(error: dict[str, Any]) -> str:
    if error.get("code") == 11000:
        key = error.get("keyValue") or error.get("keyPattern") or {}
        return f"duplicate key {key}" if key else "duplicate key"
    return str(error.get("errmsg", "write failed"))[:300]
