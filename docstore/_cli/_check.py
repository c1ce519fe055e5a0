"""``docstore check``: verify a ``local://`` store (SQLite's integrity check and every document's checksum)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from .._errors import PersistenceError
from .._store import open_store
from ._app import EXIT_OK, EXIT_REJECTS, Failure, console, main, run, url_option

__all__ = ["check"]


@main.command()
@url_option
def check(url: str | None) -> None:
    """Verify every page and every document of a local:// store: exit 0 when sound, 1 when damaged."""
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
    from .._sqlite._verify import verify_store

    directory = Path(config.local_path).expanduser()
    if not (directory / DATABASE_FILE).is_file():
        # Nothing to verify is not damage (exit 1): the command could not do its job (exit 2).
        raise Failure(f"no docstore store at {directory} (no {DATABASE_FILE})")
    path, problems = await asyncio.to_thread(verify_store, Path(config.local_path).expanduser())
    for problem in problems:
        console.print(f"[red]damaged[/red] {problem}", highlight=False)
    if problems:
        console.print(f"{len(problems)} problem(s) in {path}", highlight=False)
        return EXIT_REJECTS
    console.print(f"[green]sound[/green] {path}", highlight=False)
    return EXIT_OK
