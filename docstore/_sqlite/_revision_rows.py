"""Revisions of rows: each checksum verified on every read, each validation done once per content.

A history or an overview read again (an instructor's screen polls them) is the same rows
again. Every read still verifies each row's checksum against its bytes; a row whose bytes
are those of a row already validated (the same checksum, and the same bytes compared in
full, so no trust in the hash) is built again from the values that validation gave, in
fresh instances: validation is a function of the bytes, so doing it again could only give
the same answer. Only plainly valid revisions whose values are all immutable (empty
``extra``, the common case) are remembered: their instances share nothing mutable.
Anything else, and every damaged row, takes the full path every time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from .._mapping import from_document
from .._models import CodeRevision
from .._naive_times import naive_times_suffice
from .._plain import Fields, built_revision, plain_fields
from ._codec import checksum, decode, decode_verified, yielding

__all__ = ["RevisionRows"]

Row = tuple[bytes, bytes]  # (doc, checksum), as _tables.Row
_EXTRA, _RESULT, _RESULT_EXTRA = 7, 5, 4  # positions in plain_fields' values


class RevisionRows:
    """The revisions of rows, with what validated content came to, bounded in entries and bytes."""

    def __init__(self, entries: int = 8192, size: int = 8 << 20) -> None:
        self._entries = entries
        self._size = size
        self._held = 0  # bytes of the blobs held
        # checksum: (blob, values), oldest first. An OrderedDict: it drops its oldest entry at
        # once, where a dict's first key is found by skipping every entry deleted before it.
        self._memo: OrderedDict[bytes, tuple[bytes, Fields]] = OrderedDict()
        self._lock = threading.Lock()

    def revisions(self, rows: Sequence[Row], where: str) -> list[CodeRevision]:
        """The revision of each row; STORAGE_ERROR naming ``where`` for a damaged one (sync, in a reader)."""
        memo = self._memo
        items: list[CodeRevision] = []
        for blob, digest in yielding(rows):
            if type(blob) is bytes and type(digest) is bytes and checksum(blob) == digest:
                known = memo.get(digest)
                if known is not None and known[0] == blob:
                    items.append(built_revision(known[1]))
                    continue
                document = decode_verified(blob, where, aware=False)
            else:
                document = decode(blob, digest, where, aware=False)  # raises, saying why
            fields = plain_fields(document)
            if fields is not None:
                result = fields[_RESULT]
                # Only without free-form values: those were decoded naive here, and a datetime
                # in them would stay naive (the full path below decodes them aware).
                if not fields[_EXTRA] and (result is None or not result[_RESULT_EXTRA]):
                    self._remember(digest, blob, fields)
                    items.append(built_revision(fields))
                    continue
            # Free-form values may hold datetimes, which stay as decoded: decode them aware.
            if not naive_times_suffice(CodeRevision, document):
                document = decode_verified(blob, where)
            items.append(from_document(CodeRevision, document))  # validated, or STORAGE_ERROR naming it
        return items

    def _remember(self, digest: bytes, blob: bytes, fields: Fields) -> None:
        if len(blob) > self._size // 64:
            return  # a large program would push out many small ones
        with self._lock:
            if digest in self._memo:
                return
            self._memo[digest] = (blob, fields)
            self._held += len(blob)
            while len(self._memo) > self._entries or self._held > self._size:
                self._held -= len(self._memo.popitem(last=False)[1][0])

    def clear(self) -> None:
        with self._lock:
            self._memo.clear()
            self._held = 0
