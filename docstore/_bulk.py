"""Idempotent bulk upserts: what an import needs from the engines.

Each document carries a hash of its own content (``_content_hash``). A batch
reads the hashes stored under its ids, then writes only what is new or
different, in one unordered bulk write. Running the same batch twice writes
nothing the second time, so an interrupted import is finished by running it
again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import bson
from pymongo import InsertOne, ReplaceOne
from pymongo.errors import BulkWriteError

from ._driver_errors import translated

__all__ = ["CONTENT_HASH", "BatchResult", "upsert_batch"]

CONTENT_HASH = "_content_hash"


@dataclass
class BatchResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    # (position in the batch, reason) of documents the database refused
    failed: list[tuple[int, str]] = field(default_factory=list)


def content_hash(document: dict[str, Any]) -> str:
    return hashlib.blake2b(bson.encode(document), digest_size=16).hexdigest()


@translated
async def upsert_batch(collection: Any, documents: list[dict[str, Any]], *, dry_run: bool = False) -> BatchResult:
    """Insert new documents, replace changed ones, leave identical ones alone.

    The documents must have passed ``check_keys`` already (``to_document`` does it).
    """
    result = BatchResult()
    if not documents:
        return result
    for document in documents:
        document[CONTENT_HASH] = content_hash(document)
    ids = [document["_id"] for document in documents]
    stored = {
        row["_id"]: row.get(CONTENT_HASH)
        for row in await collection.find({"_id": {"$in": ids}}, {CONTENT_HASH: 1}).to_list(None)
    }
    requests: list[InsertOne[dict[str, Any]] | ReplaceOne[dict[str, Any]]] = []
    planned: list[tuple[int, str]] = []  # (batch position, "inserted" | "updated"), one per request
    for position, document in enumerate(documents):
        known = document["_id"] in stored
        if known and stored[document["_id"]] == document[CONTENT_HASH]:
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
    return result


def _reason(error: dict[str, Any]) -> str:
    if error.get("code") == 11000:
        key = error.get("keyValue") or error.get("keyPattern") or {}
        return f"duplicate key {key}" if key else "duplicate key"
    return str(error.get("errmsg", "write failed"))[:300]
