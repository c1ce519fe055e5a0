"""The importer's fast paths give exactly what the general paths give (issue 18: import speed).

Each fast path (the record builder of ``_reader``, the exact splice of ``_patches``, the
plain revision documents of ``_plain_revisions``) stands in for a slower general one; these
tests hold them to the general one's answers over the shared datasets and generated input,
valid and hostile.
"""

from __future__ import annotations

import copy
import json
import random
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import bson
import ijson
import pytest
from diff_match_patch import diff_match_patch

from docstore._legacy._formats import RecordError, detect_revision_format, revision_from_legacy
from docstore._legacy._patches import PatchError, _from_units, _to_units, _unquote, apply_patch
from docstore._legacy._plain_revisions import plain_revision_document
from docstore._legacy._reader import iter_streams
from docstore._legacy._records import MAX_RAW_DEPTH, check_depth, rebuild_code, stored

from .conftest import DATASETS

_dmp = diff_match_patch()
_ALPHABET = "ab c\n\x01\x02\x03\x04é°✔🎉x(){}%+-@ \t"


def reference_patch(code: str, patch_text: str) -> str:
    """The importer's patching before the fast path: diff-match-patch itself, in UTF-16 units."""
    try:
        patches = _dmp.patch_fromText(patch_text)
    except (ValueError, IndexError) as exc:
        raise PatchError(f"malformed patch: {exc}") from None
    for patch in patches:
        patch.diffs = [(op, _to_units(text)) for op, text in patch.diffs]
    patched, applied = _dmp.patch_apply(patches, _to_units(code))
    if not all(applied):
        raise PatchError("did not apply")
    try:
        return _from_units(patched)
    except UnicodeDecodeError:
        raise PatchError("splits a character") from None


def outcome(apply: Any, code: str, patch_text: str) -> str:
    try:
        return "ok: " + str(apply(code, patch_text))
    except PatchError:
        return "PatchError"
    except Exception as exc:  # diff-match-patch itself fails on some hostile headers
        return type(exc).__name__


def javascript_patch(rng: random.Random, old: str, new: str) -> str | None:
    """A patch as the original tool wrote it: positions in UTF-16 units, text percent-encoded."""
    patches = _dmp.patch_make(_to_units(old), _to_units(new))
    try:
        for patch in patches:
            patch.diffs = [(op, _from_units(text)) for op, text in patch.diffs]
    except UnicodeDecodeError:
        return None  # an edit inside an emoji: JavaScript could not write it either
    text: str = _dmp.patch_toText(patches)
    return text


def random_text(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(size))


def edited(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(0, 6)):
        where = rng.randint(0, len(chars))
        roll = rng.random()
        if roll < 0.4:
            chars[where:where] = random_text(rng, rng.randint(1, 60))
        elif roll < 0.8:
            del chars[where : where + rng.randint(1, 60)]
        else:
            chars[where : where + 1] = random_text(rng, 1)
    return "".join(chars)


def damaged(rng: random.Random, patch: str) -> str:
    roll = rng.random()
    if roll < 0.3:
        return re.sub(r"\d+", lambda m: str(max(0, int(m[0]) + rng.randint(-3, 3))), patch, count=rng.randint(1, 4))
    if roll < 0.6 and patch:
        lines = patch.split("\n")
        extra = ["", " x", "-a", "+b", "@@ -1 +1 @@", "@@ -0,0 +1,2 @@", "%", " %C3", "@@ -1,0 +1,0 @@", " ", "+", "?x"]
        lines.insert(rng.randrange(len(lines) + 1), rng.choice(extra))
        return "\n".join(lines)
    if patch:
        cut = rng.randrange(len(patch))
        return patch[:cut] + patch[cut + 1 :]
    return patch


def test_patches_apply_as_diff_match_patch_applies_them() -> None:
    rng = random.Random(18)
    compared = 0
    for _ in range(4000):
        old = random_text(rng, rng.randint(0, 150))
        patch = javascript_patch(rng, old, edited(rng, old))
        if patch is None:
            continue
        if rng.random() < 0.4:
            patch = damaged(rng, patch)
        base = old if rng.random() < 0.75 else edited(rng, old)
        assert outcome(apply_patch, base, patch) == outcome(reference_patch, base, patch), (base, patch)
        compared += 1
    assert compared > 3000


