"""The pipelined import (a batch written while the next is read) keeps every promise of the sequential one.

The pipeline runs where writes wait on another process (``mongodb://``, ``http(s)://``);
here it is turned on for ``memory://`` and ``local://`` (``_batch.PIPELINED_ENGINES``), and
the store's ``upsert_documents`` is wrapped to hold a batch in flight, refuse a document as
a database would, or fail, at a chosen batch.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from docstore import ErrorCode, PersistenceError, Store, import_legacy, open_store
from docstore._interfaces import BatchResult
from docstore._legacy import _batch
from docstore._legacy._reader import iter_streams
from tests.documents import all_documents

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "legacy-data"
BATCH = 5  # 72 revisions: 15 batches


@pytest.fixture(params=["memory", "local"])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def pipelined(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_batch, "PIPELINED_ENGINES", frozenset({"memory", "local"}))


def url(engine: str, folder: Path) -> str:
    return "memory://" if engine == "memory" else f"local://{folder}"


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    """The example with bad revisions here and there: parse rejects between the batches' writes."""
    target = tmp_path / "legacy"
    shutil.copytree(EXAMPLE, target)
    streams = json.loads((target / "revisions.json").read_text())
    for number, stream in enumerate(streams.values()):
        stream[3 + number]["timestamp"] = "not a date"
        stream[9]["executionResult"] = "not an object"
    (target / "revisions.json").write_text(json.dumps(streams))
    return target


class Writes:
    """Wraps ``store.documents.upsert_documents`` for revisions: the first document of every
    batch is refused as a database refuses one (a ``failed`` entry), and ``hold``/``fail`` act
    on the n-th batch (1-based)."""

    def __init__(self, store: Store, monkeypatch: pytest.MonkeyPatch, *, refuse: bool = True) -> None:
        self.refuse = refuse
        self.calls: list[list[str]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.hold: dict[int, asyncio.Event] = {}
        self.held: dict[int, asyncio.Event] = {}
        self.hold_after_write = False
        self.fail: int | None = None
        documents = store.documents
        self.real: Callable[..., Awaitable[BatchResult]] = documents.upsert_documents
        monkeypatch.setattr(documents, "upsert_documents", self.upsert)

    def holding(self, number: int) -> asyncio.Event:
        self.held[number] = asyncio.Event()
        self.hold[number] = asyncio.Event()
        return self.hold[number]

    async def import_held_at(
        self, number: int, store: Store, legacy: Path, rejects: Path
    ) -> tuple[asyncio.Event, asyncio.Future[Any]]:
        """An import started and left running while its ``number``-th write is held (and 50 loop
        turns more: the next batch is read meanwhile); the event that releases it, and the import."""
        release = self.holding(number)
        task = asyncio.ensure_future(import_legacy(legacy, store, batch_size=BATCH, rejects_path=rejects))
        await self.held[number].wait()
        for _ in range(50):
            await asyncio.sleep(0)
        return release, task

    async def upsert(self, collection: str, documents: list[dict[str, Any]], **options: Any) -> BatchResult:
        if collection != "revisions":
            return await self.real(collection, documents, **options)
        self.calls.append([document["_id"] for document in documents])
        number = len(self.calls)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if number == self.fail:
                await asyncio.sleep(0.01)
                raise PersistenceError(ErrorCode.STORAGE_ERROR, "database or disk is full")
            if number in self.hold and not self.hold_after_write:
                self.held[number].set()
                await self.hold[number].wait()
            result = await self.real(collection, documents[1:] if self.refuse else documents, **options)
            if number in self.hold and self.hold_after_write:
                self.held[number].set()
                await self.hold[number].wait()
        finally:
            self.in_flight -= 1
        if self.refuse:
            result.failed = [(0, "injected refusal"), *((position + 1, why) for position, why in result.failed)]
        return result


async def dump(store: Store) -> dict[str, list[dict[str, Any]]]:
    return {name: await all_documents(store, name) for name in await store.stats()}


def legacy_tasks() -> list[asyncio.Task[Any]]:
    """The importer's tasks still running (the store's own, a feed trim, are not the import's)."""
    return [
        task
        for task in asyncio.all_tasks()
        if "_legacy" in getattr(getattr(task.get_coro(), "cr_code", None), "co_filename", "")
    ]


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def run_import(
    engine: str, folder: Path, legacy: Path, rejects: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]], list[dict[str, Any]], int]:
    """Report, stored documents, reject lines, and the number of revision batches written."""
    async with open_store(url(engine, folder)) as store:
        writes = Writes(store, monkeypatch)
        report = await import_legacy(legacy, store, batch_size=BATCH, rejects_path=rejects)
        return report.to_dict(), await dump(store), lines(rejects), len(writes.calls)


