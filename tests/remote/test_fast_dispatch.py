"""The repository routes' fast path (``_server/_dispatch.py``) answers as the FastAPI routes do.

Each request goes once through the app (where ``RepositoryDispatch`` takes the repository
POSTs before FastAPI's router) and once through the same app built without it (FastAPI's
routes answer): status, body and headers must be the same, for answers and every refusal.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from docstore import Session, open_store
from docstore._server._dispatch import RepositoryDispatch
from docstore._server._tokens import TokenStore
from docstore.server import create_app

ADMIN = "dispatch-admin"
_DISPATCH: Any = RepositoryDispatch


def _middleware(app: Any) -> list[Any]:
    return [m.cls for m in app.user_middleware]


async def _call(app: Any, path: str, body: bytes, headers: dict[str, str], method: str = "POST") -> tuple[Any, ...]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in {**headers, "content-length": str(len(body))}.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    headers_sent = sorted((k, v) for k, v in sent[0]["headers"] if k != b"date")
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:]), headers_sent


async def test_the_fast_path_answers_as_fastapi_does() -> None:
    async with open_store("memory://") as store:
        session_id = await store.sessions.create_session(Session(join_code="FAST1"))
        reader, _ = await TokenStore(store.documents).create("ns", read_only=True, name="reader")
        app = create_app(store, admin_token=ADMIN, max_body_bytes=4096)
        assert RepositoryDispatch in _middleware(app)
        router = create_app(store, admin_token=ADMIN, max_body_bytes=4096)
        router.user_middleware = [m for m in router.user_middleware if m.cls is not _DISPATCH]

        admin = {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"}
        get = json.dumps({"session_id": session_id}).encode()
        cases: list[tuple[str, bytes, dict[str, str]]] = [
            ("/v1/sessions/get_session", get, admin),  # found
            ("/v1/sessions/get_session", b'{"session_id": "nope"}', admin),  # null
            ("/v1/sessions/get_session", get, {}),  # 401
            ("/v1/sessions/get_session", get, {"Authorization": "Bearer wrong"}),  # 401
            ("/v1/sessions/get_session", get, {"Authorization": f"Bearer {reader}", "X-Docstore-Namespace": "x"}),
            ("/v1/sessions/delete_session", get, {"Authorization": f"Bearer {reader}"}),  # 403 read-only
            ("/v1/sessions/get_session", b'{"session_id": 5}', admin),  # 422 strict
            ("/v1/sessions/get_session", b'{"session_id": "a", "x": 1}', admin),  # 422 extra
            ("/v1/sessions/get_session", b"not json", admin),  # 422
            ("/v1/sessions/create_session", b'{"session": {"join_code": "FAST1"}}', admin),  # 409
            ("/v1/problems/list_problems", b'{"limit": 0}', admin),  # 422 rule
            ("/v1/problems/get_problem", b'{"problem_id": "p"}', admin),
        ]
        for path, body, headers in cases:
            through_app = await _call(app, path, body, headers)
            through_fastapi = await _call(router, path, body, headers)
            assert through_app == through_fastapi, (path, body)
        # Not a POST: FastAPI answers (405, with every method of the path in "Allow").
        status, _, _ = await _call(app, "/v1/sessions/get_session", b"", admin, method="GET")
        assert status == 405


@pytest.mark.parametrize("declared", [True, False])
async def test_a_body_over_the_limit_is_still_413(declared: bool) -> None:
    async with open_store("memory://") as store:
        app = create_app(store, admin_token=ADMIN, max_body_bytes=100)
        body = json.dumps({"session_id": "x" * 500}).encode()
        headers = {"Authorization": f"Bearer {ADMIN}"}
        if declared:
            status, answer, _ = await _call(app, "/v1/sessions/get_session", body, headers)
        else:  # a body that arrives in chunks, with no Content-Length
            status, answer = await _chunked(app, body, headers)
        assert status == 413
        assert json.loads(answer)["code"] == "INVALID_DATA"


async def _chunked(app: Any, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/sessions/get_session",
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
        "state": {},
    }
    pieces = [body[i : i + 50] for i in range(0, len(body), 50)]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        piece = pieces.pop(0) if pieces else b""
        return {"type": "http.request", "body": piece, "more_body": bool(pieces)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def test_a_mounted_app_takes_the_fast_path_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    answered: list[str] = []
    original = RepositoryDispatch._answer

    async def counted(self: RepositoryDispatch, handler: Any, request: Any) -> Any:
        answered.append(request.url.path)
        return await original(self, handler, request)

    monkeypatch.setattr(RepositoryDispatch, "_answer", counted)
    async with open_store("memory://") as store:
        session_id = await store.sessions.create_session(Session(join_code="MNT1"))
        outer = Starlette(routes=[Mount("/store", create_app(store, admin_token=ADMIN))])
        body = json.dumps({"session_id": session_id}).encode()
        status, answer, _ = await _call(
            outer, "/store/v1/sessions/get_session", body, {"Authorization": f"Bearer {ADMIN}"}
        )
        assert status == 200 and json.loads(answer)["id"] == session_id
        assert answered == ["/store/v1/sessions/get_session"]
