"""docstore: sessions, problems and code revisions of a live-coding classroom, on MongoDB.

    async with open_store("memory://") as store:
        session_id = await store.sessions.create_session(Session(join_code="ab12cd"))

The public surface is exactly what this module exports.
"""

from ._backup import export_store, restore_store
from ._config import StorageConfig
from ._errors import ErrorCode, PersistenceError
from ._legacy import ImportReport, import_legacy
from ._models import CodeRevision, ExecutionResult, ProblemSpec, Session, StorageMetadata, Student
from ._page import Page
from ._problems import ProblemRepository
from ._revisions import RevisionRepository
from ._sessions import SessionDeletion, SessionRepository
from ._store import CollectionStats, HealthReport, Store, open_store

__all__ = [
    "CodeRevision",
    "CollectionStats",
    "ErrorCode",
    "ExecutionResult",
    "HealthReport",
    "ImportReport",
    "Page",
    "PersistenceError",
    "ProblemRepository",
    "ProblemSpec",
    "RevisionRepository",
    "Session",
    "SessionDeletion",
    "SessionRepository",
    "StorageConfig",
    "StorageMetadata",
    "Store",
    "Student",
    "export_store",
    "import_legacy",
    "open_store",
    "restore_store",
]

__version__ = "0.1.0"
