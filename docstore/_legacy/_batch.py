"""Documents waiting to be written to one collection by the importer, with where each came from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._students import SESSION_STUDENTS

if TYPE_CHECKING:
    from ._importer import _Importer as Importer

__all__ = ["STUDENTS", "Batch"]

STUDENTS = "students"  # the report's kind of the session_students records


class Batch:
    """Documents waiting to be written to one collection, with where each came from."""

    def __init__(self, importer: Importer, collection: str, kind: str, size: int) -> None:
        self.importer = importer
        self.collection = collection
        self.kind = kind
        self.size = size
        self.documents: list[dict[str, Any]] = []
        self.origins: list[tuple[str, str, Any]] = []  # (file, json path, raw record)
        # A session's student records, written once the session is (position by position).
        self.students: list[list[dict[str, Any]]] = []

    async def add(
        self, document: dict[str, Any], origin: tuple[str, str, Any], students: list[dict[str, Any]] | None = None
    ) -> None:
        self.documents.append(document)
        self.origins.append(origin)
        self.students.append(students or [])
        if len(self.documents) >= self.size:
            await self.flush()

    async def flush(self) -> None:
        if not self.documents:
            return
        documents = self.importer.store.documents
        result = await documents.upsert_documents(self.collection, self.documents, dry_run=self.importer.dry_run)
        counts = self.importer.report.kind(self.kind)
        counts.imported += result.inserted
        counts.updated += result.updated
        counts.unchanged += result.unchanged
        failed = set()
        for position, why in result.failed:
            failed.add(position)
            file, path, record = self.origins[position]
            self.importer.reject(self.kind, file, path, f"refused by the database: {why}", record)
        await self._flush_students(failed)
        self.documents, self.origins, self.students = [], [], []

    async def _flush_students(self, failed: set[int]) -> None:
        """The student records of the sessions just written (none of a session the database refused)."""
        records: list[dict[str, Any]] = []
        origins: list[tuple[str, str, Any]] = []
        for position, students in enumerate(self.students):
            if position not in failed:
                records += students
                file, path, _ = self.origins[position]
                origins += [(file, f"{path}.students", None)] * len(students)
        if not records:
            return
        counts = self.importer.report.kind(STUDENTS)
        counts.read += len(records)
        documents = self.importer.store.documents
        result = await documents.upsert_documents(SESSION_STUDENTS, records, dry_run=self.importer.dry_run)
        counts.imported += result.inserted
        counts.updated += result.updated
        counts.unchanged += result.unchanged
        for position, why in result.failed:
            file, path, _ = origins[position]
            self.importer.reject(STUDENTS, file, path, f"refused by the database: {why}", records[position])
