"""Reading a backup's files with bounded memory: a damaged or hostile backup cannot exhaust it.

A backup's ``.jsonl`` file may be several GB, and nothing but its newlines says where a line
ends: a file with none (or one enormous line) read line by line would be read whole. So a line
is read up to ``MAX_LINE_BYTES`` and no further: a longer one is a problem naming its file and
line (the restore lists it with every other and writes nothing), and the reader skips to the
next newline in blocks. The manifest is read up to ``MAX_MANIFEST_BYTES``.

The limit must let through every line an export writes: a document is at most
``MAX_DOCUMENT_BYTES`` of BSON on every engine, and its canonical Extended JSON line is at most
about 11.2 times that (the worst case found: an empty regular expression, 5 bytes of BSON as an
element of a short array, is 56 characters of JSON; every character of a string escaped as
``\\u00XX`` is 6 times its byte). ``MAX_LINE_BYTES`` is 16 times the document limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from bson import json_util
from bson.errors import BSONError

from ._mapping import MAX_DOCUMENT_BYTES

__all__ = ["JSON_OPTIONS", "MAX_LINE_BYTES", "MAX_MANIFEST_BYTES", "TooLarge", "read_lines", "read_manifest_text"]

JSON_OPTIONS = json_util.JSONOptions(json_mode=json_util.JSONMode.CANONICAL, tz_aware=True)
# Bytes of one line of a backup's .jsonl file, its newline included (about 255 MiB).
LINE_BYTES_PER_DOCUMENT_BYTE = 16
MAX_LINE_BYTES = LINE_BYTES_PER_DOCUMENT_BYTE * MAX_DOCUMENT_BYTES
# The manifest names each collection, its count and its SHA-256: a few hundred bytes each.
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
_BLOCK = 1 << 20  # how much of an oversized line is skipped at a time


class TooLarge(ValueError):
    """A backup's file (the manifest) is larger than any export writes: not read."""


def read_manifest_text(path: Path) -> str:
    """The manifest's text; ``TooLarge`` over ``MAX_MANIFEST_BYTES`` (OSError, UnicodeDecodeError as they come)."""
    blocks: list[bytes] = []
    size = 0
    with open(path, "rb") as data:
        # A block at a time: ``read(limit)`` would allocate the whole limit up front.
        while block := data.read(_BLOCK):
            size += len(block)
            if size > MAX_MANIFEST_BYTES:
                raise TooLarge(f"over {MAX_MANIFEST_BYTES:,} bytes, more than any export writes; not read")
            blocks.append(block)
    return b"".join(blocks).decode("utf-8")


def read_lines(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, document or None, what is wrong or None) for each line of a ``.jsonl`` file.

    A line over ``MAX_LINE_BYTES`` is a problem of its own (never held whole); a line that is
    not UTF-8 names its line. A file that cannot be read is line 0.
    """
    try:
        with open(path, "rb") as data:
            number = 0
            while line := data.readline(MAX_LINE_BYTES + 1):
                number += 1
                if len(line) > MAX_LINE_BYTES:
                    size = len(line) + _skip_line(data)
                    yield number, None, (
                        f"a line of {size:,} bytes, over the limit of {MAX_LINE_BYTES:,} (16 times the "
                        "largest document a store holds): no export writes one; not read"
                    )
                    continue
                yield number, *_parse(line)
    except OSError as exc:
        yield 0, None, f"cannot be read ({exc.strerror})"


def _skip_line(data: BinaryIO) -> int:
    """Read to the end of the current line (or file) a block at a time; the bytes skipped."""
    skipped = 0
    while block := data.readline(_BLOCK):
        skipped += len(block)
        if block.endswith(b"\n"):
            break
    return skipped


def _parse(line: bytes) -> tuple[dict[str, Any] | None, str | None]:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text ({exc.reason} at byte {exc.start} of the line)"
    try:
        value = json_util.loads(text, json_options=JSON_OPTIONS)
    except (ValueError, TypeError, BSONError, RecursionError, OverflowError) as exc:
        return None, f"not a JSON document ({type(exc).__name__}: {str(exc)[:200]})"
    if not isinstance(value, dict):
        return None, f"a document must be an object, not {type(value).__name__}"
    return value, None
