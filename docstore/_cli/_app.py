"""The ``docstore`` command group and what every command shares: the store option, exit codes, output.

Exit codes: 0 done; 1 done, with rejected records; 2 could not run (bad
arguments, unreadable directory, unreachable database), with one line saying why.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any

import click
from rich.console import Console

from .._errors import PersistenceError
from .._store import Store, open_store

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_REJECTS",
    "Failure",
    "console",
    "errors",
    "main",
    "open_from_url",
    "print_counts",
    "run",
    "url_option",
]

EXIT_OK, EXIT_REJECTS, EXIT_FAILED = 0, 1, 2
console = Console(soft_wrap=True)  # a status line stays one line, for scripts that read it
errors = Console(stderr=True)


class Failure(Exception):
    """Stops a command with a one-line message and exit code 2."""


EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


def run(coroutine: Coroutine[Any, Any, int], *, on_interrupt: str = "interrupted") -> None:
    """Run a command's coroutine and exit with its code; every failure is one line on stderr.

    A failure the command expects (``Failure``, ``PersistenceError``, ``OSError``) and any
    other exception alike end with exit 2, never a traceback and never exit 1 (which
    means "finished, with rejects"). Ctrl-C exits 130 with ``on_interrupt``.
    """
    try:
        code = asyncio.run(coroutine)
    except (Failure, PersistenceError, OSError) as exc:
        message = exc.message if isinstance(exc, PersistenceError) else str(exc)
        _say(message)
        code = EXIT_FAILED
    except KeyboardInterrupt:
        _say(on_interrupt)
        code = EXIT_INTERRUPTED
    except Exception as exc:  # a bug, not an input: still one line and exit 2, for scripts
        _say(f"unexpected error ({type(exc).__name__}): {exc}")
        code = EXIT_FAILED
    sys.exit(code)


def _say(message: str) -> None:
    print(f"docstore: {' '.join(message.split())}", file=sys.stderr)  # one line, whatever the terminal


def open_from_url(url: str | None, *, create: bool = True) -> Store:
    """The store at ``url`` (else ``$DOCSTORE_URL``, else the default); ``create=False``: never make one.

    A bad URL or setting stops the command with the reason (never pydantic's help link).
    """
    try:
        return open_store(url, create=create)
    except PersistenceError as error:
        raise Failure(error.message) from None


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


def print_counts(counts: dict[str, int], summary: str) -> None:
    for name, count in counts.items():
        console.print(f"{name}: {count:,} documents", highlight=False)
    console.print(summary, highlight=False)