def test_long_hunks_and_edges_apply_as_diff_match_patch_applies_them() -> None:
    """Hunks over 32 units (split by patch_apply), at the very start and end, and emoji around them."""
    rng = random.Random(5)
    for _ in range(300):
        old = random_text(rng, rng.randint(100, 400))
        new = old[: rng.randint(0, 20)] + random_text(rng, rng.randint(0, 120)) + old[rng.randint(40, 100) :]
        if rng.random() < 0.5:
            new = new[:-5] + "🎉" * rng.randint(1, 3)
        patch = javascript_patch(rng, old, new)
        if patch is None:
            continue
        assert apply_patch(old, patch) == reference_patch(old, patch) == new


def test_the_shared_datasets_rebuild_as_diff_match_patch_rebuilds_them(legacy_data: Path) -> None:
    for dataset in DATASETS[1:]:  # the two formats with diffs
        streams = json.loads((legacy_data / dataset / "data" / "revisions.json").read_text(encoding="utf-8"))
        for stream in streams.values():
            code = ""
            for revision in stream:
                if revision["isDiff"]:
                    assert apply_patch(code, revision["diff"]) == reference_patch(code, revision["diff"])
                    code = apply_patch(code, revision["diff"])
                else:
                    code = revision["fullCode"]


def test_percent_decoding_is_unquote() -> None:
    rng = random.Random(7)
    pieces = ["%", "%2", "%25", "%0A", "%0a", "%C3%A9", "%c3", "%E2%9C", "%F0%9F%8E%89", "%7F", "%80", "%G1"]
    pieces += ["%%", "a", " ", "é", "🎉", "%5B", "%41", "%ZZ", "%4", "%8", "%8z", "%fF"]
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        assert _unquote(text) == unquote(text), text


# -- the record builder -------------------------------------------------------------


