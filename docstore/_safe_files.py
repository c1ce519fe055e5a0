"""Writing the files of tools (exports, rejects, reports) without ever writing through a symlink.

A tool's output directory may be shared or hostile: a planted ``DIR/manifest.json`` or
``DIR/sessions.jsonl.tmp`` symlink must not make docstore overwrite its target. So every
file is created new and exclusively (``O_CREAT | O_EXCL`` under a name nobody can guess),
written, then renamed over the final name (a rename replaces the directory entry, never
writes into what it pointed at), and a final name that is a symlink is refused outright.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ._errors import ErrorCode, PersistenceError

__all__ = ["NewFiles", "new_temporary", "refuse_symlink", "replacing", "sync_directory"]

# Temporary names carry the writer (``.<name>.<host>.<pid>.XXXXXXXX.tmp``): the next run removes
# those of a writer on this host that is gone (killed mid-write), never one still writing,
# nor one of another host sharing the directory, nor any file docstore did not name so.
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def new_temporary(path: Path) -> tuple[int, str]:
    """A new file created exclusively beside ``path`` (descriptor, name), after removing stale ones."""
    _sweep_stale(path)
    return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{_HOST}.{os.getpid()}.", suffix=".tmp")


def _sweep_stale(path: Path) -> None:
    prefix = f".{path.name}.{_HOST}."
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return  # the caller's own mkstemp will say what is wrong with the directory
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid, dot, _ = name[len(prefix) : -len(".tmp")].partition(".")
        if not dot or not pid.isdigit() or _alive(int(pid)) or entry.is_symlink() or not entry.is_file():
            continue
        with contextlib.suppress(OSError):
            entry.unlink()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process, or no way to tell: keep its file
    return True


def refuse_symlink(path: Path) -> None:
    """INVALID_DATA (exit 2 in the CLI) when ``path`` is a symbolic link: docstore never writes through one.

    Nor over anything but a regular file (a directory, a device): found only at the rename,
    after other files had taken their names.
    """
    if path.is_symlink():
        raise PersistenceError(
            ErrorCode.INVALID_DATA,
            f"{path} is a symbolic link; refusing to write through it (remove it or choose another path)",
        )
    if path.exists() and not path.is_file():
        raise PersistenceError(
            ErrorCode.INVALID_DATA,
            f"{path} is not a regular file; refusing to replace it (remove it or choose another path)",
        )


def sync_directory(folder: Path) -> None:
    """Make the renames in ``folder`` durable: without it a power cut may undo them (or keep half)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[IO[str]]:
    """A new file (created exclusively beside ``path``) that becomes ``path`` when the block ends well.

    On an error the new file is removed and ``path`` is left as it was.
    """
    refuse_symlink(path)
    descriptor, temporary = new_temporary(path)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        refuse_symlink(path)  # planted while we wrote: still not ours to replace
        os.replace(temporary, path)
        sync_directory(path.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class NewFiles:
    """Several files written new, then all renamed into place together (``commit``), or none (``discard``).

    An export that fails halfway (a damaged document) leaves the earlier export whole.
    """

    def __init__(self) -> None:
        self._pending: list[tuple[str, Path]] = []

    def open(self, path: Path) -> IO[str]:
        refuse_symlink(path)
        descriptor, temporary = new_temporary(path)
        self._pending.append((temporary, path))
        # newline="\n": the bytes are those written, on every platform (an export's checksums are of them).
        return os.fdopen(descriptor, "w", encoding="utf-8", newline="\n")

    def commit(self) -> None:
        """Rename every file into place, each on disk before it takes its name, the renames synced after.

        Without the syncs a power cut could leave a final name holding an empty or partial file.
        """
        for _, path in self._pending:
            refuse_symlink(path)  # planted while we wrote: still not ours to replace
        for temporary, _ in self._pending:
            descriptor = os.open(temporary, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        folders = {path.parent for _, path in self._pending}
        for temporary, path in self._pending:
            os.replace(temporary, path)
        self._pending = []
        for folder in folders:
            sync_directory(folder)

    def discard(self) -> None:
        for temporary, _ in self._pending:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        self._pending = []
