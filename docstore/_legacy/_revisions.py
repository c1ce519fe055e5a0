"""``revisions.json``: the streams of revisions, each one's code rebuilt from the one before.

Split from ``_importer.py``: most of an import's records are revisions, so this is the
loop whose every step counts. A plain revision's document is built directly
(``_plain_revisions``), its depth is known from the parse (``_reader``), its JSON path is
spelt out only for a reject; anything else takes the general path of the other kinds.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._batch import Batch
from ._formats import RecordError, detect_revision_format, revision_from_legacy
from ._plain_revisions import plain_revision_document
from ._reader import ReadError, iter_streams, json_path
from ._records import MAX_RAW_DEPTH, one_format, reason, rebuild_code, split_stream_key, stored
from ._report import FileOutcome

if TYPE_CHECKING:
    from ._importer import _Importer as Importer

__all__ = ["REVISIONS", "import_revisions"]

REVISIONS = "revisions"


async def import_revisions(importer: Importer, path: Path) -> None:
    """Every revision of ``path`` into ``revisions``, in batches; each bad one a reject line."""
    name = importer.name_of(path)
    outcome = importer.report.files[name] = FileOutcome(kind=REVISIONS)
    counts = importer.report.kind(REVISIONS)
    namespace = importer.namespace
    formats: set[str] = set()
    stream_key: str | None = None
    code = ""
    broken_base = False  # a rejected revision breaks the diffs that follow it
    orphan_stream = False
    seen: set[int] = set()
    async with Batch(importer, REVISIONS, REVISIONS, importer.batch_size) as batch:
        try:
            # depth: that of the revision's deepest object or array, the revision itself being 1.
            for key, index, raw, depth in iter_streams(path, importer.progress_for(path)):
                if key != stream_key:
                    stream_key, code, broken_base = key, "", False
                    orphan_stream = importer.is_orphan(key)
                    if orphan_stream:
                        importer.report.orphan_streams += 1
                counts.read += 1
                try:
                    if index is None:
                        raise RecordError("a stream must be an array of revisions")
                    session_id, student_id = split_stream_key(
                        key, importer.session_students, raw if type(raw) is dict else None
                    )
                    if type(raw) is not dict:
                        raise RecordError(f"expected an object, got {type(raw).__name__}")
                    if depth > MAX_RAW_DEPTH + 1:
                        raise RecordError(f"nested deeper than {MAX_RAW_DEPTH} levels")
                    fmt = detect_revision_format(raw)
                    try:
                        code = rebuild_code(raw, fmt, code, broken_base)
                        broken_base = False
                    except Exception:
                        # This revision's code is unknown, so are those of the diffs after it.
                        broken_base = True
                        raise
                    # Plain (nearly all): its document, built directly; else the general path's item.
                    document = plain_revision_document(raw, code, session_id, student_id, namespace)
                    if document is None:
                        revision = revision_from_legacy(raw, code, session_id, student_id, namespace)
                        fingerprint = _fingerprint(raw, revision.id, key, session_id, student_id, seen)
                        document = stored(revision)
                    else:
                        fingerprint = _fingerprint(raw, document["_id"], key, session_id, student_id, seen)
                except Exception as error:  # every bad record is a reject, whatever broke on it
                    where = json_path(key) if index is None else json_path(key, index)
                    importer.reject(REVISIONS, name, where, reason(error), raw)
                    await batch.rejected()
                    continue
                seen.add(fingerprint)
                formats.add(fmt)
                if orphan_stream:
                    counts.orphans += 1
                await batch.add(document, (name, (key, index), raw))
        except ReadError as error:
            importer.broken_file(outcome, REVISIONS, name, error)
    outcome.format = one_format(formats)


def _fingerprint(
    raw: dict[str, Any], revision_id: str, key: str, session_id: str, student_id: str, seen: set[int]
) -> int:
    """The revision's fingerprint; ``RecordError`` if its ids are not its stream's, or it was seen before."""
    if (raw.get("sessionId"), raw.get("studentId")) not in ((session_id, student_id), (None, None)):
        raise RecordError(f"sessionId/studentId differ from the stream key {key!r}")
    # A 64-bit hash, not the id: a million ids must not cost a million strings.
    fingerprint = hash(revision_id)
    if fingerprint in seen:
        raise RecordError(f"duplicate id {revision_id!r}")
    return fingerprint
