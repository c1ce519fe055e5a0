"""Temporary files of a tool that was killed are removed by the next run; a live one's are not.

Finding 17 of the operations attack (tester4): ``kill -9`` (or a power cut) mid-export left
``.<collection>.jsonl.XXXXXXXX.tmp`` files in the export directory, one set per kill, as
large as the export had got; mid-import, ``.<dir>-rejects.jsonl.XXXXXXXX.tmp`` beside the
data. Nothing ever removed them: an export run by cron and killed now and then filled the
disk with hidden files. Temporary names now carry the writer's pid; the next run removes
those of writers that are gone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from docstore import export_store, import_legacy, open_store
from docstore._safe_files import _HOST
from tests.ops.test_ops_commands import EXAMPLE


def a_dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


async def test_the_next_export_removes_a_killed_exports_temporaries_only(tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    backup.mkdir()
    dead = backup / f".revisions.jsonl.{_HOST}.{a_dead_pid()}.k1ll3d.tmp"
    dead.write_text("half an export\n")
    live = backup / f".revisions.jsonl.{_HOST}.{os.getppid()}.w0rk1n.tmp"  # a writer still running
    live.write_text("being written\n")
    foreign = backup / ".notes.tmp"  # not a tool's: never touched
    foreign.write_text("mine\n")
    other_host = backup / f".revisions.jsonl.0000beef.{a_dead_pid()}.n3tw0r.tmp"  # another host's writer
    other_host.write_text("theirs\n")
    async with open_store("memory://") as source:
        await import_legacy(EXAMPLE, source)
        await export_store(source, backup)
    assert not dead.exists()
    assert live.exists() and foreign.exists() and other_host.exists()
    assert sorted(path.name for path in backup.iterdir() if path.name.endswith(".tmp")) == sorted(
        [live.name, foreign.name, other_host.name]
    )


async def test_the_next_import_removes_a_killed_imports_rejects_temporary(tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.jsonl"
    dead = tmp_path / f".rejects.jsonl.{_HOST}.{a_dead_pid()}.k1ll3d.tmp"
    dead.write_text("")
    async with open_store("memory://") as store:
        await import_legacy(EXAMPLE, store, rejects_path=rejects)
    assert not dead.exists()
