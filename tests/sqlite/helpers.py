"""What the local:// (SQLite) tests share: running docstore in other processes, finding bytes in the file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATABASE_FILE = "docstore.sqlite3"


def run_python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (another process, as a second app worker would be)."""
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=_env()
    )


def docstore(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "docstore", *args], capture_output=True, text=True, timeout=120, cwd=ROOT, env=_env()
    )


def _env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("DOCSTORE_")}


def flip_byte_in(path: Path, marker: bytes) -> int:
    """Flip one bit of the first occurrence of ``marker`` in the file; its offset."""
    data = bytearray(path.read_bytes())
    offset = data.index(marker)
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    return offset
