"""``store.documents`` of a store with a read cache: a tool's write empties the cache.

An import, a restore or an admin upsert may change any cached answer, a cached "none"
included, and says nothing of which: every entry goes when such a write ends (failed
or not, since a failure may have been applied), and reads overlapping it are not kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._cache import ReadCache
from ._forwarding import forwarded
from ._interfaces import BatchResult, DocumentStore

__all__ = ["cached_documents"]


def cached_documents(documents: DocumentStore, cache: ReadCache | None) -> DocumentStore:
    """``store.documents`` whose writes empty ``cache`` (when there is one)."""
    return documents if cache is None else clearing_documents(documents, cache)


class _ClearingDocuments(DocumentStore):
    """A tool's write (import, restore, an admin upsert) may change any cached answer, a
    cached "none" included, and names no tags: every entry goes when it ends. Reads are
    ``_inner``'s (``forwarded``)."""

    def __init__(self, inner: DocumentStore, cache: ReadCache) -> None:
        self._inner, self._cache = inner, cache

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


clearing_documents = forwarded(_ClearingDocuments)
