"""Finding (severe): a student who posts code (or a name) containing U+2028, U+2029 or U+0085
breaks every remote (http(s)://) feed of the session: the client raises STORAGE_ERROR
"the server sent a change that does not read: Invalid JSON: EOF while parsing a string",
and watching again from the last position hits the same change again, forever.

The server writes the change's JSON raw (pydantic does not escape these characters) and
the client splits the stream with httpx's aiter_lines(), which splits on every Unicode
line boundary, not only CR/LF as SSE does. memory:// and local:// feeds deliver it fine.
"""

from __future__ import annotations

import asyncio

import pytest

from docstore import Session, Student, open_store
from docstore._remote import asgi_transport
from docstore.server import create_app

IN_PROCESS_URL = "http://docstore.invalid"  # never resolved: the transport reaches the app


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
async def test_code_with_unicode_line_separator_reaches_remote_watcher(separator: str) -> None:
    code = f"x = 1  # pasted{separator}from a web page"
    async with open_store("memory://") as backing:
        session_id = await backing.sessions.create_session(Session(join_code="ls11"))
        await backing.sessions.upsert_student(session_id, Student(id="s1"))
        transport = asgi_transport(create_app(backing, admin_token="admin"))
        async with (
            open_store(IN_PROCESS_URL, token="admin", transport=transport) as store,
            store.sessions.watch(session_id) as feed,
        ):
            await backing.sessions.record_code(session_id, "s1", code)
            change = await asyncio.wait_for(anext(feed), 10)
    assert change.kind == "revision_saved"
    assert change.revision is not None and change.revision.code == code


async def test_student_name_with_line_separator_reaches_remote_watcher() -> None:
    async with open_store("memory://") as backing:
        session_id = await backing.sessions.create_session(Session(join_code="ls12"))
        transport = asgi_transport(create_app(backing, admin_token="admin"))
        async with (
            open_store(IN_PROCESS_URL, token="admin", transport=transport) as store,
            store.sessions.watch(session_id) as feed,
        ):
            await backing.sessions.upsert_student(session_id, Student(id="s1", name="Ana\u2028Bel"))
            change = await asyncio.wait_for(anext(feed), 10)
    assert change.kind == "student_joined"
    assert change.student is not None and change.student.name == "Ana\u2028Bel"
