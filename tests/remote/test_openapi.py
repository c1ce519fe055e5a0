"""The OpenAPI document is exact: schemathesis sends what it describes (and what it rules out).

A bounded pass (a few examples per operation, well under a minute): requests valid by the
schema must be taken, invalid ones refused, and every answer must be documented (status,
content type, body). ``/openapi.json`` is what this checks, as served.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.generation.case import Case

from docstore import _mapping, open_store
from docstore._server._feed import WATCH_PATH
from docstore._server._parameters import IMMUTABLE_FIELDS
from docstore._wire import methods
from docstore.server import create_app

from .servers import ADMIN_TOKEN, asgi_server

ADMIN = {"Authorization": "Bearer schema-admin"}
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# What a schema cannot state (listed in the 422's description), refused by the engines
# for a request the schema allows: a cursor's content (made by a previous page of the same
# listing), free-form values that no engine stores exactly (``extra``: integers beyond 64
# bits, nesting, keys starting with "$" or holding "."), a student's key being its id, and a
# join code of invisible characters only (empty once normalized).
UNSTATED = re.compile(
    r"cursor|does not fit in 64 bits|beyond 64 bits|nest|deeper|key .* may not|'\$'|'\.'|"
    r"student .* is under the key|surrogate|cannot be stored|join code must be a non-empty",
    re.I,
)

store = open_store("memory://")
# The live feed is one endless answer (Server-Sent Events): its refusals are checked in
# tests/contract/test_feed.py; a generated request for a session that exists would never end.
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(store, admin_token="schema-admin")).exclude(
    path=WATCH_PATH
)


def _positive_answers_are_taken(case: Case[Any], answer: Any) -> None:
    """schemathesis's own check, except for the refusals the schema documents as unstated."""
    if case.meta is None or not case.meta.generation.mode.is_positive or answer.status_code < 400:
        return
    assert answer.status_code in (401, 403, 404, 409, 412, 422), (answer.status_code, answer.text)
    if answer.status_code == 422:
        message = json.loads(answer.text)["message"]
        assert UNSTATED.search(message), f"schema-valid request refused: {message} ({case.body!r})"


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_server_does_what_its_openapi_document_says(case: Case[Any]) -> None:
    answer = case.call(headers=ADMIN)
    case.validate_response(answer, headers=ADMIN, excluded_checks=[positive_data_acceptance])
    _positive_answers_are_taken(case, answer)


def test_every_repository_route_documents_its_body_and_errors() -> None:
    document = schema.raw_schema
    for catalogue in methods().values():
        for method in catalogue.values():
            operation = document["paths"][method.path]["post"]
            assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].startswith(
                "#/components/schemas/In."
            )
            assert {"400", "401", "403", "413", "422", "500"} <= set(operation["responses"])
    assert IMMUTABLE_FIELDS | {"_id", "_metadata"} == _mapping._IMMUTABLE  # the rule an update is checked by


@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        ("/v1/sessions/create_session", {"session": {"join_code": "NEST01", "created_at": 0}}, "created_at"),
        # schemathesis once sent this (not "date-time" text), and it was taken as 2 s past 1970.
        ("/v1/sessions/create_session", {"session": {"join_code": "NEST01", "created_at": "2"}}, "created_at"),
        ("/v1/problems/save_problem", {"problem": {"title": "t", "created_at": "-1.5"}}, "created_at"),
        (
            "/v1/sessions/upsert_student",
            {"session_id": "s", "student": {"id": "a", "last_update": "1733356800"}},
            "last_update",
        ),
        (
            "/v1/sessions/record_code",
            {
                "session_id": "s",
                "student_id": "a",
                "code": "x",
                "execution_result": {"success": True, "execution_time_ms": False},
            },
            "execution_time_ms",
        ),
        ("/v1/sessions/upsert_student", {"session_id": "s", "student": {"id": "a", "name": 5}}, "name"),
        ("/v1/sessions/update_session", {"session_id": "s", "updates": {"active": "yes"}}, "active"),
    ],
)
async def test_nested_values_are_as_strict_as_top_level_ones(path: str, body: dict[str, Any], named: str) -> None:
    """What the schema rules out is refused at every depth: no number (nor a number's text) as a
    datetime, no bool as a number."""
    async with asgi_server("memory://") as (server, served):
        async with server.http(headers=AUTH) as client:
            answer = await client.post(path, json=body)
        assert answer.status_code == 422 and named in answer.json()["message"], answer.text
        assert await served.sessions.count_sessions() == 0


async def test_a_wrong_method_lists_every_method_of_its_path() -> None:
    async with asgi_server("memory://") as (server, _):
        client = server.http(headers=AUTH)
        async with client:
            answer = await client.put("/v1/admin/documents/sessions")
    assert answer.status_code == 405 and answer.headers["allow"] == "GET, POST"


def test_a_student_sent_whole_states_the_id_rules_the_engines_enforce() -> None:
    """schemathesis once generated a student id of one NUL: schema-valid, yet refused (a
    student id is a key inside its session). The document now states it, as it does for
    ``student_id`` arguments."""
    student = schema.raw_schema["components"]["schemas"]["In.Student"]["properties"]["id"]
    argument = schema.raw_schema["components"]["schemas"]["In.SessionsGetStudent"]["properties"]["student_id"]
    for rules in (student, argument):
        pattern = re.compile(rules["pattern"])
        assert not pattern.search("\x00") and not pattern.search("a\x00b") and pattern.search("ab")
        assert rules["maxLength"] == 256
