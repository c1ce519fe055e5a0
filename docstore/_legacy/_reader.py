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


def _exact_events(handle: BinaryIO) -> Iterator[tuple[str, Any]]:
    """Events of the pure-Python parser: numbers as Decimal (exact, any size), then as Python
    reads JSON (1e400 is inf)."""
    for event, value in _PYTHON_BACKEND.basic_parse(handle, use_float=False):
        yield event, float(value) if type(value) is Decimal else value


def iter_object(path: Path, progress: Callable[[int], None] | None = None) -> Iterator[tuple[str, Any]]:
    """(key, value) for each member of the file's top-level object."""
    for key, _, value, _ in _walk(path, progress, into_arrays=False):
        yield key, value


def iter_streams(
    path: Path, progress: Callable[[int], None] | None = None
) -> Iterator[tuple[str, int | None, Any, int]]:
    """(stream key, index, revision, its depth) for ``revisions.json``; index None when a stream is not an array.

    The depth is that of the revision's deepest object or array (0: none in it, 1: the revision
    itself), counted while it is built: the importer needs no second walk to refuse a deep one.
    """
    yield from _walk(path, progress, into_arrays=True)


def _walk(
    path: Path, progress: Callable[[int], None] | None, *, into_arrays: bool
) -> Iterator[tuple[str, int | None, Any, int]]:
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


# Progress is reported at most once per this many bytes read (and at the end of the file):
# a callback per record (a terminal's progress bar) costs more than reading the record.
_PROGRESS_STEP = 1 << 18


def _walk_once(
    path: Path, progress: Callable[[int], None] | None, *, into_arrays: bool, exact: bool
) -> Iterator[tuple[str, int | None, Any, int]]:
    # Where the last value started, spelt out only for an error (a path per record cost ~5%).
    last: tuple[str | int, ...] = ()
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the with below, after the error mapping
    except OSError as exc:
        raise ReadError(f"cannot read the file: {exc.strerror}", json_path()) from None
    with handle:
        reported = 0
        try:
            # basic_parse, not parse: parse builds a path string per event, which for a value
            # nested 100,000 deep costs gigabytes. The C parser's events are consumed as they
            # come (no generator in between): its errors are mapped below.
            events = _exact_events(handle) if exact else ijson.basic_parse(handle, use_float=True)
            event, _ = next(events)
            if event != "start_map":
                raise ReadError(f"top level is not a JSON object ({event})", json_path())
            key = ""
            for event, value in events:
                if event == "map_key":
                    key, last = value, (value,)
                    continue
                if event == "end_map":
                    if progress is not None:
                        progress(handle.tell())
                    return
                if into_arrays and event == "start_array":
                    for index in itertools.count():
                        item_event, item_value = next(events)
                        if item_event == "end_array":
                            break
                        last = (key, index)
                        item, depth = _build(item_event, item_value, events)
                        yield key, index, item, depth
                else:
                    item, depth = _build(event, value, events)
                    yield key, None, item, depth
                if progress is not None:
                    position = handle.tell()
                    if position - reported >= _PROGRESS_STEP:
                        reported = position
                        progress(position)
        except UnicodeDecodeError as exc:
            if not exact:
                raise _NeedsExactParser from None
            where = json_path(*last)
            reason = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
            raise ReadError(f"malformed or truncated JSON after {where}: {reason}", where) from None
        except ijson.JSONError as exc:
            if not exact and "overflow" in str(exc):  # an integer beyond 64 bits, a float beyond 1e308
                raise _NeedsExactParser from None
            where = json_path(*last)
            raise ReadError(f"malformed or truncated JSON after {where}: {exc}", where) from None
        except StopIteration:
            where = json_path(*last)
            raise ReadError(f"file ends early, after {where}", where) from None


def _build(event: str, value: Any, events: Iterator[tuple[str, Any]]) -> tuple[Any, int]:
    """The JSON value that starts with (event, value), and the depth of its deepest object or array.

    What ``ijson.ObjectBuilder`` builds (a later duplicate key wins), in a third of the time:
    a record is a few dozen events, each one a call there. Iterative: any depth is built
    (and then refused by its depth, never by a ``RecursionError``).
    """
    if event == "start_map":
        root: Any = {}
    elif event == "start_array":
        root = []
    else:
        return value, 0
    stack: list[Any] = [root]
    top = root
    in_map = event == "start_map"
    deepest = 1
    key: Any = None
    for event, value in events:
        if event == "map_key":
            key = value
            continue
        if event == "end_map" or event == "end_array":
            stack.pop()
            if not stack:
                return root, deepest
            top = stack[-1]
            in_map = type(top) is dict
            continue
        if event == "start_map":
            child: Any = {}
        elif event == "start_array":
            child = []
        else:
            if in_map:
                top[key] = value
            else:
                top.append(value)
            continue
        if in_map:
            top[key] = child
        else:
            top.append(child)
        stack.append(child)
        top, in_map = child, event == "start_map"
        if len(stack) > deepest:
            deepest = len(stack)
    raise StopIteration  # the events ended inside the value: the file ends early
