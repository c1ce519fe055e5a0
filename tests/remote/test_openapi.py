"""The OpenAPI document is exact: schemathesis sends what it describes (and what it rules out).

A bounded pass (a few examples per operation, well under a minute): requests valid by the
schema must be taken, invalid ones refused, and every answer must be documented (status,
content type, body). ``/openapi.json`` is what this checks, as served.
"""

from __future__ import annotations

import json
import re
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.generation.case import Case

from docstore import _mapping, open_store
from docstore._remote._wire import methods
from docstore._server._parameters import IMMUTABLE_FIELDS
from docstore.server import create_app

ADMIN = {"Authorization": "Bearer schema-admin"}
# What a schema cannot state (listed in the 422's description), refused by the engines
# for a request the schema allows: a cursor's content (made by a previous page of the same
# listing), free-form values that no engine stores exactly (``extra``: integers beyond 64
# bits, nesting, keys starting with "$" or holding "."), and a student's key being its id.
UNSTATED = re.compile(
    r"cursor|does not fit in 64 bits|beyond 64 bits|nest|deeper|key .* may not|'\$'|'\.'|"
    r"student .* is under the key|surrogate|cannot be stored",
    re.I,
)

store = open_store("memory://")
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(store, admin_token="schema-admin"))


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
