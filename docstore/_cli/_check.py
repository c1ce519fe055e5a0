"""``docstore check``: verify a ``local://`` store (SQLite's integrity check and every document's checksum)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from .._errors import PersistenceError
from .._store import open_store
from ._app import EXIT_OK, EXIT_REJECTS, Failure, console, main, run, url_option
from ._import import _ProgressReport

__all__ = ["check"]


@main.command()
@url_option
def check(url: str | None) -> None:
    """Verify every page and every document of a local:// store: exit 0 when sound, 1 when damaged.

    Progress goes to stderr as the check goes (a large store takes minutes).
    """
    run(_check(url))


async def _check(url: str | None) -> int:
    try:
        # open_store words a bad URL or setting as every other command does (and connects to nothing).
        config = open_store(url).config
    except PersistenceError as exc:
        raise Failure(exc.message) from None
    if config.engine != "local":
        raise Failure(f"check verifies local:// stores; {config.masked_url} is a {config.engine} store")
    from .._sqlite._schema import DATABASE_FILE
    from .._sqlite._verify import INTEGRITY_CHECK, LOG_CHECK, STUDENTS_CHECK, verify_store

    directory = Path(config.local_path).expanduser()
    if not (directory / DATABASE_FILE).is_file():
        # Nothing to verify is not damage (exit 1): the command could not do its job (exit 2).
        raise Failure(f"no docstore store at {directory} (no {DATABASE_FILE})")
    units = {INTEGRITY_CHECK: "pages", STUDENTS_CHECK: "records", LOG_CHECK: "changes"}
    with _CheckProgress(units) as progress:
        path, problems = await asyncio.to_thread(verify_store, Path(config.local_path).expanduser(), progress)
    for problem in problems:
        console.print(f"[red]damaged[/red] {problem}", highlight=False)
    if problems:
        console.print(f"{len(problems)} problem(s) in {path}", highlight=False)
        return EXIT_REJECTS
    console.print(f"[green]sound[/green] {path}", highlight=False)
    return EXIT_OK


class _CheckProgress(_ProgressReport):
    """Export's and restore's progress display (stderr: a bar, or lines at 0, 50 and 100%), each step in its unit.

    ``verify_store`` calls it from its thread: rich's progress display takes updates from any thread.
    """

    def __init__(self, units: dict[str, str]) -> None:
        super().__init__("documents")
        self._units = units

    def __call__(self, name: str, done: int, size: int) -> None:
        self._unit = self._units.get(name, "documents")  # the plain lines say "N of M <unit>"
        super().__call__(name, done, size)
