"""docstore: sessions, problems and code revisions of a live-coding classroom, on MongoDB.

    async with open_store("memory://") as store:
        session_id = await store.sessions.create_session(Session(join_code="ab12cd"))

The public surface is exactly what this module exports.
"""

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

__version__ = "0.1.0"
