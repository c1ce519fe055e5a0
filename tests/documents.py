"""Reading whole collections in tests, through the public document surface."""

from __future__ import annotations

from typing import Any

from docstore import Store


async def all_documents(store: Store, collection: str, **equal: Any) -> list[dict[str, Any]]:
    """Every stored document of ``collection`` (by ``_id``), optionally only those with ``field == value``."""
    return [
        document
        async for document in store.documents.iter_documents(collection)
        if all(document.get(field) == value for field, value in equal.items())
    ]
