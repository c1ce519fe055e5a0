"""``upsert_documents`` encodes each document no more often than it must (an import writes millions)."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

import bson
import pytest

from docstore import open_store


def count_docstore_encodes(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Calls of ``bson.encode`` made by docstore's own modules, by module.

    Not the mongomock adapter's: that is the in-memory engine measuring what it stores,
    as a MongoDB server does on its side.
    """
    calls: Counter[str] = Counter()
    real = bson.encode

    def counted(*args: Any, **kwargs: Any) -> bytes:
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if caller.startswith("docstore.") and "mongomock" not in caller:
            calls[caller] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(bson, "encode", counted)
    return calls


def documents(count: int) -> list[dict[str, Any]]:
    return [{"_id": f"d{i}", "n": i, "text": "x" * 50} for i in range(count)]


@pytest.mark.parametrize("engine", ["memory", "local"])
async def test_each_document_is_encoded_once_to_be_checked_and_hashed(
    engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "memory://" if engine == "memory" else f"local://{tmp_path / 'store'}"
    async with open_store(url) as store:
        calls = count_docstore_encodes(monkeypatch)
        result = await store.documents.upsert_documents("things", documents(10))
        assert result.inserted == 10
        # memory: checked and hashed from one encoding; local: that, then the blob written.
        assert sum(calls.values()) == (10 if engine == "memory" else 20), calls
        calls.clear()
        again = await store.documents.upsert_documents("things", documents(10))
        assert again.unchanged == 10
        assert sum(calls.values()) == 10, calls  # nothing written the second time
