"""The operations commands: output, exit codes, and export/restore across engines."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from docstore import PersistenceError, StorageConfig, Store, export_store, import_legacy, open_store, restore_store
from docstore._cli import main
from docstore._mongo._engines import MongoEngine

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
    assert "sessions: 8 indexes" in first.stdout and "active_join_code_unique" in first.stdout
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
    assert exported.returncode == 0 and "exported 86 documents" in exported.stdout
    restored = docstore("restore", str(tmp_path / "dump"), url=f"local://{tmp_path / 'copy'}")
    assert restored.returncode == 0 and "restored 86 documents" in restored.stdout
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
        (["stats"], True),
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
    assert dry.returncode == 2 and not target.exists()
