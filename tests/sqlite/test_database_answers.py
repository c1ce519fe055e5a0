"""What a caller awaits from the database threads (``_sqlite/_answer.py``): on asyncio's loop and on
uvloop (``docstore serve``'s), an answer behaves for its caller as the future it replaced did: the
result or the error, the caller's context and task kept, a cancelled or timed-out caller leaving
the write whole, and nothing reported to the loop's exception handler."""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from docstore import ErrorCode, PersistenceError
from docstore._sqlite._answer import Answer
from docstore._sqlite._database import Database, connect

uvloop = pytest.importorskip("uvloop")

_CALLER = contextvars.ContextVar("_CALLER", default="unset")
Test = Callable[[Database], Awaitable[None]]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[Test], list[dict[str, Any]]]:
    """Run a test coroutine on a fresh database in a loop of each kind; what the loop's handler saw."""

    def runner(test: Test) -> list[dict[str, Any]]:
        errors: list[dict[str, Any]] = []

        async def main() -> None:
            asyncio.get_running_loop().set_exception_handler(lambda _, context: errors.append(context))
            path = tmp_path / "answers.sqlite3"
            connection = connect(path)
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("CREATE TABLE IF NOT EXISTS t (v INTEGER UNIQUE)")
            database = Database(path)
            database.start(connection)
            try:
                await test(database)
                await asyncio.sleep(0.01)  # anything left to report, reported
            finally:
                await asyncio.to_thread(database.close)

        if request.param == "uvloop":
            uvloop.run(main())
        else:
            asyncio.run(main())
        return errors

    return runner


async def values(database: Database) -> list[int]:
    return await database.read(lambda c: [row[0] for row in c.execute("SELECT v FROM t ORDER BY v")])


def test_a_caller_gets_its_result_or_its_error_in_its_own_task_and_context(run: Any) -> None:
    async def test(database: Database) -> None:
        _CALLER.set("the caller's")
        task = asyncio.current_task()
        assert await database.write(lambda c: c.execute("INSERT INTO t VALUES (1)").rowcount) == 1
        assert (_CALLER.get(), asyncio.current_task()) == ("the caller's", task)
        with pytest.raises(PersistenceError) as raised:
            await database.write(lambda c: c.execute("INSERT INTO t VALUES (1)"))
        assert raised.value.code is ErrorCode.STORAGE_ERROR  # a table of no repository: no ALREADY_EXISTS
        assert await database.read(lambda c: c.execute("SELECT count(*) FROM t").fetchone()[0]) == 1
        assert (_CALLER.get(), asyncio.current_task()) == ("the caller's", task)
        with pytest.raises(PersistenceError):
            await database.read(lambda c: c.execute("SELECT * FROM no_such_table"))

        # Many callers at once: each its own answer, in the order of its call.
        def constant(value: int) -> Callable[[sqlite3.Connection], int]:
            return lambda connection: value

        answers = await asyncio.gather(*(database.write(constant(v)) for v in range(50)))
        assert answers == list(range(50))

    assert run(test) == []


def test_a_caller_cancelled_or_timed_out_leaves_the_write_whole(run: Any) -> None:
    async def test(database: Database) -> None:
        loop = asyncio.get_running_loop()
        started, gate = threading.Event(), threading.Event()

        def held(connection: sqlite3.Connection) -> None:
            started.set()
            gate.wait(10)
            connection.execute("INSERT INTO t VALUES (1)")
            connection.execute("INSERT INTO t VALUES (2)")

        caller = asyncio.ensure_future(database.write(held))
        await loop.run_in_executor(None, started.wait, 10)
        caller.cancel("the caller left")
        with pytest.raises(asyncio.CancelledError):
            await caller
        # Timed out: the same, through asyncio.wait_for's own task.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(database.write(lambda c: c.execute("INSERT INTO t VALUES (1)")), 0.05)
        gate.set()
        await database.write(lambda c: c.execute("INSERT INTO t VALUES (3)"))
        assert await values(database) == [1, 2, 3]  # the held write whole; the timed-out one failed unseen
        # A read whose caller left before a reader took it is not run; one after it is.
        blocker = threading.Event()
        slow = [asyncio.ensure_future(database.read(lambda c: blocker.wait(10))) for _ in range(4)]
        await asyncio.sleep(0.02)
        ran: list[int] = []
        skipped = asyncio.ensure_future(database.read(lambda c: ran.append(1)))
        await asyncio.sleep(0.01)
        skipped.cancel()
        blocker.set()
        await asyncio.gather(*slow)
        assert await values(database) == [1, 2, 3]
        assert ran == [] and skipped.cancelled()

    assert run(test) == []  # the failure nobody waited for was not reported as never retrieved


def test_an_answer_is_the_future_a_task_needs() -> None:
    """The rest of what asyncio may ask of it: callbacks after the fact, removal, states, refusals."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        answer: Answer[int] = Answer(loop)
        assert not answer.done() and answer.get_loop() is loop
        with pytest.raises(asyncio.InvalidStateError):
            answer.result()
        with pytest.raises(asyncio.InvalidStateError):
            answer.exception()
        seen: list[Any] = []
        answer.add_done_callback(seen.append)
        answer.add_done_callback(print)
        assert answer.remove_done_callback(print) == 1
        answer.settle(7, None)
        assert seen == [answer]  # at once: the settle runs it
        assert (answer.done(), answer.cancelled(), answer.result(), answer.exception()) == (True, False, 7, None)
        answer.add_done_callback(seen.append)  # after the fact: in the next iteration, as a future's
        assert seen == [answer]
        await asyncio.sleep(0)
        assert seen == [answer, answer]
        assert not answer.cancel()
        answer.settle(8, None)  # a second outcome changes nothing
        assert answer.result() == 7

        failed: Answer[int] = Answer(loop)
        failed.settle(None, PersistenceError(ErrorCode.STORAGE_ERROR, "x"))
        assert isinstance(failed.exception(), PersistenceError)
        with pytest.raises(PersistenceError):
            await failed

        cancelled: Answer[int] = Answer(loop)
        later: list[Any] = []
        cancelled.add_done_callback(later.append)
        assert cancelled.cancel("why")
        assert later == []  # scheduled, as a future's callbacks are
        await asyncio.sleep(0)
        assert later == [cancelled] and cancelled.cancelled()
        cancelled.settle(1, None)  # the work's outcome, after its caller left: dropped
        with pytest.raises(asyncio.CancelledError):
            cancelled.result()
        with pytest.raises(asyncio.CancelledError):
            cancelled.exception()

    asyncio.run(main())
