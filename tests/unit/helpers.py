"""What several unit tests share: a script run in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def fresh(script: str, *args: str) -> Any:
    """Run ``script`` in a new interpreter (no DOCSTORE_* settings, as an app that configures in
    code): the JSON of its last line of output."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("DOCSTORE_")}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=environment,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])
