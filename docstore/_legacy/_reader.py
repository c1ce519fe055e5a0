"""Streaming reads of the legacy JSON files: one record at a time, never a whole file.

A malformed or truncated file raises ``ReadError`` at the point where it breaks;
every record before that point has already been handed out.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import ijson

__all__ = ["ReadError", "iter_object", "iter_streams", "json_path"]


class ReadError(ValueError):
    def __init__(self, reason: str, path: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path


def json_path(*parts: str | int) -> str:
    """``$["key"][3]``: where a record sits in its file."""
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f"[{json.dumps(p, ensure_ascii=False)}]" for p in parts)


# The C parser is fast but has limits the pure-Python one has not: it turns a lone
# surrogate escape ("\\ud83d") into "?" without a word, fails on a lone low surrogate,
# and stops at an integer beyond 64 bits or a float beyond 1e308. A file that needs it is read with the
# Python parser, whose values are exact (and then refused, record by record, if no
# engine can store them).
_PYTHON_BACKEND = ijson.get_backend("python")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_CHUNK = 1 << 20


class _NeedsExactParser(Exception):
    """The fast parser cannot read this file exactly; read it again with the exact one."""


def _has_surrogate_escapes(path: Path) -> bool:
    """Whether the file spells a UTF-16 surrogate as an escape (one pass, in chunks)."""
    with open(path, "rb") as handle:
        tail = b""
        while chunk := handle.read(_CHUNK):
            if _SURROGATE_ESCAPE.search(tail + chunk):
                return True
            tail = chunk[-5:]  # an escape split between two chunks
    return False


def _events(handle: BinaryIO, exact: bool) -> Iterator[tuple[str, Any]]:
    # basic_parse, not parse: parse builds a path string per event, which for a value
    # nested 100,000 deep costs gigabytes.
    try:
        if not exact:
            yield from ijson.basic_parse(handle, use_float=True)
            return
        # Numbers as Decimal (exact, any size), then as Python reads JSON: 1e400 is inf.
        for event, value in _PYTHON_BACKEND.basic_parse(handle, use_float=False):
            yield event, float(value) if type(value) is Decimal else value
    except UnicodeDecodeError as exc:
        if not exact:
            raise _NeedsExactParser from None
        raise ijson.JSONError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except ijson.JSONError as exc:
        if not exact and "overflow" in str(exc):  # an integer beyond 64 bits, a float beyond 1e308
            raise _NeedsExactParser from None
        raise


def iter_object(path: Path, progress: Callable[[int], None] | None = None) -> Iterator[tuple[str, Any]]:
    """(key, value) for each member of the file's top-level object."""
    for key, _, value in _walk(path, progress, into_arrays=False):
        yield key, value


def iter_streams(path: Path, progress: Callable[[int], None] | None = None) -> Iterator[tuple[str, int | None, Any]]:
    """(stream key, index, revision) for ``revisions.json``; index None when a stream is not an array."""
    yield from _walk(path, progress, into_arrays=True)


def _walk(
    path: Path, progress: Callable[[int], None] | None, *, into_arrays: bool
) -> Iterator[tuple[str, int | None, Any]]:
    try:
        exact = _has_surrogate_escapes(path)
    except OSError as exc:
        raise ReadError(f"cannot read the file: {exc.strerror}", json_path()) from None
    handed_out = 0
    try:
        for item in _walk_once(path, progress, into_arrays=into_arrays, exact=exact):
            handed_out += 1
            yield item
    except _NeedsExactParser:
        # Read again with the exact parser, skipping what was already handed out.
        for item in _walk_once(path, progress, into_arrays=into_arrays, exact=True):
            if handed_out:
                handed_out -= 1
                continue
            yield item


def _walk_once(
    path: Path, progress: Callable[[int], None] | None, *, into_arrays: bool, exact: bool
) -> Iterator[tuple[str, int | None, Any]]:
    last = json_path()
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the with below, after the error mapping
    except OSError as exc:
        raise ReadError(f"cannot read the file: {exc.strerror}", last) from None
    with handle:
        try:
            events = _events(handle, exact)
            event, _ = next(events)
            if event != "start_map":
                raise ReadError(f"top level is not a JSON object ({event})", last)
            key = ""
            for event, value in events:
                if event == "map_key":
                    key, last = value, json_path(value)
                elif event == "end_map":
                    return
                elif into_arrays and event == "start_array":
                    for index in itertools.count():
                        item_event, item_value = next(events)
                        if item_event == "end_array":
                            break
                        last = json_path(key, index)
                        yield key, index, _build(item_event, item_value, events)
                else:
                    yield key, None, _build(event, value, events)
                if progress is not None and event != "map_key":
                    progress(handle.tell())
        except ijson.JSONError as exc:
            raise ReadError(f"malformed or truncated JSON after {last}: {exc}", last) from None
        except StopIteration:
            raise ReadError(f"file ends early, after {last}", last) from None


def _build(event: str, value: Any, events: Iterator[tuple[str, Any]]) -> Any:
    """The JSON value that starts with (event, value)."""
    if event not in ("start_map", "start_array"):
        return value
    builder = ijson.ObjectBuilder()
    builder.event(event, value)
    depth = 1
    while depth:
        event, value = next(events)
        builder.event(event, value)
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
    return builder.value
