"""What a caller on the event loop awaits from a database thread: woken in one loop iteration, not two.

An ``asyncio.Future`` settled from a thread takes two iterations of the event loop to wake its
caller: ``call_soon_threadsafe(set_result)`` runs in the first, and ``set_result`` schedules the
awaiting task's wake-up with ``call_soon``, which runs in the second (one more ``epoll`` call and
loop step per awaited call: ~4 us of a save's ~120 on this machine). An ``Answer`` is settled the
same way, by one ``call_soon_threadsafe`` from the thread, but it runs the awaiting task's wake-up
right there: the caller's next step runs in the iteration that settles it.

It is the smallest future asyncio's tasks accept (they duck-type: ``_asyncio_future_blocking``,
``get_loop``, ``add_done_callback``, ``result``, ``cancel``), and it is never handed to anyone:
only ``Database.read``/``write`` await it, inside the caller's task. Everything about it happens
on the loop's thread (the database thread only schedules ``settle``), so it needs no lock.
Cancelling the caller cancels only its wait, as with a future: ``settle`` of a cancelled answer
drops the outcome (the write itself was done, or not, as a whole).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from contextvars import Context
from typing import Any, Generic, TypeVar

__all__ = ["Answer"]

T = TypeVar("T")
_PENDING, _DONE, _CANCELLED = range(3)


class Answer(Generic[T]):
    """An awaitable settled on the loop's thread by ``settle``, which wakes its task directly."""

    __slots__ = ("_asyncio_future_blocking", "_callbacks", "_error", "_loop", "_result", "_state")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._asyncio_future_blocking = False  # what tells asyncio's tasks a future was yielded
        self._callbacks: list[tuple[Callable[[Any], object], Context | None]] = []
        self._state = _PENDING
        self._result: Any = None
        self._error: BaseException | None = None

    def settle(self, result: Any, error: BaseException | None) -> None:
        """The outcome (on the loop's thread): the waiting task takes its next step now, not one iteration later.

        A callback here is the task's wake-up (only a task awaits an answer); running it from this
        loop callback is what ``call_soon`` would have done in the next iteration, minus the wait.
        """
        if self._state != _PENDING:
            return  # the caller gave up waiting; the work itself was done (or not) all the same
        self._state = _DONE
        self._result, self._error = result, error
        callbacks, self._callbacks = self._callbacks, []
        for callback, context in callbacks:
            if context is None:
                callback(self)
            else:
                context.run(callback, self)

    # -- what asyncio's tasks call ------------------------------------------------------
    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def done(self) -> bool:
        return self._state != _PENDING

    def cancelled(self) -> bool:
        return self._state == _CANCELLED

    def add_done_callback(self, callback: Callable[[Any], object], *, context: Context | None = None) -> None:
        if self._state == _PENDING:
            self._callbacks.append((callback, context))
        else:
            self._loop.call_soon(callback, self, context=context)

    def remove_done_callback(self, callback: Callable[[Any], object]) -> int:
        kept = [(known, context) for known, context in self._callbacks if known != callback]
        removed, self._callbacks = len(self._callbacks) - len(kept), kept
        return removed

    def cancel(self, msg: Any = None) -> bool:
        """The caller's task is cancelled: its wait ends now (as a future's would), with CancelledError."""
        if self._state != _PENDING:
            return False
        self._state = _CANCELLED
        self._error = asyncio.CancelledError() if msg is None else asyncio.CancelledError(msg)
        callbacks, self._callbacks = self._callbacks, []
        for callback, context in callbacks:
            self._loop.call_soon(callback, self, context=context)
        return True

    def result(self) -> T:
        if self._state == _PENDING:
            raise asyncio.InvalidStateError("the answer is not ready")
        if self._error is not None:
            raise self._error
        result: T = self._result
        return result

    def exception(self) -> BaseException | None:
        if self._state == _PENDING:
            raise asyncio.InvalidStateError("the answer is not ready")
        if self._state == _CANCELLED:
            assert self._error is not None
            raise self._error
        return self._error

    def __await__(self) -> Generator[Any, None, T]:
        if self._state == _PENDING:
            self._asyncio_future_blocking = True
            yield self  # the task registers its wake-up (``add_done_callback``) and sleeps
        return self.result()

    __iter__ = __await__
