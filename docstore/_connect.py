"""Lazy connect: a store that starts while its server is unreachable and connects later.

With ``lazy_connect`` (``DOCSTORE_LAZY_CONNECT=true``), an ``initialize()`` whose backend
cannot reach its server (UNAVAILABLE or TIMEOUT: MongoDB, a docstore server) still
succeeds: the store is *connecting*. Every call is then UNAVAILABLE at once (a web app
answers 503 instead of hanging), ``health()`` reports ``ok=False`` with the reason, and a
background task retries with a growing pause (``RETRY_FIRST_S`` to ``RETRY_MAX_S``) until
the backend opens; from then on the store is an ordinary open store. Any other failure
(a bad URL, a refused token, a damaged file) stays fail-fast: waiting would not fix it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

from ._errors import TRANSIENT_CODES, ErrorCode, PersistenceError
from ._interfaces import StorageBackend

__all__ = [
    "RETRY_FIRST_S",
    "RETRY_MAX_S",
    "Connectable",
    "connecting_details",
    "open_or_defer",
    "stop_retrying",
    "unreachable",
]

log = logging.getLogger("docstore")

RETRY_FIRST_S = 0.25
RETRY_MAX_S = 5.0


class Connectable(Protocol):
    """What a store shares with its views (``_store._Shared``), as this module uses it."""

    backend: StorageBackend | None
    status: str
    lock: asyncio.Lock
    last_error: PersistenceError | None
    retrying: asyncio.Task[None] | None


async def _open(make: Callable[[], StorageBackend]) -> StorageBackend:
    backend = make()
    try:
        await backend.initialize()
    except BaseException:
        await backend.shutdown()
        raise
    return backend


async def open_or_defer(shared: Connectable, make: Callable[[], StorageBackend], lazy: bool) -> None:
    """Open the backend (caller holds ``shared.lock``); if lazy and the server is out of reach, retry later."""
    try:
        backend = await _open(make)
    except PersistenceError as error:
        if not lazy or error.code not in TRANSIENT_CODES:
            raise
        shared.status, shared.last_error = "connecting", error
        log.warning("docstore: not connected yet (%s); retrying in the background", error.message)
        shared.retrying = asyncio.get_running_loop().create_task(_retry(shared, make))
        return
    shared.backend, shared.status = backend, "open"


async def _retry(shared: Connectable, make: Callable[[], StorageBackend]) -> None:
    pause = RETRY_FIRST_S
    while shared.status == "connecting":
        await asyncio.sleep(pause)
        pause = min(pause * 2, RETRY_MAX_S)
        try:
            backend = await _open(make)
        except PersistenceError as error:
            shared.last_error = error  # health() shows the latest reason
            continue
        except Exception as exc:  # a backend bug must not end the retries silently
            shared.last_error = PersistenceError(ErrorCode.STORAGE_ERROR, f"connecting failed: {type(exc).__name__}")
            continue
        try:
            async with shared.lock:
                if shared.status != "connecting":  # shut down meanwhile
                    await backend.shutdown()
                    return
                shared.backend, shared.status, shared.last_error = backend, "open", None
        except asyncio.CancelledError:  # shutdown() cancelled us while we waited for the lock
            await backend.shutdown()
            raise
        log.warning("docstore: connected")
    shared.retrying = None


async def stop_retrying(shared: Connectable) -> None:
    """Cancel the background connect (``shutdown()``)."""
    task, shared.retrying = shared.retrying, None
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def unreachable(shared: Connectable) -> PersistenceError:
    """The error of a call made while the store is still connecting."""
    reason = shared.last_error.message if shared.last_error is not None else "not connected yet"
    return PersistenceError(ErrorCode.UNAVAILABLE, f"the store is not connected yet (retrying): {reason}")


def connecting_details(shared: Connectable) -> dict[str, Any]:
    """What ``health()`` reports while connecting."""
    error = unreachable(shared)
    return {"error": error.message, "code": error.code.value, "state": "connecting"}
