"""The code's own house rules, checked so a change cannot quietly break them.

- No module over 400 lines (the developers' guide: small modules, each one idea).
- Every private module of the package says what it exports (``__all__``), as encode/httpx
  does: the public surface is what ``docstore/__init__.py`` re-exports from them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 400
PACKAGE = sorted((ROOT / "docstore").rglob("*.py"))
CHECKED = PACKAGE + sorted((ROOT / "scripts").glob("*.py"))


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", CHECKED, ids=_name)
def test_no_module_is_over_400_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{_name(path)} has {lines} lines: split it by idea"


@pytest.mark.parametrize(
    "path",
    [p for p in PACKAGE if p.name.startswith("_") and p.name not in ("__init__.py", "__main__.py")],
    ids=_name,
)
def test_every_private_module_declares_its_exports(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    declared = [
        node
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        and any(isinstance(target, ast.Name) and target.id == "__all__" for target in _targets(node))
    ]
    assert declared, f"{_name(path)} has no __all__"


def _targets(node: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return list(node.targets) if isinstance(node, ast.Assign) else [node.target]
