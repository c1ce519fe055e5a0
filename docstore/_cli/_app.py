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
from pydantic import ValidationError
from rich.console import Console

from .._config import StorageConfig
from .._errors import PersistenceError
from .._store import Store, open_store

__all__ = [
    "EXIT_FAILED",
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


def run(coroutine: Coroutine[Any, Any, int]) -> None:
    try:
        code = asyncio.run(coroutine)
    except (Failure, PersistenceError, OSError) as exc:
        message = exc.message if isinstance(exc, PersistenceError) else str(exc)
        print(f"docstore: {' '.join(message.split())}", file=sys.stderr)  # one line, whatever the terminal
        code = EXIT_FAILED
    sys.exit(code)


def open_from_url(url: str | None) -> Store:
    try:
        return open_store(StorageConfig(url=url) if url else StorageConfig())
    except ValidationError as exc:
        # What was wrong, not pydantic's link (the last line); inputs are masked already.
        problems = ("".join(f"{'.'.join(map(str, e['loc']))}: " if e["loc"] else "") + e["msg"] for e in exc.errors())
        raise Failure("; ".join(problems)) from None
    except ValueError as exc:
        raise Failure(str(exc).splitlines()[-1]) from None


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
