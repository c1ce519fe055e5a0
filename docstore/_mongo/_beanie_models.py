"""Beanie 2 document models: the collections, bound to one store's database.

Why the documents carry no fields: repositories read and write the collections
through PyMongo directly (atomic ``$set`` of one student, compare-and-set on the
version, one aggregation for the instructor overview) and validate once, into
the domain types of ``_models.py``. Beanie binds the collections; the indexes are
not Beanie's: ``init_beanie`` re-sends every index at each start, and a changed
index under an old name then fails every start. ``_indexes.py`` declares them and
plans their upgrades instead.

Beanie binds a document class to one database for the whole process, so each
store gets its own freshly made classes (``document_models()``): two stores in
one process (an export from ``local://`` into ``mongodb://``) never share one.
"""

from __future__ import annotations

from dataclasses import dataclass

from beanie import Document
from pydantic import ConfigDict

from ._indexes import ACTIVE_JOIN_CODE, PROBLEMS, REVISIONS, SESSION_STUDENTS, SESSIONS

__all__ = [
    "ACTIVE_JOIN_CODE",
    "PROBLEMS",
    "REVISIONS",
    "SESSIONS",
    "SESSION_STUDENTS",
    "DocumentModels",
    "document_models",
]


@dataclass(frozen=True)
class DocumentModels:
    sessions: type[Document]
    session_students: type[Document]  # one per (session, student): ``docstore._students``
    problems: type[Document]
    revisions: type[Document]

    def all(self) -> list[type[Document]]:
        return [self.sessions, self.session_students, self.problems, self.revisions]


def _document(collection: str) -> type[Document]:
    class StoredDocument(Document):
        id: str  # type: ignore[assignment]  # docstore ids are strings, not ObjectIds
        model_config = ConfigDict(extra="allow")

        class Settings:
            name = collection

    StoredDocument.__name__ = StoredDocument.__qualname__ = f"{collection.title().replace('_', '')}Document"
    return StoredDocument


def document_models() -> DocumentModels:
    """Fresh Beanie document classes, to be bound to one store's database."""
    return DocumentModels(
        sessions=_document(SESSIONS),
        session_students=_document(SESSION_STUDENTS),
        problems=_document(PROBLEMS),
        revisions=_document(REVISIONS),
    )
