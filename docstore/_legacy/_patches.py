"""Rebuild code from the original tool's diff-match-patch patches, as it applied them.

The original tool ran diff-match-patch in JavaScript, where strings are UTF-16:
patch positions and lengths count UTF-16 code units, an emoji counts as two.
Python strings count code points, so the text is turned into UTF-16 units
(astral characters become surrogate pairs) before patching and back after.

Nearly every legacy patch applies exactly where it says, to the very text it was made
from; diff-match-patch then only splices (its fuzzy matching is for text that moved).
``_exact`` does that splice itself, at a fifth of the cost, and only when every hunk
matches exactly where diff-match-patch would look first; anything else (a hunk off its
place, a header whose lengths are not those of its lines, text diff-match-patch would
refuse) goes to diff-match-patch, which decides. tests/legacy/test_fast_paths.py holds
the two to the same answers.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from diff_match_patch import diff_match_patch

__all__ = ["PatchError", "apply_patch"]

_ASTRAL = "\U00010000"
_engine = diff_match_patch()
# diff-match-patch's own header rule (its patch_fromText), and the padding its patch_apply
# puts around the text and the edge hunks.
_HEADER = re.compile(r"^@@ -(\d+),?(\d*) \+(\d+),?(\d*) @@$")
_MARGIN = _engine.Patch_Margin
_PADDING = "".join(chr(code) for code in range(1, _MARGIN + 1))
# Percent escapes of ASCII characters (%0A, %25, %22), and any other: ``_unquote``.
_ASCII_ESCAPE = re.compile("%([0-7][0-9A-Fa-f])")
_OTHER_ESCAPE = re.compile("%[89A-Fa-f][0-9A-Fa-f]")
_ASCII_BY_HEX = {f"{code:02x}": chr(code) for code in range(128)} | {f"{code:02X}": chr(code) for code in range(128)}


class PatchError(ValueError):
    """The patch text is malformed, or a hunk did not apply to the code."""


def _to_units(text: str) -> str:
    # Without a character beyond U+FFFF (nearly always) the text is its own units. Tested
    # in C: as UTF-16 it is then two bytes a character (``max(text)`` took 8 us a revision).
    if text.isascii() or len(text.encode("utf-16-le", "surrogatepass")) == 2 * len(text):
        return text
    return "".join(ch if ch < _ASTRAL else _surrogates(ch) for ch in text)


def _surrogates(ch: str) -> str:
    value = ord(ch) - 0x10000
    return chr(0xD800 + (value >> 10)) + chr(0xDC00 + (value & 0x3FF))


def _from_units(text: str) -> str:
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")


def apply_patch(code: str, patch_text: str) -> str:
    """``code`` with ``patch_text`` applied; ``PatchError`` unless every hunk applies."""
    units = _to_units(code)
    patched = _exact(units, patch_text)
    if patched is None:
        patched = _fuzzy(units, patch_text)
    if _without_surrogates(patched):
        return patched  # no UTF-16 pair to join (nearly all code): already the text
    try:
        return _from_units(patched)
    except UnicodeDecodeError:
        raise PatchError("patch splits a character outside the Basic Multilingual Plane") from None


def _without_surrogates(text: str) -> bool:
    """Whether ``text`` holds no UTF-16 surrogate (paired or lone): then ``_from_units(text) == text``."""
    if text.isascii():
        return True
    try:
        text.encode("utf-16-le")  # strict: any surrogate refuses
    except UnicodeEncodeError:
        return False
    return True


def _fuzzy(units: str, patch_text: str) -> str:
    """diff-match-patch's own ``patch_fromText`` + ``patch_apply``, in UTF-16 units."""
    try:
        patches = _engine.patch_fromText(patch_text)
    except (ValueError, IndexError) as exc:
        raise PatchError(f"malformed patch: {exc}") from None
    for patch in patches:
        patch.diffs = [(op, _to_units(text)) for op, text in patch.diffs]
    patched, applied = _engine.patch_apply(patches, units)
    if not all(applied):
        failed = [index for index, ok in enumerate(applied) if not ok]
        raise PatchError(f"hunk(s) {failed} of {len(applied)} did not apply")
    patched_text: str = patched
    return patched_text


def _unquote(text: str) -> str:
    """``urllib.parse.unquote(text)`` (patch_fromText's decoding), a third of the cost for ASCII text.

    Text that is ASCII with escapes of ASCII characters only (nearly every line: %0A, %25) is
    decoded by one substitution, which reads the escapes exactly as ``unquote`` does (left to
    right, a '%' not followed by two hex digits kept); UTF-8 escapes and raw non-ASCII text
    go to ``unquote`` itself.
    """
    if "%" not in text:
        return text
    if not text.isascii() or _OTHER_ESCAPE.search(text) is not None:
        return unquote(text)
    return _ASCII_ESCAPE.sub(lambda escape: _ASCII_BY_HEX[escape[1]], text)


