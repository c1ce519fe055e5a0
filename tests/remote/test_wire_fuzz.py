"""Any JSON to any endpoint: a 2xx or a 4xx with a code, never a 5xx (storage does not fail here)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docstore import Session, open_store
from docstore._wire import methods
from docstore.server import create_app

ADMIN = {"Authorization": "Bearer fuzz-admin"}
PATHS = sorted(method.path for catalogue in methods().values() for method in catalogue.values())
ARGUMENT_NAMES = sorted({name for c in methods().values() for m in c.values() for name, _, _ in m.parameters})

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
# Bodies that look like calls: the real argument names, any values (and sometimes a stray key).
bodies = st.dictionaries(st.sampled_from([*ARGUMENT_NAMES, "extra_key"]), json_values, max_size=5)


class Wire:
    """One server over memory:// and a raw client to it, on a loop of their own (hypothesis is sync)."""

    def __init__(self) -> None:
        self.runner = asyncio.Runner()
        self.store = open_store("memory://")
        self.runner.run(self.store.initialize())
        self.runner.run(self.store.sessions.create_session(Session(join_code="FUZZ01")))
        transport = httpx.ASGITransport(app=create_app(self.store, admin_token="fuzz-admin"))
        self.client = httpx.AsyncClient(transport=transport, base_url="http://fuzz", headers=ADMIN)

    def post(self, path: str, content: bytes) -> httpx.Response:
        return self.runner.run(self.client.post(path, content=content, headers={"Content-Type": "application/json"}))

    def close(self) -> None:
        self.runner.run(self.client.aclose())
        self.runner.run(self.store.shutdown())
        self.runner.close()


@pytest.fixture(scope="module")
def wire() -> Iterator[Wire]:
    made = Wire()
    yield made
    made.close()


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), body=bodies)
def test_no_body_makes_a_5xx(wire: Wire, path: str, body: dict[str, object]) -> None:
    answer = wire.post(path, json.dumps(body).encode())
    assert answer.status_code < 500, (path, body, answer.text)
    if answer.status_code >= 400:
        assert answer.json()["code"] in ("INVALID_DATA", "NOT_FOUND", "ALREADY_EXISTS", "CONFLICT"), answer.text


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), raw=st.binary(max_size=64))
def test_no_bytes_make_a_5xx(wire: Wire, path: str, raw: bytes) -> None:
    assert wire.post(path, raw).status_code < 500
