"""``MongoDocumentStore``: whole collections of stored documents, for tools, on the MongoDB dialect."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._arguments import check_batch_size
from .._interfaces import BatchResult, CollectionStats
from .._mapping import check_collection_name, require_id
from .._upsert_plan import batch_of
from ._beanie_models import SESSIONS
from ._bulk import CONTENT_HASH, upsert_batch
from ._driver_errors import translate_error, translated
from ._indexes import IndexChange
from ._join_codes import derive_join_codes
from ._migration import META, MigrationReport
from ._sessions import with_active_join_code, without_derived_fields

if TYPE_CHECKING:
    from ._backend import MongoBackend

__all__ = ["MongoDocumentStore"]


class MongoDocumentStore:
    """``DocumentStore`` over the collections of one MongoDB-dialect database."""

    def __init__(self, backend: MongoBackend) -> None:
        self._backend = backend

    # -- index administration (``docstore init``; not part of ``DocumentStore``) ------
    async def upgrade_indexes(self, *, drop_unknown: bool = False) -> list[IndexChange]:
        """Bring the indexes up to date (see ``MongoBackend.upgrade_indexes``), then the join
        codes they hold (``_join_codes``: the rule may have changed with them)."""
        changes = await self._backend.upgrade_indexes(drop_unknown=drop_unknown)
        try:
            await derive_join_codes(self._backend.collection(SESSIONS))
        except Exception as exc:
            raise translate_error(exc) from None
        return changes

    async def shard_collections(self) -> list[str]:
        """Shard the collections that have a shard key (a mongos only)."""
        return await self._backend.shard_collections()

    async def migrate_layout(self, say: Callable[[str], None]) -> MigrationReport:
        """Move students still inside sessions into ``session_students`` (``_migration``), printing each step."""
        return await self._backend.migrate_layout(say)

    @translated
    async def collection_names(self) -> list[str]:
        names: list[str] = await self._backend.database.list_collection_names()
        # The layout marker is this engine's bookkeeping, not data a backup carries.
        return sorted(name for name in names if name != META)

    @translated
    async def collection_stats(self) -> dict[str, CollectionStats]:
        result: dict[str, CollectionStats] = {}
        for name in await self.collection_names():
            collection = self._backend.collection(name)
            indexes = sorted(await collection.index_information())
            # The collection metadata, not a scan: stats must stay cheap on a large server.
            result[name] = CollectionStats(await collection.estimated_document_count(), indexes)
        return result

    async def iter_documents(self, collection: str, *, batch_size: int = 1000) -> AsyncIterator[dict[str, Any]]:
        check_collection_name(collection)
        found = self._backend.collection(collection).find({}).sort("_id", 1).batch_size(check_batch_size(batch_size))
        try:
            async for document in found:
                yield _given_form(collection, document)
        except Exception as exc:
            raise translate_error(exc) from None

    @translated
    async def get_document(self, collection: str, document_id: str) -> dict[str, Any] | None:
        check_collection_name(collection)
        found = await self._backend.collection(collection).find_one({"_id": require_id(document_id)})
        return None if found is None else _given_form(collection, found)

    @translated
    async def upsert_documents(
        self, collection: str, documents: Sequence[dict[str, Any]], *, dry_run: bool = False
    ) -> BatchResult:
        check_collection_name(collection)
        stored_form = with_active_join_code if collection == SESSIONS else dict
        return await upsert_batch(
            self._backend.collection(collection),
            collection,
            batch_of(documents),
            dry_run=dry_run,
            stored_form=stored_form,
        )

    @translated
    async def delete_document(self, collection: str, document_id: str) -> bool:
        check_collection_name(collection)
        result = await self._backend.collection(collection).delete_one({"_id": require_id(document_id)})
        return bool(result.deleted_count)


def _given_form(collection: str, document: dict[str, Any]) -> dict[str, Any]:
    """The document as a tool gave it: without the fields this engine derives."""
    document.pop(CONTENT_HASH, None)
    return without_derived_fields(document) if collection == SESSIONS else document