def _start_length(start: str, length: str) -> tuple[int, int]:
    """A header's (0-based start, length), by patch_fromText's rule (an empty length is 1, "0" keeps the start)."""
    if length == "":
        return int(start) - 1, 1
    if length == "0":
        return int(start), 0
    return int(start) - 1, int(length)


def _exact(units: str, patch_text: str) -> str | None:
    """What ``patch_apply`` makes of ``units`` when each hunk matches exactly where it looks first; else None.

    The hunks are read as ``patch_fromText`` reads them (None where it would refuse, or where
    a header's lengths are not those of its lines: ``patch_apply`` would split it otherwise).
    Then ``patch_apply`` only splices each hunk at its start (its splitting of long hunks and
    its delta stay out of it: every piece matches where expected). The text is padded as it
    pads it, the first and last hunks given the same padding as context, so a hunk that
    claims the start or end of the text must really sit there.
    """
    if not patch_text:
        return units
    lines = patch_text.split("\n")
    if _HEADER.match(lines[0]) is None:
        return None
    hunks: list[_Hunk] = []
    hunk = _Hunk(0, 0, 0)  # replaced at the first line, a header
    for line in lines:
        if not line:
            continue  # a blank line: skipped, as patch_fromText skips it
        sign = line[0]
        if sign == "@":
            header = _HEADER.match(line)
            if header is None:
                return None
            _, length1 = _start_length(header[1], header[2])
            start2, length2 = _start_length(header[3], header[4])
            hunk = _Hunk(start2, length1, length2)
            hunks.append(hunk)
            continue
        text = _to_units(_unquote(line[1:]))
        if sign == " ":
            hunk.old.append(text)
            hunk.new.append(text)
        elif sign == "-":
            hunk.old.append(text)
        elif sign == "+":
            hunk.new.append(text)
        else:
            return None
        if hunk.first is None:
            hunk.first = (sign, text)
        hunk.last = (sign, text)
        hunk.count += 1
    # [start in the padded text, text it replaces, its replacement] of each hunk.
    splices: list[list[Any]] = []
    for hunk in hunks:
        before, after = "".join(hunk.old), "".join(hunk.new)
        if len(before) != hunk.length1 or len(after) != hunk.length2:
            return None
        splices.append([hunk.start2 + _MARGIN, before, after])
    # patch_addPadding: the first hunk gets leading context of padding, the last trailing.
    head, tail = hunks[0], hunks[-1]
    first, last = head.first, tail.last
    splice = splices[0]
    if first is None or first[0] != " ":
        splice[0] -= _MARGIN
        splice[1], splice[2] = _PADDING + splice[1], _PADDING + splice[2]
        if head is tail and first is None:
            last = (" ", _PADDING)
    elif len(first[1]) < _MARGIN:
        prefix = _PADDING[len(first[1]) :]
        splice[0] -= len(prefix)
        splice[1], splice[2] = prefix + splice[1], prefix + splice[2]
        if head is tail and head.count == 1:
            last = (" ", prefix + first[1])  # that one line is the last as well
    splice = splices[-1]
    if last is None or last[0] != " ":
        splice[1], splice[2] = splice[1] + _PADDING, splice[2] + _PADDING
    elif len(last[1]) < _MARGIN:
        suffix = _PADDING[: _MARGIN - len(last[1])]
        splice[1], splice[2] = splice[1] + suffix, splice[2] + suffix
    text = _PADDING + units + _PADDING
    for start, before, after in splices:
        end = start + len(before)
        # Inside the text, where patch_apply looks first (it clamps a start beyond the end).
        if start < 0 or end > len(text) or text[start:end] != before:
            return None
        text = text[:start] + after + text[end:]
    return text[_MARGIN:-_MARGIN]


class _Hunk:
    """One hunk as patch_fromText reads it: where it goes, its lengths, the text of its lines."""

    __slots__ = ("count", "first", "last", "length1", "length2", "new", "old", "start2")

    def __init__(self, start2: int, length1: int, length2: int) -> None:
        self.start2, self.length1, self.length2 = start2, length1, length2
        self.old: list[str] = []  # context and deleted text
        self.new: list[str] = []  # context and inserted text
        # (sign, text) of its first and last line; count of its lines.
        self.first: tuple[str, str] | None = None
        self.last: tuple[str, str] | None = None
        self.count = 0
