"""Idempotent bulk upserts on the MongoDB dialect: the queries behind ``upsert_documents``.

What is written, replaced, left alone or refused is planned once for every engine
(``docstore._upsert_plan``). Here: the content hash each document carries
(``_content_hash``, of its BSON), the read of the hashes stored under a batch's ids,
and the plan's writes as unordered bulk writes (one per round; a batch without
repeated ids is one). Running the same batch twice writes nothing the second time, so
an interrupted import is finished by running it again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from pymongo import InsertOne, ReplaceOne
from pymongo.errors import BulkWriteError

from .._interfaces import BatchResult
from .._upsert_plan import Step, check_batch, plan_upsert
from ._driver_errors import translated

__all__ = ["CONTENT_HASH", "upsert_batch"]

CONTENT_HASH = "_content_hash"


def _content_hash(encoded: bytes) -> str:
    """The hash of a document's BSON (the same document hashes the same on every engine)."""
    return hashlib.blake2b(encoded, digest_size=16).hexdigest()


@translated
async def upsert_batch(
    collection: Any,
    name: str,
    given: Sequence[Any],
    *,
    dry_run: bool = False,
    stored_form: Callable[[dict[str, Any]], dict[str, Any]] = dict,
) -> BatchResult:
    """Insert new documents, replace changed ones, leave identical ones alone (``_upsert_plan``).

    The hash is taken of the document as given; ``stored_form`` then adds what the
    engine derives (the active join code), so the same document hashes the same on
    every engine.
    """
    checked, refused = check_batch(name, given)
    stored: dict[str, object] = {}
    if checked:
        ids = list(dict.fromkeys(item.document["_id"] for item in checked))
        found = await collection.find({"_id": {"$in": ids}}, {CONTENT_HASH: 1}).to_list(None)
        stored = {row["_id"]: row.get(CONTENT_HASH) for row in found}
    plan = plan_upsert(checked, refused, stored, _content_hash)
    if dry_run:
        return plan.result()
    failed: dict[int, str] = {}
    for steps in plan.rounds:
        await _write(collection, list(plan.runnable(steps, failed)), stored_form, failed)
    return plan.result(failed)


async def _write(
    collection: Any,
    steps: list[Step],
    stored_form: Callable[[dict[str, Any]], dict[str, Any]],
    failed: dict[int, str],
) -> None:
    """One unordered bulk write of ``steps`` (no id twice); what failed is added to ``failed``."""
    if not steps:
        return
    requests: list[InsertOne[dict[str, Any]] | ReplaceOne[dict[str, Any]]] = []
    for step in steps:
        document = stored_form(step.document)
        document[CONTENT_HASH] = step.digest
        # Known to be new: an insert, cheaper than an upsert on every engine.
        requests.append(
            InsertOne(document) if step.action == "insert" else ReplaceOne({"_id": step.document["_id"]}, document)
        )
    try:
        await collection.bulk_write(requests, ordered=False)
    except BulkWriteError as exc:
        for error in exc.details.get("writeErrors", []):
            failed[steps[error["index"]].position] = _reason(error)


def _reason(error: dict[str, Any]) -> str:
    if error.get("code") == 11000:
        key = error.get("keyValue") or error.get("keyPattern") or {}
        return f"duplicate key {key}" if key else "duplicate key"
    return str(error.get("errmsg", "write failed"))[:300]
