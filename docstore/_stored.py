"""Stored documents the code cannot work with: STORAGE_ERROR naming the item, on every backend.

Documents written through ``Store.documents`` (import, restore) are not checked
against the domain types; a repository that meets a damaged one says so, naming it,
instead of crashing or blaming the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._errors import ErrorCode, PersistenceError
from ._mapping import METADATA

__all__ = ["damaged", "stored_version"]


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
