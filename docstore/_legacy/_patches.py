"""Rebuild code from the original tool's diff-match-patch patches, as it applied them.

The original tool ran diff-match-patch in JavaScript, where strings are UTF-16:
patch positions and lengths count UTF-16 code units, an emoji counts as two.
Python strings count code points, so the text is turned into UTF-16 units
(astral characters become surrogate pairs) before patching and back after.
"""

from __future__ import annotations

from diff_match_patch import diff_match_patch

__all__ = ["PatchError", "apply_patch"]

_ASTRAL = "\U00010000"
_engine = diff_match_patch()


class PatchError(ValueError):
    """The patch text is malformed, or a hunk did not apply to the code."""


def _to_units(text: str) -> str:
    if not text or max(text) < _ASTRAL:
        return text
    return "".join(ch if ch < _ASTRAL else _surrogates(ch) for ch in text)


def _surrogates(ch: str) -> str:
    value = ord(ch) - 0x10000
    return chr(0xD800 + (value >> 10)) + chr(0xDC00 + (value & 0x3FF))


def _from_units(text: str) -> str:
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")


def apply_patch(code: str, patch_text: str) -> str:
    """``code`` with ``patch_text`` applied; ``PatchError`` unless every hunk applies."""
    try:
        patches = _engine.patch_fromText(patch_text)
    except (ValueError, IndexError) as exc:
        raise PatchError(f"malformed patch: {exc}") from None
    for patch in patches:
        patch.diffs = [(op, _to_units(text)) for op, text in patch.diffs]
    patched, applied = _engine.patch_apply(patches, _to_units(code))
    if not all(applied):
        failed = [index for index, ok in enumerate(applied) if not ok]
        raise PatchError(f"hunk(s) {failed} of {len(applied)} did not apply")
    try:
        return _from_units(patched)
    except UnicodeDecodeError:
        raise PatchError("patch splits a character outside the Basic Multilingual Plane") from None
