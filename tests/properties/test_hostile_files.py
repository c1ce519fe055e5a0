"""Whatever is wrong in a legacy directory or a backup, the tools finish cleanly:

- an import never raises, counts every record it read exactly once (written, unchanged
  or rejected), and writes one reject line per rejected record;
- a restore either restores everything or raises ``InvalidBackup`` with the store unchanged.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from bson import json_util
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docstore import InvalidBackup, Session, export_store, import_legacy, open_store, restore_store

from .conftest import StoreRunner

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "legacy-data"
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

hostile_text = st.sampled_from(
    ["\ud83d", "a.b", "$where", "", "x" * 300, "\x00", "9999-12-31T23:00:00-05:00", "\U0001f600", "é"]
)
hostile_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    hostile_text,
    st.sampled_from([1e20, -1e20, 2**63, 1e300]),
)
hostile_values = st.recursive(
    hostile_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.one_of(hostile_text, st.text(max_size=4)), inner, max_size=3)
    ),
    max_leaves=6,
)
legacy_files = ["sessions.json", "revisions.json", "users.json", "classes.json", "problems/index.json"]


def mutate(value: Any, path: list[int], replacement: Any) -> Any:
    """``value`` with the node picked by ``path`` (indices into children, wrapped) replaced."""
    if not path or not isinstance(value, dict | list) or not value:
        return replacement
    index, rest = path[0], path[1:]
    if isinstance(value, dict):
        key = list(value)[index % len(value)]
        return {**value, key: mutate(value[key], rest, replacement)}
    position = index % len(value)
    return [*value[:position], mutate(value[position], rest, replacement), *value[position + 1 :]]


def by_id(jsonl: Path) -> dict[str, Any]:
    """The documents of a backup file as restore reads them (Extended JSON), by _id."""
    options = json_util.JSONOptions(json_mode=json_util.JSONMode.CANONICAL, tz_aware=True)
    documents = (json_util.loads(line, json_options=options) for line in jsonl.read_text(encoding="utf-8").splitlines())
    return {document["_id"]: document for document in documents}


def write_json(path: Path, value: Any) -> None:
    # ensure_ascii: a lone surrogate is written as its escape, as a JavaScript tool would.
    path.write_text(json.dumps(value, ensure_ascii=True), encoding="utf-8")


@pytest.mark.slow
@SETTINGS
@given(
    file=st.sampled_from(legacy_files),
    path=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=5),
    replacement=hostile_values,
)
def test_an_import_of_a_damaged_directory_finishes_and_accounts_for_every_record(
    runner: StoreRunner, file: str, path: list[int], replacement: Any
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        legacy = Path(scratch) / "legacy"
        shutil.copytree(EXAMPLE, legacy)
        target = legacy / file
        write_json(target, mutate(json.loads(target.read_text(encoding="utf-8")), path, replacement))
        rejects = Path(scratch) / "rejects.jsonl"

        async def go() -> Any:
            async with open_store("memory://") as store:
                return await import_legacy(legacy, store, rejects_path=rejects)

        report = runner.run(go())  # never raises
        lines = rejects.read_text(encoding="utf-8").splitlines()
        assert report.rejected == len(lines)
        assert report.exit_code == (1 if lines else 0)
        for kind, counts in report.kinds.items():
            settled = counts.imported + counts.updated + counts.unchanged + counts.rejected
            # A broken file adds one reject for the rest of it; an index names problems it does not hold.
            assert counts.read <= settled, (kind, counts)


@pytest.mark.slow
@SETTINGS
@given(
    collection=st.sampled_from(["sessions", "problems", "revisions", "legacy_users"]),
    line=st.integers(min_value=0, max_value=40),
    path=st.lists(st.integers(min_value=0, max_value=50), max_size=4),
    replacement=hostile_values,
)
def test_a_restore_of_a_damaged_backup_is_all_or_nothing(
    runner: StoreRunner, collection: str, line: int, path: list[int], replacement: Any
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        backup = Path(scratch) / "backup"

        async def go() -> None:
            async with open_store("memory://") as source:
                await import_legacy(EXAMPLE, source)
                await export_store(source, backup)
            jsonl = backup / f"{collection}.jsonl"
            lines = jsonl.read_text(encoding="utf-8").splitlines()
            position = line % len(lines)
            lines[position] = json.dumps(mutate(json.loads(lines[position]), path, replacement), ensure_ascii=True)
            jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
            # Changed on purpose: without its checksum the content checks judge the file (not the checksum alone).
            manifest = json.loads((backup / "manifest.json").read_text())
            del manifest["sha256"][collection]
            (backup / "manifest.json").write_text(json.dumps(manifest))

            async with open_store("memory://") as target:
                await target.sessions.create_session(Session(id="kept", join_code="KEPT01", problem_text="mine"))
                await export_store(target, Path(scratch) / "before")
                try:
                    counts = await restore_store(target, backup)
                except InvalidBackup as invalid:
                    assert invalid.problems
                    await export_store(target, Path(scratch) / "after")
                    for name in ("sessions", "problems", "revisions"):
                        before = (Path(scratch) / "before" / f"{name}.jsonl").read_bytes()
                        assert (Path(scratch) / "after" / f"{name}.jsonl").read_bytes() == before, name
                    return
                manifest = json.loads((backup / "manifest.json").read_text())
                assert counts == manifest["collections"]
                await export_store(target, Path(scratch) / "after")
                restored = by_id(Path(scratch) / "after" / f"{collection}.jsonl")
                for document_id, document in by_id(jsonl).items():
                    assert restored[document_id] == document

        runner.run(go())
