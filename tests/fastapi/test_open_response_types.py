"""Finding (the FastAPI kit's attack): an endpoint whose response type lets any value through
(``-> Any``, ``-> dict``, ``-> list``, ``dict[str, Any]``, a model of the app's with an ``Any``
field) sent a returned ``Session`` or ``ProblemSpec`` whole: ``metadata`` (author e-mails),
``namespace_id``, the problem's ``solution``. The start-up check cannot see such a route (its
schema names no docstore model), so after ``install(app)`` each docstore item such a route
returns is sent in its public form, at any depth; a chosen model is sent as chosen."""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations.

from typing import Annotated, Any

from fastapi import Depends, FastAPI
from pydantic import BaseModel

from docstore import Page, ProblemSpec, Session, Student, StudentView, open_store
from docstore.fastapi import (
    SEND_PRIVATE_FIELDS,
    Namespace,
    PublicProblemWithSolution,
    install,
    namespace_view,
    store_lifespan,
)

from .apps import serving

PRIVATE = ("metadata", "namespace_id", "SECRET-SOLUTION", "teacher@school.org")


async def teacher() -> tuple[str, str]:
    return "cs101", "teacher@school.org"


View = Annotated[Namespace, Depends(namespace_view(teacher))]


class Wrapper(BaseModel):
    anything: Any
    note: str = "n"


def _app() -> FastAPI:
    store = open_store("memory://")
    app = FastAPI(lifespan=store_lifespan(store))
    install(app)

    async def items(ns: Namespace) -> tuple[Session, ProblemSpec, Page[ProblemSpec]]:
        made = await ns.sessions.count_sessions()
        session_id = await ns.sessions.create_session(Session(join_code=f"open{made:02d}"))
        await ns.sessions.upsert_student(session_id, Student(id="s1", name="Ana"))
        await ns.problems.save_problem(ProblemSpec(title="t", description="d", solution="SECRET-SOLUTION"))
        session = await ns.sessions.get_session(session_id)
        assert session is not None
        page = await ns.problems.list_problems()
        return session, page.items[0], page

    @app.get("/any")
    async def as_any(ns: View) -> Any:
        return (await items(ns))[0]

    @app.get("/dict")
    async def as_dict(ns: View) -> dict:  # type: ignore[type-arg]
        session, problem, page = await items(ns)
        return {"session": session, "problems": [problem], "page": page, "n": 1}

    @app.get("/dict-any")
    async def as_dict_any(ns: View) -> dict[str, Any]:
        session, problem, _ = await items(ns)
        return {"nested": {"deeper": [session, (problem,)]}}

    @app.get("/list")
    def as_list_sync() -> list:  # type: ignore[type-arg]
        # A sync endpoint (run in a thread by FastAPI) is kept sync.
        return [Session(join_code="sync01", namespace_id="cs101")]

    @app.get("/wrapper")
    async def as_wrapper(ns: View) -> Wrapper:
        return Wrapper(anything=(await items(ns))[1])

    @app.get("/object", response_model=object)
    async def as_object(ns: View) -> Any:
        return [(await items(ns))[0]]

    @app.get("/chosen")
    async def chosen(ns: View) -> Annotated[Any, SEND_PRIVATE_FIELDS]:
        return (await items(ns))[1]

    @app.get("/instructor")
    async def instructor(ns: View) -> Any:
        session, problem, _ = await items(ns)
        return {"problem": PublicProblemWithSolution.model_validate(problem), "view": StudentView.of(session)}

    return app


async def test_items_returned_through_open_response_types_are_sent_public() -> None:
    async with serving(_app()) as client:
        for path in ("/any", "/dict", "/dict-any", "/list", "/wrapper", "/object"):
            answer = await client.get(path)
            assert answer.status_code == 200, (path, answer.text)
            leaked = [word for word in PRIVATE if word in answer.text]
            assert not leaked, (path, leaked, answer.text)
        dict_answer = (await client.get("/dict")).json()
        assert dict_answer["n"] == 1 and dict_answer["session"]["join_code"].startswith("OPEN")
        assert dict_answer["session"]["students"]["s1"]["name"] == "Ana"
        assert dict_answer["page"]["items"][0]["title"] == "t"


async def test_a_model_chosen_on_purpose_through_an_open_type_is_sent_as_chosen() -> None:
    async with serving(_app()) as client:
        chosen = await client.get("/chosen")
        assert "SECRET-SOLUTION" in chosen.text and "metadata" in chosen.text
        instructor = await client.get("/instructor")
        assert "SECRET-SOLUTION" in instructor.text and "metadata" not in instructor.text
