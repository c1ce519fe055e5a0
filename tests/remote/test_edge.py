"""The edge: oversized, malformed and mistyped requests are 4xx naming the problem, and change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from docstore import ErrorCode, Session
from docstore._wire import methods

from ..contract.helpers import expect_error
from .servers import ADMIN_TOKEN, asgi_server

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
LIMIT = 64 * 1024


@pytest.fixture
async def wire() -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A raw HTTP client to a server with a 64 KiB body limit, and one session id in it."""
    async with asgi_server("memory://", max_body_bytes=LIMIT) as (server, served):
        session_id = await served.sessions.create_session(Session(join_code="EDGE01"))
        async with server.http(headers=AUTH) as client:
            yield client, session_id
            # Nothing any refused call sent changed what is stored.
            stored = await served.sessions.get_session(session_id)
            assert stored is not None and stored.metadata is not None and stored.metadata.version == 1
            assert await served.sessions.count_sessions() == 1


async def test_a_body_over_the_limit_is_refused_before_it_is_read_whole(wire: tuple[httpx.AsyncClient, str]) -> None:
    client, session_id = wire
    big = b'{"session_id": "' + session_id.encode() + b'", "updates": {"problem_text": "' + b"x" * (4 * LIMIT) + b'"}}'
    declared = await client.post("/v1/sessions/update_session", content=big)
    assert declared.status_code == 413 and declared.json()["code"] == "INVALID_DATA"
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams in
        for start in range(0, len(big), 4096):
            sent.append(start)
            yield big[start : start + 4096]

    streamed = await client.post("/v1/sessions/update_session", content=chunks())
    assert streamed.status_code == 413
    assert len(sent) * 4096 <= LIMIT + 2 * 4096 < len(big)  # it stopped reading past the limit


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"{not json", "json"),
        (b"[1, 2]", "body"),
        (b'{"limit": "5"}', "limit"),
        (b'{"limit": true}', "limit"),
        (b'{"limit": 5, "colour": "red"}', "colour"),
        (b'{"sort_by": "nonsense"}', "sort_by"),
        (b'{"limit": 0}', "limit"),
        (b'{"cursor": "garbage!"}', "cursor"),
    ],
)
async def test_malformed_or_mistyped_bodies_are_422_naming_the_field(
    wire: tuple[httpx.AsyncClient, str], body: bytes, named: str
) -> None:
    client, _ = wire
    answer = await client.post(
        "/v1/sessions/list_all_sessions", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "INVALID_DATA" and named in answer.json()["message"].lower()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/sessions/update_session", {"session_id": "S", "updates": {"metadata": {}}}),
        ("/v1/sessions/update_session", {"session_id": "S", "updates": {"$set": {"active": False}}}),
        ("/v1/sessions/update_session", {"session_id": "S", "updates": {"active": "maybe"}}),
        ("/v1/sessions/update_session", {"session_id": "S", "updates": {"extra": {"n": 2**70}}}),
        ("/v1/sessions/upsert_student", {"session_id": "S", "student": {"id": ""}}),
        ("/v1/sessions/record_code", {"session_id": "S", "student_id": "s1", "code": 5}),
        ("/v1/sessions/create_session", {"session": {"join_code": "EDGE01", "students": []}}),
        ("/v1/revisions/save_revisions", {"revisions": [{"session_id": "S"}]}),
        ("/v1/sessions/get_session", {}),
        ("/v1/sessions/get_session", {"session_id": 5}),
    ],
)
async def test_bad_values_are_4xx_and_write_nothing(
    wire: tuple[httpx.AsyncClient, str], path: str, body: dict[str, object]
) -> None:
    client, session_id = wire
    answer = await client.post(path, json=_with_id(body, session_id))
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["code"] in ("INVALID_DATA", "NOT_FOUND")


async def test_no_route_no_method_and_no_document_are_4xx(wire: tuple[httpx.AsyncClient, str]) -> None:
    client, _ = wire
    assert (await client.post("/v1/sessions/drop_everything", json={})).status_code == 404
    assert (await client.get("/v1/sessions/get_session")).status_code == 405
    assert (await client.post("/v1/admin/documents/bad-name", content=b"[]")).status_code == 422
    assert (await client.post("/v1/admin/documents/sessions", content=b'{"not": "a list"}')).status_code == 422
    assert (await client.get("/v1/admin/documents/sessions/one")).status_code == 422  # no id


async def test_the_schema_lists_every_method(wire: tuple[httpx.AsyncClient, str]) -> None:
    client, _ = wire
    schema = (await client.get("/openapi.json")).json()
    expected = {method.path for catalogue in methods().values() for method in catalogue.values()}
    assert expected <= set(schema["paths"]) and "/v1/health" in schema["paths"]
    assert (await client.get("/docs")).status_code == 200


async def test_the_client_refuses_what_json_would_disguise() -> None:
    async with asgi_server() as (server, served), server.open(token=ADMIN_TOKEN) as store:
        await expect_error(ErrorCode.INVALID_DATA, store.sessions.create_session({"join_code": "X"}))  # type: ignore[arg-type]
        await expect_error(ErrorCode.INVALID_DATA, store.revisions.save_revisions("abc"))  # type: ignore[arg-type]
        await expect_error(ErrorCode.INVALID_DATA, store.sessions.update_session("x", {"extra": {"o": object()}}))
        assert await served.sessions.count_sessions() == 0


def _with_id(body: dict[str, object], session_id: str) -> dict[str, object]:
    return {key: (session_id if value == "S" else value) for key, value in body.items()} | (
        {"revisions": [{"session_id": session_id}]} if "revisions" in body else {}
    )


@pytest.mark.parametrize("depth", [200, 20_000])
async def test_hostile_nesting_is_a_4xx(wire: tuple[httpx.AsyncClient, str], depth: int) -> None:
    client, session_id = wire
    nested = "[" * depth + "]" * depth
    json_headers = {"Content-Type": "application/json"}
    update = f'{{"session_id": "{session_id}", "updates": {{"extra": {{"a": {nested}}}}}}}'
    answer = await client.post("/v1/sessions/update_session", content=update, headers=json_headers)
    assert 400 <= answer.status_code < 500 and answer.json()["code"] == "INVALID_DATA"
    documents = f'[{{"_id": "deep", "a": {nested}}}]'
    answer = await client.post("/v1/admin/documents/revisions", content=documents, headers=json_headers)
    if depth > 1000:  # beyond what a JSON parser recurses into: refused at the edge
        assert answer.status_code == 422 and answer.json()["code"] == "INVALID_DATA"
    else:  # parsed; the document store then judges it as it would in process
        assert answer.status_code < 500
