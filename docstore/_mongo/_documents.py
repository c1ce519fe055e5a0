"""Beanie 2 document models: collection names and the indexes for every query shape.

Why the documents carry no fields: repositories read and write the collections
through PyMongo directly (atomic ``$set`` of one student, compare-and-set on the
version, one aggregation for the instructor overview) and validate once, into
the domain types of ``_models.py``. Beanie owns what it does well here: binding
the collections and creating the indexes on ``init_beanie``.

Beanie binds a document class to one database for the whole process, so each
store gets its own freshly made classes (``document_models()``): two stores in
one process (an export from ``local://`` into ``mongodb://``) never share one.
"""

from __future__ import annotations

from dataclasses import dataclass

from beanie import Document
from pydantic import ConfigDict
from pymongo import ASCENDING, DESCENDING, TEXT, IndexModel

__all__ = ["ACTIVE_JOIN_CODE", "PROBLEMS", "REVISIONS", "SESSIONS", "DocumentModels", "document_models"]

SESSIONS = "sessions"
PROBLEMS = "problems"
REVISIONS = "revisions"

# The join code of an *active* session, absent otherwise: a sparse unique index on
# it makes "one active session per join code" a guarantee of the database itself,
# on every engine (mongomock ignores partial indexes, it does honour sparse ones).
ACTIVE_JOIN_CODE = "active_join_code"

SESSION_INDEXES = [
    IndexModel([(ACTIVE_JOIN_CODE, ASCENDING)], name="active_join_code_unique", unique=True, sparse=True),
    IndexModel(
        [("namespace_id", ASCENDING), ("active", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
        name="ns_active_created",
    ),
    IndexModel(
        [("namespace_id", ASCENDING), ("active", ASCENDING), ("last_activity", DESCENDING)],
        name="ns_active_last_activity",
    ),
    IndexModel(
        [("namespace_id", ASCENDING), ("instructor_id", ASCENDING), ("created_at", DESCENDING)],
        name="ns_instructor_created",
    ),
    IndexModel([("created_at", DESCENDING), ("_id", DESCENDING)], name="created"),
    IndexModel([("last_activity", DESCENDING), ("_id", DESCENDING)], name="last_activity"),
    IndexModel([("join_code", ASCENDING), ("_id", ASCENDING)], name="join_code"),
]

PROBLEM_INDEXES = [
    IndexModel([("namespace_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)], name="ns_created"),
    IndexModel([("namespace_id", ASCENDING), ("title", ASCENDING), ("_id", ASCENDING)], name="ns_title"),
    IndexModel([("namespace_id", ASCENDING), ("tags", ASCENDING)], name="ns_tags"),
    IndexModel(
        [("namespace_id", ASCENDING), ("difficulty", ASCENDING), ("created_at", DESCENDING)],
        name="ns_difficulty_created",
    ),
    IndexModel([("namespace_id", ASCENDING), ("created_by", ASCENDING)], name="ns_created_by"),
    IndexModel([("created_at", DESCENDING), ("_id", DESCENDING)], name="created"),
    IndexModel([("title", ASCENDING), ("_id", ASCENDING)], name="title"),
    IndexModel([("tags", ASCENDING)], name="tags"),
    IndexModel([("difficulty", ASCENDING), ("created_at", DESCENDING)], name="difficulty_created"),
    IndexModel([("created_by", ASCENDING)], name="created_by"),
    # "none": no stemming and no stop words, so $text matches exactly the words that
    # the embedded engines match with a word regex (same results everywhere).
    IndexModel(
        [("title", TEXT), ("description", TEXT)],
        name="text_title_description",
        default_language="none",
        weights={"title": 10, "description": 1},
    ),
]

REVISION_INDEXES = [
    IndexModel(
        [("session_id", ASCENDING), ("student_id", ASCENDING), ("timestamp", ASCENDING), ("_id", ASCENDING)],
        name="session_student_timestamp",
    ),
    IndexModel([("namespace_id", ASCENDING), ("session_id", ASCENDING)], name="ns_session"),
]


@dataclass(frozen=True)
class DocumentModels:
    sessions: type[Document]
    problems: type[Document]
    revisions: type[Document]

    def all(self) -> list[type[Document]]:
        return [self.sessions, self.problems, self.revisions]


def _document(collection: str, collection_indexes: list[IndexModel]) -> type[Document]:
    class StoredDocument(Document):
        id: str  # type: ignore[assignment]  # docstore ids are strings, not ObjectIds
        model_config = ConfigDict(extra="allow")

        class Settings:
            name = collection
            indexes = collection_indexes

    StoredDocument.__name__ = StoredDocument.__qualname__ = f"{collection.title()}Document"
    return StoredDocument


def document_models() -> DocumentModels:
    """Fresh Beanie document classes, to be bound to one store's database."""
    return DocumentModels(
        sessions=_document(SESSIONS, SESSION_INDEXES),
        problems=_document(PROBLEMS, PROBLEM_INDEXES),
        revisions=_document(REVISIONS, REVISION_INDEXES),
    )
