"""A command that writes into ``memory://`` says that what it writes is gone when it exits.

Finding 9 of the operations attack (tester4): ``docstore import DIR --url memory://`` (a
``DOCSTORE_URL`` left at the tests' value) printed its full import report and exited 0;
``restore`` said "restored 92 documents"; ``token create`` printed a token that no server
would ever know. Each wrote into a store that lived in its own process and vanished as it
exited, without a word. They still run (a dry run of sorts), and now say so on stderr.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from docstore import export_store, import_legacy, open_store
from tests.ops.test_ops_commands import EXAMPLE, docstore

NOTE = "memory:// lives in this process only"


async def test_import_restore_and_tokens_into_memory_say_their_writes_are_gone(tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    async with open_store("memory://") as source:
        await import_legacy(EXAMPLE, source)
        await export_store(source, backup)
    for args in (
        ("import", str(EXAMPLE), "--rejects", str(tmp_path / "r.jsonl")),
        ("restore", str(backup)),
        ("token", "create", "--namespace", "cs101"),
        ("init",),
    ):
        result = docstore(*args, url="memory://")
        assert result.returncode == 0, result.stderr
        assert NOTE in result.stderr and "gone when" in result.stderr, (args, result.stderr)


@pytest.mark.parametrize("args", [("stats",), ("health",), ("import", str(EXAMPLE), "--dry-run")])
def test_commands_that_only_read_memory_say_nothing_of_it(args: tuple[str, ...], tmp_path: Path) -> None:
    result = docstore(*args, url="memory://")
    assert result.returncode == 0, result.stderr
    assert NOTE not in result.stderr
