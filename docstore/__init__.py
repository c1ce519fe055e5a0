"""docstore: sessions, problems and code revisions of a live-coding classroom, on MongoDB.

    async with open_store("memory://") as store:
        session_id = await store.sessions.create_session(Session(join_code="ab12cd"))

The public surface is exactly what this module exports.
"""

from __future__ import annotations

import importlib

# Not `typing.TYPE_CHECKING`: importing typing (and re, collections) would be most of what
# `import docstore` costs. Type checkers treat any constant of this name the same way.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._backup import InvalidBackup, export_store, restore_store
    from ._changes import ChangeKind, SessionChange, SessionFeed
    from ._config import StorageConfig
    from ._errors import HTTP_STATUS, ErrorCode, PersistenceError
    from ._interfaces import (
        BatchResult,
        CollectionStats,
        DocumentStore,
        ProblemRepository,
        ProblemSortKey,
        Repositories,
        RevisionRepository,
        Scope,
        SessionDeletion,
        SessionRepository,
        SessionSortKey,
        SortOrder,
        StorageBackend,
        TagMatch,
    )
    from ._legacy import ImportReport, import_legacy
    from ._models import CodeRevision, Difficulty, ExecutionResult, ProblemSpec, Session, StorageMetadata, Student
    from ._page import Page
    from ._store import HealthReport, Store, StoreSettings, open_store
    from ._views import InstructorView, ProblemForInstructor, ProblemForStudent, StudentRecordView, StudentView

# Each public name and the module that defines it. Imported on first use (PEP 562), so
# `import docstore` loads no engine, no pydantic model and no importer it does not need:
# a local:// app pays only for what it touches, and `docstore.<name>` still just works.
_EXPORTS: dict[str, str] = {
    "BatchResult": "._interfaces",
    "ChangeKind": "._changes",
    "CodeRevision": "._models",
    "CollectionStats": "._interfaces",
    "Difficulty": "._models",
    "DocumentStore": "._interfaces",
    "ErrorCode": "._errors",
    "ExecutionResult": "._models",
    "HTTP_STATUS": "._errors",
    "HealthReport": "._store",
    "ImportReport": "._legacy",
    "InstructorView": "._views",
    "InvalidBackup": "._backup",
    "Page": "._page",
    "PersistenceError": "._errors",
    "ProblemForInstructor": "._views",
    "ProblemForStudent": "._views",
    "ProblemRepository": "._interfaces",
    "ProblemSortKey": "._interfaces",
    "ProblemSpec": "._models",
    "Repositories": "._interfaces",
    "RevisionRepository": "._interfaces",
    "Scope": "._interfaces",
    "Session": "._models",
    "SessionChange": "._changes",
    "SessionDeletion": "._interfaces",
    "SessionFeed": "._changes",
    "SessionRepository": "._interfaces",
    "SessionSortKey": "._interfaces",
    "SortOrder": "._interfaces",
    "StorageBackend": "._interfaces",
    "StorageConfig": "._config",
    "StorageMetadata": "._models",
    "Store": "._store",
    "StoreSettings": "._store",
    "Student": "._models",
    "StudentRecordView": "._views",
    "StudentView": "._views",
    "TagMatch": "._interfaces",
    "export_store": "._backup",
    "import_legacy": "._legacy",
    "open_store": "._store",
    "restore_store": "._backup",
}

__all__ = [
    "HTTP_STATUS",
    "BatchResult",
    "ChangeKind",
    "CodeRevision",
    "CollectionStats",
    "Difficulty",
    "DocumentStore",
    "ErrorCode",
    "ExecutionResult",
    "HealthReport",
    "ImportReport",
    "InstructorView",
    "InvalidBackup",
    "Page",
    "PersistenceError",
    "ProblemForInstructor",
    "ProblemForStudent",
    "ProblemRepository",
    "ProblemSortKey",
    "ProblemSpec",
    "Repositories",
    "RevisionRepository",
    "Scope",
    "Session",
    "SessionChange",
    "SessionDeletion",
    "SessionFeed",
    "SessionRepository",
    "SessionSortKey",
    "SortOrder",
    "StorageBackend",
    "StorageConfig",
    "StorageMetadata",
    "Store",
    "StoreSettings",
    "Student",
    "StudentRecordView",
    "StudentView",
    "TagMatch",
    "export_store",
    "import_legacy",
    "open_store",
    "restore_store",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'docstore' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


__version__ = "0.1.0"
