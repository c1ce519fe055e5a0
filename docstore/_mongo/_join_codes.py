"""``docstore init`` on the MongoDB dialect: the derived join codes brought up to the current rule.

Every active session carries ``active_join_code``, ``normalize_join_code`` of its code,
which the unique index (code, namespace) holds and lookups read. Sessions written
under an older rule carry the older form; ``docstore init`` (after rebuilding the
index by name) derives it again. As on ``local://``: two active sessions of one
namespace whose codes became the same code are not both kept active; the one created
first keeps it, the others are ended (``ended_at`` now, version + 1).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pymongo.errors import DuplicateKeyError

from .._mapping import METADATA
from .._time import utc_now
from ._indexes import ACTIVE_JOIN_CODE
from ._sessions import with_active_join_code

__all__ = ["derive_join_codes"]


async def derive_join_codes(sessions: Any) -> list[str]:
    """Set every active session's derived code under the current rule; the ids of sessions ended."""
    found = sessions.find({"active": True}, {"join_code": 1, "active": 1, "namespace_id": 1, ACTIVE_JOIN_CODE: 1}).sort(
        [("created_at", 1), ("_id", 1)]
    )
    holders: dict[tuple[Any, str], list[dict[str, Any]]] = defaultdict(list)
    changes: list[tuple[dict[str, Any], str | None]] = []
    async for document in found:
        wanted = with_active_join_code(document).get(ACTIVE_JOIN_CODE)
        if wanted is not None:
            holders[(document.get("namespace_id"), wanted)].append(document)
        if document.get(ACTIVE_JOIN_CODE) != wanted:
            changes.append((document, wanted))
    ended: list[str] = []
    for documents in holders.values():
        for loser in documents[1:]:  # the first created keeps the code
            now = utc_now()
            await sessions.update_one(
                {"_id": loser["_id"], "active": True},
                {
                    "$set": {"active": False, "ended_at": now, f"{METADATA}.updated_at": now},
                    "$unset": {ACTIVE_JOIN_CODE: ""},
                    "$inc": {f"{METADATA}.version": 1},
                },
            )
            ended.append(loser["_id"])
    pending = [(document, wanted) for document, wanted in changes if document["_id"] not in set(ended)]
    # A code may still be held under its old form by a session that moves off it later in
    # this pass: what clashes waits for the next round, until a round changes nothing.
    while pending:
        waiting: list[tuple[dict[str, Any], str | None]] = []
        for document, wanted in pending:
            update = {"$set": {ACTIVE_JOIN_CODE: wanted}} if wanted else {"$unset": {ACTIVE_JOIN_CODE: ""}}
            try:
                await sessions.update_one({"_id": document["_id"], "active": True}, update)
            except DuplicateKeyError:
                waiting.append((document, wanted))
        if len(waiting) == len(pending):
            raise DuplicateKeyError(f"join codes still clash after derivation: {[d['_id'] for d, _ in waiting]}")
        pending = waiting
    return ended
