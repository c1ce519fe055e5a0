"""The tools on a full disk: a clear line naming what could not be written, exit 2, nothing half-kept.

Finding 5 of the operations attack (tester4): ``docstore export DIR`` to a full disk said only
``docstore: [Errno 28] No space left on device``: not which directory, nor that nothing of the
export was kept and an earlier export there is whole.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from docstore import CodeRevision, Session, open_store
from tests.ops.test_ops_commands import docstore


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs of its own (root only: skipped where mounting is not permitted)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


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