async def test_a_pipelined_import_gives_the_sequential_ones_store_report_and_reject_lines_in_order(
    engine: str, legacy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sequential = await run_import(engine, tmp_path / "a", legacy, tmp_path / "a.jsonl", monkeypatch)
    monkeypatch.setattr(_batch, "PIPELINED_ENGINES", frozenset({"memory", "local"}))
    piped = await run_import(engine, tmp_path / "b", legacy, tmp_path / "b.jsonl", monkeypatch)
    for report in (sequential[0], piped[0]):
        report.pop("elapsed_s"), report.pop("records_per_second"), report.pop("target")
    assert piped[0] == sequential[0]
    assert piped[1] == sequential[1]
    reasons = [line["reason"] for line in piped[2]]
    assert "refused by the database: injected refusal" in reasons and any("timestamp" in why for why in reasons)
    assert piped[2] == sequential[2]  # the same lines in the same order


@pytest.mark.usefixtures("pipelined")
async def test_at_most_one_batch_is_written_while_the_next_is_read(
    engine: str, legacy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = count_reads(monkeypatch)
    async with open_store(url(engine, tmp_path / "s")) as store:
        writes = Writes(store, monkeypatch)
        release, task = await writes.import_held_at(2, store, legacy, tmp_path / "r")
        # Batch 2 in flight, batch 3 built: the reading waits for the write, however long it takes.
        assert len(writes.calls) == 2 and not task.done()
        assert 3 * BATCH <= read[0] <= 3 * BATCH + 4  # the rejected records between them, no more
        release.set()
        await task
    assert writes.most_in_flight == 1


@pytest.mark.usefixtures("pipelined")
async def test_the_rejects_waiting_for_a_write_are_bounded(
    engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    legacy = tmp_path / "legacy"
    shutil.copytree(EXAMPLE, legacy)
    streams = json.loads((legacy / "revisions.json").read_text())
    for stream in list(streams.values())[1:]:
        for revision in stream:
            revision["timestamp"] = "not a date"  # all bad after the first stream
    (legacy / "revisions.json").write_text(json.dumps(streams))
    read = count_reads(monkeypatch)
    async with open_store(url(engine, tmp_path / "s")) as store:
        writes = Writes(store, monkeypatch)
        release, task = await writes.import_held_at(2, store, legacy, tmp_path / "r")
        assert read[0] <= 12 + BATCH + 1  # the first stream, then a batch's worth of rejects waiting
        release.set()
        report = await task
    assert report.kinds["revisions"].rejected == 60 + 3  # and the three injected refusals
    assert len(lines(tmp_path / "r")) == 63


def count_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    read = [0]
    real = iter_streams

    def counted(*args: Any) -> Iterator[Any]:
        for item in real(*args):
            read[0] += 1
            yield item

    monkeypatch.setattr("docstore._legacy._revisions.iter_streams", counted)
    return read


async def clean_state(engine: str, legacy: Path, folder: Path) -> dict[str, list[dict[str, Any]]]:
    async with open_store(url(engine, folder)) as store:
        await import_legacy(legacy, store, batch_size=BATCH, rejects_path=folder.with_suffix(".jsonl"))
        return await dump(store)


@pytest.mark.usefixtures("pipelined")
@pytest.mark.parametrize("written", [False, True], ids=["before-the-write", "after-the-write"])
async def test_cancelled_while_a_batch_is_in_flight_then_a_rerun_is_identical(
    engine: str, written: bool, legacy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_store(url(engine, tmp_path / "s")) as store:
        writes = Writes(store, monkeypatch, refuse=False)
        writes.hold_after_write = written
        writes.holding(3)
        task = asyncio.ensure_future(import_legacy(legacy, store, batch_size=BATCH, rejects_path=tmp_path / "r"))
        await writes.held[3].wait()
        for _ in range(20):
            await asyncio.sleep(0)  # batch 4 is being read meanwhile
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert writes.in_flight == 0  # the write in flight was stopped with the import
        assert not legacy_tasks()  # nothing of the import runs on
        # No half batch: batches 1-2 and (written before the cancel) 3, each whole.
        stored = {document["_id"] for document in await all_documents(store, "revisions")}
        whole = [set(ids) for ids in writes.calls[: 3 if written else 2]]
        assert stored == set().union(*whole)
        report = await import_legacy(legacy, store, batch_size=BATCH, rejects_path=tmp_path / "r")
        assert report.kinds["revisions"].read == 72
        assert await dump(store) == await clean_state(engine, legacy, tmp_path / "clean")


@pytest.mark.usefixtures("pipelined")
async def test_a_broken_file_in_the_next_batch_while_a_batch_commits_keeps_the_order(
    engine: str, legacy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (legacy / "revisions.json").read_text()
    (legacy / "revisions.json").write_text(text[: len(text) * 2 // 3])  # truncated within a stream
    read = count_reads(monkeypatch)
    sequential = await run_import(engine, tmp_path / "a", legacy, tmp_path / "a.jsonl", monkeypatch)
    read_before_the_break, read[0] = read[0], 0
    last_full = sequential[3] - 1  # the batch handed over before the break is read
    assert len(sequential[1]["revisions"]) % BATCH != 0  # (the one after it is partial)
    monkeypatch.setattr(_batch, "PIPELINED_ENGINES", frozenset({"memory", "local"}))
    async with open_store(url(engine, tmp_path / "b")) as store:
        writes = Writes(store, monkeypatch)
        release = writes.holding(last_full)
        task = asyncio.ensure_future(import_legacy(legacy, store, batch_size=BATCH, rejects_path=tmp_path / "b.jsonl"))
        await writes.held[last_full].wait()
        for _ in range(50):
            await asyncio.sleep(0)
        assert read[0] == read_before_the_break  # the break was read while that batch was written
        release.set()
        report = await task
        piped = lines(tmp_path / "b.jsonl")
        assert any("unreadable" in line["reason"] for line in piped)
        assert report.kinds["revisions"].imported == sequential[0]["kinds"]["revisions"]["imported"]
        assert await dump(store) == sequential[1]
    assert piped == sequential[2]


@pytest.mark.usefixtures("pipelined")
async def test_an_error_while_reading_the_next_batch_stops_the_write_in_flight(
    engine: str, legacy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def progress(name: str, done: int, size: int) -> None:
        if name == "revisions.json" and len(writes.calls) >= 2:
            raise OSError("the terminal went away")

    monkeypatch.setattr("docstore._legacy._reader._PROGRESS_STEP", 1)
    async with open_store(url(engine, tmp_path / "s")) as store:
        writes = Writes(store, monkeypatch, refuse=False)
        writes.holding(2)
        with pytest.raises(OSError, match="terminal went away"):
            await import_legacy(legacy, store, batch_size=BATCH, rejects_path=tmp_path / "r", progress=progress)
        assert writes.in_flight == 0 and not legacy_tasks()
        await import_legacy(legacy, store, batch_size=BATCH, rejects_path=tmp_path / "r")
        assert await dump(store) == await clean_state(engine, legacy, tmp_path / "clean")


@pytest.mark.usefixtures("pipelined")
async def test_a_failed_write_stops_the_import_before_the_next_batch_is_handed_over(
    engine: str, legacy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_store(url(engine, tmp_path / "s")) as store:
        writes = Writes(store, monkeypatch, refuse=False)
        writes.fail = 4
        with pytest.raises(PersistenceError, match="disk is full"):
            await import_legacy(legacy, store, batch_size=BATCH, rejects_path=tmp_path / "r")
        # Batch 5 was read while 4 was written, and never handed to the store.
        assert len(writes.calls) == 4
        stored = {document["_id"] for document in await all_documents(store, "revisions")}
        assert stored == set().union(*(set(ids) for ids in writes.calls[:3]))
        assert not legacy_tasks()
        writes.fail = None
        await import_legacy(legacy, store, batch_size=BATCH, rejects_path=tmp_path / "r")
        assert await dump(store) == await clean_state(engine, legacy, tmp_path / "clean")


async def test_an_import_through_a_server_is_pipelined_and_gives_the_direct_imports_store(
    legacy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.remote.servers import ADMIN_TOKEN, asgi_server

    hand_offs: list[bool] = []
    real = _batch.Batch._hand_off

    async def hand_off(self: _batch.Batch) -> None:
        hand_offs.append(self._pipelined)
        await real(self)

    monkeypatch.setattr(_batch.Batch, "_hand_off", hand_off)
    async with asgi_server() as (server, served), server.open(token=ADMIN_TOKEN) as remote:
        through = await import_legacy(legacy, remote, batch_size=BATCH, rejects_path=tmp_path / "a.jsonl")
        state = await dump(served)
    assert hand_offs and all(hand_offs)  # the remote engine's batches were pipelined
    async with open_store("memory://") as direct:
        report = await import_legacy(legacy, direct, batch_size=BATCH, rejects_path=tmp_path / "b.jsonl")
        assert await dump(direct) == state
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert through.kinds == report.kinds


# A batch's write starts, then the command's own process gets SIGTERM while it is in flight
# and the next batch is read (argv: how many writes before the signal, then the CLI's own).
_STOPPER = """
import asyncio, os, signal, sys
from docstore._legacy import _batch

real, after, calls = _batch.Batch._write, int(sys.argv[1]), [0]

async def write(self, *args):
    calls[0] += 1
    if calls[0] == after:
        os.kill(os.getpid(), signal.SIGTERM)
    await real(self, *args)

_batch.Batch._write = write
from docstore._cli import main

main(sys.argv[2:], prog_name="docstore")
"""


async def test_sigterm_with_a_batch_in_flight_through_a_server_then_a_rerun_is_identical(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    from tests.remote.servers import ADMIN_TOKEN, uvicorn_server

    root = Path(__file__).resolve().parents[2]
    data = tmp_path / "legacy"
    generator = [sys.executable, str(root / "scripts" / "legacy_generator.py"), str(data), "--sessions", "3"]
    subprocess.run([*generator, "--students", "5"], check=True, capture_output=True)
    env = {**os.environ, "DOCSTORE_TOKEN": ADMIN_TOKEN}
    async with (
        uvicorn_server(f"local://{tmp_path / 'served'}") as base,
        open_store(f"local://{tmp_path / 'served'}") as served,
    ):
        command = ["import", str(data), "--url", base, "--batch-size", "20"]
        stopped = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _STOPPER, "6", *command, env=env, stderr=asyncio.subprocess.PIPE, cwd=root
        )
        _, stderr = await asyncio.wait_for(stopped.communicate(), timeout=120)
        assert stopped.returncode == 128 + signal.SIGTERM, stderr.decode()
        assert "run the same command again" in stderr.decode() and "Traceback" not in stderr.decode()
        finisher = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "docstore", *command, env=env, stderr=asyncio.subprocess.PIPE, cwd=root
        )
        _, stderr = await asyncio.wait_for(finisher.communicate(), timeout=120)
        assert finisher.returncode == 0, stderr.decode()
        state = await dump(served)
    assert await dump_clean(data, tmp_path / "clean") == state


async def dump_clean(data: Path, folder: Path) -> dict[str, list[dict[str, Any]]]:
    async with open_store(f"local://{folder}") as store:
        report = await import_legacy(data, store, batch_size=20, rejects_path=folder.with_suffix(".jsonl"))
        assert report.exit_code == 0
        return await dump(store)
