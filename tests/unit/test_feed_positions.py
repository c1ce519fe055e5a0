"""A feed position is one envelope (``docstore._changes``) whatever feed made it: a log's
sequence (memory://, local://) or a MongoDB change stream's resume token (mongodb://).

The envelope was written twice (``_changes.decode_position`` and ``_mongo/_feed._decode``)
with two length limits (1024 and 4096 characters). These pin what both kinds of position
accept and refuse, through the functions each feed calls.
"""

from __future__ import annotations

import pytest

from docstore import ErrorCode, PersistenceError
from docstore._changes import decode_position, decode_token_position, encode_position


def _refused(call: object, *args: object) -> str:
    with pytest.raises(PersistenceError) as caught:
        call(*args)  # type: ignore[operator]
    assert caught.value.code is ErrorCode.INVALID_DATA
    return caught.value.message


def test_a_sequence_and_a_token_position_round_trip() -> None:
    assert decode_position(encode_position("log-1", "s1", 7), "log-1", "s1") == 7
    token = "82" + "A1" * 1000  # a resume token's data is long hex
    assert decode_token_position(encode_position("mongo", "s1", token), "mongo", "s1") == token


@pytest.mark.parametrize("bad", [None, 5, "", "A" * 5000])
def test_what_is_not_a_position_string_is_refused_by_both(bad: object) -> None:
    for decode, log in ((decode_position, "log-1"), (decode_token_position, "mongo")):
        assert "a feed position is a string made by an earlier change" in _refused(decode, bad, log, "s1")


def test_undecodable_and_wrongly_typed_positions_are_malformed() -> None:
    for bad in ("garbage!", "eyJ4IjoxfQ"):
        assert "malformed feed position" in _refused(decode_position, bad, "log-1", "s1")
        assert "malformed feed position" in _refused(decode_token_position, bad, "mongo", "s1")
    assert "malformed" in _refused(decode_position, encode_position("log-1", "s1", -1), "log-1", "s1")


def test_a_position_of_another_store_or_session_is_refused_by_both() -> None:
    assert "another store" in _refused(decode_position, encode_position("log-2", "s1", 1), "log-1", "s1")
    assert "another store" in _refused(decode_token_position, encode_position("log-1", "s1", "82"), "mongo", "s1")
    assert "another session" in _refused(decode_position, encode_position("log-1", "s2", 1), "log-1", "s1")
    assert "another session" in _refused(decode_token_position, encode_position("mongo", "s2", "82"), "mongo", "s1")


def test_a_position_is_printable_ascii_text_before_it_is_read_or_sent() -> None:
    # The remote client checked this on its own before putting a position in a header.
    from docstore._changes import position_text

    position = encode_position("log-1", "s1", 3)
    assert position_text(position) == position
    for bad in ("caf\u00e9", "a\nb", "a\u2028b"):
        assert "malformed feed position" in _refused(position_text, bad)
        assert "malformed feed position" in _refused(decode_position, bad, "log-1", "s1")
    assert "a feed position is a string" in _refused(position_text, b"abc")
