"""The tools' side of the seam: whole collections of stored documents, and index administration.

Business code never needs these (``_interfaces.py`` holds the repositories it uses);
import, export, restore, stats and the token commands use only what is here, so each works
on every backend. ``_interfaces`` re-exports every name: the public surface is unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = ["BatchResult", "CollectionStats", "DocumentStore", "IndexAdministration", "IndexStep"]


@dataclass(frozen=True)
class CollectionStats:
    """Documents and index names of one collection (``Store.stats()``)."""

    documents: int
    indexes: list[str]


@dataclass
class BatchResult:
    """What ``DocumentStore.upsert_documents`` did with one batch."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    # (position in the batch, reason) of documents the backend refused; the others were written.
    failed: list[tuple[int, str]] = field(default_factory=list)


@runtime_checkable
class DocumentStore(Protocol):
    """Whole collections of stored documents, for tools (import, export, restore, stats, tokens).

    Unscoped: it sees every namespace. Collection names match ``[A-Za-z][A-Za-z0-9_]*``;
    the repositories' own are ``sessions``, ``session_students``, ``problems`` and ``revisions``
    (``docstore._students`` describes a student record). Documents written
    here to those collections must be readable by the repositories (a backend keeps its
    derived fields, such as the active join code, up to date itself).
    """

    async def collection_names(self) -> list[str]:
        """Every collection that holds documents (or indexes), sorted."""
        ...

    async def collection_stats(self) -> dict[str, CollectionStats]:
        """Documents and indexes per collection, by name, without scanning documents."""
        ...

    def iter_documents(self, collection: str, *, batch_size: int = 1000) -> AsyncIterator[dict[str, Any]]:
        """Every document of ``collection``, by ``_id`` ascending, as it was given to ``upsert_documents``.

        A damaged stored document (``local://``: a checksum mismatch) does not stop the scan:
        every sound one is yielded, then STORAGE_ERROR naming each damaged one by id
        (``PersistenceError.damaged``), so a tool can read past damage (a restore repairs it).
        """
        ...

    async def get_document(self, collection: str, document_id: str) -> dict[str, Any] | None:
        """One document by ``_id``, or None; a damaged one is STORAGE_ERROR with ``damaged`` its id."""
        ...

    async def upsert_documents(
        self, collection: str, documents: Sequence[dict[str, Any]], *, dry_run: bool = False
    ) -> BatchResult:
        """Insert new documents, replace changed ones, leave identical ones alone (idempotent).

        Each document is refused or written on its own (``BatchResult.failed``); with
        ``dry_run`` nothing is written and the result says what would have been.
        """
        ...

    async def delete_document(self, collection: str, document_id: str) -> bool:
        """Delete one document; whether it was there."""
        ...


class IndexStep(Protocol):
    """One step of an index upgrade, as ``docstore init`` prints it."""

    @property
    def pending(self) -> bool:
        """True while the step still has something to do (the store is out of date)."""
        ...

    def describe(self) -> str:
        """One line for a person."""
        ...


@runtime_checkable
class IndexAdministration(Protocol):
    """What a backend's ``DocumentStore`` offers when its indexes are the operator's to manage (MongoDB).

    Backends that keep their own schema up to date on open (``local://``) do not have it.
    """

    async def upgrade_indexes(self, *, drop_unknown: bool = False) -> Sequence[IndexStep]:
        """Create missing indexes, rebuild changed ones by name, drop undeclared ones if asked."""
        ...

    async def shard_collections(self) -> list[str]:
        """Shard the collections that have a shard key (a sharded cluster only)."""
        ...
