"""``store.documents`` of a store with a read cache: a tool's write empties the cache.

An import, a restore or an admin upsert may change any cached answer, a cached "none"
included, and says nothing of which: every entry goes when such a write ends (failed
or not, since a failure may have been applied), and reads overlapping it are not kept.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from ._cache import ReadCache
from ._interfaces import BatchResult, CollectionStats, DocumentStore

__all__ = ["cached_documents"]


def cached_documents(documents: DocumentStore, cache: ReadCache | None) -> DocumentStore:
    """``store.documents`` whose writes empty ``cache`` (when there is one)."""
    return documents if cache is None else _ClearingDocuments(documents, cache)


class _ClearingDocuments:
    """A tool's write (import, restore, an admin upsert) may change any cached answer, a
    cached "none" included, and names no tags: every entry goes when it ends."""

    def __init__(self, inner: DocumentStore, cache: ReadCache) -> None:
        self._inner, self._cache = inner, cache

    async def collection_names(self) -> list[str]:
        return await self._inner.collection_names()

    async def collection_stats(self) -> dict[str, CollectionStats]:
        return await self._inner.collection_stats()

    async def iter_documents(self, collection: str, *, batch_size: int = 1000) -> AsyncIterator[dict[str, Any]]:
        async for document in self._inner.iter_documents(collection, batch_size=batch_size):
            yield document

    async def get_document(self, collection: str, document_id: str) -> dict[str, Any] | None:
        return await self._inner.get_document(collection, document_id)

    async def upsert_documents(
        self, collection: str, documents: Sequence[dict[str, Any]], *, dry_run: bool = False
    ) -> BatchResult:
        with self._cache.writing():
            try:
                return await self._inner.upsert_documents(collection, documents, dry_run=dry_run)
            finally:
                if dry_run is not True:
                    self._cache.clear()

    async def delete_document(self, collection: str, document_id: str) -> bool:
        with self._cache.writing():
            try:
                return await self._inner.delete_document(collection, document_id)
            finally:
                self._cache.clear()
