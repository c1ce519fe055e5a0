"""Finding: `docstore check --url /some/dir` (a path without local://) prints only
"For further information visit https://errors.pydantic.dev/..." : the reason (unsupported
URL, the schemes accepted) is dropped (`_cli/_check.py` keeps the last line of a pydantic
error), unlike `docstore stats --url /some/dir`, which names it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_check_names_the_bad_url(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "docstore", "check", "--url", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "pydantic.dev" not in output, output
    assert "unsupported URL" in output, output
