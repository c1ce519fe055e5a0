"""Issue 16 items 3, 13 and 15: the tools never write through a symlink, a dry run works on a new store,
and every reject line is strict JSON (item 18, Ctrl-C, is in test_hostile_input.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from docstore import Session, export_store, open_store
from docstore._students import SESSION_STUDENTS, record_id

from .test_hostile_input import EXAMPLE, ROOT, load, save


def docstore(*args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DOCSTORE_")}
    return subprocess.run(
        [sys.executable, "-m", "docstore", *args], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT
    )


@pytest.mark.parametrize("planted", ["manifest.json", "sessions.jsonl", "sessions.jsonl.tmp"])
async def test_export_never_writes_through_a_symlink(tmp_path: Path, planted: str) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    url = f"local://{tmp_path / 'store'}"
    async with open_store(url) as store:
        await store.sessions.create_session(Session(join_code="LINK01"))
    out = tmp_path / "out"
    out.mkdir()
    (out / planted).symlink_to(victim)
    result = docstore("export", str(out), "--url", url)
    assert victim.read_text() == "precious\n"
    assert (out / planted).is_symlink()
    if planted.endswith(".tmp"):
        # Never a name docstore writes to: the export is done beside it, in new files.
        assert result.returncode == 0, result.stderr
        assert not (out / "sessions.jsonl").is_symlink() and (out / "sessions.jsonl").is_file()
    else:
        assert result.returncode == 2 and "symbolic link" in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


async def test_export_replaces_its_own_earlier_files_without_writing_into_them(tmp_path: Path) -> None:
    async with open_store("memory://") as store:
        await store.sessions.create_session(Session(join_code="AGAIN1"))
        await export_store(store, tmp_path / "out")
        linked = tmp_path / "hard-link"
        os.link(tmp_path / "out" / "sessions.jsonl", linked)  # another name of the same file
        before = linked.read_bytes()
        await store.sessions.create_session(Session(join_code="AGAIN2"))
        await export_store(store, tmp_path / "out")
    assert linked.read_bytes() == before  # a new file was renamed into place: the old one is untouched
    assert (tmp_path / "out" / "sessions.jsonl").read_bytes() != before


@pytest.mark.parametrize("which", ["default", "--rejects", "--report"])
def test_import_never_writes_through_a_symlink(tmp_path: Path, which: str) -> None:
    legacy = tmp_path / "legacy"
    subprocess.run(["cp", "-r", str(EXAMPLE), str(legacy)], check=True)
    (legacy / "bad.json").write_text('{"x": 5}')  # one reject: the rejects file is written
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    target = {"default": Path(f"{legacy}-rejects.jsonl"), "--rejects": tmp_path / "r.jsonl"}.get(
        which, tmp_path / "report.json"
    )
    target.symlink_to(victim)
    extra = [which, str(target)] if which != "default" else []
    result = docstore("import", str(legacy), "--url", "memory://", *extra)
    assert result.returncode == 2 and "symbolic link" in result.stderr, result.stderr
    assert victim.read_text() == "precious\n" and target.is_symlink()


def test_a_dry_run_into_a_store_that_does_not_exist_reports_and_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "new-store"
    result = docstore("import", str(EXAMPLE), "--dry-run", "--url", f"local://{target}")
    assert result.returncode == 0, result.stderr
    assert "does not exist yet" in result.stdout and "dry run" in result.stdout
    assert str(target) in result.stdout  # the report names the store asked for, not a stand-in
    assert not target.exists()
    unreachable = docstore(
        "import", str(EXAMPLE), "--dry-run", "--url", "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300"
    )
    assert unreachable.returncode == 2  # only a store that is not there yet is stood in for


def test_every_reject_line_is_strict_json(tmp_path: Path) -> None:
    legacy = tmp_path / "legacy"
    subprocess.run(["cp", "-r", str(EXAMPLE), str(legacy)], check=True)
    (legacy / "numbers.json").write_text('{"x": {"id": "x", "n": 1e400, "m": -1e400, "s": "\\udc00"}}')
    result = docstore("import", str(legacy), "--url", "memory://", "--rejects", str(tmp_path / "r.jsonl"))
    assert result.returncode == 1, result.stderr

    def strict(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    lines = (tmp_path / "r.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines
    for line in lines:
        json.loads(line, parse_constant=strict)
    record = json.loads(lines[0])["record"]
    assert record["n"] == "Infinity" and record["m"] == "-Infinity"


async def test_the_importer_writes_hostile_student_ids_as_records(tmp_path: Path) -> None:
    legacy = tmp_path / "legacy"
    subprocess.run(["cp", "-r", str(EXAMPLE), str(legacy)], check=True)
    sessions = load(legacy / "sessions.json")
    session_id = next(iter(sessions))
    odd = "ada.l$vel@school.example/ünï"
    sessions[session_id]["students"]["entries"].append([odd, {"id": odd, "name": "Ada", "code": "x = 1"}])
    save(legacy / "sessions.json", sessions)
    from docstore import import_legacy

    async with open_store("memory://") as store:
        report = await import_legacy(legacy, store)
        assert report.rejected == 0
        record = await store.documents.get_document(SESSION_STUDENTS, record_id(session_id, odd))
        assert record is not None and record["code"] == "x = 1" and record["student_id"] == odd
        again = await import_legacy(legacy, store)
        assert again.kinds["students"].imported == again.kinds["students"].updated == 0
