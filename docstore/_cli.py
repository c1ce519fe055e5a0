"""The ``docstore`` command: a thin shell over the library.

Exit codes: 0 done; 1 done, with rejected records; 2 could not run (bad
arguments, unreadable directory, unreachable database), with one line saying why.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ._backup import export_store, restore_store
from ._config import StorageConfig
from ._errors import PersistenceError
from ._legacy import ImportReport, import_legacy
from ._store import Store, open_store

__all__ = ["main"]

EXIT_OK, EXIT_REJECTS, EXIT_FAILED = 0, 1, 2
console = Console(soft_wrap=True)  # a status line stays one line, for scripts that read it
errors = Console(stderr=True)


class _Failure(Exception):
    """Stops a command with a one-line message and exit code 2."""


def _run(coroutine: Coroutine[Any, Any, int]) -> None:
    try:
        code = asyncio.run(coroutine)
    except (_Failure, PersistenceError, OSError) as exc:
        message = exc.message if isinstance(exc, PersistenceError) else str(exc)
        print(f"docstore: {' '.join(message.split())}", file=sys.stderr)  # one line, whatever the terminal
        code = EXIT_FAILED
    sys.exit(code)


def _store(url: str | None) -> Store:
    try:
        return open_store(StorageConfig(url=url) if url else StorageConfig())
    except ValueError as exc:
        raise _Failure(str(exc).splitlines()[-1]) from None


url_option = click.option(
    "--url",
    envvar="DOCSTORE_URL",
    default=None,
    help="Target store (default: $DOCSTORE_URL, else local://./.docstore).",
)


@click.group()
@click.version_option(package_name="docstore")
def main() -> None:
    """docstore: sessions, problems and code revisions of a live-coding classroom."""


@main.command("import")
@click.argument("legacy_dir", type=click.Path(path_type=Path))
@url_option
@click.option(
    "--namespace", default="default", show_default=True, help="Namespace for records of formats that have none."
)
@click.option("--dry-run", is_flag=True, help="Validate and report everything; write nothing.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--report", "report_path", type=click.Path(path_type=Path), help="Also write the report as JSON.")
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(path_type=Path),
    help="Write rejected records here, one JSON line each (default: LEGACY_DIR-rejects.jsonl beside it).",
)
def import_command(
    legacy_dir: Path,
    url: str | None,
    namespace: str,
    dry_run: bool,
    batch_size: int,
    report_path: Path | None,
    rejects_path: Path | None,
) -> None:
    """Import a legacy JSON data directory of the original tool (idempotent: run it again to resume)."""
    _run(_import(legacy_dir, url, namespace, dry_run, batch_size, report_path, rejects_path))


async def _import(
    legacy_dir: Path,
    url: str | None,
    namespace: str,
    dry_run: bool,
    batch_size: int,
    report_path: Path | None,
    rejects_path: Path | None,
) -> int:
    if not legacy_dir.is_dir():
        raise _Failure(f"{legacy_dir} is not a readable directory")
    rejects = rejects_path or Path(f"{legacy_dir.resolve()}-rejects.jsonl")
    async with _store(url) as store:
        with _ProgressReport() as progress:
            report = await import_legacy(
                legacy_dir,
                store,
                namespace=namespace,
                dry_run=dry_run,
                batch_size=batch_size,
                rejects_path=rejects,
                progress=progress,
            )
    _print_report(report)
    if report.rejected:
        console.print(f"{report.rejected} record(s) rejected: see {rejects}", highlight=False)
    else:
        rejects.unlink(missing_ok=True)
    if report_path is not None:
        report_path.write_text(json.dumps(report.to_dict(), indent=2, default=str) + "\n", encoding="utf-8")
    return report.exit_code


class _ProgressReport:
    """A rich progress bar by file on a terminal; plain lines otherwise."""

    def __init__(self) -> None:
        self._bar = (
            Progress(
                TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(), console=errors
            )
            if errors.is_terminal
            else None
        )
        self._tasks: dict[str, Any] = {}
        self._reported: dict[str, int] = {}

    def __enter__(self) -> _ProgressReport:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, name: str, done: int, size: int) -> None:
        if self._bar is not None:
            if name not in self._tasks:
                self._tasks[name] = self._bar.add_task(name, total=size)
            self._bar.update(self._tasks[name], completed=done)
            return
        tenth = done * 10 // max(size, 1)
        if tenth > self._reported.get(name, -1) and (tenth % 5 == 0 or tenth == 10):
            self._reported[name] = tenth
            errors.print(f"{name}: {tenth * 10}% ({done:,} of {size:,} bytes)", highlight=False)


def _print_report(report: ImportReport) -> None:
    title = f"Import of {report.source} into {report.target}" + (
        " (dry run: nothing written)" if report.dry_run else ""
    )
    table = Table(title=title)
    for column in ("kind", "read", "imported", "updated", "unchanged", "rejected", "orphans"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for kind, counts in report.kinds.items():
        table.add_row(
            kind,
            *(f"{getattr(counts, c):,}" for c in ("read", "imported", "updated", "unchanged", "rejected", "orphans")),
        )
    console.print(table)
    files = Table(title="Files")
    for column in ("file", "format", "status", "note"):
        files.add_column(column)
    for name, outcome in report.files.items():
        if name.startswith("problems/") and name != "problems/index.json" and outcome.status == "imported":
            continue  # one line per problem file says nothing; the problems row counts them
        files.add_row(name, outcome.format or "-", outcome.status, outcome.reason or "")
    console.print(files)
    console.print(
        f"{report.records_read:,} records in {report.elapsed_s:.2f} s "
        f"({report.records_per_second:,.0f} records/s); orphan revision streams: {report.orphan_streams}",
        highlight=False,
    )


@main.command()
@url_option
def stats(url: str | None) -> None:
    """Documents and indexes per collection."""
    _run(_stats(url))


async def _stats(url: str | None) -> int:
    async with _store(url) as store:
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
    _run(_health(url))


async def _health(url: str | None) -> int:
    store = _store(url)
    try:
        await store.initialize()
    except PersistenceError as error:
        console.print(f"[red]unhealthy[/red] {store.config.masked_url}: {error.code.value}", highlight=False)
        raise _Failure(error.message) from None
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
def init(url: str | None) -> None:
    """Create or update the indexes (safe to run again)."""
    _run(_init(url))


async def _init(url: str | None) -> int:
    async with _store(url) as store:  # initializing a store is what creates the indexes
        collections = await store.stats()
    for name, info in collections.items():
        console.print(f"{name}: {len(info.indexes)} indexes ({', '.join(info.indexes)})", highlight=False)
    return EXIT_OK


@main.command("export")
@click.argument("directory", type=click.Path(path_type=Path))
@url_option
def export_command(directory: Path, url: str | None) -> None:
    """Write every collection to DIRECTORY as JSON lines of MongoDB Extended JSON."""
    _run(_export(directory, url))


async def _export(directory: Path, url: str | None) -> int:
    async with _store(url) as store:
        counts = await export_store(store, directory)
    _print_counts(counts, f"exported {sum(counts.values()):,} documents to {directory}")
    return EXIT_OK


def _print_counts(counts: dict[str, int], summary: str) -> None:
    for name, count in counts.items():
        console.print(f"{name}: {count:,} documents", highlight=False)
    console.print(summary, highlight=False)


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@url_option
def restore(directory: Path, url: str | None) -> None:
    """Load an export from DIRECTORY (documents with the same id are replaced)."""
    _run(_restore(directory, url))


async def _restore(directory: Path, url: str | None) -> int:
    async with _store(url) as store:
        try:
            counts = await restore_store(store, directory)
        except (FileNotFoundError, ValueError) as error:
            raise _Failure(str(error)) from None
    _print_counts(counts, f"restored {sum(counts.values()):,} documents from {directory}")
    return EXIT_OK
