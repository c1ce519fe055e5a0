"""Hostile or odd legacy input: every bad record is one reject line, the rest is imported,
nothing is lost silently, and no input makes a traceback."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from docstore import Store, import_legacy, open_store
from tests.documents import all_documents

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "legacy-data"
DEEP = 100_000


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    target = tmp_path / "legacy"
    shutil.copytree(EXAMPLE, target)
    return target


@pytest.fixture
async def store() -> Any:
    async with open_store("memory://") as opened:
        yield opened


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def save(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value), encoding="utf-8")


def rejects(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return {(line["file"], line["path"]): line for line in lines}


def deep_list(depth: int) -> str:
    return "[" * depth + "]" * depth


async def run(store: Store, legacy: Path, tmp_path: Path) -> tuple[Any, dict[tuple[str, str], dict[str, Any]]]:
    report = await import_legacy(legacy, store, rejects_path=tmp_path / "r.jsonl")
    return report, rejects(tmp_path / "r.jsonl")


async def test_student_ids_with_dots_and_dollars_are_imported(store: Store, legacy: Path, tmp_path: Path) -> None:
    sessions = load(legacy / "sessions.json")
    session_id = next(iter(sessions))
    entries = sessions[session_id]["students"]["entries"]
    odd = "ada.l$vel@school.example"
    entries.append([odd, {"id": odd, "name": "Ada", "code": "x = 1"}])
    save(legacy / "sessions.json", sessions)
    report, lines = await run(store, legacy, tmp_path)
    assert report.rejected == 0, lines
    session = await store.sessions.get_session(session_id)
    assert session is not None and session.students[odd].code == "x = 1"


async def test_records_no_engine_can_store_are_rejected_one_by_one(store: Store, legacy: Path, tmp_path: Path) -> None:
    sessions = load(legacy / "sessions.json")
    big, late = list(sessions)
    sessions[big]["problemText"] = "x" * (50 * 1024 * 1024)  # over the 16 MB of a document
    # 9999-12-31 23:00 at UTC-5 is in year 10000 once in UTC.
    sessions[late]["lastActivity"] = "9999-12-31T23:00:00.000-05:00"
    save(legacy / "sessions.json", sessions)
    streams = load(legacy / "revisions.json")
    key = next(iter(streams))
    streams[key][3]["timestamp"] = 1e20  # epoch milliseconds far beyond year 9999
    save(legacy / "revisions.json", streams)

    report, lines = await run(store, legacy, tmp_path)
    assert "bytes" in lines[("sessions.json", f'$["{big}"]')]["reason"]
    assert "lastActivity" in lines[("sessions.json", f'$["{late}"]')]["reason"]
    reason = lines[("revisions.json", f'$["{key}"][3]')]["reason"]
    assert "timestamp" in reason and "Errno" not in reason
    assert report.kinds["sessions"].imported == 0 and report.kinds["revisions"].imported == 71
    assert report.exit_code == 1 and report.rejected == len(lines) == 3


async def test_values_nested_100000_deep_are_rejected(store: Store, legacy: Path, tmp_path: Path) -> None:
    problem_file = next(p for p in (legacy / "problems").glob("*.json") if p.name != "index.json")
    problem_file.write_text(
        problem_file.read_text(encoding="utf-8")[:-1] + f', "testCases": {deep_list(DEEP)}}}', encoding="utf-8"
    )
    users = (legacy / "users.json").read_text(encoding="utf-8")
    users = users[:-1] + f', "deep": {{"id": "deep", "tree": {deep_list(DEEP)}}}}}'
    (legacy / "users.json").write_text(users, encoding="utf-8")

    report, lines = await run(store, legacy, tmp_path)
    assert "nested deeper" in lines[(f"problems/{problem_file.name}", "$")]["reason"]
    assert "nested deeper" in lines[("users.json", '$["deep"]')]["reason"]
    assert report.kinds["problems"].imported == 1
    assert report.kinds["users"].imported == len(load(EXAMPLE / "users.json"))


async def test_odd_file_names_and_index_entries(store: Store, legacy: Path, tmp_path: Path) -> None:
    save(legacy / "a$b.json", {"r1": {"id": "r1", "value": 1}})
    save(legacy / "class-members.json", {"m1": {"id": "m1"}})
    save(legacy / "class_members.json", {"m2": {"id": "m2"}})
    index = load(legacy / "problems" / "index.json")
    index["problems"] += [{"id": {"$gt": ""}}, {"id": 7}, "not an entry"]
    save(legacy / "problems" / "index.json", index)

    report, lines = await run(store, legacy, tmp_path)
    assert await store.documents.get_document("legacy_a_b", "r1") == {"_id": "r1", "id": "r1", "value": 1}
    # Two files for one collection: the first is imported, the second refused as a whole.
    assert await store.documents.get_document("legacy_class_members", "m1") is not None
    assert await store.documents.get_document("legacy_class_members", "m2") is None
    assert "class-members.json" in lines[("class_members.json", "$")]["reason"]
    assert report.files["class_members.json"].status == "failed"
    for position in (2, 3, 4):
        assert "no string id" in lines[("problems/index.json", f'$["problems"][{position}]')]["reason"]
    assert report.kinds["problems"].imported == 2 and report.rejected == len(lines) == 4


async def test_nothing_is_overwritten_or_dropped_silently(store: Store, legacy: Path, tmp_path: Path) -> None:
    folder_problem = load(next(p for p in (legacy / "problems").glob("*.json") if p.name != "index.json"))
    save(
        legacy / "problems.json",
        {
            folder_problem["id"]: {
                "id": folder_problem["id"],
                "title": "The old copy",
                "createdAt": "2025-12-18T10:00:00.000Z",
                "_metadata": {"createdAt": "2025-12-18T10:00:00.000Z", "version": 1},
            }
        },
    )
    users = load(legacy / "users.json")
    first = next(iter(users))
    users[first]["_id"] = "someone-else"
    save(legacy / "users.json", users)
    streams = load(legacy / "revisions.json")
    key = next(iter(streams))
    streams[key][0]["device"] = "chromebook"
    streams[key][0]["executionResult"] = {"success": True, "output": "1\n", "error": "", "exitCode": 0}
    save(legacy / "revisions.json", streams)

    report, lines = await run(store, legacy, tmp_path)
    problem = await store.problems.get_problem(folder_problem["id"])
    assert problem is not None and problem.title == "The old copy"  # problems.json comes first; not overwritten
    folder_line = lines[(f"problems/{folder_problem['id']}.json", "$")]
    assert "also in problems.json" in folder_line["reason"] and folder_line["record"] == folder_problem
    assert "'_id'" in lines[("users.json", f'$["{first}"]')]["reason"]
    assert await store.documents.get_document("legacy_users", "someone-else") is None
    revision = await store.revisions.get_revision(streams[key][0]["id"])
    assert revision is not None and revision.extra == {"device": "chromebook"}
    assert revision.execution_result is not None and revision.execution_result.extra == {"exitCode": 0}
    assert report.rejected == len(lines) == 2

    again = await import_legacy(legacy, store)
    assert all(counts.imported == counts.updated == 0 for counts in again.kinds.values())
    assert again.kinds["revisions"].unchanged == 72 and again.rejected == 2


async def test_lone_surrogates_are_rejected_not_replaced(store: Store, legacy: Path, tmp_path: Path) -> None:
    text = (legacy / "users.json").read_text(encoding="utf-8")[:-1]
    text += ', "hi": {"id": "hi", "name": "x\\ud83dy"}, "lo": {"id": "lo", "name": "\\udc00"}'
    text += ', "pair": {"id": "pair", "name": "\\ud83d\\ude00"}, "huge": {"id": "huge", "n": 123456789012345678901234}'
    text += ', "after": {"id": "after"}}'
    (legacy / "users.json").write_text(text, encoding="utf-8")

    # No surrogate escape here: the fast parser starts, stops at the overflow, and hands over.
    classes = (legacy / "classes.json").read_text(encoding="utf-8")[:-1]
    classes += ', "big": {"id": "big", "n": 123456789012345678901234}, "inf": {"id": "inf", "n": 1e400}}'
    (legacy / "classes.json").write_text(classes, encoding="utf-8")

    report, lines = await run(store, legacy, tmp_path)
    assert "64 bits" in lines[("classes.json", '$["big"]')]["reason"]
    # 1e400 reads as inf (as Python's json reads it), which no stored document may hold
    # (public() must stay JSON): a reject line naming it, and the rest of the file goes on.
    assert ("classes.json", '$["inf"]') in lines
    assert await store.documents.get_document("legacy_classes", "inf") is None
    assert len(await all_documents(store, "legacy_classes")) == len(load(EXAMPLE / "classes.json"))
    assert lines[("users.json", '$["hi"]')]["record"]["name"] == "x\ud83dy"  # exactly as it was
    assert ("users.json", '$["lo"]') in lines and "64 bits" in lines[("users.json", '$["huge"]')]["reason"]
    assert await store.documents.get_document("legacy_users", "hi") is None
    pair = await store.documents.get_document("legacy_users", "pair")
    assert pair is not None and pair["name"] == "\U0001f600"
    assert await store.documents.get_document("legacy_users", "after") is not None
    assert report.rejected == len(lines) == 5  # hi, lo, huge, big, inf


async def test_every_kept_document_has_the_key_of_its_record(legacy: Path) -> None:
    """Whatever the batch size, a record lands under its own id (no record may replace another)."""
    users = load(legacy / "users.json")
    first, second, *_ = users
    users[second]["_id"] = first  # claims another record's id
    save(legacy / "users.json", users)
    for batch_size in (1, 2, 500):
        async with open_store("memory://") as fresh:
            report = await import_legacy(legacy, fresh, batch_size=batch_size)
            stored = {document["_id"]: document async for document in fresh.documents.iter_documents("legacy_users")}
            assert sorted(stored) == sorted(set(users) - {second}) and report.kinds["users"].rejected == 1
            assert stored[first]["username"] == users[first]["username"]


def cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "docstore", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={key: value for key, value in os.environ.items() if not key.startswith("DOCSTORE_")},
    )


def test_the_command_finishes_hostile_input_with_exit_1_and_no_traceback(legacy: Path, tmp_path: Path) -> None:
    (legacy / "a$b.json").write_text('{"x": {"id": "x", "n": 1e400, "s": "\\udc00"}}', encoding="utf-8")
    index = load(legacy / "problems" / "index.json")
    index["problems"].append({"id": {"a": 1}})
    save(legacy / "problems" / "index.json", index)
    problem = next(p for p in (legacy / "problems").glob("*.json") if p.name != "index.json")
    problem.write_text(deep_list(DEEP), encoding="utf-8")
    with cli("import", str(legacy), "--url", "memory://", "--rejects", str(tmp_path / "r.jsonl")) as process:
        out, err = process.communicate(timeout=120)
    assert process.returncode == 1, err
    assert "Traceback" not in out + err and "rejected" in out
    files = sorted(file for file, _ in rejects(tmp_path / "r.jsonl"))
    # The index also names the problem whose file was refused.
    assert files == ["a$b.json", f"problems/{problem.name}", "problems/index.json", "problems/index.json"]


# The import stops at the first progress line of revisions.json until the test has sent
# SIGINT (and says so with a file): the interrupt always lands mid-import, however loaded
# the machine is.
STALLED = textwrap.dedent(
    """
    import os, sys, time
    from docstore._cli import _import, main

    report = _import._ProgressReport.__call__
    go = sys.argv.pop(1)

    def stall(self, name, done, size):
        report(self, name, done, size)
        if name == "revisions.json" and not os.path.exists(go):
            print("stalled", file=sys.stderr, flush=True)
            # asyncio.run's SIGINT handler cancels the import's task; it stops at its next await.
            while not os.path.exists(go):
                time.sleep(0.01)

    _import._ProgressReport.__call__ = stall
    main(sys.argv[1:])
    """
)


def test_ctrl_c_exits_130_and_says_how_to_resume(tmp_path: Path) -> None:
    source = tmp_path / "big"
    generator = [sys.executable, str(ROOT / "scripts" / "legacy_generator.py"), str(source)]
    subprocess.run([*generator, "--sessions", "4", "--students", "10", "--revisions", "150"], check=True)
    url = f"local://{tmp_path / 'store'}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("DOCSTORE_")}
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            STALLED,
            str(tmp_path / "go"),
            "import",
            str(source),
            "--url",
            url,
            "--batch-size",
            "10",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        assert process.stderr is not None
        for line in process.stderr:
            if line.startswith("stalled"):
                break
        process.send_signal(signal.SIGINT)
        (tmp_path / "go").touch()
        _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "run the same command again" in err
    with cli("import", str(source), "--url", url) as finisher:
        finisher.communicate(timeout=120)
    assert finisher.returncode == 0


async def test_a_session_id_holding_a_colon_keeps_its_revisions(store: Store, legacy: Path, tmp_path: Path) -> None:
    """Finding 6 of the operations attack (tester4): a stream key is ``<sessionId>:<studentId>``
    and was split at its first colon, so every revision of a session whose id holds a colon
    (the original tool accepted any id) was rejected, "sessionId/studentId differ from the
    stream key". The key is split where it names a session of the data (or the ids its
    revisions carry), and a student id may hold colons too."""
    sessions = load(legacy / "sessions.json")
    streams = load(legacy / "revisions.json")
    old_id = next(iter(sessions))
    new_id = "course:2026:" + old_id
    session = sessions.pop(old_id)
    session["id"] = new_id
    sessions[new_id] = session
    moved = 0
    for key in [key for key in streams if key.startswith(old_id + ":")]:
        student_id = key[len(old_id) + 1 :]
        revisions = streams.pop(key)
        for revision in revisions:
            revision["sessionId"] = new_id
        streams[f"{new_id}:{student_id}"] = revisions
        moved += len(revisions)
    # An orphan stream (its session is not in the data) whose ids hold colons: its records' own ids split it.
    orphan = [
        dict(revision, sessionId="gone:1", studentId="s:2", id=f"orphan-{n}") for n, revision in enumerate(revisions)
    ]
    streams["gone:1:s:2"] = orphan
    save(legacy / "sessions.json", sessions)
    save(legacy / "revisions.json", streams)
    report, lines = await run(store, legacy, tmp_path)
    assert report.rejected == 0, lines
    assert moved > 0 and await store.revisions.count_revisions(new_id) == moved
    assert await store.revisions.count_revisions("gone:1", "s:2") == len(orphan)
    assert report.orphan_streams == 1


async def test_a_bad_student_of_a_session_is_named_in_the_reject_reason(
    store: Store, legacy: Path, tmp_path: Path
) -> None:
    """Finding 11 of the operations attack (tester4): a session whose Map held a student with
    an empty or 300-character id was rejected with "id: String should have at least 1
    character", as if the session's own id were wrong; the reason names the student now."""
    sessions = load(legacy / "sessions.json")
    session_id = next(iter(sessions))
    entries = sessions[session_id]["students"]["entries"]
    entries.append(["", {"id": "", "name": "Nobody", "code": ""}])
    save(legacy / "sessions.json", sessions)
    _, lines = await run(store, legacy, tmp_path)
    reason = lines[("sessions.json", f'$["{session_id}"]')]["reason"]
    assert reason.startswith("students[''].id:"), reason
