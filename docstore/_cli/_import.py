"""``docstore import``: a legacy data directory into the store, with progress and a report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from .._errors import ErrorCode, PersistenceError
from .._legacy import ImportReport, import_legacy
from .._legacy._links import links_leading_out, refuse_links_leading_out
from .._restore_journal import describe, interrupted_restore
from .._safe_files import refuse_symlink, replacing
from .._store import Store
from ._app import Failure, console, errors, main, note_if_ephemeral, open_from_url, run, url_option

__all__ = ["import_command"]


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
    "--follow-symlinks",
    is_flag=True,
    help="Read symbolic links in LEGACY_DIR that lead out of it (refused by default, naming the first).",
)
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
    follow_symlinks: bool,
) -> None:
    """Import a legacy JSON data directory of the original tool (idempotent: run it again to resume)."""
    run(
        _import(legacy_dir, url, namespace, dry_run, batch_size, report_path, rejects_path, follow_symlinks),
        on_interrupt="import interrupted; run the same command again to finish it "
        "(the import is idempotent: what was written is kept, nothing is written twice)",
    )


async def _import(
    legacy_dir: Path,
    url: str | None,
    namespace: str,
    dry_run: bool,
    batch_size: int,
    report_path: Path | None,
    rejects_path: Path | None,
    follow_symlinks: bool = False,
) -> int:
    if not legacy_dir.is_dir():
        raise Failure(f"{legacy_dir} is not a readable directory")
    if follow_symlinks:
        for link, what in links_leading_out(legacy_dir):
            errors.print(f"note: --follow-symlinks: {link} is {what}", highlight=False, soft_wrap=True)
    else:
        refuse_links_leading_out(legacy_dir)  # before a store is opened or created
    rejects = rejects_path or Path(f"{legacy_dir.resolve()}-rejects.jsonl")
    for path in (rejects, report_path):
        if path is not None:
            refuse_symlink(path)
    # A dry run changes nothing, not even by creating the store it would write to.
    store = open_from_url(url, create=not dry_run)
    if not dry_run:
        note_if_ephemeral(store, "import")
    target = store.config.masked_url
    if dry_run:
        store = await _dry_run_target(store)
    async with store:
        state = await interrupted_restore(store)
        if state is not None:  # import_legacy refuses it too; said here without "run it again"
            raise Failure(f"cannot import: {describe(state)}")
        try:
            with _ProgressReport() as progress:
                report = await import_legacy(
                    legacy_dir,
                    store,
                    namespace=namespace,
                    dry_run=dry_run,
                    batch_size=batch_size,
                    rejects_path=rejects,
                    progress=progress,
                    follow_symlinks=follow_symlinks,
                )
        except (PersistenceError, OSError) as error:
            if dry_run:
                raise
            # Stopped midway (a full disk, a server gone): the operator's next step is the same command.
            message = error.message if isinstance(error, PersistenceError) else str(error)
            raise Failure(
                f"{message}; the import stopped: what it wrote is kept, run the same command again to finish it "
                "(the import is idempotent)"
            ) from None
    report.target = target
    _print_report(report)
    if report.rejected:
        console.print(f"{report.rejected} record(s) rejected: see {rejects}", highlight=False)
    else:
        rejects.unlink(missing_ok=True)
    if report_path is not None:
        with replacing(report_path) as out:
            out.write(json.dumps(report.to_dict(), indent=2, default=str) + "\n")
    return report.exit_code


async def _dry_run_target(store: Store) -> Store:
    """The store a dry run reads: ``store``, or an empty one in memory when ``store`` does not exist yet.

    A dry run is what a new user runs first: into a store not made yet, it reports what
    would be imported into a new one, and creates nothing.
    """
    try:
        await store.initialize()
    except PersistenceError as error:
        await store.shutdown()
        if error.code is not ErrorCode.UNAVAILABLE or "(create=False)" not in error.message:
            raise
        console.print(f"{store.config.masked_url} does not exist yet: as into a new store", highlight=False)
        return open_from_url("memory://")
    return store


_QUIET_BELOW = 1000  # documents: plain progress lines only for collections at least this large


class _ProgressReport:
    """A rich progress bar per file or collection on a terminal; plain lines otherwise (0, 50, 100%).

    ``unit``: ``"bytes"`` (an import reads files) or ``"documents"`` (export, restore).
    """

    def __init__(self, unit: str = "bytes") -> None:
        self._unit = unit
        amount = DownloadColumn() if unit == "bytes" else MofNCompleteColumn()
        self._bar = (
            Progress(TextColumn("{task.description}"), BarColumn(), amount, TimeRemainingColumn(), console=errors)
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
        if self._unit != "bytes" and size < _QUIET_BELOW:
            return  # a small collection is done at once: lines for each would bury the large ones
        tenth = done * 10 // max(size, 1)
        if tenth > self._reported.get(name, -1) and (tenth % 5 == 0 or tenth == 10):
            self._reported[name] = tenth
            if self._unit == "bytes":
                errors.print(f"{name}: {tenth * 10}% ({done:,} of {size:,} bytes)", highlight=False)
            else:
                errors.print(f"{name}: {done:,} of {size:,} {self._unit} ({tenth * 10}%)", highlight=False)


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
