"""Bad input never stops an import nor loses good records; re-runs and resumes converge."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from docstore import Store, import_legacy, open_store
from tests.documents import all_documents

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "legacy-data"


@pytest.fixture
def legacy_copy(tmp_path: Path) -> Path:
    target = tmp_path / "legacy"
    shutil.copytree(EXAMPLE, target)
    return target


@pytest.fixture
async def store() -> Any:
    async with open_store("memory://") as opened:
        yield opened


def rejects(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def dump_all(store: Store) -> dict[str, list[dict[str, Any]]]:
    dumped = {}
    for name in await store.stats():
        dumped[name] = await all_documents(store, name)
    return dumped


async def test_the_example_imports_cleanly_and_a_rerun_changes_nothing(store: Store, legacy_copy: Path) -> None:
    first = await import_legacy(legacy_copy, store)
    assert first.exit_code == 0 and first.rejected == 0
    assert first.kinds["revisions"].imported == 72 and first.kinds["sessions"].imported == 2
    before = await dump_all(store)
    again = await import_legacy(legacy_copy, store)
    assert all(c.imported == c.updated == 0 for c in again.kinds.values())
    assert again.kinds["revisions"].unchanged == 72
    assert await dump_all(store) == before


async def test_a_changed_record_is_updated(store: Store, legacy_copy: Path) -> None:
    await import_legacy(legacy_copy, store)
    sessions = json.loads((legacy_copy / "sessions.json").read_text())
    session_id = next(iter(sessions))
    sessions[session_id]["sectionName"] = "Period 3"
    sessions[session_id]["_metadata"]["version"] += 1
    (legacy_copy / "sessions.json").write_text(json.dumps(sessions))
    report = await import_legacy(legacy_copy, store)
    assert (report.kinds["sessions"].updated, report.kinds["sessions"].unchanged) == (1, 1)
    stored = await store.sessions.get_session(session_id)
    assert stored is not None and stored.extra["sectionName"] == "Period 3"


async def test_dry_run_writes_nothing(store: Store, legacy_copy: Path) -> None:
    report = await import_legacy(legacy_copy, store, dry_run=True)
    assert report.kinds["revisions"].imported == 72  # would be imported
    assert all(info.documents == 0 for info in (await store.stats()).values())


async def test_truncated_file_keeps_records_before_the_break(store: Store, legacy_copy: Path, tmp_path: Path) -> None:
    revisions = legacy_copy / "revisions.json"
    text = revisions.read_text(encoding="utf-8")
    revisions.write_text(text[: len(text) // 2], encoding="utf-8")
    (legacy_copy / "users.json").write_text('{"u1": {"id": "u1", "role": "student"},, }')
    report = await import_legacy(legacy_copy, store, rejects_path=tmp_path / "r.jsonl")
    assert report.exit_code == 1
    assert 20 < report.kinds["revisions"].imported < 72
    assert report.files["revisions.json"].status == "failed"
    assert report.kinds["sessions"].imported == 2  # the other files go on
    assert report.kinds["classes"].imported == 1
    lines = rejects(tmp_path / "r.jsonl")
    assert {line["file"] for line in lines} == {"revisions.json", "users.json"}
    assert all("unreadable" in line["reason"] and line["path"].startswith("$") for line in lines)


async def test_bad_records_are_rejected_one_by_one(store: Store, legacy_copy: Path, tmp_path: Path) -> None:
    sessions = json.loads((legacy_copy / "sessions.json").read_text())
    first, second = list(sessions)
    sessions[first]["students"] = ["not", "a", "map"]  # wrong type
    sessions["broken"] = {key: value for key, value in sessions[second].items() if key != "createdAt"}
    sessions["broken"]["id"] = "broken"  # a known shape, but missing a required field
    sessions["odd"] = {"id": "odd"}  # no known shape at all
    (legacy_copy / "sessions.json").write_text(json.dumps(sessions))

    streams = json.loads((legacy_copy / "revisions.json").read_text())
    keys = list(streams)
    bad_patch_stream = streams[keys[1]]
    assert bad_patch_stream[1]["isDiff"] is True
    bad_patch_stream[1]["diff"] = "@@ -1,3 +1,4 @@\n-zzz\n+yyyy\n"  # applies to nothing
    streams[keys[2]][3]["timestamp"] = "yesterday"  # wrong type
    duplicate = dict(streams[keys[4]][0])
    duplicate["sessionId"], duplicate["studentId"] = keys[5].split(":")
    streams[keys[5]].append(duplicate)  # an id that an earlier stream already has
    (legacy_copy / "revisions.json").write_text(json.dumps(streams))

    problem_file = next(p for p in (legacy_copy / "problems").glob("*.json") if p.name != "index.json")
    problem = json.loads(problem_file.read_text())
    del problem["title"]
    problem_file.write_text(json.dumps(problem))
    (legacy_copy / "notes.txt").write_text("not data")
    (legacy_copy / "weird.json").write_text("[1, 2, 3]")

    report = await import_legacy(legacy_copy, store, rejects_path=tmp_path / "r.jsonl")
    lines = rejects(tmp_path / "r.jsonl")
    reasons = {(line["file"], line["path"]): line["reason"] for line in lines}
    assert "students" in reasons[("sessions.json", f'$["{first}"]')]
    assert "missing required field 'createdAt'" in reasons[("sessions.json", '$["broken"]')]
    assert "unknown session shape" in reasons[("sessions.json", '$["odd"]')]
    assert "did not apply" in reasons[("revisions.json", f'$["{keys[1]}"][1]')]
    # The diffs after it had no base; the next full snapshot (index 6, it ran code) starts clean.
    assert "was rejected" in reasons[("revisions.json", f'$["{keys[1]}"][2]')]
    assert ("revisions.json", f'$["{keys[1]}"][6]') not in reasons
    assert "timestamp" in reasons[("revisions.json", f'$["{keys[2]}"][3]')]
    assert "duplicate id" in reasons[("revisions.json", f'$["{keys[5]}"][12]')]
    assert "title" in reasons[(f"problems/{problem_file.name}", "$")]
    assert ("notes.txt", "$") in reasons
    assert "not a JSON object" in reasons[("weird.json", "$")]
    assert all(line["record"] is not None for line in lines if line["file"] == "sessions.json")

    assert report.exit_code == 1
    assert report.kinds["sessions"].imported == 1 and await store.sessions.get_session(second) is not None
    assert report.kinds["problems"].imported == 1
    assert report.rejected == len(lines)
    # A rebuilt stream never contains garbage: what was imported of it is exact.
    good = await store.revisions.get_revisions(*keys[0].split(":"))
    assert len(good) == 12


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "docstore", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )


def test_cli_exit_codes(legacy_copy: Path, tmp_path: Path) -> None:
    url = f"local://{tmp_path / 'store'}"
    clean = run_cli("import", str(legacy_copy), "--url", url, "--report", str(tmp_path / "report.json"))
    assert clean.returncode == 0, clean.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["kinds"]["revisions"]["imported"] == 72 and report["records_per_second"] > 0
    assert "revisions" in clean.stdout and "auth-sessions.json" in clean.stdout

    (legacy_copy / "weird.json").write_text("[]")
    with_rejects = run_cli("import", str(legacy_copy), "--url", url, "--rejects", str(tmp_path / "r.jsonl"))
    assert with_rejects.returncode == 1
    assert len(rejects(tmp_path / "r.jsonl")) == 1

    missing = run_cli("import", str(tmp_path / "nope"), "--url", url)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1

    started = time.monotonic()
    unreachable = run_cli(
        "import", str(legacy_copy), "--url", "mongodb://admin:hunter2@127.0.0.1:9/?serverSelectionTimeoutMS=400"
    )
    assert unreachable.returncode == 2 and "Traceback" not in unreachable.stderr
    assert len(unreachable.stderr.strip().splitlines()) == 1 and "hunter2" not in unreachable.stderr
    assert time.monotonic() - started < 30

    stats = run_cli("stats", "--url", url)
    assert stats.returncode == 0 and "revisions" in stats.stdout


async def test_a_killed_import_is_finished_by_the_next_run(tmp_path: Path) -> None:
    source = tmp_path / "big"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "legacy_generator.py"),
            str(source),
            "--sessions",
            "3",
            "--students",
            "10",
            "--revisions",
            "60",
        ],
        check=True,
        capture_output=True,
    )
    resumed, clean = f"local://{tmp_path / 'resumed'}", f"local://{tmp_path / 'clean'}"
    args = [sys.executable, "-m", "docstore", "import", str(source), "--url", resumed, "--batch-size", "20"]
    with subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as victim:
        database = tmp_path / "resumed" / "docstore.sqlite3"
        deadline = time.monotonic() + 60
        # Kill it once revisions are flowing (read through SQLite, as another process may).
        while time.monotonic() < deadline:
            if database.exists() and _revisions_stored(database) > 100:
                break
            time.sleep(0.01)
        os.kill(victim.pid, signal.SIGKILL)
    async with open_store(resumed) as store:  # opens cleanly after the kill, with part of the work
        stats = await store.stats()
        assert stats["sessions"].documents == 3
        assert 0 < stats["revisions"].documents < 1800
    finisher = run_cli("import", str(source), "--url", resumed)
    assert finisher.returncode == 0, finisher.stderr
    assert run_cli("import", str(source), "--url", clean).returncode == 0
    async with open_store(resumed) as one:
        resumed_state = await dump_all(one)
    async with open_store(clean) as two:
        clean_state = await dump_all(two)
    assert resumed_state == clean_state
    assert len(clean_state["revisions"]) == 1800


async def test_verbatim_records_with_operator_keys_are_rejected(
    store: Store, legacy_copy: Path, tmp_path: Path
) -> None:
    users = json.loads((legacy_copy / "users.json").read_text())
    first = next(iter(users))
    users[first]["$where"] = "sleep(1000)"
    users[first]["prefs"] = {"a.b": 1}
    (legacy_copy / "users.json").write_text(json.dumps(users))
    report = await import_legacy(legacy_copy, store, rejects_path=tmp_path / "r.jsonl")
    [line] = rejects(tmp_path / "r.jsonl")
    assert (line["file"], line["path"]) == ("users.json", f'$["{first}"]') and "'$'" in line["reason"]
    assert report.kinds["users"].imported == len(users) - 1
    assert await store.documents.get_document("legacy_users", first) is None


async def test_a_snapshot_with_bad_metadata_still_anchors_the_diffs_after_it(
    store: Store, legacy_copy: Path, tmp_path: Path
) -> None:
    streams = json.loads((legacy_copy / "revisions.json").read_text())
    key = next(iter(streams))
    assert streams[key][0]["isDiff"] is False and streams[key][1]["isDiff"] is True
    streams[key][0]["timestamp"] = "not a date"  # the code is fine; only the record is refused
    (legacy_copy / "revisions.json").write_text(json.dumps(streams))
    await import_legacy(legacy_copy, store, rejects_path=tmp_path / "r.jsonl")
    assert [line["path"] for line in rejects(tmp_path / "r.jsonl")] == [f'$["{key}"][0]']
    stream = await store.revisions.get_revisions(*key.split(":"))
    assert len(stream) == 11  # every diff after it was rebuilt from its code


async def test_an_unreadable_file_is_a_reject_and_the_rest_goes_on(
    store: Store, legacy_copy: Path, tmp_path: Path
) -> None:
    (legacy_copy / "classes.json").write_bytes(b'{"c": {"id": "c", "name": "\\xff bad utf-8"}}')
    report = await import_legacy(legacy_copy, store, rejects_path=tmp_path / "r.jsonl")
    reasons = {line["file"]: line["reason"] for line in rejects(tmp_path / "r.jsonl")}
    assert "classes.json" in reasons and "unreadable" in reasons["classes.json"]
    assert report.kinds["revisions"].imported == 72 and report.exit_code == 1


def test_a_file_that_cannot_be_opened_is_a_read_error(tmp_path: Path) -> None:
    from docstore._legacy._reader import ReadError, iter_object

    with pytest.raises(ReadError, match="cannot read the file"):
        list(iter_object(tmp_path / "gone.json"))


def _revisions_stored(database: Path) -> int:
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as connection:
            return int(connection.execute("SELECT count(*) FROM revisions").fetchone()[0])
    except sqlite3.Error:
        return 0  # not created yet
