"""Install what you use: the bare package serves local://, every other part names its extra.

The test environment has every extra installed, so a missing one is simulated in a fresh
interpreter whose import system refuses the extra's packages (as if never installed).
CI also installs the bare package in a fresh virtualenv and runs local:// with it (.ci/run).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pymongo", "beanie", "mongomock", "mongomock_motor", "fastapi", "starlette", "uvicorn", "httpx")

# Prepended to each script: the named top-level packages cannot be imported.
BLOCKER = """
import importlib.abc, sys
BLOCKED = set({blocked!r})
class _Uninstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, _Uninstalled())
"""


def run(script: str, *, blocked: tuple[str, ...] = (), cwd: Path | None = None) -> str:
    code = BLOCKER.format(blocked=list(blocked)) + textwrap.dedent(script)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=cwd or ROOT, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_import_docstore_loads_no_engine_and_no_model() -> None:
    out = run("""
        import sys, docstore
        print(sorted({m.split(".")[0] for m in sys.modules}))
        """)
    loaded = set(json.loads(out.replace("'", '"')))
    assert not loaded & {*HEAVY, "pydantic", "bson", "sqlite3"}, loaded
    assert not any(name.startswith("docstore._") for name in loaded)


def test_every_public_name_is_reachable_lazily() -> None:
    out = run("""
        import docstore
        names = docstore.__all__
        values = [getattr(docstore, name) for name in names]
        assert all(value is not None for value in values)
        assert set(names) <= set(dir(docstore))
        from docstore import HTTP_STATUS, ErrorCode
        print(HTTP_STATUS[ErrorCode.NOT_FOUND], len(names))
        try:
            docstore.nothing_of_that_name
        except AttributeError as error:
            print("AttributeError", error)
        """)
    assert out.startswith("404 ") and "AttributeError" in out


def test_a_local_store_and_the_cli_need_no_extra(tmp_path: Path) -> None:
    out = run(
        f"""
        import asyncio, sys
        from docstore import Session, open_store
        async def main():
            async with open_store("local://{tmp_path / "store"}") as store:
                await store.sessions.create_session(Session(join_code="ab12cd"))
                print((await store.stats())["sessions"].documents)
        asyncio.run(main())
        from docstore._cli import main
        try:
            main(["stats", "--url", "local://{tmp_path / "store"}"])
        except SystemExit as exit:
            print("exit", exit.code)
        print(sorted(set({HEAVY!r}) & {{m.split(".")[0] for m in sys.modules}}))
        """,
        blocked=HEAVY,
    )
    lines = out.splitlines()
    assert lines[0] == "1" and "exit 0" in lines and lines[-1] == "[]", out


@pytest.mark.parametrize(
    ("url", "blocked", "extra"),
    [
        ("memory://", ("mongomock", "mongomock_motor"), "memory"),
        ("memory://", ("beanie",), "memory"),
        ("mongodb://127.0.0.1:1/", ("beanie",), "mongodb"),
        ("http://127.0.0.1:1", ("httpx",), "remote"),
    ],
)
def test_a_url_whose_extra_is_missing_names_the_extra(url: str, blocked: tuple[str, ...], extra: str) -> None:
    out = run(
        f"""
        import asyncio
        from docstore import PersistenceError, open_store
        async def main():
            try:
                await open_store({url!r}).initialize()
            except PersistenceError as error:
                print(error.code.value, error.message)
        asyncio.run(main())
        """,
        blocked=blocked,
    )
    assert out.startswith("STORAGE_ERROR ") and f"pip install 'docstore[{extra}]'" in out, out


def test_mongodb_needs_no_mock_database() -> None:
    # The mongodb extra alone: building the backend must not reach for mongomock.
    out = run(
        """
        from docstore._store import make_backend
        from docstore import StorageConfig
        print(make_backend(StorageConfig(url="mongodb://127.0.0.1:1/")).name)
        """,
        blocked=("mongomock", "mongomock_motor"),
    )
    assert out.strip() == "mongodb"


def test_the_web_parts_name_the_server_extra() -> None:
    out = run(
        """
        for module in ("docstore.fastapi", "docstore.server"):
            try:
                __import__(module)
            except ImportError as error:
                print(module, error)
        """,
        blocked=("fastapi", "starlette"),
    )
    assert out.count("pip install 'docstore[server]'") == 2, out


def test_the_package_metadata_keeps_the_heavy_stacks_in_extras() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"])
    for package in ("beanie", "mongomock", "fastapi", "uvicorn", "httpx"):
        assert package not in base
    extras = project["optional-dependencies"]
    assert {"mongodb", "memory", "server", "remote"} <= set(extras)
    assert "docstore[all]" in extras["dev"]  # README's first command still installs everything
    # The image imports into MongoDB and serves: it installs those two extras.
    assert '"./[mongodb,server]"' in (ROOT / "Dockerfile").read_text()
