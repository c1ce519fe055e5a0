"""Join codes that a person reads as the same code are one code, on every engine (issue 16, item 8)."""

from __future__ import annotations

import unicodedata

import pytest

from docstore import ErrorCode, Session, Store

from .helpers import expect_error

# (what one instructor typed, what another typed or a student types): the same code to a person.
LOOK_ALIKES = [
    pytest.param(unicodedata.normalize("NFC", "CAFÉ1"), unicodedata.normalize("NFD", "café1"), id="nfc-nfd"),
    pytest.param("AB12\u200b", "ab12", id="zero-width-space"),
    pytest.param("\ufeffAB13", "AB13", id="byte-order-mark"),
    pytest.param("\uff21\uff22\uff11\uff14", "ab14", id="fullwidth"),
    pytest.param("AB\u00ad15", "AB15", id="soft-hyphen"),
    pytest.param("STRAẞE", "straße", id="capital-sharp-s"),
    pytest.param("KİT1", "kit1", id="dotted-capital-i"),
    pytest.param("k\u0131t2", "KIT2", id="dotless-i"),
]


@pytest.mark.parametrize(("first", "second"), LOOK_ALIKES)
async def test_look_alike_codes_find_each_other_and_are_never_active_at_once(
    store: Store, first: str, second: str
) -> None:
    session_id = await store.sessions.create_session(Session(join_code=first))
    found = await store.sessions.get_session_by_join_code(second)
    assert found is not None and found.id == session_id
    assert found.join_code == await _stored_code(store, second)
    await expect_error(ErrorCode.ALREADY_EXISTS, store.sessions.create_session(Session(join_code=second)))
    other = await store.sessions.create_session(Session(join_code="OTHER9"))
    await expect_error(ErrorCode.ALREADY_EXISTS, store.sessions.update_session(other, {"join_code": second}))


async def test_stored_codes_are_in_the_normal_form(store: Store) -> None:
    session_id = await store.sessions.create_session(Session(join_code=" \uff21\uff22\u200b\uff11\uff16 "))
    stored = await store.sessions.get_session(session_id)
    assert stored is not None and stored.join_code == "AB16"
    updated = await store.sessions.update_session(session_id, {"join_code": "\ufeffstraße"})
    assert updated.join_code == "STRASSE"


async def _stored_code(store: Store, code: str) -> str | None:
    found = await store.sessions.get_session_by_join_code(code)
    return None if found is None else found.join_code


async def test_a_tools_session_document_is_stored_with_its_code_normalized(store: Store) -> None:
    """Issue 16, item 7: a backup or an admin upsert with ``"join_code": "ab12 "``."""
    template_id = await store.sessions.create_session(Session(join_code="TEMPL1"))
    document = await store.documents.get_document("sessions", template_id)
    assert document is not None
    given = {**document, "_id": "from-a-tool", "join_code": "ab12\u200b "}
    result = await store.documents.upsert_documents("sessions", [given])
    assert (result.inserted, result.failed) == (1, [])
    found = await store.sessions.get_session_by_join_code("AB12")
    assert found is not None and found.id == "from-a-tool" and found.join_code == "AB12"
    stored = await store.documents.get_document("sessions", "from-a-tool")
    assert stored is not None and stored["join_code"] == "AB12"
    await expect_error(ErrorCode.ALREADY_EXISTS, store.sessions.create_session(Session(join_code="AB12")))
    # Idempotent as before: the same document again, or in its stored form, changes nothing.
    again = await store.documents.upsert_documents("sessions", [given, stored])
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    # A second active session with the code, however spelt, is refused as a repository write is.
    clash = await store.documents.upsert_documents("sessions", [{**given, "_id": "second", "join_code": "Ab12"}])
    assert [position for position, _ in clash.failed] == [0]
    assert await store.documents.get_document("sessions", "second") is None
