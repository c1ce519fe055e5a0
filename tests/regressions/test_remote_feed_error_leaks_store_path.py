"""Finding: the live feed's `event: error` shows where the server's local:// store lives.

Every ordinary error answer of `docstore serve` replaces the store's path with `<store>`
(`_server/_context.py`), but an error raised while the feed streams (here: a damaged row
of the `changes` table) is sent as `event: error` with the raw message
"a change of session '...' in /srv/.../docstore.sqlite3 is damaged", to any token that may
watch (a read-only namespace token included).
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from docstore import ErrorCode, PersistenceError, Session, Student, open_store
from docstore._remote import asgi_transport
from docstore._server._tokens import TokenStore
from docstore.server import create_app

IN_PROCESS_URL = "http://docstore.invalid"  # never resolved: the transport reaches the app


async def test_feed_error_does_not_show_the_store_path(tmp_path: Path) -> None:
    directory = tmp_path / "secret-server-dir"
    async with open_store(f"local://{directory}") as backing:
        session_id = await backing.for_namespace("cs101").sessions.create_session(Session(join_code="lp11"))
        # A read-only namespace token: not an admin, to whom the server shows its paths.
        secret, _ = await TokenStore(backing.documents).create("cs101", read_only=True, name="watcher")
        async with backing.sessions.watch(session_id) as feed:
            position = feed.position
        await backing.sessions.upsert_student(session_id, Student(id="s1", name="Ana"))
        with sqlite3.connect(directory / "docstore.sqlite3") as connection:
            seq, doc = connection.execute(
                "SELECT seq, doc FROM changes WHERE session_id = ? AND doc IS NOT NULL ORDER BY seq DESC LIMIT 1",
                (session_id,),
            ).fetchone()
            damaged = bytearray(doc)
            damaged[len(damaged) // 2] ^= 1
            connection.execute("UPDATE changes SET doc = ? WHERE seq = ?", (bytes(damaged), seq))
        transport = asgi_transport(create_app(backing, admin_token="admin"))
        async with open_store(IN_PROCESS_URL, token=secret, transport=transport) as store:
            with pytest.raises(PersistenceError) as raised:
                async with store.sessions.watch(session_id, after=position) as remote_feed:
                    await asyncio.wait_for(anext(remote_feed), 10)
    assert raised.value.code is ErrorCode.STORAGE_ERROR
    assert str(directory) not in raised.value.message, raised.value.message
    assert "secret-server-dir" not in raised.value.message, raised.value.message
