"""A live classroom on docstore: students post code, the instructor follows every post over a websocket.

Run it with several workers on one store; a post to any worker reaches an instructor
connected to any other, because the feed is the store's, not the process's::

    DOCSTORE_URL=local://./classroom uvicorn examples.classroom.app:app --workers 2

- ``POST /sessions``                            {"join_code"} -> {"id"}
- ``POST /sessions/{id}/students``              {"id", "name"} -> the student's view
- ``POST /sessions/{id}/students/{sid}/posts``  {"code"} -> {"revision_id", "position"}
- ``WS   /sessions/{id}/instructor``            a snapshot, then one message per change

The websocket follows the feed pattern: open the feed, read the snapshot, send it,
then send each change. A reconnecting dashboard passes ``?after=<position>`` (the last
one it applied) and gets exactly what it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from docstore import (
    HTTP_STATUS,
    ErrorCode,
    InstructorView,
    PersistenceError,
    Session,
    SessionChange,
    Store,
    Student,
    StudentRecordView,
    StudentView,
    open_store,
)


class NewSession(BaseModel):
    join_code: str


class Joining(BaseModel):
    id: str
    name: str = ""


class Post(BaseModel):
    code: str


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with open_store(os.environ.get("DOCSTORE_URL")) as store:
        app.state.store = store
        yield


app = FastAPI(title="classroom", lifespan=lifespan)


def store_of(app_: FastAPI) -> Store:
    store: Store = app_.state.store
    return store


@app.exception_handler(PersistenceError)
async def persistence_error(_: Any, error: PersistenceError) -> JSONResponse:
    return JSONResponse({"code": error.code.value, "message": error.message}, HTTP_STATUS[error.code])


@app.post("/sessions")
async def create_session(body: NewSession) -> dict[str, str]:
    session_id = await store_of(app).sessions.create_session(Session(join_code=body.join_code))
    return {"id": session_id}


@app.post("/sessions/{session_id}/students")
async def join(session_id: str, body: Joining) -> StudentView:
    sessions = store_of(app).sessions
    await sessions.upsert_student(session_id, Student(id=body.id, name=body.name))
    session = await sessions.get_session(session_id, include_students=False)
    student = await sessions.get_student(session_id, body.id)
    if session is None:
        raise PersistenceError(ErrorCode.NOT_FOUND, f"session {session_id!r} not found")
    return StudentView.of(session, student)


@app.post("/sessions/{session_id}/students/{student_id}/posts")
async def post(session_id: str, student_id: str, body: Post) -> dict[str, str]:
    revision = await store_of(app).sessions.record_code(session_id, student_id, body.code)
    return {"revision_id": revision.id, "worker": str(os.getpid())}


def for_instructor(change: SessionChange) -> dict[str, Any]:
    """What the dashboard needs of a change, through the views: no bookkeeping, no namespace."""
    message: dict[str, Any] = {"kind": change.kind, "position": change.position, "student_id": change.student_id}
    if change.student is not None:
        message["student"] = StudentRecordView.of(change.student).model_dump(mode="json")
    if change.revision is not None:
        message["revision"] = {"id": change.revision.id, "code": change.revision.code,
                               "timestamp": change.revision.timestamp.isoformat()}  # fmt: skip
    if change.session is not None:
        message["session"] = InstructorView.of(change.session).model_dump(mode="json", exclude={"students"})
    return message


@app.websocket("/sessions/{session_id}/instructor")
async def instructor(websocket: WebSocket, session_id: str, after: str | None = None) -> None:
    sessions = store_of(app).sessions
    await websocket.accept()

    async def follow() -> None:
        async with sessions.watch(session_id, after=after) as feed:  # 1. open the feed
            if after is None:
                session = await sessions.get_session(session_id)  # 2. read the snapshot
                if session is not None:
                    view = InstructorView.of(session).model_dump(mode="json")
                    await websocket.send_json({"snapshot": view, "position": feed.position, "worker": str(os.getpid())})
            async for change in feed:  # 3. apply every change after it
                await websocket.send_json(for_instructor(change))

    async def until_closed() -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await websocket.receive_text()

    # The feed waits for changes, not for the socket: watch both, and stop (closing the
    # feed) as soon as the instructor leaves, whatever the class is doing.
    following, closing = asyncio.create_task(follow()), asyncio.create_task(until_closed())
    try:
        await asyncio.wait([following, closing], return_when=asyncio.FIRST_COMPLETED)
        if following.done() and (error := following.exception()) is not None:
            if isinstance(error, PersistenceError):
                await websocket.send_json({"error": error.code.value, "message": error.message})
                await websocket.close(code=1011)
            elif not isinstance(error, WebSocketDisconnect):
                raise error
    finally:
        for task in (following, closing):
            task.cancel()
        await asyncio.gather(following, closing, return_exceptions=True)
