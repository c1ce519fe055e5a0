"""Whole collections through a server: stats, export, restore and import work on ``http(s)://`` too."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from docstore import ErrorCode, Session, Student, export_store, import_legacy, restore_store

from ..contract.helpers import expect_error
from .conftest import Served
from .servers import ADMIN_TOKEN, asgi_server

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "legacy-data"


async def test_export_through_a_server_restores_into_another(tmp_path: Path) -> None:
    async with asgi_server() as (server, served), server.open(token=ADMIN_TOKEN) as remote:
        session_id = await served.sessions.create_session(
            Session(join_code="DOC001", students={"a.b": Student(id="a.b")}, extra={"n": 2**40})
        )
        await served.sessions.record_code(session_id, "a.b", "print(1)")
        direct = tmp_path / "direct"
        through = tmp_path / "through"
        assert await export_store(served, direct) == await export_store(remote, through)
        for name in ("sessions.jsonl", "revisions.jsonl"):
            assert (direct / name).read_bytes() == (through / name).read_bytes()
        assert set(await remote.stats()) == set(await served.stats())
    async with asgi_server() as (server, served), server.open(token=ADMIN_TOKEN) as remote:
        await restore_store(remote, through)
        restored = await served.sessions.get_session_by_join_code("DOC001")
        assert restored is not None and restored.extra["n"] == 2**40
        assert await remote.documents.get_document("sessions", "nope") is None
        assert await remote.documents.delete_document("sessions", session_id)
        assert not await remote.documents.delete_document("sessions", session_id)
        dry = await remote.documents.upsert_documents(
            "sessions", [{"_id": "x", "when": datetime.now(UTC)}], dry_run=True
        )
        assert dry.inserted == 1 and await served.documents.get_document("sessions", "x") is None
        await expect_error(ErrorCode.INVALID_DATA, remote.documents.get_document("bad-name", "x"))


async def test_import_through_a_server(tmp_path: Path) -> None:
    async with asgi_server() as (server, served), server.open(token=ADMIN_TOKEN) as remote:
        report = await import_legacy(EXAMPLES, remote, rejects_path=tmp_path / "rejects.jsonl")
        assert report.records_read > 0
        assert await served.sessions.count_sessions() == await remote.sessions.count_sessions() > 0


async def test_a_batch_over_the_body_limit_is_split_and_positions_survive(served: Served) -> None:
    # Three documents of 7 MiB: 21 MiB in all, past the server's 16 MiB body limit; bad
    # documents between them must be reported at the caller's positions, not a chunk's.
    big = "x" * (7 * 1024 * 1024)
    batch: list[Any] = [{"_id": "a", "big": big}, None, {"_id": "b", "big": big}, {"_id": 5}, {"_id": "c", "big": big}]
    async with served.client() as remote:
        result = await remote.documents.upsert_documents("notes", batch)
        assert [position for position, _ in result.failed] == [1, 3]
        assert result.inserted == 3
        for name in "abc":
            stored = await served.store.documents.get_document("notes", name)
            assert stored is not None and stored["big"] == big


async def test_a_document_whose_json_passes_the_body_limit_is_refused_alone(served: Served) -> None:
    # 3 MiB as BSON, but each control character is six bytes of JSON (\u0001): 18 MiB on
    # the wire, more than one request may hold. Refused on its own, the rest written.
    wide = "\x01" * (3 * 1024 * 1024)
    async with served.client() as remote:
        result = await remote.documents.upsert_documents("notes", [{"_id": "w", "t": wide}, {"_id": "k"}])
        assert [position for position, _ in result.failed] == [0]
        assert "request" in result.failed[0][1]
        assert result.inserted == 1
        assert await served.store.documents.get_document("notes", "w") is None
