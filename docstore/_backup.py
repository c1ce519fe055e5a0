"""Export and restore: every collection as JSON lines of MongoDB Extended JSON.

Canonical Extended JSON keeps every BSON type (dates, 64-bit integers), so a
backup taken from one engine restores into another unchanged, and exporting the
restored store gives the same files again, byte for byte.

    DIR/<collection>.jsonl   one document per line, sorted by _id
    DIR/manifest.json        collections and their document counts
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bson import json_util

from ._store import Store

__all__ = ["export_store", "restore_store"]

_JSON_OPTIONS = json_util.JSONOptions(json_mode=json_util.JSONMode.CANONICAL, tz_aware=True)
_BATCH = 1000
MANIFEST = "manifest.json"


async def export_store(store: Store, directory: str | Path) -> dict[str, int]:
    """Write every collection of ``store`` to ``directory``; documents per collection."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    documents = store.documents
    for name in await documents.collection_names():
        count = 0
        temporary = folder / f"{name}.jsonl.tmp"
        with open(temporary, "w", encoding="utf-8") as out:
            async for document in documents.iter_documents(name):
                out.write(json_util.dumps(document, json_options=_JSON_OPTIONS, sort_keys=True) + "\n")
                count += 1
        temporary.replace(folder / f"{name}.jsonl")
        counts[name] = count
    manifest = {"format": 1, "source_engine": store.engine_name, "collections": counts}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return counts


async def restore_store(store: Store, directory: str | Path) -> dict[str, int]:
    """Load an export into ``store``, replacing documents with the same ids; documents per collection."""
    folder = Path(directory)
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{folder} is not a docstore export (no {MANIFEST})")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    counts: dict[str, int] = {}
    documents = store.documents
    for name, expected in manifest["collections"].items():
        batch: list[dict[str, Any]] = []
        count = 0
        with open(folder / f"{name}.jsonl", encoding="utf-8") as lines:
            for line in lines:
                batch.append(json_util.loads(line, json_options=_JSON_OPTIONS))
                count += 1
                if len(batch) >= _BATCH:
                    await documents.upsert_documents(name, batch)
                    batch = []
        if batch:
            await documents.upsert_documents(name, batch)
        if count != expected:
            raise ValueError(f"{name}.jsonl holds {count} documents, the manifest says {expected}")
        counts[name] = count
    return counts