def nesting(value: Any) -> int:
    """How deep objects and arrays nest in ``value`` (0: a scalar; 1: an object of scalars)."""
    if isinstance(value, dict):
        return 1 + max(map(nesting, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(nesting, value), default=0)
    return 0


def test_records_are_built_as_ijson_builds_them(tmp_path: Path) -> None:
    streams = {
        "s:a": [
            {"id": "1", "x": {"y": [1, 2, {"z": None}], "w": []}, "k": True, "k2": 1.5},
            {"id": "2", "dup": 1, "dup": 2},  # noqa: F601 - a later duplicate key wins, as in ijson
            [],
            [[[]]],
            "text",
            7,
            {"e": {}, "l": [[], {}], "n": -0.0, "big": 12345678901234},
        ],
        "s:b": [{"deep": json.loads("[" * 30 + "]" * 30)}],
    }
    path = tmp_path / "revisions.json"
    path.write_text(json.dumps(streams).replace('"dup": 2', '"dup": 1, "dup": 2'), encoding="utf-8")
    with open(path, "rb") as handle:
        expected = [
            (key, index, item)
            for key, items in ijson.kvitems(handle, "", use_float=True)
            for index, item in enumerate(items)
        ]
    got = list(iter_streams(path))
    assert [(key, index, item) for key, index, item, _ in got] == expected
    for _, _, item, depth in got:
        assert depth == nesting(item), item


def test_the_depth_limit_is_check_depths(tmp_path: Path) -> None:
    for nesting in (MAX_RAW_DEPTH, MAX_RAW_DEPTH + 1):
        record: Any = {"id": "r"}
        inner = record
        for _ in range(nesting):
            inner["x"] = {}
            inner = inner["x"]
        path = tmp_path / f"revisions-{nesting}.json"
        path.write_text(json.dumps({"s:a": [record]}), encoding="utf-8")
        [(_, _, built, depth)] = list(iter_streams(path))
        refused_by_check = _refused(lambda built=built: check_depth(built))
        assert (depth > MAX_RAW_DEPTH + 1) == refused_by_check


def _refused(check: Any) -> bool:
    try:
        check()
    except RecordError:
        return True
    return False


# -- plain revision documents ---------------------------------------------------------


def general_document(raw: dict[str, Any], code: str, session: str, student: str) -> dict[str, Any] | str:
    try:
        return stored(revision_from_legacy(raw, code, session, student, "default"))
    except RecordError as error:
        return f"refused: {error}"


def assert_same_document(raw: dict[str, Any], code: str, session: str = "s", student: str = "t") -> bool:
    """The plain document (if any) is the general one, to the byte of its BSON; True if it was plain."""
    plain = plain_revision_document(copy.deepcopy(raw), code, session, student, "default")
    if plain is None:
        return False
    general = general_document(raw, code, session, student)
    assert isinstance(general, dict), (raw, general)
    assert plain == general
    assert list(plain) == list(general) and list(plain["_metadata"]) == list(general["_metadata"])
    assert bson.encode(plain) == bson.encode(general)  # the content hash: a re-run finds it unchanged
    return True


def test_the_shared_datasets_revisions_are_plain_and_the_same(legacy_data: Path) -> None:
    for dataset in DATASETS:
        streams = json.loads((legacy_data / dataset / "data" / "revisions.json").read_text(encoding="utf-8"))
        plain = total = 0
        for key, stream in streams.items():
            session, student = key.split(":", 1)
            code = ""
            for raw in stream:
                code = rebuild_code(raw, detect_revision_format(raw), code, False)
                plain += assert_same_document(raw, code, session, student)
                total += 1
        assert plain == total, dataset  # every revision of the shared data takes the fast path


BASE_REVISION: dict[str, Any] = {
    "id": "r1",
    "sessionId": "s",
    "studentId": "t",
    "timestamp": "2026-01-06T13:02:36.007Z",
    "isDiff": False,
    "fullCode": "x = 1",
    "executionResult": {"success": True, "output": "1\n", "error": ""},
    "_metadata": {"createdAt": "2026-01-06T13:02:40.007Z", "updatedAt": "2026-01-06T13:02:41.000Z", "version": 1},
    "namespaceId": "cs101",
}
ODD_VALUES: list[Any] = [
    None, "", "x", 0, 1, -1, 2**40, 2**70, 1.5, float("nan"), True, False, [], {}, ["a"], {"a": 1},
    "2026-01-06T13:02:36.007Z", "2026-01-06T13:02:36.0071239+05:30", "2026-01-06", "9999-12-31T23:00:00-05:00",
    "0001-01-01T00:00:00+01:00", "yesterday", 1767704556007, "\ud83d",
]  # fmt: skip
FIELDS = [
    ("id",),
    ("timestamp",),
    ("namespaceId",),
    ("executionResult",),
    ("executionResult", "success"),
    ("executionResult", "output"),
    ("executionResult", "error"),
    ("executionResult", "executionTimeMs"),
    ("executionResult", "extra"),
    ("_metadata",),
    ("_metadata", "createdAt"),
    ("_metadata", "updatedAt"),
    ("_metadata", "version"),
    ("_metadata", "createdBy"),
    ("createdAt",),
    ("classroom",),
]


@pytest.mark.parametrize("field", FIELDS, ids=".".join)
def test_odd_values_take_the_general_path_or_give_its_document(field: tuple[str, ...]) -> None:
    """A field set to each odd value, or removed: the fast path's document is the general one, or it steps aside."""
    for value in [*ODD_VALUES, "remove"]:
        raw = copy.deepcopy(BASE_REVISION)
        parent = raw
        for step in field[:-1]:
            parent = parent[step]
        if value == "remove":
            parent.pop(field[-1], None)
        else:
            parent[field[-1]] = value
        assert_same_document(raw, "x = 1")


def test_generated_revisions_are_plain_or_the_same() -> None:
    rng = random.Random(11)
    plain = 0
    for _ in range(3000):
        raw = copy.deepcopy(BASE_REVISION)
        for _ in range(rng.randint(0, 3)):
            field = rng.choice(FIELDS)
            parent = raw
            for step in field[:-1]:
                if not isinstance(parent.get(step), dict):
                    parent[step] = {}
                parent = parent[step]
            parent[field[-1]] = rng.choice(ODD_VALUES)
        metadata = raw.get("_metadata")
        if isinstance(metadata, dict) and rng.random() < 0.3:
            metadata["updatedAt"] = metadata.get("createdAt")
        if isinstance(metadata, dict) and rng.random() < 0.3:
            raw["timestamp"] = metadata.get("createdAt")
        plain += assert_same_document(raw, rng.choice(["", "x = 1", "é🎉"]))
    assert plain > 500  # the fast path is taken, not only stepped aside from
