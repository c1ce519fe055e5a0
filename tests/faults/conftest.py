"""Real sockets for fault tests: a MongoDB-wire server (nx-27017), a silent server, a pausable proxy."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


class WireServer:
    """nx-27017 on a loopback port, backed by a SQLite file so it can die and come back."""

    def __init__(self, folder: Path) -> None:
        executable = shutil.which("nx-27017")
        if executable is None:
            pytest.skip("nx-27017 is not installed (it is in the dev extra)")
        self.executable = executable
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.executable,
                "--db",
                str(self.folder / "nx.db"),
                "-p",
                str(self.port),
                "--pid-file",
                str(self.folder / "nx.pid"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None


@pytest.fixture
def wire_server(tmp_path: Path) -> Iterator[WireServer]:
    server = WireServer(tmp_path)
    server.start()
    yield server
    server.kill()


class SilentServer:
    """Accepts connections and never says a word."""

    def __init__(self) -> None:
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._writers.append(writer)

        self._server = await asyncio.start_server(hold, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def silent_server() -> AsyncIterator[SilentServer]:
    server = SilentServer()
    await server.start()
    yield server
    await server.stop()


class PausableProxy:
    """Forwards a port to the wire server; while paused, answers nothing."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.resumed = asyncio.Event()
        self.resumed.set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._clients: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connect, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def reset_connections(self) -> None:
        """Cut every open connection, as a network blip or a load balancer would."""
        for writer in self._clients:
            writer.transport.abort()
        self._clients.clear()

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._clients.append(writer)
        for source, sink, gated in ((reader, upstream_writer, False), (upstream_reader, writer, True)):
            task = asyncio.create_task(self._pipe(source, sink, gated))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, gated: bool) -> None:
        try:
            while data := await source.read(65536):
                if gated:
                    await self.resumed.wait()
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            sink.close()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
