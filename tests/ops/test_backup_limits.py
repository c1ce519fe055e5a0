"""A backup's files are read with bounded memory: an oversized line or manifest is a problem naming it.

Before, ``restore`` read the manifest whole and each line of a ``.jsonl`` file whole: a damaged
or hostile backup (a file without newlines, one line of several GB) exhausted memory before
anything was said. Now a line over ``MAX_LINE_BYTES`` (16 times the largest document a store
holds) is listed as a problem of its file and line, never held whole; so is a manifest over
``MAX_MANIFEST_BYTES``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import tracemalloc
from pathlib import Path
from typing import Any

import bson
import pytest
from click.testing import CliRunner

from docstore import InvalidBackup, Session, export_store, open_store, restore_store
from docstore import _backup_files as files
from docstore._backup_check import check_backup, dumps
from docstore._cli import main
from docstore._mapping import MAX_DOCUMENT_BYTES, check_document
from tests.ops.test_ops_commands import docstore

MIB = 1024 * 1024


async def small_backup(tmp_path: Path) -> Path:
    """A backup of two sessions, whose manifest keeps no checksums (its files are changed by the tests)."""
    async with open_store("memory://") as store:
        for name in ("one", "two"):
            await store.sessions.create_session(Session(id=name, join_code=f"{name.upper()}01"))
        await export_store(store, tmp_path / "backup")
    manifest_path = tmp_path / "backup" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["sha256"]  # how a file changed on purpose is restored (README)
    manifest_path.write_text(json.dumps(manifest))
    return tmp_path / "backup"


def put_an_oversized_line(backup: Path, size: int, *, sparse: bool = False) -> None:
    """Line 2 of sessions.jsonl becomes ``size`` bytes (written in blocks: the test holds none of it whole)."""
    path = backup / "sessions.jsonl"
    first, second = path.read_bytes().splitlines(keepends=True)
    with open(path, "wb") as out:
        out.write(first)
        if sparse:  # a hole: no disk, no time; read back as NUL bytes
            out.seek(size - 1, os.SEEK_CUR)
            out.write(b"\n")
        else:
            block = b"x" * MIB
            for _ in range(size // MIB):
                out.write(block)
            out.write(b"\n")
        out.write(second)


async def test_a_line_over_the_limit_is_named_and_never_held_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup = await small_backup(tmp_path)
    put_an_oversized_line(backup, 64 * MIB)
    monkeypatch.setattr(files, "MAX_LINE_BYTES", MIB)  # the same code path, at a size a test can afford
    tracemalloc.start()
    try:
        with pytest.raises(InvalidBackup) as refused:
            check_backup(backup)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MIB, f"{peak:,} bytes held while reading a 64 MiB line"
    problem = next(p for p in refused.value.problems if "line 2" in p)
    assert problem.startswith("sessions.jsonl line 2: a line of 67,108,865 bytes, over the limit of 1,048,576")
    # The lines after it are still read: the count is what the manifest says, less the unread line.
    assert "sessions.jsonl holds 3 documents, the manifest says 2" in refused.value.problems
    async with open_store("memory://") as store:
        with pytest.raises(InvalidBackup, match="line 2: a line of"):
            await restore_store(store, backup)
        assert await store.sessions.count_sessions() == 0  # nothing written


def test_docstore_restore_names_the_file_and_line_over_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup = asyncio.run(small_backup(tmp_path))
    put_an_oversized_line(backup, 4 * MIB)
    monkeypatch.setattr(files, "MAX_LINE_BYTES", MIB)
    restored = CliRunner().invoke(main, ["restore", str(backup), "--url", "memory://"])
    assert restored.exit_code == 2, restored.output
    assert "sessions.jsonl line 2: a line of 4,194,305 bytes, over the limit of 1,048,576" in restored.stderr


async def test_docstore_restore_refuses_a_generated_line_over_the_real_limit(tmp_path: Path) -> None:
    backup = await small_backup(tmp_path)
    put_an_oversized_line(backup, files.MAX_LINE_BYTES + MIB, sparse=True)
    restored = docstore("restore", str(backup), url=f"local://{tmp_path / 'store'}")
    assert restored.returncode == 2, restored.stderr
    assert f"sessions.jsonl line 2: a line of {files.MAX_LINE_BYTES + MIB:,} bytes" in restored.stderr
    assert f"over the limit of {files.MAX_LINE_BYTES:,}" in restored.stderr
    assert not (tmp_path / "store").exists()  # refused before a store was made


async def test_an_oversized_manifest_is_refused_unread(tmp_path: Path) -> None:
    backup = await small_backup(tmp_path)
    with open(backup / "manifest.json", "r+b") as manifest:
        manifest.truncate(files.MAX_MANIFEST_BYTES + 1)  # sparse: a manifest of 16 MiB and one byte
    with pytest.raises(InvalidBackup) as refused:
        check_backup(backup)
    assert refused.value.problems == [
        f"manifest.json: over {files.MAX_MANIFEST_BYTES:,} bytes, more than any export writes; not read"
    ]


def test_a_line_that_is_not_utf8_is_named_by_its_line(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"layout": 2, "collections": {"things": 3}}))
    (tmp_path / "things.jsonl").write_bytes(b'{"_id": "a"}\n{"_id": "\xff"}\n{"_id": "c"}\n')
    with pytest.raises(InvalidBackup) as refused:
        check_backup(tmp_path)
    # Before, the whole file was one problem ("line 0"), the lines after the bad byte unread.
    assert refused.value.problems == ["things.jsonl line 2: not UTF-8 text (invalid start byte at byte 9 of the line)"]


def _worst_shapes() -> list[tuple[str, dict[str, Any]]]:
    """Documents whose canonical Extended JSON is largest for their BSON size (the module's docstring)."""
    controls = [chr(code) for code in range(1, 32)]
    keys = ["".join(chars) for chars in itertools.islice(itertools.product(controls, repeat=3), 20000)]
    regex = bson.Regex("", "")
    return [
        ("escaped characters", {"_id": "a", "text": "\x01" * 100_000}),
        ("regular expressions under short keys", {"_id": "a", **{key: regex for key in keys}}),
        ("regular expressions in short arrays", {"_id": "a", "nested": [[[regex] * 9] * 9] * 200}),
        ("min keys under short keys", {"_id": "a", **{key: bson.MinKey() for key in keys}}),
    ]


@pytest.mark.parametrize(("shape", "document"), _worst_shapes(), ids=[name for name, _ in _worst_shapes()])
def test_the_line_limit_is_above_the_largest_document_a_store_holds(shape: str, document: dict[str, Any]) -> None:
    check_document(document, shape)  # a document any engine stores
    ratio = len(dumps(document).encode()) / len(bson.encode(document))
    assert ratio < files.LINE_BYTES_PER_DOCUMENT_BYTE
    # So the line of such a document of the largest size a store holds is under the limit.
    assert ratio * MAX_DOCUMENT_BYTES < files.MAX_LINE_BYTES
