"""Documents waiting to be written to one collection by the importer, with where each came from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._students import SESSION_STUDENTS
from ._reader import json_path

if TYPE_CHECKING:
    from ._importer import _Importer as Importer

__all__ = ["STUDENTS", "Batch", "Origin"]

STUDENTS = "students"  # the report's kind of the session_students records
# Where a document came from: (file, the parts of its JSON path, raw record). The path is
# spelt out (``json_path``) only for a reject: formatting one per record cost ~5% of an import.
Origin = tuple[str, tuple[str | int, ...], Any]


class Batch:
    """Documents waiting to be written to one collection, with where each came from."""

    def __init__(self, importer: Importer, collection: str, kind: str, size: int) -> None:
        self.importer = importer
        self.collection = collection
        self.kind = kind
        self.size = size
        self.documents: list[dict[str, Any]] = []
        self.origins: list[Origin] = []
        # A session's student records, written once the session is (position by position).
        self.students: list[list[dict[str, Any]]] = []

    async def add(self, document: dict[str, Any], origin: Origin, students: list[dict[str, Any]] | None = None) -> None:
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
            file, parts, record = self.origins[position]
            self.importer.reject(self.kind, file, json_path(*parts), f"refused by the database: {why}", record)
        await self._flush_students(failed)
        self.documents, self.origins, self.students = [], [], []

    async def _flush_students(self, failed: set[int]) -> None:
        """The student records of the sessions just written (none of a session the database refused)."""
        records: list[dict[str, Any]] = []
        origins: list[tuple[str, str, Any]] = []
        for position, students in enumerate(self.students):
            if students and position not in failed:
                records += students
                file, parts, _ = self.origins[position]
                origins += [(file, f"{json_path(*parts)}.students", None)] * len(students)
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
