"""The public surface is exactly what docstore/__init__.py exports, and it is all importable."""

from __future__ import annotations

import importlib
import typing

import docstore


def test_every_exported_name_exists_and_comes_from_a_private_module() -> None:
    for name in docstore.__all__:
        member = getattr(docstore, name)
        if typing.get_origin(member) is typing.Literal:
            continue  # a Literal alias (Difficulty, SortOrder, ...) has no module of its own
        if isinstance(member, dict):
            # A table (HTTP_STATUS) has no module of its own: it is the private module's object.
            source = importlib.import_module(docstore._EXPORTS[name], "docstore")
            assert source.__name__.startswith("docstore._") and getattr(source, name) is member, name
            continue
        module = getattr(member, "__module__", "")
        assert module.startswith("docstore._"), (name, module)


def test_the_names_the_issues_promise_are_exported() -> None:
    promised = {
        "open_store",
        "Store",
        "StorageConfig",
        "PersistenceError",
        "ErrorCode",
        "Page",
        "Session",
        "Student",
        "ProblemSpec",
        "CodeRevision",
        "ExecutionResult",
        "StorageMetadata",
        "import_legacy",
    }
    assert promised <= set(docstore.__all__)
