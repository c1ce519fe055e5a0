"""What a new process loads and builds to open a ``local://`` store and read one revision.

Issue 18's "new process" row: ``open_store("local://DIR")``, ``get_revision``, close. A fresh
interpreter does exactly that here, then reports what it loaded and which pydantic models it
built. The promise is structural, never a timing: no pydantic validator is built on that
path (the domain models and ``StorageConfig`` are built on first use,
``docstore/_models_deferred.py``), so pydantic's plugin loader and ``importlib.metadata``
are never loaded, and none of the stacks the path does not use are imported.
"""

from __future__ import annotations

import asyncio

import pytest

from docstore import CodeRevision, open_store
from docstore._models_deferred import DEFER_BUILD

from .helpers import fresh

# Modules the open-and-read path has no use for (prefixes: a package and everything in it).
NEVER_LOADED = (
    "pydantic_settings",  # the environment is read only when a DOCSTORE_* variable names a setting
    "docstore._legacy",  # the importer
    "docstore._backup",  # export and restore (the restore journal check needs _backup_check only)
    "docstore._cli",
    "docstore._server",
    "docstore._remote",
    "docstore._mongo",
    "docstore._memory",  # the memory engine (and mongomock with it)
    "docstore._memory_feed",  # memory://'s feed log
    "docstore._cache",  # the read cache (cache_ttl_s > 0)
    "docstore._cached_documents",
    "docstore._views",
    "docstore._public",
    "mongomock",
    "pymongo",  # bson, the stored format, is PyMongo's: its driver is not needed
    "beanie",
    "motor",
    "httpx",
    "fastapi",
    "starlette",
    "uvicorn",
)
# Loaded only to build a validator: pydantic's plugin discovery reads every installed
# distribution's entry points (importlib.metadata, email, zipfile, csv ...).
BUILD_ONLY = ("pydantic.plugin._loader", "importlib.metadata")

_OPEN_AND_READ = """
import asyncio, json, sys
from docstore import open_store

async def main():
    async with open_store("local://" + sys.argv[1]) as store:
        revision = await store.revisions.get_revision(sys.argv[2])
        assert revision is not None and revision.id == sys.argv[2] and revision.code == "print(1)\\n"

asyncio.run(main())

from pydantic import BaseModel

def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)

built = sorted(
    f"{model.__module__}.{model.__qualname__}"
    for model in set(subclasses(BaseModel))
    if model.__module__.startswith("docstore") and model.__pydantic_complete__
)
from docstore._config import _pattern

print(json.dumps({"modules": sorted(sys.modules), "built": built, "patterns": [str(_pattern.cache_info().currsize)]}))
"""


@pytest.fixture(scope="module")
def opened(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """What a new process loaded and built to open a store of a few revisions and read one."""
    folder = tmp_path_factory.mktemp("startup")

    async def build() -> str:
        async with open_store(f"local://{folder}") as store:
            revisions = [CodeRevision(session_id="s1", student_id=f"st{i}", code="print(1)\n") for i in range(5)]
            await store.revisions.save_revisions(revisions)
            return revisions[2].id

    revision_id = asyncio.run(build())
    report: dict[str, list[str]] = fresh(_OPEN_AND_READ, str(folder), revision_id)
    return report


def _under(loaded: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [name for name in loaded if any(name == p or name.startswith(p + ".") for p in prefixes)]


def test_opening_and_reading_loads_no_stack_it_does_not_use(opened: dict[str, list[str]]) -> None:
    assert "docstore._sqlite._backend" in opened["modules"]  # the path really ran
    assert not _under(opened["modules"], NEVER_LOADED)


def test_opening_and_reading_compiles_no_masking_pattern(opened: dict[str, list[str]]) -> None:
    assert opened["patterns"] == ["0"]  # nothing was masked: _config's patterns are compiled on first use


@pytest.mark.skipif(not DEFER_BUILD, reason="pydantic < 2.14 builds every model at import (_models_deferred.py)")
def test_opening_and_reading_builds_no_pydantic_validator(opened: dict[str, list[str]]) -> None:
    assert opened["built"] == []
    assert not _under(opened["modules"], BUILD_ONLY)
