"""The operations commands: output, exit codes, and export/restore across engines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from docstore import (
    ErrorCode,
    InvalidBackup,
    PersistenceError,
    Session,
    StorageConfig,
    Store,
    export_store,
    import_legacy,
    open_store,
    restore_store,
)
from docstore._backup import undo_interrupted_restore
from docstore._cli import main
from docstore._mongo._engines import MongoEngine
from tests.documents import all_documents

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "legacy-data"


def docstore(*args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DOCSTORE_")}
    if url:
        env["DOCSTORE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "docstore", *args], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT
    )


def test_health_init_and_stats_on_the_embedded_engine(tmp_path: Path) -> None:
    url = f"local://{tmp_path / 'store'}"
    first = docstore("init", url=url)
    assert first.returncode == 0, first.stderr
    # local:// keeps its own index set (one per query its SQL makes), not MongoDB's.
    from docstore._sqlite._schema import INDEXES

    sessions_line = next(line for line in first.stdout.splitlines() if line.startswith("sessions:"))
    assert "active_join_code_unique" in sessions_line
    assert all(name in sessions_line for name in INDEXES["sessions"]), sessions_line
    assert docstore("init", url=url).stdout == first.stdout  # safe to run twice

    health = docstore("health", url=url)
    assert health.returncode == 0 and "healthy local" in health.stdout and " ms" in health.stdout

    assert docstore("import", str(EXAMPLE), url=url).returncode == 0
    stats = docstore("stats", url=url)
    assert stats.returncode == 0
    assert "revisions" in stats.stdout and "72" in stats.stdout


def test_health_of_an_unreachable_server_exits_2_quickly_without_a_traceback() -> None:
    started = time.monotonic()
    result = docstore("health", url="mongodb://ops:s3cret@127.0.0.1:9/?serverSelectionTimeoutMS=500")
    assert result.returncode == 2
    assert time.monotonic() - started < 30
    assert "Traceback" not in result.stderr and "s3cret" not in result.stdout + result.stderr
    assert "unhealthy" in result.stdout and len(result.stderr.strip().splitlines()) == 1


def test_restore_of_a_missing_export_exits_2(tmp_path: Path) -> None:
    result = docstore("restore", str(tmp_path / "nothing"), url="memory://")
    assert result.returncode == 2 and "not a docstore export" in result.stderr


async def test_export_restore_round_trips_between_engines_byte_for_byte(tmp_path: Path) -> None:
    async with open_store(f"local://{tmp_path / 'a'}") as source:
        await import_legacy(EXAMPLE, source)
        await export_store(source, tmp_path / "from-local")
    async with open_store("memory://") as memory:
        assert await restore_store(memory, tmp_path / "from-local") == (
            await export_store(memory, tmp_path / "from-memory")
        )
        sessions = await memory.sessions.list_all_sessions()
        assert len(sessions) == 2 and sessions[0].metadata is not None
        assert len(await memory.revisions.get_latest_revisions(sessions[0].id)) == 3
    async with open_store(f"local://{tmp_path / 'b'}") as back:
        await restore_store(back, tmp_path / "from-memory")
        await export_store(back, tmp_path / "back-to-local")
    for export in ("from-memory", "back-to-local"):
        for original in (tmp_path / "from-local").glob("*.jsonl"):
            assert (tmp_path / export / original.name).read_bytes() == original.read_bytes(), original.name


async def test_cli_export_and_restore(tmp_path: Path) -> None:
    url = f"local://{tmp_path / 'store'}"
    assert docstore("import", str(EXAMPLE), url=url).returncode == 0
    exported = docstore("export", str(tmp_path / "dump"), url=url)
    # 86 documents and the 6 students of the example, each a session_students record of its own (issue 14).
    assert exported.returncode == 0 and "exported 92 documents" in exported.stdout
    assert "session_students: 6 documents" in exported.stdout
    restored = docstore("restore", str(tmp_path / "dump"), url=f"local://{tmp_path / 'copy'}")
    assert restored.returncode == 0 and "restored 92 documents" in restored.stdout
    async with open_store(f"local://{tmp_path / 'copy'}") as copy:
        assert await copy.revisions.count_revisions((await copy.sessions.list_all_sessions())[0].id) == 36


async def test_mongodb_engine_uses_the_settings_and_the_url_wins() -> None:
    engine = MongoEngine(
        StorageConfig(
            url="mongodb://u:p@db.example:27017/?appName=mine", max_pool_size=7, server_selection_timeout_ms=1234
        )
    )
    try:
        options = engine.database.client.options
        assert options.pool_options.max_pool_size == 7
        assert options.server_selection_timeout == 1.234
        assert options.write_concern.document == {"w": "majority"}  # majority by default
        assert options.retry_writes is True and options.retry_reads is True
        assert options.pool_options.metadata["application"]["name"] == "mine"  # from the URL
    finally:
        await engine.close()


def test_a_bad_url_says_why_not_where_to_read_about_it() -> None:
    result = docstore("stats", "--url", "foo://bar")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "unsupported URL 'foo://bar'" in result.stderr and "pydantic.dev" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "create"),
    [
        (["health"], False),
        (["import", str(EXAMPLE), "--dry-run"], False),
        (["import", str(EXAMPLE)], True),
        (["stats"], False),  # finding 13 (tester4): a mistyped path is not made a new store
    ],
)
def test_health_and_dry_runs_never_create_a_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: list[str], create: bool
) -> None:
    from docstore._cli import _app

    asked: list[bool] = []

    def spy(url: str | None, **settings: Any) -> Store:
        asked.append(settings["create"])
        return open_store("memory://", **settings)

    monkeypatch.setattr(_app, "open_store", spy)
    monkeypatch.chdir(tmp_path)  # the rejects file of an import lands beside the source, not here
    CliRunner().invoke(main, [*args, "--url", f"local://{tmp_path / 'store'}"])
    assert asked == [create]


async def test_health_of_a_store_that_does_not_exist_leaves_it_absent(tmp_path: Path) -> None:
    target = tmp_path / "never"
    probe = open_store(f"local://{tmp_path / 'probe'}", create=False)
    try:
        await probe.initialize()
    except PersistenceError:
        pass
    finally:
        await probe.shutdown()
    if (tmp_path / "probe").exists():
        pytest.skip("this local:// backend does not honour create=False yet")
    result = docstore("health", url=f"local://{target}")
    assert result.returncode == 2 and "unhealthy" in result.stdout
    assert not target.exists()
    dry = docstore("import", str(EXAMPLE), "--dry-run", url=f"local://{target}")
    # Issue 16 item 13: a dry run into a store not made yet reports (exit 0, was 2), still creating nothing.
    assert dry.returncode == 0 and not target.exists()


# -- restore: all or nothing ---------------------------------------------------------------


async def snapshot(store: Store, folder: Path) -> dict[str, bytes]:
    await export_store(store, folder)
    return {path.name: path.read_bytes() for path in folder.glob("*.jsonl")}


async def example_backup(tmp_path: Path) -> Path:
    async with open_store("memory://") as source:
        await import_legacy(EXAMPLE, source)
        await export_store(source, tmp_path / "backup")
    return tmp_path / "backup"


def write_manifest(folder: Path, manifest: Any) -> None:
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


@pytest.mark.parametrize(
    "manifest",
    [{}, [1, 2], [["sessions", 2]], {"collections": {"a$b": 1}}, {"collections": {"sessions": "2"}}, "x"],
    ids=["empty", "list", "list-of-pairs", "dollar-name", "count-as-text", "string"],
)
async def test_a_malformed_manifest_is_refused_with_the_reason(tmp_path: Path, manifest: Any) -> None:
    backup = await example_backup(tmp_path)
    write_manifest(backup, manifest)
    result = docstore("restore", str(backup), url="memory://")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "the store is unchanged" in result.stderr and "manifest.json" in result.stderr


async def test_every_problem_of_a_backup_is_listed_and_nothing_is_written(tmp_path: Path) -> None:
    backup = await example_backup(tmp_path)
    manifest = json.loads((backup / "manifest.json").read_text())
    sessions = (backup / "sessions.jsonl").read_text().splitlines()
    broken_session = json.loads(sessions[0])
    broken_session["active"] = "maybe"
    huge = {"_id": "huge", "text": "x" * (17 * 1024 * 1024)}
    lines = [
        "{}",
        "[1, 2]",
        "not json",
        json.dumps({"_id": 5}),
        json.dumps({"_id": "op", "$set": {"a": 1}}),
        json.dumps(huge),
        json.dumps({"_id": "op"}),
    ]
    (backup / "legacy_users.jsonl").write_text("\n".join(lines) + "\n")
    (backup / "sessions.jsonl").write_text("\n".join([json.dumps(broken_session), sessions[1], sessions[1]]) + "\n")
    manifest["collections"]["legacy_users"] = len(lines)
    write_manifest(backup, manifest)

    async with open_store(f"local://{tmp_path / 'target'}") as target:
        await import_legacy(EXAMPLE, target)
        await target.sessions.create_session(Session(id="mine", join_code="MINE01"))
        before = await snapshot(target, tmp_path / "before")
        with pytest.raises(InvalidBackup) as caught:
            await restore_store(target, backup)
        assert await snapshot(target, tmp_path / "after") == before
    problems = "\n".join(caught.value.problems)
    for expected in (
        "legacy_users.jsonl line 1: no string _id",
        "legacy_users.jsonl line 2: a document must be an object",
        "legacy_users.jsonl line 3: not a JSON document",
        "legacy_users.jsonl line 4: no string _id",
        "legacy_users.jsonl line 5: key '$set'",
        "legacy_users.jsonl line 6: document 'huge' is",
        "legacy_users.jsonl line 7: _id 'op' appears twice",
        "sessions.jsonl line 1: stored Session",
        "sessions.jsonl line 3: _id",
        "sessions.jsonl holds 3 documents, the manifest says 2",
    ):
        assert expected in problems, expected
    assert caught.value.code is ErrorCode.INVALID_DATA


async def test_active_join_codes_may_not_clash(tmp_path: Path) -> None:
    async with open_store("memory://") as source:
        await source.sessions.create_session(Session(id="s1", join_code="AAAAAA"))
        await source.sessions.create_session(Session(id="s2", join_code="BBBBBB"))
        await export_store(source, tmp_path / "backup")
    async with open_store("memory://") as target:
        # Another active session of the store holds one of the backup's codes.
        await target.sessions.create_session(Session(id="other", join_code="aaaaaa"))
        before = await snapshot(target, tmp_path / "before")
        with pytest.raises(InvalidBackup, match="AAAAAA"):
            await restore_store(target, tmp_path / "backup")
        assert await snapshot(target, tmp_path / "after") == before
        await target.sessions.end_session("other")
        restored = await restore_store(target, tmp_path / "backup")
        assert restored == {"problems": 0, "revisions": 0, "session_students": 0, "sessions": 2}

    # Inside the backup: two active sessions with one code.
    lines = (tmp_path / "backup" / "sessions.jsonl").read_text().replace("BBBBBB", "AAAAAA")
    (tmp_path / "backup" / "sessions.jsonl").write_text(lines)
    async with open_store("memory://") as empty:
        with pytest.raises(InvalidBackup, match="also that of session 's1'"):
            await restore_store(empty, tmp_path / "backup")
        assert (await empty.stats())["sessions"].documents == 0


async def test_sessions_the_backup_replaces_may_swap_join_codes(tmp_path: Path) -> None:
    async with open_store("memory://") as source:
        await source.sessions.create_session(Session(id="s1", join_code="AAAAAA"))
        await source.sessions.create_session(Session(id="s2", join_code="BBBBBB"))
        await export_store(source, tmp_path / "backup")
    async with open_store("memory://") as target:
        await target.sessions.create_session(Session(id="s1", join_code="BBBBBB"))
        await target.sessions.create_session(Session(id="s2", join_code="AAAAAA"))
        await restore_store(target, tmp_path / "backup")
        found = await target.sessions.get_session_by_join_code("AAAAAA")
        assert found is not None and found.id == "s1"


async def test_a_write_failing_midway_is_undone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backup = await example_backup(tmp_path)
    async with open_store("memory://") as target:
        await target.sessions.create_session(Session(id="mine", join_code="MINE01"))
        await import_legacy(EXAMPLE, target)
        first_session = next(s for s in await target.sessions.list_all_sessions() if s.id != "mine")
        await target.sessions.update_session(first_session.id, {"problem_text": "changed since the backup"})
        problem = (await target.problems.list_problems())[0]
        await target.problems.update_problem(problem.id, {"title": "changed since the backup"})
        assert await target.revisions.delete_revisions(first_session.id) > 0
        await target.documents.delete_document("legacy_users", (await all_documents(target, "legacy_users"))[0]["_id"])
        before = await snapshot(target, tmp_path / "before")

        documents = type(target._shared.open_backend().documents)  # the backend's class, under the store's guard
        real = documents.upsert_documents

        faults = [ErrorCode.UNAVAILABLE]  # one fault: the server comes back for the rollback

        async def failing(self: Any, collection: str, batch: Any, **options: Any) -> Any:
            if collection == "sessions" and faults:  # the last one: every other collection was written
                raise PersistenceError(faults.pop(), "the server went away")
            return await real(self, collection, batch, **options)

        monkeypatch.setattr(documents, "upsert_documents", failing)
        with pytest.raises(PersistenceError, match="undone") as caught:
            await restore_store(target, backup)
        assert caught.value.code is ErrorCode.UNAVAILABLE
        monkeypatch.setattr(documents, "upsert_documents", real)
        assert await snapshot(target, tmp_path / "after") == before


async def test_a_rollback_that_fails_too_leaves_a_record_that_the_next_restore_undoes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Was: "names the file of replaced documents". The replaced documents no longer go to a
    # temporary file (lost with the machine) but into the store itself (issue 16 item 6).
    backup = await example_backup(tmp_path)
    async with open_store("memory://") as target:
        await import_legacy(EXAMPLE, target)
        await target.sessions.create_session(Session(id="mine", join_code="MINE01"))
        first = (await target.sessions.list_all_sessions())[0]
        await target.sessions.update_session(first.id, {"problem_text": "changed since the backup"})
        before = await snapshot(target, tmp_path / "before")
        documents = type(target._shared.open_backend().documents)  # the backend's class, under the store's guard
        real_upsert, real_delete = documents.upsert_documents, documents.delete_document
        writes = [0]

        async def gone_after_one_batch(self: Any, collection: str, batch: Any, **options: Any) -> Any:
            if not collection.startswith("docstore_restore"):
                writes[0] += 1
                if writes[0] > 1:
                    raise PersistenceError(ErrorCode.UNAVAILABLE, "the server is gone for good")
            return await real_upsert(self, collection, batch, **options)

        async def no_delete(self: Any, collection: str, document_id: str) -> Any:
            raise PersistenceError(ErrorCode.UNAVAILABLE, "the server is gone for good")

        monkeypatch.setattr(documents, "upsert_documents", gone_after_one_batch)
        monkeypatch.setattr(documents, "delete_document", no_delete)
        with pytest.raises(PersistenceError, match="mid-restore") as caught:
            await restore_store(target, backup)
        assert caught.value.code is ErrorCode.STORAGE_ERROR
        assert "docstore_restore_undo" in caught.value.message
        monkeypatch.setattr(documents, "upsert_documents", real_upsert)
        monkeypatch.setattr(documents, "delete_document", real_delete)
        with pytest.raises(PersistenceError, match="mid-restore"):
            await export_store(target, tmp_path / "refused")
        assert (await target.health()).details.get("restore") is not None
        undone = await undo_interrupted_restore(target)
        assert undone is not None and undone["phase"] == "writing"
        assert await snapshot(target, tmp_path / "after") == before
        assert await undo_interrupted_restore(target) is None
