"""Symbolic links in a legacy directory: an import reads what the directory holds, not what a link reaches.

Why: a legacy directory is often copied from elsewhere (a student's machine, a shared
drive, an archive). A link in it that leads out of it (``classes.json -> /etc/shadow``,
``problems -> /home/someone``) would have that file read and stored, verbatim if its kind is
unknown, where whoever can read the store can read it. So such a link is refused, naming
it, before anything is read or written; ``follow_symlinks`` (``--follow-symlinks``) says the
operator means them. A link that leads nowhere (broken, or a loop) is refused the same
way: followed, it is a reject line like any file that cannot be read. A link that stays inside
the directory is read as the file it names. The walk never enters a linked directory, so
a loop of links cannot make it go round.
"""

from __future__ import annotations

import os
from pathlib import Path

from .._errors import ErrorCode, PersistenceError

__all__ = ["links_leading_out", "refuse_links_leading_out"]


def links_leading_out(directory: Path) -> list[tuple[Path, str]]:
    """Each link under ``directory`` that leads out of it or nowhere: (the link, what it is), in path order."""
    root = os.path.realpath(directory)
    found: list[tuple[Path, str]] = []
    for folder, folders, files in os.walk(directory, followlinks=False):
        folders.sort()
        for name in sorted([*folders, *files]):
            path = Path(folder, name)
            if not path.is_symlink():
                continue
            target = os.path.realpath(path)
            if not os.path.exists(path):  # broken, or a loop (ELOOP: exists() is False)
                found.append((path, f"a symbolic link that leads nowhere ({os.readlink(path)}: broken, or a loop)"))
            elif os.path.commonpath([root, target]) != root:
                found.append((path, f"a symbolic link to {target}, outside {directory}"))
    return found


def refuse_links_leading_out(directory: Path) -> None:
    """INVALID_DATA naming the first link under ``directory`` that leads out of it or nowhere, if any."""
    found = links_leading_out(directory)
    if not found:
        return
    path, what = found[0]
    more = f" (and {len(found) - 1} more such link(s))" if len(found) > 1 else ""
    raise PersistenceError(
        ErrorCode.INVALID_DATA,
        f"{path} is {what}{more}: not followed, nothing imported; "
        "pass --follow-symlinks (follow_symlinks=True) if you mean to import what it points to",
    )
