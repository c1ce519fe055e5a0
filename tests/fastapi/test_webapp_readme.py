"""README's web app runs as written: errors, lifespan, the three ways to a namespace, safe answers."""

from __future__ import annotations

import json
import re
import sys
import types
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI

from docstore import HTTP_STATUS, ErrorCode, PersistenceError, Session, Store, StudentView, open_store
from docstore._server._tokens import TokenStore
from docstore.fastapi import (
    Namespace,
    StoreDep,
    install,
    namespace_from_header,
    namespace_from_token,
    store_lifespan,
)
from tests.fastapi.apps import Client, serving

README = Path(__file__).resolve().parents[2] / "README.md"
TEACHER = "teacher@school.example"
# A gateway in front of the app sets these two headers (the app trusts no client's copy).
ByGateway = Annotated[Namespace, Depends(namespace_from_header("X-School", actor_header="X-Email"))]


def readme_app() -> dict[str, Any]:
    """The app of README's web-app section, run as the module ``readme_app`` (as uvicorn would import it)."""
    section = README.read_text(encoding="utf-8").split("## Using docstore in a web app", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found is not None
    module = types.ModuleType("readme_app")
    sys.modules[module.__name__] = module  # pydantic names generic models after their module
    try:
        exec(compile(found.group(1), str(README), "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    return module.__dict__


@pytest.fixture
async def app(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Client, Store]]:
    monkeypatch.setenv("DOCSTORE_URL", "memory://")
    module = readme_app()
    async with serving(module["app"]) as client:
        yield client, module["store"]


async def test_the_readme_app(app: tuple[Client, Store]) -> None:
    client, store = app
    teacher = {"X-User": f"cs101:{TEACHER}"}
    created = await client.post("/sessions", params={"join_code": "ab12cd"}, headers=teacher)
    assert created.status_code == 200, created.text
    session = created.json()
    assert "metadata" not in session and "namespace_id" not in session and TEACHER not in json.dumps(session)
    [stored] = await store.for_namespace("cs101").sessions.list_all_sessions()
    assert stored.metadata is not None and stored.metadata.created_by == TEACHER  # the actor was recorded

    token, _ = await TokenStore(store.documents).create("cs101", name="students")
    other, _ = await TokenStore(store.documents).create("cs102", name="elsewhere")
    joined = await client.get("/join/AB12CD", headers={"Authorization": f"Bearer {token}"})
    assert joined.status_code == 200, joined.text
    view = joined.json()
    assert set(view) == set(StudentView.model_fields) and view["join_code"] == "AB12CD" == session["join_code"]
    assert view["id"] == session["id"] and "students" not in view and TEACHER not in json.dumps(view)
    # Another namespace's token does not find it: 404 in docstore's error shape.
    missing = await client.get("/join/AB12CD", headers={"Authorization": f"Bearer {other}"})
    assert missing.status_code == HTTP_STATUS[ErrorCode.NOT_FOUND] and missing.json()["code"] == "NOT_FOUND"
    for headers in ({}, {"Authorization": "Bearer dst_not-a-token"}):
        refused = await client.get("/join/AB12CD", headers=headers)
        assert refused.status_code == 401 and refused.json()["code"] == "PERMISSION_DENIED"
    # FastAPI's own refusals come in the same shape.
    invalid = await client.post("/sessions", headers=teacher)
    assert invalid.status_code == 422 and invalid.json()["code"] == "INVALID_DATA"
    duplicate = await client.post("/sessions", params={"join_code": "AB12CD"}, headers=teacher)
    assert duplicate.status_code == HTTP_STATUS[ErrorCode.ALREADY_EXISTS] == 409
    assert duplicate.json()["code"] == "ALREADY_EXISTS"

    page = await client.get("/problems", headers=teacher)
    assert page.status_code == 200 and page.json() == {"items": [], "next_cursor": None}
    assert (await client.get("/health")).json() == {"ok": True, "engine": "memory"}
    spec = (await client.get("/openapi.json")).json()
    fields = {name for schema in spec["components"]["schemas"].values() for name in schema.get("properties", {})}
    assert not fields & {"metadata", "namespace_id", "instructor_id", "extra"}


async def test_a_read_only_token_may_only_read(app: tuple[Client, Store]) -> None:
    client, store = app
    await client.post("/sessions", params={"join_code": "ro1"}, headers={"X-User": "cs101:t"})
    token, _ = await TokenStore(store.documents).create("cs101", read_only=True)

    @client.app.post("/write")
    async def write(ns: Annotated[Namespace, Depends(namespace_from_token())]) -> None:
        raise AssertionError("a read-only token never reaches a write")

    assert (await client.get("/join/RO1", headers={"Authorization": f"Bearer {token}"})).status_code == 200
    refused = await client.post("/write", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403 and refused.json()["code"] == "PERMISSION_DENIED"


def test_the_package_exports_the_status_table() -> None:
    import docstore

    assert docstore.HTTP_STATUS is HTTP_STATUS and HTTP_STATUS[ErrorCode.CONFLICT] == 412


async def test_a_namespace_from_a_gateway_header_and_a_missing_lifespan() -> None:
    store = open_store("memory://")
    app = FastAPI(lifespan=store_lifespan(store))
    install(app)
    @app.post("/sessions")
    async def create(ns: ByGateway) -> dict[str, str | None]:
        session_id = await ns.sessions.create_session(Session(join_code="gw1"))
        created = await ns.sessions.get_session(session_id)
        assert created is not None and created.metadata is not None
        return {"namespace": ns.namespace, "actor": created.metadata.created_by}

    async with serving(app) as client:
        answer = await client.post("/sessions", headers={"X-School": "cs101", "X-Email": TEACHER})
        assert answer.json() == {"namespace": "cs101", "actor": TEACHER}
        missing = await client.post("/sessions")
        assert missing.status_code == 422 and missing.json()["code"] == "INVALID_DATA"
        assert "X-School" in missing.json()["message"]

    bare = FastAPI()  # no store_lifespan: an endpoint asking for the store says how to give it one
    install(bare)

    @bare.get("/count")
    async def count(store: StoreDep) -> int:
        return await store.sessions.count_sessions()

    async with serving(bare) as client:
        answer = await client.get("/count")
        assert answer.status_code == 500 and answer.json()["code"] == "STORAGE_ERROR"
        assert "store_lifespan" in answer.json()["message"]


async def test_an_error_never_shows_where_a_local_store_lives(tmp_path: Path) -> None:
    directory = tmp_path / "store"
    app = FastAPI(lifespan=store_lifespan(open_store(f"local://{directory}")))
    install(app)

    @app.get("/broken")
    async def broken() -> None:
        raise PersistenceError(ErrorCode.STORAGE_ERROR, f"{directory.resolve()}/docstore.sqlite3 is damaged")

    async with serving(app) as client:
        answer = await client.get("/broken")
    assert answer.status_code == 500 and answer.json()["code"] == "STORAGE_ERROR"
    assert str(tmp_path) not in answer.text and "<store>/docstore.sqlite3" in answer.json()["message"]
