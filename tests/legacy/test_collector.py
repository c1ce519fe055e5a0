"""The garbage collector's youngest threshold is raised while an import runs, and put back after."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from docstore import PersistenceError, import_legacy, open_store
from docstore._legacy._collector import YOUNGEST_THRESHOLD, fewer_collections

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "legacy-data"


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    found = gc.get_threshold()
    yield found
    gc.set_threshold(*found)


async def test_an_import_collects_less_often_while_it_runs_and_puts_the_threshold_back(
    tmp_path: Path, thresholds: tuple[int, int, int]
) -> None:
    gc.set_threshold(700, 10, 10)
    seen: list[tuple[int, int, int]] = []
    async with open_store("memory://") as store:
        report = await import_legacy(EXAMPLE, store, batch_size=5, progress=lambda *_: seen.append(gc.get_threshold()))
    assert report.kinds["revisions"].imported == 72
    assert seen and all(t == (YOUNGEST_THRESHOLD, 10, 10) for t in seen)
    assert gc.get_threshold() == (700, 10, 10)


async def test_a_failed_import_puts_the_threshold_back(tmp_path: Path, thresholds: tuple[int, int, int]) -> None:
    gc.set_threshold(700, 10, 10)
    store = open_store(f"local://{tmp_path / 'store'}")
    await store.initialize()
    await store.shutdown()  # a closed store: the first write fails
    with pytest.raises(PersistenceError, match="shut down"):
        await import_legacy(EXAMPLE, store)
    assert gc.get_threshold() == (700, 10, 10)


def test_collection_turned_off_stays_off_and_nested_imports_restore_once(thresholds: tuple[int, int, int]) -> None:
    gc.set_threshold(0)
    with fewer_collections(500):
        assert gc.get_threshold()[0] == 0
    assert gc.get_threshold()[0] == 0
    gc.set_threshold(1000, 5, 5)
    with fewer_collections(500):
        with fewer_collections(10_000):
            assert gc.get_threshold() == (YOUNGEST_THRESHOLD, 5, 5)
        assert gc.get_threshold() == (YOUNGEST_THRESHOLD, 5, 5)
    assert gc.get_threshold() == (1000, 5, 5)
    with fewer_collections(4_000):  # a large batch: in proportion
        assert gc.get_threshold()[0] == 100_000
        gc.set_threshold(123, 5, 5)  # changed by someone else meanwhile: theirs stays
    assert gc.get_threshold() == (123, 5, 5)
