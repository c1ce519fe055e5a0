"""mongomock only where it must be: the memory engine is its own package, loaded for memory:// only.

Two views of one promise. At run time, a fresh interpreter that builds, opens (lazily,
no server) and asks the health of a ``mongodb://`` store has loaded neither mongomock
nor any module of ``docstore._memory``. In the source, every import of mongomock,
mongomock-motor or ``docstore._memory`` sits in ``docstore/_memory/`` or in one of the
few functions that choose it (``ALLOWED``): a new import elsewhere fails here.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "docstore"
MEMORY = PACKAGE / "_memory"

# (module, function) outside docstore/_memory/ allowed to import the memory engine or mongomock.
ALLOWED = {
    ("docstore._mongo._engines", "make_engine"),  # memory:// asked for: the engine is loaded here
    ("docstore._sqlite._upgrade", "_old_documents"),  # converting a pre-SQLite local:// store (plain mongomock)
}
MOCK_TOP_LEVEL = {"mongomock", "mongomock_motor"}


def _loaded_after(script: str) -> list[str]:
    code = textwrap.dedent(script) + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def _is_memory(name: str) -> bool:
    """mongomock, mongomock-motor or the memory engine's package (not ``docstore._memory_feed``)."""
    return name.split(".")[0] in MOCK_TOP_LEVEL or name == "docstore._memory" or name.startswith("docstore._memory.")


def _memory_modules(loaded: list[str]) -> list[str]:
    return [name for name in loaded if _is_memory(name)]


def test_a_mongodb_store_loads_no_mock_database() -> None:
    loaded = _loaded_after(
        """
        import asyncio
        from docstore import StorageConfig, open_store

        async def main():
            config = StorageConfig(url="mongodb://127.0.0.1:1/x", server_selection_timeout_ms=100, lazy_connect=True)
            store = open_store(config)
            await store.initialize()  # unreachable: the store is connecting, in the background
            await store.health()
            await store.shutdown()

        asyncio.run(main())
        """
    )
    assert "docstore._mongo._engines" in loaded and "beanie" in loaded  # the dialect was loaded
    assert not _memory_modules(loaded), _memory_modules(loaded)


def test_the_mongodb_dialect_modules_load_no_mock_database() -> None:
    # Every module of the dialect imported at once: none reaches for the memory engine.
    modules = sorted(f"docstore._mongo.{path.stem}" for path in (PACKAGE / "_mongo").glob("*.py"))
    loaded = _loaded_after("import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules))
    assert set(modules) <= set(loaded)
    assert not _memory_modules(loaded), _memory_modules(loaded)


def test_a_memory_store_loads_the_memory_engine() -> None:
    loaded = _loaded_after(
        """
        import asyncio
        from docstore import open_store

        async def main():
            async with open_store("memory://") as store:
                await store.health()

        asyncio.run(main())
        """
    )
    assert {"mongomock", "docstore._memory._mongomock_adapter", "docstore._memory._engine"} <= set(loaded)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_names(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The absolute module names an import statement reaches for."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    # `from . import _memory` names the module in the alias.
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def _memory_imports() -> list[tuple[str, str, str]]:
    """(module, enclosing function or '<module>', imported name) of each mock-database import outside _memory/."""
    found: list[tuple[str, str, str]] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if MEMORY in path.parents:
            continue
        module = _module_name(path)
        tree = ast.parse(path.read_text(), str(path))
        scopes: list[tuple[ast.AST, str]] = [(tree, "<module>")]
        while scopes:
            node, scope = scopes.pop()
            for child in ast.iter_child_nodes(node):
                inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else scope
                if isinstance(child, ast.Import | ast.ImportFrom):
                    for name in _imported_names(child, module, path.name == "__init__.py"):
                        if _is_memory(name):
                            found.append((module, inner, name))
                scopes.append((child, inner))
    return found


def test_the_mock_database_is_imported_only_where_it_must_be() -> None:
    outside = [(module, scope, name) for module, scope, name in _memory_imports() if (module, scope) not in ALLOWED]
    assert not outside, f"mongomock or docstore._memory imported outside docstore/_memory/: {outside}"
    assert MEMORY.is_dir()
    # What the memory engine carries lives in its package, not in the dialect's.
    assert not list((PACKAGE / "_mongo").glob("*mongomock*"))
