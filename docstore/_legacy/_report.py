"""What an import did: counts per kind, what happened to each file, and the rejects file."""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from .._safe_files import new_temporary, refuse_symlink

__all__ = ["FileOutcome", "ImportReport", "KindCounts", "RejectSink"]


@dataclass
class KindCounts:
    """What happened to the records of one kind (sessions, problems, revisions, users, ...)."""

    read: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    orphans: int = 0  # revisions whose student or session is gone (imported all the same)


@dataclass
class FileOutcome:
    """What happened to one file: its kind, the format it was read as, and whether it was imported."""

    kind: str
    format: str | None = None
    status: str = "imported"  # imported | skipped | failed
    reason: str | None = None


@dataclass
class ImportReport:
    """What an import did: counts per kind of record, the outcome of each file, and timing.

    Every record read is counted once as imported, updated, unchanged or rejected; each
    rejected one is a line of the rejects file (file, JSON path, reason, raw record).
    """

    source: str
    target: str
    dry_run: bool
    namespace: str
    kinds: dict[str, KindCounts] = field(default_factory=dict)
    files: dict[str, FileOutcome] = field(default_factory=dict)
    orphan_streams: int = 0
    elapsed_s: float = 0.0

    def kind(self, name: str) -> KindCounts:
        """The counts of one kind of record (made on first use)."""
        return self.kinds.setdefault(name, KindCounts())

    @property
    def records_read(self) -> int:
        """Records read from every file."""
        return sum(counts.read for counts in self.kinds.values())

    @property
    def rejected(self) -> int:
        """Records rejected (each one a line of the rejects file)."""
        return sum(counts.rejected for counts in self.kinds.values())

    @property
    def records_per_second(self) -> float:
        """Records read per second of the whole import."""
        return self.records_read / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def exit_code(self) -> int:
        """0: clean; 1: finished, with rejects."""
        return 1 if self.rejected else 0

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (``docstore import --report``)."""
        data = asdict(self)
        data["records_read"] = self.records_read
        data["rejected"] = self.rejected
        data["records_per_second"] = round(self.records_per_second, 1)
        data["elapsed_s"] = round(self.elapsed_s, 3)
        return data


class RejectSink:
    """Rejected records, one JSON line each: file, JSON path, reason, and the raw record.

    Every line is strict JSON: a NaN or infinite number of a record is written as its name
    (``"Infinity"``). A record that JSON cannot write as it was (nested too deep) has ``record`` null and a
    ``record_omitted`` note; a lone surrogate is written as its ``\\uXXXX`` escape, exactly.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.count = 0
        self._handle: IO[str] | None = None
        self._temporary: str | None = None
        if path is not None:
            # Written to a new file of its own, renamed into place at the end: never through a
            # symlink planted at ``path`` nor into a file docstore did not create.
            refuse_symlink(path)
            descriptor, self._temporary = new_temporary(path)
            self._handle = os.fdopen(descriptor, "w", encoding="utf-8")

    def reject(self, file: str, json_path: str, reason: str, record: Any = None) -> None:
        self.count += 1
        if self._handle is not None:
            self._handle.write(_reject_line(file, json_path, reason, record) + "\n")

    def close(self) -> None:
        if self._handle is None:
            return
        self._handle.close()
        self._handle = None
        assert self.path is not None and self._temporary is not None
        try:
            refuse_symlink(self.path)  # planted while the import ran: still not ours to replace
            os.replace(self._temporary, self.path)
        except BaseException:
            os.unlink(self._temporary)
            raise


def _reject_line(file: str, json_path: str, reason: str, record: Any) -> str:
    """One line of the rejects file; the raw record as it was whenever JSON can say it."""
    line = {"file": file, "path": json_path, "reason": reason, "record": record}
    try:
        # Strict JSON (no NaN or Infinity, which are not JSON): a non-finite number is its name as text.
        line["record"] = _finite(record)
        text = json.dumps(line, ensure_ascii=False, default=str, allow_nan=False)
    except (RecursionError, ValueError):
        # Nested too deep for the encoder (a hostile file): the path says where to look.
        line["record"] = None
        line["record_omitted"] = "nested too deep to write here; see the file at the path"
        return json.dumps(line, ensure_ascii=False, default=str, allow_nan=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate cannot be written as UTF-8; as an escape it is kept exactly.
        text = json.dumps(line, ensure_ascii=True, default=str, allow_nan=False)
    return text


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by its name ("Infinity", "-Infinity", "NaN")."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: _finite(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_finite(child) for child in value]
    return value
