"""Integers beyond 64 bits in paging arguments, and one rule for every limit.

``offset``, ``limit`` and the values inside a cursor reach SQL (and BSON) as 64-bit
integers: beyond that they are the caller's mistake (INVALID_DATA) on every engine, never
a STORAGE_ERROR naming the server's file. Every ``limit`` is 1..MAX_PAGE_SIZE.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from docstore import ErrorCode, Session, Store, open_store
from docstore._page import MAX_PAGE_SIZE
from docstore._server._tokens import TokenStore

from ..conftest import StoreFactory
from ..contract.helpers import expect_error
from ..sqlite.helpers import DATABASE_FILE, flip_byte_in
from .servers import ADMIN_TOKEN, asgi_server

HUGE = [2**64, 2**63, -(2**63) - 1, 10**30]


def _cursor(sort_by: str, sort_order: str, value: Any) -> str:
    """A hand-made cursor (the format ``_page.encode_cursor`` writes)."""
    raw = json.dumps([sort_by, sort_order, value, "x"]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _calls(store: Store, huge: int) -> list[Callable[[], Awaitable[Any]]]:
    return [
        lambda: store.sessions.list_all_sessions(offset=huge),
        lambda: store.sessions.list_all_sessions(limit=huge),
        lambda: store.problems.list_problems(offset=huge),
        lambda: store.revisions.get_revisions("s1", "a", limit=huge),
        lambda: store.problems.search_problems("word", limit=huge),
        lambda: store.sessions.list_all_sessions(cursor=_cursor("created_at", "desc", huge)),
        lambda: store.sessions.list_all_sessions(
            sort_by="join_code", sort_order="asc", cursor=_cursor("join_code", "asc", huge)
        ),
        lambda: store.problems.list_problems(cursor=_cursor("created_at", "desc", huge)),
        lambda: store.revisions.get_revisions("s1", "a", limit=5, cursor=_cursor("timestamp", "asc", huge)),
    ]


@pytest.mark.parametrize("huge", HUGE)
async def test_integers_beyond_64_bits_are_invalid_data_on_every_engine(factory: StoreFactory, huge: int) -> None:
    async with factory.open() as store:
        for call in _calls(store, huge):
            error = await expect_error(ErrorCode.INVALID_DATA, call())
            assert "docstore.sqlite3" not in error.message and str(factory.local_dir) not in error.message


async def test_one_rule_for_every_limit(factory: StoreFactory) -> None:
    async with factory.open() as store:
        for limit in (0, -1, MAX_PAGE_SIZE + 1, 100_000):
            calls: list[Callable[..., Awaitable[Any]]] = [
                lambda limit=limit: store.revisions.get_revisions("s1", "a", limit=limit),
                lambda limit=limit: store.problems.search_problems("word", limit=limit),
                lambda limit=limit: store.sessions.list_all_sessions(limit=limit),
                lambda limit=limit: store.sessions.list_active_sessions(limit=limit),
                lambda limit=limit: store.problems.list_problems(limit=limit),
            ]
            for call in calls:
                error = await expect_error(ErrorCode.INVALID_DATA, call())
                assert "limit" in error.message
        assert len(await store.revisions.get_revisions("s1", "a", limit=MAX_PAGE_SIZE)) == 0
        assert len(await store.problems.search_problems("word", limit=MAX_PAGE_SIZE)) == 0


async def test_through_a_server_a_huge_integer_is_422_without_a_server_path(tmp_path: Path) -> None:
    async with asgi_server(f"local://{tmp_path}") as (server, store):
        secret, _ = await TokenStore(store.documents).create("cs101")
        async with server.http() as client:
            for path, body in [
                ("/v1/sessions/list_all_sessions", {"offset": 2**64}),
                ("/v1/revisions/get_revisions", {"session_id": "s", "student_id": "a", "limit": 2**64}),
                ("/v1/sessions/list_all_sessions", {"cursor": _cursor("created_at", "desc", 2**64)}),
            ]:
                answer = await client.post(path, json=body, headers={"Authorization": f"Bearer {secret}"})
                assert answer.status_code == 422, answer.text
                assert answer.json()["code"] == "INVALID_DATA" and str(tmp_path) not in answer.text


async def test_no_error_shown_to_a_namespace_token_carries_a_server_path(tmp_path: Path) -> None:
    """A damaged document is STORAGE_ERROR naming the file: for the operator (admin), not for an app."""
    async with open_store(f"local://{tmp_path}") as store:
        await store.for_namespace("cs101").sessions.create_session(Session(id="hurt", problem_text="MARKER-0123456789"))
    flip_byte_in(tmp_path / DATABASE_FILE, b"MARKER-0123456789")
    async with asgi_server(f"local://{tmp_path}") as (server, served):
        secret, _ = await TokenStore(served.documents).create("cs101")
        async with server.open(token=secret) as app, server.open(token=ADMIN_TOKEN) as admin:
            error = await expect_error(ErrorCode.STORAGE_ERROR, app.sessions.get_session("hurt"))
            assert str(tmp_path) not in error.message and "damaged" in error.message
            error = await expect_error(ErrorCode.STORAGE_ERROR, admin.sessions.get_session("hurt"))
            assert str(tmp_path / DATABASE_FILE) in error.message
