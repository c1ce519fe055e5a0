"""SIGTERM (``docker stop``, systemd, ``kill``) mid-command ends it as Ctrl-C does: said, cleaned up, resumable.

Finding 4 of the operations attack (tester4): ``docstore import`` stopped by SIGTERM died
silently with exit 143 (Python's default action: no message, no cleanup), leaving a
``.LEGACY_DIR-rejects.jsonl.*.tmp`` file beside the data directory on every stop; an
``export`` so stopped left its ``.*.jsonl.*.tmp`` files in the export directory.

The signal is sent by the command's own process at a moment the test chooses (after a
batch is written), never by a timing guess.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from docstore import Session, export_store, import_legacy, open_store
from tests.ops.test_ops_commands import EXAMPLE, ROOT, docstore

# argv: the module whose function is wrapped, its attribute path, how many calls before SIGTERM, then the CLI's own.
STOPPER = textwrap.dedent(
    """
    import asyncio, functools, importlib, os, signal, sys

    module_name, attribute, after = sys.argv[1], sys.argv[2], int(sys.argv[3])
    module = importlib.import_module(module_name)
    owner_name, _, name = attribute.rpartition(".")
    owner = getattr(module, owner_name) if owner_name else module
    real = getattr(owner, name)
    calls = [0]

    @functools.wraps(real)
    async def wrapped(*args, **kwargs):
        result = await real(*args, **kwargs)
        calls[0] += 1
        if calls[0] == after:
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.sleep(5)  # the signal lands while the command is still working
        return result

    setattr(owner, name, wrapped)
    from docstore._cli import main

    main(sys.argv[4:], prog_name="docstore")
    """
)


def stopped(module: str, attribute: str, after: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", STOPPER, module, attribute, str(after), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def litter(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".tmp"))


def test_sigterm_mid_import_says_so_leaves_nothing_behind_and_a_rerun_finishes(tmp_path: Path) -> None:
    data = tmp_path / "legacy"
    subprocess.run(
        [sys.executable, "scripts/legacy_generator.py", str(data), "--sessions", "4", "--students", "5"],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    url = f"local://{tmp_path / 'store'}"
    result = stopped(
        "docstore._legacy._batch", "Batch.flush", 3, "import", str(data), "--url", url, "--batch-size", "20"
    )
    assert result.returncode == 128 + signal.SIGTERM, result.stderr
    assert "run the same command again" in result.stderr and "Traceback" not in result.stderr
    assert litter(tmp_path) == []
    again = docstore("import", str(data), url=url)
    assert again.returncode == 0, again.stderr
    third = docstore("import", str(data), "--report", str(tmp_path / "report.json"), url=url)
    assert third.returncode == 0, third.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert all(counts["imported"] == counts["updated"] == 0 for counts in report["kinds"].values()), report


async def test_sigterm_mid_export_says_so_and_leaves_the_earlier_export_alone(tmp_path: Path) -> None:
    url = f"local://{tmp_path / 'store'}"
    async with open_store(url) as store:
        await import_legacy(EXAMPLE, store)
    backup = tmp_path / "backup"
    assert docstore("export", str(backup), url=url).returncode == 0
    before = {path.name: path.read_bytes() for path in backup.iterdir()}
    result = stopped("docstore._backup", "_export_collection", 2, "export", str(backup), "--url", url)
    assert result.returncode == 128 + signal.SIGTERM, result.stderr
    assert "interrupted" in result.stderr and "Traceback" not in result.stderr
    assert {path.name: path.read_bytes() for path in backup.iterdir()} == before


async def test_sigterm_mid_restore_undoes_what_it_wrote_and_says_so(tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    async with open_store("memory://") as source:
        await import_legacy(EXAMPLE, source)
        await source.sessions.create_session(Session(id="theirs", join_code="THEIRS"))
        await export_store(source, backup)
    url = f"local://{tmp_path / 'store'}"
    async with open_store(url) as store:
        await store.sessions.create_session(Session(id="mine", join_code="MINE01"))
    before = docstore("export", str(tmp_path / "before"), url=url)
    assert before.returncode == 0, before.stderr
    result = stopped("docstore._backup", "_upsert", 2, "restore", str(backup), "--url", url)
    assert result.returncode == 128 + signal.SIGTERM, result.stderr
    assert "restore interrupted" in result.stderr and "Traceback" not in result.stderr
    health = docstore("health", url=url)
    assert health.returncode == 0, health.stdout  # not mid-restore: undone before the process ended
    assert docstore("export", str(tmp_path / "after"), url=url).returncode == 0
    for path in (tmp_path / "before").glob("*.jsonl"):
        assert (tmp_path / "after" / path.name).read_bytes() == path.read_bytes(), path.name
