"""Response models that cannot leak: each public model as response_model and as a return
annotation, raw domain models through ``install(app)``, checked in the JSON and /openapi.json."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from docstore import (
    CodeRevision,
    ExecutionResult,
    Page,
    ProblemSpec,
    Session,
    StorageMetadata,
    Student,
    open_store,
)
from docstore._public import PRIVATE_FIELDS
from docstore.fastapi import (
    SEND_PRIVATE_FIELDS,
    APIRouter,
    PublicExecutionResult,
    PublicProblem,
    PublicProblemWithSolution,
    PublicRevision,
    PublicSession,
    PublicStudent,
    install,
    public_page,
    store_lifespan,
)
from tests.fastapi.apps import Client, serving

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
TEACHER = "teacher@school.example"
SOLUTION = "print(sum([1, 2]))"
SECRETS = (TEACHER, SOLUTION, "cs101", "namespace_id", "metadata", "solution", "legacy-secret")

PUBLIC_FIELDS = {
    PublicSession: {
        "id", "join_code", "problem_text", "problem", "students", "featured_student_id", "featured_code",
        "active", "created_at", "last_activity", "ended_at",
    },
    PublicProblem: {"id", "title", "description", "starter_code", "difficulty", "tags", "created_at"},
    PublicRevision: {"id", "session_id", "student_id", "code", "timestamp", "execution_result"},
    PublicStudent: {"id", "name", "code", "last_update"},
    PublicExecutionResult: {"success", "output", "error", "execution_time_ms"},
}
DOMAIN: dict[type[BaseModel], type[BaseModel]] = {
    PublicSession: Session,
    PublicProblem: ProblemSpec,
    PublicRevision: CodeRevision,
    PublicStudent: Student,
    PublicExecutionResult: ExecutionResult,
}


def metadata() -> StorageMetadata:
    return StorageMetadata(created_at=NOW, updated_at=NOW, version=2, created_by=TEACHER, modified_by=TEACHER)


def problem() -> ProblemSpec:
    return ProblemSpec(
        id="p1", title="Sum", solution=SOLUTION, created_at=NOW, metadata=metadata(), created_by=TEACHER,
        namespace_id="cs101", extra={"note": "legacy-secret"},
    )


def session() -> Session:
    student = Student(id="ada", name="Ada", code="x = 1", extra={"copy": "legacy-secret"})
    return Session(
        id="s1", join_code="ab12cd", problem=problem(), created_at=NOW, last_activity=NOW,
        students={"ada": student}, metadata=metadata(),
        instructor_id=TEACHER, namespace_id="cs101", extra={"_metadata": {"created_by": TEACHER}},
    )


def revision() -> CodeRevision:
    result = ExecutionResult(success=True, output="3\n", extra={"k": "legacy-secret"})
    return CodeRevision(
        id="r1", session_id="s1", student_id="ada", code="x = 1", timestamp=NOW, execution_result=result,
        metadata=metadata(), namespace_id="cs101",
    )


def test_every_domain_field_is_either_public_or_private_by_name() -> None:
    for public, domain in DOMAIN.items():
        declared = set(public.model_fields)
        assert declared == PUBLIC_FIELDS[public], public
        private = PRIVATE_FIELDS[domain.__name__]
        assert declared | private == set(domain.model_fields), (domain, set(domain.model_fields) - declared - private)
        assert not declared & private
    assert set(PublicProblemWithSolution.model_fields) == PUBLIC_FIELDS[PublicProblem] | {"solution"}


def build(app: FastAPI, *, raw_too: bool) -> None:
    """Every public model as response_model and as return annotation (and raw models if installed)."""

    @app.get("/rm/session", response_model=PublicSession)
    async def rm_session() -> Any:
        return session()

    @app.get("/ann/session")
    async def ann_session() -> PublicSession:
        return PublicSession.model_validate(session())

    @app.get("/rm/problem", response_model=PublicProblem)
    async def rm_problem() -> Any:
        return problem()

    @app.get("/ann/problem")
    async def ann_problem() -> PublicProblem:
        return PublicProblem.model_validate(problem())

    @app.get("/rm/revision", response_model=PublicRevision)
    async def rm_revision() -> Any:
        return revision()

    @app.get("/ann/revision")
    async def ann_revision() -> PublicRevision:
        return PublicRevision.model_validate(revision())

    @app.get("/rm/student", response_model=PublicStudent)
    async def rm_student() -> Any:
        return session().students["ada"]

    @app.get("/rm/sessions", response_model=Page[PublicSession])
    async def rm_sessions() -> Any:
        return Page([session()], "next")

    @app.get("/ann/problems")
    async def ann_problems() -> Page[PublicProblem]:
        return public_page(Page([problem()], "next"), PublicProblem)

    @app.get("/rm/revisions", response_model=Page[PublicRevision])
    async def rm_revisions() -> Any:
        return Page([revision()], None)

    @app.get("/rm/maybe", response_model=PublicSession | None)
    async def rm_maybe() -> Any:
        return None

    if raw_too:

        @app.get("/raw/session")
        async def raw_session() -> Session:
            return session()

        @app.get("/raw/maybe")
        async def raw_maybe() -> Session | None:
            return session()

        @app.get("/raw/problems")
        async def raw_problems() -> Page[ProblemSpec]:
            return Page([problem()], "next")

        @app.get("/raw/revisions", response_model=list[CodeRevision])
        async def raw_revisions() -> Any:
            return [revision()]

        @app.get("/raw/overview", response_model=dict[str, CodeRevision])
        async def raw_overview() -> Any:
            return {"ada": revision()}


@pytest.fixture(params=["plain", "installed"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[Client]:
    app = FastAPI()
    if request.param == "installed":
        install(app)
    build(app, raw_too=request.param == "installed")
    async with serving(app) as test_client:
        yield test_client


def assert_clean(data: Any) -> None:
    text = json.dumps(data)
    for secret in SECRETS:
        assert secret not in text, (secret, text)


async def test_every_answer_is_clean_and_complete(client: Client) -> None:
    paths = [route.path for route in client.app.routes if route.path.startswith(("/rm/", "/ann/", "/raw/"))]  # type: ignore[attr-defined]
    assert len(paths) >= 11
    for path in paths:
        answer = await client.get(path)
        assert answer.status_code == 200, (path, answer.text)
        assert_clean(answer.json())
    one = (await client.get("/rm/session")).json()
    assert set(one) == PUBLIC_FIELDS[PublicSession]
    assert set(one["problem"]) == PUBLIC_FIELDS[PublicProblem] and one["problem"]["title"] == "Sum"
    assert set(one["students"]["ada"]) == PUBLIC_FIELDS[PublicStudent] and one["join_code"] == "AB12CD"
    assert (await client.get("/ann/session")).json() == one
    page = (await client.get("/rm/sessions")).json()
    assert page == {"items": [one], "next_cursor": "next"}
    revisions = (await client.get("/rm/revisions")).json()
    assert set(revisions["items"][0]) == PUBLIC_FIELDS[PublicRevision]
    assert set(revisions["items"][0]["execution_result"]) == PUBLIC_FIELDS[PublicExecutionResult]
    assert (await client.get("/rm/maybe")).json() is None


async def test_raw_domain_models_answer_in_public_form_once_installed(client: Client) -> None:
    if not any(route.path == "/raw/session" for route in client.app.routes):  # type: ignore[attr-defined]
        pytest.skip("only the installed app declares raw models")
    public = (await client.get("/rm/session")).json()
    assert (await client.get("/raw/session")).json() == public == (await client.get("/raw/maybe")).json()
    assert (await client.get("/raw/problems")).json()["items"][0] == (await client.get("/rm/problem")).json()
    assert (await client.get("/raw/revisions")).json() == [(await client.get("/rm/revision")).json()]
    assert (await client.get("/raw/overview")).json() == {"ada": (await client.get("/rm/revision")).json()}


def schema_properties(spec: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return set(schema["properties"])


def response_schema(spec: dict[str, Any], path: str) -> dict[str, Any]:
    schema: dict[str, Any] = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    return schema


async def test_openapi_shows_exactly_the_public_fields(client: Client) -> None:
    spec = (await client.get("/openapi.json")).json()
    components = spec["components"]["schemas"]
    for name in components:
        assert name.split("-")[0] not in {"Session", "ProblemSpec", "CodeRevision", "StorageMetadata"}, name
    for model, fields in PUBLIC_FIELDS.items():
        assert set(components[model.__name__]["properties"]) == fields, model
    for path in ("/rm/session", "/ann/session"):
        assert schema_properties(spec, response_schema(spec, path)) == PUBLIC_FIELDS[PublicSession]
    for path in ("/rm/sessions", "/ann/problems", "/rm/revisions"):
        assert schema_properties(spec, response_schema(spec, path)) == {"items", "next_cursor"}
    named = {field for schema in components.values() for field in schema.get("properties", {})}
    assert not named & {"metadata", "solution", "namespace_id", "instructor_id", "created_by", "extra"}, named
    if "/raw/session" in spec["paths"]:
        assert schema_properties(spec, response_schema(spec, "/raw/session")) == PUBLIC_FIELDS[PublicSession]
        items = components[response_schema(spec, "/raw/problems")["$ref"].rsplit("/", 1)[1]]["properties"]["items"]
        assert schema_properties(spec, items["items"]) == PUBLIC_FIELDS[PublicProblem]


async def test_an_endpoint_that_chooses_private_fields_gets_them() -> None:
    app = FastAPI()
    install(app)
    router = APIRouter()

    @router.get("/instructor/problem", response_model=PublicProblemWithSolution)
    async def with_solution() -> Any:
        return problem()

    @router.get("/admin/session", response_model=Annotated[Session, SEND_PRIVATE_FIELDS])
    async def everything() -> Any:
        return session()

    @router.get("/router/session")
    async def raw() -> Session:
        return session()

    app.include_router(router)
    async with serving(app) as client:
        answer = (await client.get("/instructor/problem")).json()
        assert answer["solution"] == SOLUTION and "metadata" not in answer and TEACHER not in json.dumps(answer)
        assert (await client.get("/admin/session")).json()["metadata"]["created_by"] == TEACHER
        assert "metadata" not in (await client.get("/router/session")).json()  # docstore.fastapi.APIRouter is safe too


@asynccontextmanager
async def nothing(_: FastAPI) -> AsyncIterator[None]:
    yield


async def test_items_from_a_real_store_answer_in_public_form() -> None:
    store = open_store("memory://")
    app = FastAPI(lifespan=store_lifespan(store, then=nothing))
    install(app)

    @app.post("/sessions")
    async def create() -> Session:
        view = store.for_namespace("cs101", actor=TEACHER)
        session_id = await view.sessions.create_session(Session(join_code="zz99", problem=problem()))
        created = await view.sessions.get_session(session_id)
        assert created is not None and created.metadata is not None
        return created

    async with serving(app) as client:
        answer = (await client.post("/sessions")).json()
    assert set(answer) == PUBLIC_FIELDS[PublicSession] and answer["join_code"] == "ZZ99"
    assert_clean(answer)

