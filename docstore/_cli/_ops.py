"""Operations commands: stats, health, init, export, restore."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from .._backup import InvalidBackup, export_store, restore_checked, restore_store, undo_interrupted_restore
from .._backup_check import Plan, check_backup
from .._errors import ErrorCode, PersistenceError
from .._restore_journal import describe, interrupted_restore, running_elsewhere
from ._app import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REJECTS,
    Failure,
    console,
    main,
    note_if_ephemeral,
    open_from_url,
    print_counts,
    run,
    url_option,
)
from ._import import _ProgressReport

__all__ = ["export_command", "health", "init", "restore", "stats"]


@main.command()
@url_option
def stats(url: str | None) -> None:
    """Documents and indexes per collection."""
    run(_stats(url))


async def _stats(url: str | None) -> int:
    async with open_from_url(url, create=False) as store:  # a mistyped path must not become a new store
        collections = await store.stats()
    table = Table(title=f"docstore at {store.config.masked_url}")
    table.add_column("collection")
    table.add_column("documents", justify="right")
    table.add_column("indexes")
    for name, info in collections.items():
        table.add_row(name, f"{info.documents:,}", ", ".join(info.indexes))
    console.print(table)
    return EXIT_OK


@main.command()
@url_option
def health(url: str | None) -> None:
    """Ping the store: exit 0 when healthy, 2 when not (with the reason)."""
    run(_health(url))


async def _health(url: str | None) -> int:
    store = open_from_url(url, create=False)  # asking whether a store is healthy must not make one
    try:
        await store.initialize()
    except PersistenceError as error:
        console.print(f"[red]unhealthy[/red] {store.config.masked_url}: {error.code.value}", highlight=False)
        raise Failure(error.message) from None
    try:
        report = await store.health()
    finally:
        await store.shutdown()
    state = "[green]healthy[/green]" if report.ok else "[red]unhealthy[/red]"
    details = ", ".join(f"{key}: {value}" for key, value in report.details.items())
    console.print(
        f"{state} {report.engine} at {store.config.masked_url}: {report.latency_ms:.1f} ms; {details}", highlight=False
    )
    return EXIT_OK if report.ok else EXIT_FAILED


@main.command()
@url_option
@click.option("--drop-unknown", is_flag=True, help="Also drop indexes that docstore no longer declares.")
@click.option("--shard", is_flag=True, help="Shard the collections that have a shard key (on a mongos).")
def init(url: str | None, drop_unknown: bool, shard: bool) -> None:
    """Create missing indexes, rebuild changed ones, migrate the layout (safe to run again); print each step."""
    run(_init(url, drop_unknown=drop_unknown, shard=shard))


async def _init(url: str | None, *, drop_unknown: bool, shard: bool) -> int:
    async with open_from_url(url) as store:  # initializing a store creates the missing indexes
        note_if_ephemeral(store, "init")
        indexes = store.index_administration()
        if indexes is not None:
            changes = await indexes.upgrade_indexes(drop_unknown=drop_unknown)
            for change in changes:
                console.print(change.describe(), highlight=False)
            if not any(change.pending for change in changes):
                console.print("indexes: up to date", highlight=False)
            # MongoDB's layout migration (students out of sessions), after the indexes it reads by.
            migrate = getattr(indexes, "migrate_layout", None)
            if migrate is not None:
                report = await migrate(lambda line: console.print(line, highlight=False))
                if report.left:
                    raise Failure(f"{len(report.left)} sessions still hold students; run docstore init again")
            if shard:
                for line in await indexes.shard_collections():
                    console.print(line, highlight=False)
        elif shard:
            raise Failure(f"--shard needs a MongoDB store, not {store.engine_name}")
        collections = await store.stats()
    for name, info in collections.items():
        console.print(f"{name}: {len(info.indexes)} indexes ({', '.join(info.indexes)})", highlight=False)
    return EXIT_OK


@main.command("export")
@click.argument("directory", type=click.Path(path_type=Path))
@url_option
def export_command(directory: Path, url: str | None) -> None:
    """Write every collection to DIRECTORY as JSON lines of MongoDB Extended JSON."""
    run(
        _export(directory, url),
        on_interrupt=f"export interrupted: nothing of it was written to {directory} (an earlier export there is whole)",
    )


async def _export(directory: Path, url: str | None) -> int:
    async with open_from_url(url, create=False) as store:  # exporting a store must not make one
        try:
            with _ProgressReport("documents") as progress:
                counts = await export_store(store, directory, progress=progress)
        except OSError as error:
            # A full disk, a read-only directory: which one, and that nothing of this export is kept.
            raise Failure(
                f"cannot write the export to {directory}: {error.strerror or error}; nothing of it was kept "
                "(an earlier export there is whole)"
            ) from None
        except PersistenceError as error:
            if error.code is not ErrorCode.STORAGE_ERROR or "is damaged" not in error.message:
                raise
            # A damaged document: named, exit 1 as `docstore check` does; nothing of this export is kept.
            console.print(f"[red]damaged[/red] {error.message}", highlight=False)
            console.print(f"nothing exported to {directory}; run `docstore check` for every problem", highlight=False)
            return EXIT_REJECTS
    print_counts(counts, f"exported {sum(counts.values()):,} documents to {directory}")
    return EXIT_OK


@main.command()
@click.argument("directory", type=click.Path(path_type=Path), required=False)
@url_option
def restore(directory: Path | None, url: str | None) -> None:
    """Load an export from DIRECTORY, all or nothing (documents with the same id are replaced).

    The whole export is checked first; if anything is wrong, every problem is listed,
    nothing is written and the exit code is 2. A restore that was killed or failed
    midway is undone first; without DIRECTORY, that is all this does.
    """
    run(
        _restore(directory, url),
        on_interrupt="restore interrupted: what it had written was undone; if `docstore health` says the store is "
        "still mid-restore (stopped again while undoing), `docstore restore` undoes it",
    )


async def _restore(directory: Path | None, url: str | None) -> int:
    checked: Plan | None = None
    if directory is not None and not await _exists(url):
        # Into a new store: the backup is checked before the store is made, so a refused one makes none.
        try:
            with _ProgressReport("documents") as progress:
                checked = check_backup(directory, progress)
        except InvalidBackup as invalid:
            return _refused(directory, invalid)
    async with open_from_url(url, create=directory is not None) as store:
        if directory is not None:
            note_if_ephemeral(store, "restore")
        state = await interrupted_restore(store)
        if state is not None and running_elsewhere(state) is not None:
            raise Failure(f"another restore is running: {describe(state)}")
        if state is not None:
            console.print(
                f"undoing the interrupted restore of {state.get('backup')} (begun {state.get('started_at')}, "
                f"{state.get('phase')})",
                highlight=False,
            )
            undone = await undo_interrupted_restore(store)
            console.print("undone: the store is as it was before that restore", highlight=False)
            _say_damaged_kept(undone)
        elif directory is None:
            console.print("no interrupted restore: nothing to undo", highlight=False)
        if directory is None:
            return EXIT_OK
        try:
            with _ProgressReport("documents") as progress:
                if checked is not None:  # checked once, before the store was made
                    counts = await restore_checked(store, checked, progress)
                else:
                    counts = await restore_store(store, directory, progress=progress)
        except InvalidBackup as invalid:
            return _refused(directory, invalid)
    print_counts(counts, f"restored {sum(counts.values()):,} documents from {directory}")
    _say_repaired(counts.damaged, "replaced {} damaged document(s) with the backup's copy")
    _say_repaired(counts.damaged_deleted, "deleted {} damaged document(s) that the backup's sessions do not hold")
    return EXIT_OK


def _say_repaired(damaged: list[str], what: str) -> None:
    """What a restore did with the store's damaged documents ("collection/id"), the first five named."""
    if damaged:
        more = len(damaged) - 5
        shown = ", ".join(damaged[:5]) + (f" and {more} more" if more > 0 else "")
        console.print(f"{what.format(len(damaged))}: {shown}", highlight=False)


