"""The database threads: a write awaited alone is its own transaction, writes queued together share one;
a read of one statement needs no transaction around it."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from docstore import ErrorCode, PersistenceError
from docstore._sqlite._answer import Answer
from docstore._sqlite._database import Database, _settle_all, connect


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    path = tmp_path / "writer.sqlite3"
    connection = connect(path)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("CREATE TABLE t (v INTEGER UNIQUE)")
    db = Database(path)
    db.start(connection)
    yield db
    await asyncio.to_thread(db.close)


def statements(database: Database) -> list[str]:
    seen: list[str] = []
    assert database._writer_connection is not None
    database._writer_connection.set_trace_callback(seen.append)
    return seen


async def values(database: Database) -> list[int]:
    return await database.read(lambda c: [row[0] for row in c.execute("SELECT v FROM t ORDER BY v")])


async def test_a_write_awaited_alone_is_one_transaction_without_savepoints(database: Database) -> None:
    seen = statements(database)
    await database.write(lambda c: c.execute("INSERT INTO t VALUES (1)"))
    assert seen == ["BEGIN IMMEDIATE", "INSERT INTO t VALUES (1)", "COMMIT"]


async def test_a_failing_write_alone_leaves_nothing_and_the_writer_goes_on(database: Database) -> None:
    def half_then_fail(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO t VALUES (2)")
        connection.execute("INSERT INTO t VALUES (2)")  # the unique index refuses it

    with pytest.raises(PersistenceError) as raised:
        await database.write(half_then_fail)
    assert raised.value.code is ErrorCode.STORAGE_ERROR or raised.value.code is ErrorCode.ALREADY_EXISTS
    assert await values(database) == []
    await database.write(lambda c: c.execute("INSERT INTO t VALUES (3)"))
    assert await values(database) == [3]


async def test_writes_queued_together_fail_alone(database: Database) -> None:
    def fail(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO t VALUES (10)")
        raise ValueError("this write fails")

    def insert(value: int) -> Callable[[sqlite3.Connection], object]:
        return lambda connection: connection.execute(f"INSERT INTO t VALUES ({value})")

    writes = [database.write(insert(value)) for value in (11, 12)]
    outcomes = await asyncio.gather(writes[0], database.write(fail), writes[1], return_exceptions=True)
    assert isinstance(outcomes[1], PersistenceError)
    assert not isinstance(outcomes[0], BaseException) and not isinstance(outcomes[2], BaseException)
    assert await values(database) == [11, 12]


async def test_a_one_statement_read_skips_the_transaction_around_it(database: Database) -> None:
    await database.write(lambda c: c.execute("INSERT INTO t VALUES (7)"))
    assert await database.read(lambda c: c.in_transaction) is True  # several statements: one snapshot
    assert await database.read(lambda c: c.in_transaction, one_statement=True) is False  # SQLite's own
    assert await database.read(lambda c: c.execute("SELECT v FROM t").fetchall(), one_statement=True) == [(7,)]


async def test_a_write_of_one_statement_alone_is_sqlite_s_own_transaction(database: Database) -> None:
    seen = statements(database)
    await database.write(lambda c: c.execute("INSERT INTO t VALUES (21)"), one_statement=True)
    assert seen == ["INSERT INTO t VALUES (21)"]  # autocommit: committed (and synced) by itself
    assert await values(database) == [21]
    with pytest.raises(PersistenceError):
        await database.write(lambda c: c.execute("INSERT INTO t VALUES (21)"), one_statement=True)
    assert await values(database) == [21]
    assert database._writer_connection is not None and not database._writer_connection.in_transaction


async def test_a_cancelled_caller_leaves_its_write_whole_and_the_writer_goes_on(database: Database) -> None:
    """Cancelling the caller cancels only its wait: the queued write still runs, all of it or none."""
    gate = asyncio.Event()
    loop = asyncio.get_running_loop()
    errors: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _, context: errors.append(context))

    def held(connection: sqlite3.Connection) -> None:
        asyncio.run_coroutine_threadsafe(gate.wait(), loop).result(10)  # the writer waits for the test

    def two(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO t VALUES (10)")
        connection.execute("INSERT INTO t VALUES (11)")

    def half_then_fail(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO t VALUES (20)")
        connection.execute("INSERT INTO t VALUES (10)")  # taken: the unique index refuses it

    holder = asyncio.ensure_future(database.write(held))
    await asyncio.sleep(0.05)
    callers = [asyncio.ensure_future(database.write(work)) for work in (two, half_then_fail)]
    await asyncio.sleep(0.01)
    for caller in callers:
        caller.cancel()
    outcomes = await asyncio.gather(*callers, return_exceptions=True)
    assert all(isinstance(outcome, asyncio.CancelledError) for outcome in outcomes)
    gate.set()
    await holder
    await database.write(lambda c: c.execute("INSERT INTO t VALUES (30)"))
    assert await values(database) == [10, 11, 30]  # the first whole, the failed one not at all
    await asyncio.sleep(0.01)
    assert errors == []  # a failure nobody waits for any more is not reported as never retrieved


async def test_an_awaited_write_wakes_its_caller_in_one_loop_iteration(database: Database) -> None:
    """The writer settles the very answer the caller awaits, and settling it runs the caller's next step:
    the wake-up is the one iteration (an ``asyncio.Future`` took two: ``set_result`` schedules the
    task's step for the next one; ``asyncio.shield`` added a third)."""
    await database.write(lambda c: None)
    counts = await loop_iterations_of(lambda: database.write(lambda c: None))
    assert min(counts) <= 1, counts


async def loop_iterations_of(awaited: Callable[[], object]) -> list[int]:
    """How many event-loop iterations each of 20 awaits of ``awaited()`` took."""
    loop = asyncio.get_running_loop()
    step = loop._run_once  # type: ignore[attr-defined]
    counts: list[int] = []
    iterations = 0

    def counted() -> None:
        nonlocal iterations
        iterations += 1
        step()

    loop._run_once = counted  # type: ignore[attr-defined]
    try:
        for _ in range(20):
            iterations = 0
            await awaited()  # type: ignore[misc]
            counts.append(iterations)
    finally:
        del loop._run_once  # type: ignore[attr-defined]
    return counts


async def test_a_read_wakes_its_caller_in_one_loop_iteration(database: Database) -> None:
    """A reader settles the very answer the caller awaits, as the writer does: the caller's next step
    runs in the iteration of the wake-up."""
    await database.read(lambda c: None, one_statement=True)
    counts = await loop_iterations_of(lambda: database.read(lambda c: None, one_statement=True))
    assert min(counts) <= 1, counts


async def test_reads_run_side_by_side_in_up_to_four_threads(database: Database) -> None:
    """Four reads that each wait for the other three finish: each ran in a thread of its own."""
    barrier = threading.Barrier(4, timeout=10)

    def meet(connection: sqlite3.Connection) -> str:
        barrier.wait()
        return threading.current_thread().name

    names = await asyncio.gather(*(database.read(meet) for _ in range(4)))
    assert len(set(names)) == 4
    assert len(database._reader_threads) == 4
    # Read one after another, the readers already there serve them: no fifth thread.
    for _ in range(10):
        await database.read(lambda c: None, one_statement=True)
    assert len(database._reader_threads) == 4


async def test_a_failing_or_cancelled_read_leaves_the_readers_serving(database: Database) -> None:
    await database.write(lambda c: c.execute("INSERT INTO t VALUES (1)"))

    def fail(connection: sqlite3.Connection) -> None:
        connection.execute("SELECT * FROM no_such_table")

    with pytest.raises(PersistenceError) as raised:
        await database.read(fail)
    assert raised.value.code is ErrorCode.STORAGE_ERROR
    gate = threading.Event()
    slow = asyncio.ensure_future(database.read(lambda c: gate.wait(10)))
    await asyncio.sleep(0.01)
    slow.cancel()
    gate.set()
    await asyncio.gather(slow, return_exceptions=True)
    assert await values(database) == [1]


async def test_reads_queued_before_close_are_answered_and_later_ones_refused(tmp_path: Path) -> None:
    path = tmp_path / "closing.sqlite3"
    connection = connect(path)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("CREATE TABLE t (v INTEGER UNIQUE)")
    db = Database(path)
    db.start(connection)
    gate = threading.Event()
    first = asyncio.ensure_future(db.read(lambda c: gate.wait(10) and 1))
    queued = [asyncio.ensure_future(db.read(lambda c: 2, one_statement=True)) for _ in range(6)]
    await asyncio.sleep(0.01)
    closing = asyncio.ensure_future(asyncio.to_thread(db.close))
    await asyncio.sleep(0.01)
    gate.set()
    await closing
    assert await first == 1 and await asyncio.gather(*queued) == [2] * 6
    with pytest.raises(PersistenceError) as raised:
        await db.read(lambda c: None)
    assert raised.value.code is ErrorCode.STORAGE_ERROR
    assert not any(reader.is_alive() for reader in db._reader_threads)


async def test_a_read_cancelled_while_it_waits_for_a_reader_is_never_run(database: Database) -> None:
    """As ``run_in_executor`` did: a queued read whose caller gave up costs no reader any work."""
    gate = threading.Event()
    busy = [asyncio.ensure_future(database.read(lambda c: gate.wait(10))) for _ in range(4)]
    await asyncio.sleep(0.05)  # the four readers are all held
    ran: list[str] = []
    given_up = asyncio.ensure_future(database.read(lambda c: ran.append("ran")))
    await asyncio.sleep(0.01)
    given_up.cancel()
    await asyncio.gather(given_up, return_exceptions=True)
    gate.set()
    await asyncio.gather(*busy)
    assert await database.read(lambda c: 7, one_statement=True) == 7
    assert ran == []
    assert len(database._reader_threads) == 4


async def test_more_writes_queued_at_once_than_the_wake_pipe_holds_all_commit(database: Database) -> None:
    """Each queued write writes one byte to wake the writer; the pipe is not blocking, so a full one
    (64 KiB of wakes unread) never stalls the event loop, and every write is still taken."""
    release = threading.Event()
    # The writer is held inside a first write while the rest queue up behind it.
    first = asyncio.ensure_future(database.write(lambda c: release.wait(60)))
    await asyncio.sleep(0.05)
    count = 70_000

    def insert(value: int) -> Callable[[sqlite3.Connection], object]:
        return lambda connection: connection.execute("INSERT INTO t VALUES (?)", (value,))

    writes = [asyncio.ensure_future(database.write(insert(value))) for value in range(count)]
    await asyncio.sleep(0)  # each queues its write now, while the writer is held
    release.set()
    assert await first is True  # released, not timed out: the queueing above never blocked
    await asyncio.gather(*writes)
    assert await database.read(lambda c: c.execute("SELECT count(*) FROM t").fetchone()[0]) == count


async def test_writes_queued_while_the_writer_works_write_no_wake(database: Database) -> None:
    """A wake is written only when the writer may be asleep in the pipe's read: one busy committing (or
    returning from the last write) looks at the queue before it sleeps, and a wake would only have
    woken it for nothing, waiting for the GIL."""
    release = threading.Event()
    first = asyncio.ensure_future(database.write(lambda c: release.wait(60)))
    await asyncio.sleep(0.05)  # the writer took the first write's wake and is inside it

    def insert(value: int) -> Callable[[sqlite3.Connection], object]:
        return lambda connection: connection.execute("INSERT INTO t VALUES (?)", (value,))

    writes = [asyncio.ensure_future(database.write(insert(value))) for value in range(100)]
    await asyncio.sleep(0)  # each queues its write now
    os.set_blocking(database._wake_read, False)
    try:
        with pytest.raises(BlockingIOError):  # not one byte: no wake written while the writer worked
            os.read(database._wake_read, 4096)
    finally:
        os.set_blocking(database._wake_read, True)
        release.set()
    assert await first is True
    await asyncio.gather(*writes)
    assert await database.read(lambda c: c.execute("SELECT count(*) FROM t").fetchone()[0]) == 100


def test_writes_from_many_loops_at_once_never_miss_their_wake(database: Database) -> None:
    """Awaited writes one after another from four event loops in four threads: every write is taken
    (a wake lost between the writer finding the queue empty and sleeping would leave one hanging)."""

    def insert(value: int) -> Callable[[sqlite3.Connection], object]:
        return lambda connection: connection.execute("INSERT INTO t VALUES (?)", (value,))

    def loop_of_writes(first: int) -> None:
        async def writes() -> None:
            for value in range(first, first + 500):
                await asyncio.wait_for(database.write(insert(value)), 30)

        asyncio.run(writes())

    threads = [threading.Thread(target=loop_of_writes, args=(number * 1000,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)
    check = connect(database.path)
    try:
        assert check.execute("SELECT count(*) FROM t").fetchone()[0] == 2000
    finally:
        check.close()


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts this process's descriptors in /proc")
async def test_a_closed_database_leaves_no_descriptor_open(tmp_path: Path) -> None:
    async def open_and_close(number: int) -> None:
        path = tmp_path / f"{number}.sqlite3"
        db = Database(path)
        db.start(connect(path))
        await db.write(lambda c: c.execute("CREATE TABLE t (v)"))
        await asyncio.to_thread(db.close)

    await open_and_close(0)  # whatever a first use opens for good (the default executor's threads)
    before = _open_descriptors()
    for number in range(1, 21):
        await open_and_close(number)
    Database(tmp_path / "never-started.sqlite3").close()  # never started: its wake pipe closed all the same
    assert _open_descriptors() == before


async def test_a_group_of_writes_is_answered_with_one_wake_of_the_loop(database: Database) -> None:
    """The writes committed together are answered by one ``call_soon_threadsafe``, not one each."""
    release = threading.Event()
    first = asyncio.ensure_future(database.write(lambda c: release.wait(60)))
    await asyncio.sleep(0.05)  # the writer is inside the first write while the others queue behind it
    loop = asyncio.get_running_loop()
    wakes: list[object] = []
    real = loop.call_soon_threadsafe

    def counted(*args: Any, **kwargs: Any) -> Any:
        wakes.append(args[0])
        return real(*args, **kwargs)

    def insert(value: int) -> Callable[[sqlite3.Connection], object]:
        return lambda connection: connection.execute("INSERT INTO t VALUES (?)", (value,))

    writes = [asyncio.ensure_future(database.write(insert(value % 40))) for value in range(50)]
    await asyncio.sleep(0)
    loop.call_soon_threadsafe = counted  # type: ignore[method-assign,assignment]
    try:
        release.set()
        outcomes = await asyncio.gather(*writes, return_exceptions=True)
        await first
    finally:
        del loop.call_soon_threadsafe
    assert len(wakes) == 2, wakes  # the first write's answer, then the group's
    # Each its own answer: the ten values taken twice failed alone.
    failed = [n for n, outcome in enumerate(outcomes) if isinstance(outcome, PersistenceError)]
    assert failed == list(range(40, 50))
    assert await values(database) == list(range(40))


async def test_a_group_answered_past_a_caller_that_lets_an_interrupt_through_answers_the_rest() -> None:
    """What a caller's step lets through (KeyboardInterrupt, SystemExit) propagates as from any loop
    callback, and the rest of its group are still answered, in the next iteration."""

    class Interrupt(BaseException):
        pass

    loop = asyncio.get_running_loop()
    answers: list[Answer[int]] = [Answer(loop) for _ in range(3)]
    seen: list[int] = []

    def interrupted(answer: object) -> None:
        raise Interrupt

    answers[0].add_done_callback(interrupted)

    def record(number: int) -> Callable[[object], None]:
        return lambda _: seen.append(number)

    for number, answer in enumerate(answers[1:], start=1):
        answer.add_done_callback(record(number))
    with pytest.raises(Interrupt):
        _settle_all([(answer, number, None) for number, answer in enumerate(answers)])
    assert seen == []
    await asyncio.sleep(0)
    assert seen == [1, 2]
    assert [answer.result() for answer in answers] == [0, 1, 2]
