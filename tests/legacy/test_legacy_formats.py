"""Legacy record mapping: dates, Maps, shapes, and patches counted in UTF-16 units."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from diff_match_patch import diff_match_patch

from docstore._legacy._formats import (
    RecordError,
    decode_dates,
    detect_revision_format,
    detect_session_format,
    parse_date,
    session_from_legacy,
)
from docstore._legacy._patches import PatchError, _from_units, _to_units, apply_patch


def test_dates_are_iso_strings_or_epoch_milliseconds() -> None:
    expected = datetime(2026, 1, 6, 13, 2, 36, 7000, tzinfo=UTC)
    assert parse_date("2026-01-06T13:02:36.007Z", "t") == expected
    assert parse_date(1767704556007, "t") == expected
    for bad in ("yesterday", True, None, [1]):
        with pytest.raises(RecordError):
            parse_date(bad, "t")


def test_only_known_date_fields_are_decoded_and_maps_become_dicts() -> None:
    record = {
        "createdAt": "2026-01-06T13:02:36.007Z",
        "code": "2026-01-06T13:02:36.007Z",  # looks like a date, is code: stays text
        "students": {"__type": "Map", "entries": [["s1", {"lastUpdate": "2026-01-06T13:02:36.007Z"}]]},
    }
    decoded = decode_dates(record)
    assert isinstance(decoded["createdAt"], datetime)
    assert decoded["code"] == record["code"]
    assert isinstance(decoded["students"]["s1"]["lastUpdate"], datetime)


def test_shapes_are_detected_and_unknown_ones_named() -> None:
    assert detect_session_format({"connectedStudents": {}}) == "2025-12-18"
    assert detect_session_format({"students": {}, "joinCode": "A"}) == "2025-12-20"
    assert detect_session_format({"problem": {}, "namespaceId": "x"}) == "2026-01-05"
    assert detect_revision_format({"code": ""}) == "2025-12-18"
    assert detect_revision_format({"isDiff": True}) == "2025-12-20"
    assert detect_revision_format({"isDiff": False, "namespaceId": "x"}) == "2026-01-05"
    with pytest.raises(RecordError, match="unknown session shape"):
        detect_session_format({"id": "x"})


def test_a_session_without_status_or_end_is_active_and_keeps_unmodelled_fields() -> None:
    _, session = session_from_legacy(
        {
            "id": "s",
            "joinCode": " ab12cd",
            "problemText": "",
            "createdAt": 1767704556007,
            "connectedStudents": {"__type": "Map", "entries": []},
            "classroom": "B12",
            "_metadata": {
                "createdAt": "2026-01-06T13:02:36.007Z",
                "updatedAt": "2026-01-06T13:02:36.008Z",
                "version": 7,
            },
        },
        "cs101",
    )
    assert (session.active, session.join_code, session.namespace_id) == (True, "AB12CD", "cs101")
    assert session.extra == {"classroom": "B12"}
    assert session.metadata is not None and session.metadata.version == 7


def test_text_is_patched_in_utf16_units_like_the_original_javascript() -> None:
    assert _to_units("a🎉b") == "a\ud83c\udf89b"  # an emoji is two units, as in JavaScript
    assert _from_units(_to_units("a🎉b°")) == "a🎉b°"
    # A patch made in JavaScript after an emoji: position 9 counts the emoji as two units.
    before = "print('🎉')\nx = 1\n"
    patch = "@@ -9,9 +9,9 @@\n ')%0Ax = \n-1\n+2\n %0A\n"
    assert apply_patch(before, patch) == "print('🎉')\nx = 2\n"
    dmp = diff_match_patch()
    plain = dmp.patch_toText(dmp.patch_make("a = 1\n", "a = 2\n"))
    assert apply_patch("a = 1\n", plain) == "a = 2\n"
    with pytest.raises(PatchError):
        apply_patch("something else entirely", "@@ -1,5 +1,5 @@\n-zzzzz\n+yyyyy\n")
    with pytest.raises(PatchError, match="malformed"):
        apply_patch("a", "not a patch")