def _say_damaged_kept(undone: dict[str, Any] | None) -> None:
    """Damaged before the restore: not put back (unreadable), the backup's copy is kept if it was written."""
    damaged = (undone or {}).get("damaged") or 0
    if damaged:
        console.print(
            f"except {damaged} document(s) that were damaged before it: their previous version was unreadable, "
            "so the backup's copy is kept where the restore had written it, and a damaged student record it had "
            "deleted stays deleted (nothing readable was lost)",
            highlight=False,
        )


def _refused(directory: Path, invalid: InvalidBackup) -> int:
    """Every problem, one per line: whoever fixes the backup needs all of them at once."""
    total = len(invalid.problems) + invalid.more
    summary = f"{directory} cannot be restored; the store is unchanged. {total} problem(s):"
    print(f"docstore: {summary}", file=sys.stderr)
    for problem in invalid.problems:
        print(f"  - {' '.join(problem.split())}", file=sys.stderr)
    if invalid.more:
        print(f"  ... and {invalid.more} more", file=sys.stderr)
    return EXIT_FAILED


async def _exists(url: str | None) -> bool:
    """Whether the store at ``url`` exists (only ``local://`` may not: the others are servers or memory)."""
    store = open_from_url(url, create=False)
    try:
        await store.initialize()
    except PersistenceError as error:
        if error.code is ErrorCode.UNAVAILABLE and "(create=False)" in error.message:
            return False
        raise
    finally:
        await store.shutdown()
    return True
