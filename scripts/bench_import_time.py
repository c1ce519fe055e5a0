"""What ``import docstore`` costs a fresh process, against ``python -c pass`` in the same run.

    python scripts/bench_import_time.py [--rounds 15]

Each statement runs in a new interpreter ``--rounds`` times, interleaved with the
baseline (``pass``) so that both see the same machine load; the figure is the median
wall time minus the baseline's median, and the ratio total / baseline. Besides the bare
``import docstore`` (the target: <= 0.1 s), it shows what a ``local://`` app pays when it
takes the names it uses, and which heavy packages each statement loaded (none of the
MongoDB, mock, server or client stacks for a local store). Beside them **the floor** of
an open-and-read: the same process with nothing but the standard library (``asyncio``,
``sqlite3``, ``json``: open a database, read a row, decode it), and the ratio of the
``local://`` open and read to it (both the store's stats and, as issue 18's new-process
row, one revision by id: no pydantic validator is built on that path, so pydantic's plugin
discovery through ``importlib.metadata`` is never loaded; the last column says whether it
was). ``python -X importtime -c "import docstore"`` gives the per-module breakdown.
``DOCSTORE_*`` variables naming a setting make a store read
the environment through pydantic-settings (about 20 ms more): run without them.

docstore's modules are compiled to bytecode first (``compileall``, as ``pip install``
does for a wheel): with ``PYTHONDONTWRITEBYTECODE`` set (this project's machine) an
editable install would otherwise compile every module from source in every process.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import statistics
import subprocess
import sys
import tempfile
import time

BASELINE = "pass"
STATEMENTS = {
    "import docstore": "import docstore",
    "from docstore import open_store, Session": "from docstore import open_store, Session",
    "local:// open + stats": (
        "import asyncio, tempfile\n"
        "from docstore import open_store\n"
        "async def main():\n"
        "    async with open_store('local://' + tempfile.mkdtemp()) as store:\n"
        "        await store.stats()\n"
        "asyncio.run(main())"
    ),
}
# Filled in by ``main`` with a store of one revision (``_one_revision_store``).
READ_ONE = "local:// open + read one revision"
STATEMENTS[READ_ONE] = (
    "import asyncio\n"
    "from docstore import open_store\n"
    "async def main():\n"
    "    async with open_store('local://' + {folder!r}) as store:\n"
    "        assert (await store.revisions.get_revision({revision_id!r})) is not None\n"
    "asyncio.run(main())"
)
# What an open-and-read costs with the standard library alone (the floor of the rows above).
FLOOR = "floor: asyncio + sqlite3 + json open + read"
STATEMENTS[FLOOR] = (
    "import asyncio, json, sqlite3, tempfile\n"
    "def read(path):\n"
    "    connection = sqlite3.connect(path)\n"
    "    connection.execute('CREATE TABLE IF NOT EXISTS t (doc TEXT)')\n"
    "    connection.execute('INSERT INTO t VALUES (?)', (json.dumps({'a': 1}),))\n"
    "    return [json.loads(doc) for (doc,) in connection.execute('SELECT doc FROM t LIMIT 1')]\n"
    "async def main():\n"
    "    await asyncio.to_thread(read, tempfile.mkdtemp() + '/floor.db')\n"
    "asyncio.run(main())"
)
HEAVY = ("pydantic", "pydantic_settings", "bson", "pymongo", "beanie", "mongomock", "fastapi", "uvicorn", "httpx")
# Not a package of its own: loaded when a first pydantic validator is built (plugin discovery).
BUILD_ONLY = "importlib.metadata"
TARGET_S = 0.1


def _run(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - started


def _loaded(code: str) -> list[str]:
    probe = code + "\nimport sys\nprint(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    probe += "\nprint('importlib.metadata' if 'importlib.metadata' in sys.modules else '')"
    names = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout.split()
    return [name for name in (*HEAVY, BUILD_ONLY) if name in names]


def _one_revision_store() -> tuple[str, str]:
    """A ``local://`` folder holding one revision, and its id."""
    from docstore import CodeRevision, open_store

    folder = tempfile.mkdtemp(prefix="import-time-")

    async def build() -> str:
        async with open_store(f"local://{folder}") as store:
            return await store.revisions.save_revision(CodeRevision(session_id="s", student_id="a", code="x"))

    return folder, asyncio.run(build())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--no-compile", action="store_true", help="do not compile docstore's modules first")
    args = parser.parse_args()
    if not args.no_compile:
        import docstore

        compileall.compile_dir(docstore.__path__[0], quiet=1)
    folder, revision_id = _one_revision_store()
    STATEMENTS[READ_ONE] = STATEMENTS[READ_ONE].format(folder=folder, revision_id=revision_id)
    times: dict[str, list[float]] = {BASELINE: [], **{name: [] for name in STATEMENTS}}
    for _ in range(args.rounds):
        times[BASELINE].append(_run(BASELINE))
        for name, code in STATEMENTS.items():
            times[name].append(_run(code))
    base = statistics.median(times[BASELINE])
    print(f"python -c pass: {base * 1000:.1f} ms (median of {args.rounds})")
    print(f"{'statement':<42} {'median':>9} {'added':>9} {'ratio':>7}  heavy packages loaded")
    for name, code in STATEMENTS.items():
        median = statistics.median(times[name])
        print(
            f"{name:<42} {median * 1000:7.1f}ms {(median - base) * 1000:7.1f}ms {median / base:6.2f}x  "
            f"{', '.join(_loaded(code)) or '-'}"
        )
    floor = statistics.median(times[FLOOR])
    local = statistics.median(times["local:// open + stats"])
    print(f"local:// open + stats against the floor: {local / floor:.2f}x ({(local - floor) * 1000:.1f} ms more)")
    one = statistics.median(times[READ_ONE])
    print(f"local:// open + read one revision against the floor: {one / floor:.2f}x "
          f"({(one - floor) * 1000:.1f} ms more)")
    added = statistics.median(times["import docstore"]) - base
    verdict = "met" if added <= TARGET_S else "NOT met"
    print(f"import docstore adds {added * 1000:.1f} ms to a fresh process: target <= {TARGET_S * 1000:.0f} ms", verdict)


if __name__ == "__main__":
    main()
