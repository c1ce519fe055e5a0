"""What the remote layer costs: the same calls direct and through `docstore serve`, in one run.

    python scripts/bench_remote.py [--engine memory:// | local:///dev/shm/x] [--calls 300] [--seconds 5]

Starts `docstore serve` over a fresh store of ``--engine`` on a free 127.0.0.1 port (a
separate process, as in production) and a direct store of the same engine in this
process, loads both with the same data, then prints per operation the p50/p90 of each
and what the remote layer adds (remote p50 - direct p50, and the ratio); student posts
per second with 30 concurrent clients (``record_code``) both ways; and a join-code
lookup through a client with the read cache, hit and missed. Target: the remote layer
adds <= 1 ms per call at p50 on loopback.

Beside them, in the same rounds, **the floor**: an httpx client (set up as docstore's:
keep-alive, TCP_NODELAY, the same headers) posting the same body to a bare Starlette route
that reads it and returns a constant, served in its own process by the same stack as
`docstore serve` (uvicorn, uvloop, httptools with docstore's head caps). What docstore
adds beyond that floor is its own share: the client's encoding and decoding, the auth,
the validation, the serialization. Engines alternate in rounds (``--rounds``) so that the
load of other jobs on the machine falls on all of them alike.

The floor stays httpx as it comes (httpcore under it), so that the ratio shows what docstore's
client saves; the **lean floor** beside it is the same client over docstore's default transport
(``_remote/_lean.py``) against the same route, and "own (lean)" what docstore adds beyond that.
The last two columns are the CPU per call through the server: this process's (the client) and
the server process's (``/proc``, Linux only). Then an A/B in this process against the same
server: the client's calls as they are now (written straight to the lean transport,
``_remote/_raw_calls.py``) against the same client building httpx's ``Request`` and ``Response``
for each call, as before.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from docstore import ProblemSpec, Session, Store, Student, open_store
from docstore._remote import asgi_transport
from docstore._remote._lean import LeanTransport
from docstore.server import create_app

ADMIN_TOKEN = "bench-admin-token"
STUDENTS = 30


BARE_PATH = "/bare"


def serve_bare(port: int) -> None:
    """The floor's server: a bare Starlette route on `docstore serve`'s stack (this process)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from docstore._cli._serve import _use_uvloop
    from docstore._server import uvicorn_limits

    async def bare(request: Request) -> Response:
        await request.body()
        return Response(b'{"ok":true}', media_type="application/json")

    _use_uvloop()
    app = Starlette(routes=[Route(BARE_PATH, bare, methods=["POST"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, **uvicorn_limits())
    asyncio.run(uvicorn.Server(config).serve())


def bare_client() -> httpx.AsyncClient:
    """An httpx client set up as docstore's transport sets up its own (``_remote/_transport.py``)."""
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    return httpx.AsyncClient(
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        limits=limits,
        transport=httpx.AsyncHTTPTransport(limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]),
    )


def lean_client() -> httpx.AsyncClient:
    """The same client over docstore's default transport (``_remote/_lean.py``) instead of httpcore."""
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    fallback = httpx.AsyncHTTPTransport(limits=limits)
    return httpx.AsyncClient(
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        limits=limits,
        transport=LeanTransport(verify=True, limits=limits, fallback=fallback),
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def fresh_url(engine: str, folder: Path, name: str) -> str:
    return f"local://{folder / name}" if engine.startswith("local") else engine


def bench_folder(engine: str) -> Path:
    """Where the bench's ``local://`` stores go: under the folder ``--engine local://DIR`` names
    (``local:///dev/shm/x``: in memory, no fsync cost), else a fresh temporary folder."""
    parent = engine.removeprefix("local://") if engine.startswith("local://") else ""
    if parent:
        Path(parent).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="bench-remote-", dir=parent or None))


async def seed(store: Store) -> dict[str, Any]:
    """Sessions, a 30-student session with revisions, 500 problems; the ids the bench reads."""
    session_id = await store.sessions.create_session(
        Session(join_code="BENCH1", students={f"s{i}": Student(id=f"s{i}", name=f"S{i}") for i in range(STUDENTS)})
    )
    for round_ in range(3):
        for i in range(STUDENTS):
            await store.sessions.record_code(session_id, f"s{i}", f"print({round_})")
    for i in range(500):
        await store.problems.save_problem(
            ProblemSpec(title=f"P{i}", difficulty=("beginner", "advanced")[i % 2], tags=[f"t{i % 7}", "all"])
        )
    codes = [f"J{i:05d}" for i in range(400)]
    for code in codes:
        await store.sessions.create_session(Session(join_code=code))
    return {"session_id": session_id, "codes": codes}


async def timed(call: Callable[[], Awaitable[Any]], calls: int, warm_up: int = 20) -> list[float]:
    """Milliseconds of each of ``calls`` sequential calls (after ``warm_up`` calls)."""
    for _ in range(warm_up):
        await call()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def operations(store: Store, ids: dict[str, Any]) -> dict[str, Callable[[], Awaitable[Any]]]:
    session_id = ids["session_id"]
    return {
        "get by id": lambda: store.sessions.get_session(session_id),
        "create": lambda: store.sessions.create_session(Session()),
        "overview (30 students)": lambda: store.revisions.get_latest_revisions(session_id),
        "filtered page (20 of 500)": lambda: store.problems.list_problems(
            difficulty="beginner", tags=["t3", "all"], limit=20
        ),
    }


async def posts_per_second(open_client: Callable[[], Store], ids: dict[str, Any], seconds: float) -> float:
    """Student posts (record_code) per second, 30 clients posting as fast as they can."""
    clients = [open_client() for _ in range(STUDENTS)]
    for client in clients:
        await client.initialize()
    deadline = time.perf_counter() + seconds
    done = 0

    async def student(client: Store, number: int) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await client.sessions.record_code(ids["session_id"], f"s{number}", f"print({done})")
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(student(client, i) for i, client in enumerate(clients)))
    elapsed = time.perf_counter() - started
    for client in clients:
        await client.shutdown()
    return done / elapsed


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def compare(
    engine: str,
    calls: int,
    rounds: int,
    floors: tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]]],
    server_pid: int,
    *stores: tuple[Store, dict[str, Any]],
) -> None:
    """Per operation: p50 direct, through the server (socket), in process (ASGI), the floors; what
    each adds; then the CPU each side spent per call through the server."""
    print(
        f"engine {engine}, {calls} sequential calls each in {rounds} alternating rounds, ms; "
        "remote: `docstore serve` in its own process, loopback; floor: httpx (httpcore, as httpx comes) -> bare "
        "Starlette route, same stack; lean floor: the same httpx client over docstore's default transport "
        "(_remote/_lean.py); own share (lean) = added - lean floor"
    )
    header = (
        "direct", "remote", "remote p90", "added", "floor", "own share", "added/floor", "lean floor", "lean/floor",
        "own (lean)", "ASGI added", "client CPU", "server CPU",
    )  # fmt: skip
    print(f"{'p50 of':<27}" + "".join(f"{h:>12}" for h in header))
    (direct, direct_ids), (remote, remote_ids), (asgi, asgi_ids) = stores
    direct_ops, remote_ops = operations(direct, direct_ids), operations(remote, remote_ids)
    asgi_ops = operations(asgi, asgi_ids)
    floor, lean_floor = floors
    for name in direct_ops:
        samples: dict[str, list[float]] = {"floor": [], "lean": [], "direct": [], "remote": [], "asgi": []}
        each = max(1, calls // rounds)
        client_cpu = server_cpu = 0.0
        for _ in range(rounds):
            samples["floor"] += await timed(floor, each, warm_up=5)
            samples["lean"] += await timed(lean_floor, each, warm_up=5)
            samples["direct"] += await timed(direct_ops[name], each, warm_up=5)
            client_before, server_before = time.process_time(), process_cpu_s(server_pid)
            samples["remote"] += await timed(remote_ops[name], each, warm_up=0)
            client_cpu += time.process_time() - client_before
            server_cpu += process_cpu_s(server_pid) - server_before
            samples["asgi"] += await timed(asgi_ops[name], each, warm_up=5)
        f50, l50, d50, r50, a50 = (statistics.median(samples[k]) for k in ("floor", "lean", "direct", "remote", "asgi"))
        added = r50 - d50
        per_call = 1000 / (each * rounds)  # ms per call from seconds in all
        row = (
            d50, r50, p(samples["remote"], 90), added, f50, added - f50, added / f50, l50, l50 / f50, added - l50,
            a50 - d50, client_cpu * per_call, server_cpu * per_call,
        )  # fmt: skip
        print(f"{name:<27}" + "".join(f"{value:>12.3f}" for value in row))


async def raw_road_ab(remote_url: str, ids: dict[str, Any], calls: int, rounds: int) -> None:
    """The client's calls written straight to its lean transport (``_remote/_raw_calls.py``, now)
    against the same client building an ``httpx.Request`` and ``httpx.Response`` for each call (as
    before), the same server, interleaved: p50 and this process's CPU per call."""
    print("A/B, one process, same server: calls without httpx's Request/Response (now) against with them (before)")
    async with open_store(remote_url, token=ADMIN_TOKEN) as before, open_store(remote_url, token=ADMIN_TOKEN) as now:
        before._shared.open_backend()._transport._raw = None  # type: ignore[attr-defined]
        roads = {"before": operations(before, ids), "now": operations(now, ids)}
        for name in roads["now"]:
            if name == "create":
                continue  # each call adds a session: the memory engine slows as they pile up
            samples: dict[str, list[float]] = {"before": [], "now": []}
            cpu = {"before": 0.0, "now": 0.0}
            each = max(1, calls // rounds)
            for _ in range(rounds):
                for road, ops in roads.items():
                    await timed(ops[name], 5, warm_up=0)
                    started = time.process_time()
                    samples[road] += await timed(ops[name], each, warm_up=0)
                    cpu[road] += time.process_time() - started
            per_call = 1000 / (each * rounds)
            b50, n50 = statistics.median(samples["before"]), statistics.median(samples["now"])
            print(
                f"{name:<27} p50 before {b50:.3f} now {n50:.3f} ms; client CPU a call before "
                f"{cpu['before'] * per_call:.3f} now {cpu['now'] * per_call:.3f} ms"
            )


def p(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100)[int(q) - 1]


async def bench(engine: str, calls: int, seconds: float, rounds: int) -> None:
    folder = bench_folder(engine)
    port, bare_port = free_port(), free_port()
    bare_server = subprocess.Popen(
        [sys.executable, __file__, "--serve-bare", str(bare_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    env = {**os.environ, "DOCSTORE_ADMIN_TOKEN": ADMIN_TOKEN}
    server = subprocess.Popen(
        [sys.executable, "-m", "docstore", "serve", "--url", fresh_url(engine, folder, "served"), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    remote_url = f"http://127.0.0.1:{port}"
    bare_url = f"http://127.0.0.1:{bare_port}{BARE_PATH}"
    try:
        await wait_for(lambda: httpx.get(f"{remote_url}/v1/health"))
        await wait_for(lambda: httpx.post(bare_url, content=b"{}"))
        async with (
            open_store(fresh_url(engine, folder, "direct")) as direct,
            open_store(remote_url, token=ADMIN_TOKEN) as remote,
            open_store(fresh_url(engine, folder, "in-process")) as behind,
        ):
            # The same server app in this process, reached without a socket: what the layer
            # itself costs (HTTP framing, JSON, validation), apart from loopback and scheduling.
            direct_ids, remote_ids = await seed(direct), await seed(remote)
            floor_body = json.dumps({"session_id": remote_ids["session_id"]}).encode()
            floor_headers = {"Content-Type": "application/json"}
            transport = asgi_transport(create_app(behind, admin_token=ADMIN_TOKEN))
            async with (
                open_store("http://docstore.invalid", token=ADMIN_TOKEN, transport=transport) as asgi,
                bare_client() as floor_client,
                lean_client() as lean_floor_client,
            ):

                async def floor() -> None:
                    answer = await floor_client.post(bare_url, content=floor_body, headers=floor_headers)
                    answer.raise_for_status()

                async def lean_floor() -> None:
                    answer = await lean_floor_client.post(bare_url, content=floor_body, headers=floor_headers)
                    answer.raise_for_status()

                stores = (direct, direct_ids), (remote, remote_ids), (asgi, await seed(asgi))
                await compare(engine, calls, rounds, (floor, lean_floor), server.pid, *stores)

            await raw_road_ab(remote_url, remote_ids, calls, rounds)
            direct_rate = await posts_per_second(lambda: direct, direct_ids, seconds)
            remote_rate = await posts_per_second(lambda: open_store(remote_url, token=ADMIN_TOKEN), remote_ids, seconds)
            print(
                f"student posts/s, {STUDENTS} concurrent clients (record_code): direct {direct_rate:,.0f}, "
                f"through the server {remote_rate:,.0f} (ratio {remote_rate / direct_rate:.2f})"
            )

        async with open_store(remote_url, token=ADMIN_TOKEN, cache_ttl_s=60, cache_max_entries=100_000) as cached:
            codes = iter(remote_ids["codes"])
            missed = await timed(lambda: cached.sessions.get_session_by_join_code(next(codes)), min(calls, 350))
            hit = await timed(lambda: cached.sessions.get_session_by_join_code("J00001"), calls)
            stats = (await cached.health()).details["cache"]
            miss50, hit50 = statistics.median(missed), statistics.median(hit)
            print(
                f"join-code lookup through the server, read cache on: missed p50 {miss50:.3f} ms, "
                f"hit p50 {hit50:.3f} ms (ratio {miss50 / hit50:.0f}); cache {stats}"
            )
    finally:
        for process in (server, bare_server):
            process.terminate()
            process.wait(30)


async def wait_for(probe: Callable[[], httpx.Response]) -> None:
    """Until ``probe`` gets an answer (a server process starting)."""
    for _ in range(400):
        try:
            probe()
            return
        except httpx.TransportError:
            await asyncio.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--engine", default="memory://", help="memory://, local (a fresh temporary folder) or local://DIR (under DIR)"
    )
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the posts/s runs")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per operation")
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve_bare is not None:
        serve_bare(arguments.serve_bare)
        return
    asyncio.run(bench(arguments.engine, arguments.calls, arguments.seconds, arguments.rounds))


if __name__ == "__main__":
    main()
