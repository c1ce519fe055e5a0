"""The audience views as response models, and the start-up check that refuses a leaking endpoint."""

from __future__ import annotations

import json
from typing import Annotated, Any

import fastapi
import pytest
from fastapi import FastAPI

from docstore import (
    CodeRevision,
    ErrorCode,
    InstructorView,
    Page,
    PersistenceError,
    ProblemSpec,
    Session,
    Student,
    StudentView,
    open_store,
)
from docstore.fastapi import SEND_PRIVATE_FIELDS, APIRouter, check_responses, install, store_lifespan
from tests.fastapi.apps import serving
from tests.fastapi.test_public_models import (
    SOLUTION,
    assert_clean,
    problem,
    response_schema,
    revision,
    schema_properties,
    session,
)


async def test_an_app_whose_endpoint_would_leak_does_not_start() -> None:
    app = FastAPI(lifespan=store_lifespan(open_store("memory://")))

    @app.get("/before/install")
    async def before() -> Page[ProblemSpec]:  # declared before install(app): FastAPI's own route class
        return Page([problem()])

    install(app)
    plain = fastapi.APIRouter()  # not docstore.fastapi.APIRouter

    @plain.get("/session")
    async def raw() -> Session | None:
        return session()

    @app.get("/chosen", response_model=Annotated[Session, SEND_PRIVATE_FIELDS])
    async def chosen() -> Any:
        return session()

    @app.get("/after/install")
    async def after() -> list[CodeRevision]:
        return [revision()]

    app.include_router(plain, prefix="/plain")
    with pytest.raises(PersistenceError) as caught:
        async with serving(app):
            pass
    assert caught.value.code is ErrorCode.INVALID_DATA
    message = caught.value.message
    assert "GET /before/install" in message and "GET /plain/session" in message
    assert "GET /after/install" not in message and "GET /chosen" not in message  # safe, or chosen on purpose

    fine = FastAPI()
    install(fine)
    safe = APIRouter()

    @safe.get("/chosen", response_model=Annotated[Session, SEND_PRIVATE_FIELDS])
    async def chosen_too() -> Any:
        return session()

    @safe.get("/session")
    async def public_one() -> Session:
        return session()

    fine.include_router(safe)
    check_responses(fine)  # nothing to refuse


async def test_the_audience_views_as_responses() -> None:
    both = session()
    bob = Student(id="bob", name="Bob", code="classmate-code")
    both = both.model_copy(update={"students": {**both.students, "bob": bob}})
    app = FastAPI()
    install(app)

    @app.get("/student/rm", response_model=StudentView)
    async def student_rm() -> Any:
        return StudentView.of(both, both.students["ada"])

    @app.get("/student/ann")
    async def student_ann() -> StudentView:
        return StudentView.of(both, both.students["ada"])

    @app.get("/instructor/rm", response_model=InstructorView)
    async def instructor_rm() -> Any:
        return both  # the session itself: read through the view's allow-list

    @app.get("/instructor/ann")
    async def instructor_ann() -> InstructorView:
        return InstructorView.of(both)

    @app.get("/instructor/page")
    async def instructor_page() -> Page[InstructorView]:
        # Views are built with .of() (their config has no from_attributes for items nested in a Page).
        return Page([InstructorView.of(both)], None)

    check_responses(app)
    async with serving(app) as client:
        student = (await client.get("/student/rm")).json()
        assert student == (await client.get("/student/ann")).json()
        assert set(student) == set(StudentView.model_fields) and student["me"]["code"] == "x = 1"
        assert "bob" not in json.dumps(student) and "classmate-code" not in json.dumps(student)  # no classmates
        assert_clean(student)
        instructor = (await client.get("/instructor/rm")).json()
        assert instructor == (await client.get("/instructor/ann")).json()
        assert (await client.get("/instructor/page")).json() == {"items": [instructor], "next_cursor": None}
        assert set(instructor) == set(InstructorView.model_fields)
        assert instructor["problem"]["solution"] == SOLUTION and set(instructor["students"]) == {"ada", "bob"}
        text = json.dumps(instructor)
        assert "metadata" not in text and "namespace_id" not in text and "legacy-secret" not in text
        spec = (await client.get("/openapi.json")).json()
    components = spec["components"]["schemas"]
    assert set(components["StudentView"]["properties"]) == set(StudentView.model_fields)
    assert set(components["InstructorView"]["properties"]) == set(InstructorView.model_fields)
    for path in ("/student/rm", "/student/ann"):
        assert schema_properties(spec, response_schema(spec, path)) == set(StudentView.model_fields)
    for path in ("/instructor/rm", "/instructor/ann"):
        assert schema_properties(spec, response_schema(spec, path)) == set(InstructorView.model_fields)
