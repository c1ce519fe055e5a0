"""The tools on a full disk: a clear line naming what could not be written, exit 2, nothing half-kept.

Finding 5 of the operations attack (tester4): ``docstore export DIR`` to a full disk said only
``docstore: [Errno 28] No space left on device``: not which directory, nor that nothing of the
export was kept and an earlier export there is whole.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from docstore import CodeRevision, Session, open_store
from tests.ops.test_ops_commands import ROOT, docstore


async def test_an_export_to_a_full_disk_names_the_directory_and_keeps_nothing(tmp_path: Path, small_disk: Path) -> None:
    url = f"local://{tmp_path / 'store'}"
    async with open_store(url) as store:
        session = await store.sessions.create_session(Session(id="big", join_code="BIG001"))
        await store.revisions.save_revisions(
            [
                CodeRevision(session_id=session, student_id=f"s{n % 30}", code=f"# {n}\n" + "x" * 1000)
                for n in range(3000)
            ]
        )
    target = small_disk / "backup"
    result = docstore("export", str(target), url=url)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert str(target) in result.stderr and "No space left on device" in result.stderr, result.stderr
    assert "nothing" in result.stderr
    assert list(target.iterdir()) == []


def test_an_import_stopped_by_a_full_disk_says_to_run_it_again_and_a_rerun_finishes(
    tmp_path: Path, small_disk: Path
) -> None:
    """Finding 12 of the operations attack (tester4): an import that failed midway (a full disk,
    a server gone) said only what failed, exit 2; not that what it wrote is kept and that the
    same command finishes it (it is idempotent)."""
    data = tmp_path / "legacy"
    subprocess.run(
        [sys.executable, "scripts/legacy_generator.py", str(data), "--sessions", "10", "--students", "10"],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    url = f"local://{small_disk / 'store'}"
    result = docstore("import", str(data), "--rejects", str(tmp_path / "r.jsonl"), url=url)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "full" in result.stderr and "run the same command again" in result.stderr, result.stderr
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    again = docstore("import", str(data), "--rejects", str(tmp_path / "r.jsonl"), url=url)
    assert again.returncode == 0, again.stderr
