"""The ``docstore`` command group and what every command shares: the store option, exit codes, output.

Exit codes: 0 done; 1 done, with rejected records; 2 could not run (bad
arguments, unreadable directory, unreachable database), with one line saying why.
"""

from __future__ import annotations

import asyncio
import signal
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
    "EXIT_TERMINATED",
    "Failure",
    "console",
    "errors",
    "main",
    "note_if_ephemeral",
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
EXIT_TERMINATED = 128 + signal.SIGTERM  # what shells report for SIGTERM (docker stop, systemd, kill)


class _Terminated(Exception):
    """SIGTERM arrived: the command was cancelled as Ctrl-C cancels it."""


async def _stopped_by_sigterm(coroutine: Coroutine[Any, Any, int]) -> int:
    """Run ``coroutine``; SIGTERM cancels it as Ctrl-C does, so its cleanup runs (temporary files, undo).

    Python's default for SIGTERM ends the process at once, without a word: an import left a
    temporary rejects file behind and said nothing of running it again.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    terminated = False

    def terminate() -> None:
        nonlocal terminated
        terminated = True
        if task is not None:
            task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, terminate)
    except (NotImplementedError, RuntimeError):  # no signals on this loop (Windows): the default stays
        return await coroutine
    try:
        return await coroutine
    except asyncio.CancelledError:
        if terminated:
            raise _Terminated from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def run(coroutine: Coroutine[Any, Any, int], *, on_interrupt: str = "interrupted", handle_sigterm: bool = True) -> None:
    """Run a command's coroutine and exit with its code; every failure is one line on stderr.

    A failure the command expects (``Failure``, ``PersistenceError``, ``OSError``) and any
    other exception alike end with exit 2, never a traceback and never exit 1 (which
    means "finished, with rejects"). Ctrl-C exits 130 with ``on_interrupt``; SIGTERM
    cancels the command the same way and exits 143 with it (``handle_sigterm=False``:
    a command that handles SIGTERM itself, as uvicorn does).
    """
    try:
        code = asyncio.run(_stopped_by_sigterm(coroutine) if handle_sigterm else coroutine)
    except _Terminated:
        _say(on_interrupt)
        code = EXIT_TERMINATED
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


def note_if_ephemeral(store: Store, command: str) -> None:
    """Say on stderr that ``command``'s writes vanish with this process, when ``store`` is ``memory://``.

    The command still runs (it checks what it would write); it must not look as if it kept anything.
    """
    if store.config.engine == "memory":
        errors.print(
            f"note: memory:// lives in this process only: what `docstore {command}` writes is gone when it "
            "exits (use local://DIR, or a `docstore serve --url memory://` and its http:// URL)",
            highlight=False,
            soft_wrap=True,
        )


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
