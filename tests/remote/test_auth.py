"""Tokens: who may call, on which namespace, and what a refusal looks like (and logs)."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from docstore import ErrorCode, ProblemSpec, Session, open_store
from docstore._server._auth import TOKEN_CACHE_S
from docstore._server._tokens import TOKENS, TokenStore, hash_token
from docstore.server import create_app, ensure_someone_can_authenticate

from ..contract.helpers import expect_error
from .conftest import Served
from .servers import ADMIN_TOKEN


async def test_no_unknown_or_revoked_token_is_permission_denied(served: Served) -> None:
    for token in (None, "", "dst_not-a-token", ADMIN_TOKEN + "x"):
        await expect_error(ErrorCode.PERMISSION_DENIED, served.client(token).initialize())
    token = await served.token("cs101", name="gone")
    async with served.client(token) as store:
        assert await store.sessions.count_sessions() == 0
        async with served.client() as admin:  # revoked through the server: refused at once
            await TokenStore(admin.documents).revoke("gone")
        await expect_error(ErrorCode.PERMISSION_DENIED, store.sessions.count_sessions())
    token = await served.token("cs101", name="elsewhere")
    async with served.client(token) as store:
        assert await store.sessions.count_sessions() == 0
        # Revoked in the store itself (another process): refused once the server's check expires.
        await TokenStore(served.store.documents).revoke("elsewhere")
        await asyncio.sleep(TOKEN_CACHE_S + 0.1)
        await expect_error(ErrorCode.PERMISSION_DENIED, store.sessions.count_sessions())


async def test_wire_statuses_are_401_and_403(served: Served) -> None:
    token = await served.token("cs101", read_only=True)
    async with httpx.AsyncClient(transport=_transport(served), base_url=served.url) as client:
        assert (await client.post("/v1/sessions/count_sessions", json={})).status_code == 401
        bad = await client.post("/v1/sessions/count_sessions", json={}, headers=_bearer("nope"))
        assert bad.status_code == 401 and bad.json()["code"] == "PERMISSION_DENIED"
        assert bad.headers["www-authenticate"] == "Bearer"
        other = await client.post(
            "/v1/sessions/count_sessions", json={}, headers={**_bearer(token), "X-Docstore-Namespace": "art"}
        )
        assert other.status_code == 403
        write = await client.post("/v1/sessions/create_session", json={"session": {}}, headers=_bearer(token))
        assert write.status_code == 403 and write.json()["code"] == "PERMISSION_DENIED"
        health = await client.get("/v1/health")
        assert health.status_code == 200 and health.json() == {"ok": True}
    assert await served.store.sessions.count_sessions() == 0


async def test_a_namespace_token_sees_exactly_its_namespace(served: Served) -> None:
    cs101, art = served.store.for_namespace("cs101"), served.store.for_namespace("art")
    mine = await cs101.sessions.create_session(Session(join_code="MINE01"))
    theirs = await art.sessions.create_session(Session(join_code="THEM01"))
    for view in (cs101, art):
        for i in range(3):
            await view.problems.save_problem(ProblemSpec(title=f"p{i}", tags=["loops"]))
    art_page = await art.problems.list_problems(limit=2)
    token = await served.token("cs101")
    async with served.client(token) as store:
        assert await store.sessions.get_session(mine) is not None
        assert await store.sessions.get_session(theirs) is None
        assert await store.sessions.get_session_by_join_code("THEM01") is None
        await expect_error(ErrorCode.NOT_FOUND, store.sessions.update_session(theirs, {"problem_text": "x"}))
        await expect_error(ErrorCode.NOT_FOUND, store.sessions.delete_session(theirs))
        # A cursor made in another namespace continues this namespace's listing, nothing else.
        page = await store.problems.list_problems(limit=2, cursor=art_page.next_cursor)
        assert all(p.namespace_id == "cs101" for p in page)
        assert await store.problems.count_problems() == 3
        assert await store.problems.tag_counts() == {"loops": 3}
        assert await store.sessions.list_all_sessions() == await cs101.sessions.list_all_sessions()
        # Whatever namespace it names, an item it writes lands in its own.
        made = await store.sessions.create_session(Session(join_code="NEW001", namespace_id="art"))
        stored = await served.store.sessions.get_session(made)
        assert stored is not None and stored.namespace_id == "cs101"
        assert (await store.for_namespace("cs101").sessions.count_sessions()) == 2
        await expect_error(ErrorCode.PERMISSION_DENIED, store.for_namespace("art").sessions.count_sessions())
        await expect_error(ErrorCode.PERMISSION_DENIED, store.documents.collection_names())
        await expect_error(ErrorCode.PERMISSION_DENIED, store.stats())
    assert await art.sessions.count_sessions() == 1


async def test_a_read_only_token_cannot_write(served: Served) -> None:
    session_id = await served.store.for_namespace("cs101").sessions.create_session(Session(join_code="RO0001"))
    token = await served.token("cs101", read_only=True)
    async with served.client(token) as store:
        assert await store.sessions.get_session(session_id) is not None
        await expect_error(ErrorCode.PERMISSION_DENIED, store.sessions.end_session(session_id))
        await expect_error(ErrorCode.PERMISSION_DENIED, store.problems.save_problem(ProblemSpec(title="x")))
        await expect_error(ErrorCode.PERMISSION_DENIED, store.revisions.delete_revisions(session_id))
    stored = await served.store.sessions.get_session(session_id)
    assert stored is not None and stored.active and stored.metadata is not None and stored.metadata.version == 1


async def test_admin_acts_on_any_namespace_and_records_the_actor(served: Served) -> None:
    async with served.client() as store:
        made = await store.for_namespace("art", actor="teacher").sessions.create_session(Session(join_code="ADM001"))
    stored = await served.store.sessions.get_session(made)
    assert stored is not None and stored.namespace_id == "art"
    assert stored.metadata is not None and stored.metadata.created_by == "teacher"


async def test_tokens_are_stored_hashed_and_refusals_never_log_a_token(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    token = await served.token("cs101", name="grader", read_only=True)
    stored = [d async for d in served.store.documents.iter_documents(TOKENS)]
    assert [d["_id"] for d in stored] == [hash_token(token)]
    assert token not in repr(stored)
    with caplog.at_level(logging.WARNING, logger="docstore.server"):
        async with served.client(token) as store:
            await expect_error(ErrorCode.PERMISSION_DENIED, store.sessions.create_session(Session()))
        await expect_error(ErrorCode.PERMISSION_DENIED, served.client("dst_wrong-secret").initialize())
    assert "grader" in caplog.text and "unknown or revoked" in caplog.text
    assert token not in caplog.text and "dst_wrong-secret" not in caplog.text
    listed = await TokenStore(served.store.documents).list()
    assert listed[0].last_used is not None  # touched by the call it made


async def test_the_server_refuses_to_start_when_no_one_could_authenticate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCSTORE_ADMIN_TOKEN", raising=False)
    async with open_store("memory://") as store:
        app = create_app(store)
        await expect_error(ErrorCode.PERMISSION_DENIED, ensure_someone_can_authenticate(app))
        await TokenStore(store.documents).create("cs101")
        await ensure_someone_can_authenticate(app)  # a stored token is enough


async def test_token_names_are_unique_and_revoke_names_one(served: Served) -> None:
    tokens = TokenStore(served.store.documents)
    await tokens.create("cs101", name="web")
    await expect_error(ErrorCode.ALREADY_EXISTS, tokens.create("art", name="web"))
    await expect_error(ErrorCode.INVALID_DATA, tokens.create("art", name="bad name"))
    await expect_error(ErrorCode.NOT_FOUND, tokens.revoke("nope"))
    assert (await tokens.revoke("web")).namespace == "cs101"
    assert await tokens.list() == []


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _transport(served: Served) -> httpx.AsyncBaseTransport:
    return served.server.transport


async def test_any_namespace_and_actor_text_crosses_the_wire(served: Served) -> None:
    async with served.client() as store:
        view = store.for_namespace("café 101/ä\nx", actor="prof. Müller <m@x>")
        made = await view.sessions.create_session(Session(join_code="UNI001"))
    stored = await served.store.sessions.get_session(made)
    assert stored is not None and stored.namespace_id == "café 101/ä\nx"
    assert stored.metadata is not None and stored.metadata.created_by == "prof. Müller <m@x>"


@pytest.mark.parametrize("header", ["X-Docstore-Namespace", "X-Docstore-Actor"])
@pytest.mark.parametrize("value", ["%ff", "%C3", "%zz", "a%2"], ids=["not-utf8", "cut-utf8", "not-hex", "cut-escape"])
async def test_a_scope_header_that_is_not_percent_encoded_utf8_is_invalid_data(
    served: Served, header: str, value: str
) -> None:
    """Found by the server attack: such a header was decoded leniently (``%ff`` and ``%fe`` both
    became U+FFFD, ``%zz`` stayed ``%zz`` as ``%25zz`` does), so different headers named one
    namespace or actor. The client always sends percent-encoded UTF-8; anything else is 422."""
    async with httpx.AsyncClient(transport=_transport(served), base_url=served.url) as client:
        answer = await client.post(
            "/v1/sessions/count_sessions", json={}, headers={**_bearer(ADMIN_TOKEN), header: value}
        )
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "INVALID_DATA" and header in answer.json()["message"]


async def test_health_names_both_ends_and_only_an_admin_sees_the_servers_facts(served: Served) -> None:
    token = await served.token("cs101")
    async with served.client(token) as app, served.client() as admin:
        seen_by_app, seen_by_admin = (await app.health()), (await admin.health())
    assert seen_by_app.ok and seen_by_app.engine == "remote"
    assert seen_by_app.details == {"remote": served.url, "server_engine": "memory"}
    assert seen_by_admin.details["server_engine"] == "memory" and "server_version" in seen_by_admin.details
