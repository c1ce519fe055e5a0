"""Free-form values on the wire: Extended JSON where JSON cannot hold a value, plain JSON otherwise.

Finding 8: through a docstore server a datetime or bytes in ``extra`` read back as text. Now a
value JSON cannot hold crosses as canonical Extended JSON both ways, what JSON holds crosses as
it is (so a raw HTTP client sees the same JSON as before), and malformed Extended JSON from a
raw client is INVALID_DATA, never a 500.
"""

from __future__ import annotations

from datetime import UTC, datetime

from docstore import CodeRevision

from .conftest import Served
from .servers import ADMIN_TOKEN

_AUTH = {"authorization": f"Bearer {ADMIN_TOKEN}"}


def _revision(extra: object) -> dict[str, object]:
    return {"revision": {"session_id": "s", "student_id": "u", "code": "x", "extra": extra}}


async def test_a_raw_client_sends_and_reads_extended_json_in_extra(served: Served) -> None:
    when = datetime(2020, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
    async with served.server.http() as http:
        sent = await http.post(
            "/v1/revisions/save_revision",
            json=_revision({"when": {"$date": {"$numberLong": str(int(when.timestamp() * 1000))}}, "n": 1}),
            headers=_AUTH,
        )
        assert sent.status_code == 200, sent.text
        stored = await served.store.revisions.get_revision(sent.json())
        assert stored is not None and stored.extra == {"when": when, "n": 1}
        read = await http.post("/v1/revisions/get_revision", json={"revision_id": sent.json()}, headers=_AUTH)
        assert read.json()["extra"] == {"when": {"$date": {"$numberLong": "1577934245006"}}, "n": 1}


async def test_json_native_extra_crosses_as_plain_json(served: Served) -> None:
    revision_id = await served.store.revisions.save_revision(
        CodeRevision(session_id="s", student_id="u", code="x", extra={"a": [1, "two", None, {"b": 2.5}]})
    )
    async with served.server.http() as http:
        read = await http.post("/v1/revisions/get_revision", json={"revision_id": revision_id}, headers=_AUTH)
    assert read.json()["extra"] == {"a": [1, "two", None, {"b": 2.5}]}


async def test_malformed_extended_json_from_a_raw_client_is_invalid_data(served: Served) -> None:
    async with served.server.http() as http:
        sent = await http.post(
            "/v1/revisions/save_revision", json=_revision({"v": {"$date": "not a date"}}), headers=_AUTH
        )
    assert sent.status_code == 422 and sent.json()["code"] == "INVALID_DATA"
    assert await served.store.revisions.count_revisions("s") == 0
