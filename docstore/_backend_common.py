"""What every backend does alike to what it stores: fresh metadata on new items, the
answers every engine gives in the same words (NOT_FOUND, revisions already stored), and
stored documents the code cannot work with (STORAGE_ERROR naming the item).

Documents written through ``Store.documents`` (import, restore) are not checked
against the domain types; a repository that meets a damaged one says so, naming it,
instead of crashing or blaming the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from ._errors import ErrorCode, PersistenceError
from ._mapping import METADATA
from ._models import StorageMetadata, StoredItem, normalize_join_code
from ._time import utc_now

__all__ = [
    "active_join_code",
    "already_exists",
    "damaged",
    "join_code_taken",
    "not_found",
    "revisions_taken",
    "stamped",
    "stored_version",
]

S = TypeVar("S", bound=StoredItem)


def stamped(item: S, namespace: str | None, actor: str | None) -> S:
    """A copy of ``item`` ready to insert: the view's namespace (if any) and fresh metadata."""
    now = utc_now()
    changes: dict[str, Any] = {
        "metadata": StorageMetadata(created_at=now, updated_at=now, version=1, created_by=actor, modified_by=actor)
    }
    if namespace is not None:
        changes["namespace_id"] = namespace
    return item.model_copy(update=changes)


def active_join_code(session: Mapping[str, Any]) -> str | None:
    """The join code a stored session holds (what the engines' unique index is on): only while
    it is active, and normalized whatever the document holds, so a document written by a tool
    or under an older rule is found, and counted as taken, under the code it means."""
    code = session.get("join_code")
    if not session.get("active") or not isinstance(code, str):
        return None
    return normalize_join_code(code) or None


def already_exists(what: str, item_id: object) -> PersistenceError:
    """An id taken already (``what``: ``session``, ``problem``, ``revision``)."""
    return PersistenceError(ErrorCode.ALREADY_EXISTS, f"{what} {item_id!r} already exists")


def join_code_taken(join_code: object) -> PersistenceError:
    """A join code that another active session holds already (codes are unique within a namespace)."""
    return PersistenceError(ErrorCode.ALREADY_EXISTS, f"an active session already uses join code {join_code!r}")


def not_found(what: str, item_id: object) -> PersistenceError:
    """An item that is not in this view (``what``: the model's name, e.g. ``Session``)."""
    return PersistenceError(ErrorCode.NOT_FOUND, f"{what} {item_id!r} not found")


def revisions_taken(taken: Sequence[str]) -> PersistenceError:
    """``save_revisions``' answer when some ids were stored already: every other revision was
    written (unordered); the first ten taken ids are named."""
    return PersistenceError(ErrorCode.ALREADY_EXISTS, f"{len(taken)} revision(s) already exist: {list(taken[:10])}")


def damaged(what: str, item_id: object, detail: str) -> PersistenceError:
    """A stored document the code cannot work with: the store's problem (STORAGE_ERROR), named."""
    return PersistenceError(ErrorCode.STORAGE_ERROR, f"stored {what} {item_id!r} is damaged: {detail}")


def stored_version(raw: Mapping[str, Any], what: str) -> int:
    """The version in a stored document's metadata; STORAGE_ERROR naming it when that is damaged."""
    metadata = raw.get(METADATA)
    version = metadata.get("version") if isinstance(metadata, Mapping) else None
    if type(version) is not int:
        raise damaged(what, raw.get("_id"), f"{METADATA}.version is {version!r}")
    return version
