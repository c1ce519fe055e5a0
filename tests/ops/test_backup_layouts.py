"""Backups of both layouts: a release-f1272aa export (students inside sessions) restores into the new one.

The fixture ``tests/fixtures/v1-export`` was written by release f1272aa
(``tests/fixtures/make_export.py``). These tests read the restored store through
``store.documents`` (the stored layout itself); the last one reads it through the
repositories.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from bson import json_util

from docstore import InvalidBackup, Session, Store, export_store, open_store, restore_store
from docstore._students import SESSION_STUDENTS, record_id
from tests.documents import all_documents

V1 = Path(__file__).resolve().parents[1] / "fixtures" / "v1-export"
HOSTILE = {"a.b$%", "e@mail.org", "ünï/cødé"}


def v1_documents(name: str) -> list[dict[str, Any]]:
    options = json_util.JSONOptions(json_mode=json_util.JSONMode.CANONICAL, tz_aware=True)
    lines = (V1 / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json_util.loads(line, json_options=options) for line in lines]


@pytest.fixture(params=["memory", "local"])
async def target(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    url = "memory://" if request.param == "memory" else f"local://{tmp_path / 'target'}"
    async with open_store(url) as store:
        yield store


async def test_the_v1_fixture_is_layout_1() -> None:
    manifest = json.loads((V1 / "manifest.json").read_text())
    assert "layout" not in manifest and "session_students" not in manifest["collections"]
    assert all("students" in session for session in v1_documents("sessions"))


async def test_a_layout_1_backup_restores_every_student_revision_and_problem(target: Store) -> None:
    counts = await restore_store(target, V1)
    old_sessions = v1_documents("sessions")
    expected_records = sum(len(session["students"]) for session in old_sessions)
    assert counts == {
        "legacy_settings": 2,
        "problems": 1,
        "revisions": 5,
        "sessions": 4,
        SESSION_STUDENTS: expected_records,
    }
    sessions = {document["_id"]: document for document in await all_documents(target, "sessions")}
    records = {document["_id"]: document for document in await all_documents(target, SESSION_STUDENTS)}
    assert len(records) == expected_records == 5
    for old in old_sessions:
        new = sessions[old["_id"]]
        assert "students" not in new
        assert new == {key: value for key, value in old.items() if key != "students"}  # the session's own fields
        for student in old["students"].values():
            record = records[record_id(old["_id"], student["id"])]
            assert record["session_id"] == old["_id"] and record["student_id"] == student["id"]
            assert record["namespace_id"] == old["namespace_id"]
            for name in ("name", "code", "last_update", "extra"):
                assert record[name] == student[name], (student["id"], name)
    assert {record["student_id"] for record in records.values()} >= HOSTILE
    assert await all_documents(target, "revisions") == v1_documents("revisions")
    assert await all_documents(target, "problems") == v1_documents("problems")
    assert await all_documents(target, "legacy_settings") == v1_documents("legacy_settings")
    ended = next(document for document in sessions.values() if document["join_code"] == "DONE01")
    assert ended["active"] is False and records[record_id(ended["_id"], "x")]["code"] == "x = 1"
    scoped = next(document for document in sessions.values() if document["join_code"] == "NS0001")
    assert scoped["namespace_id"] == "cs101"
    assert records[record_id(scoped["_id"], "a.b$%")]["namespace_id"] == "cs101"


async def test_export_of_the_new_layout_is_byte_identical_after_a_restore(tmp_path: Path) -> None:
    async with open_store("memory://") as memory:
        await restore_store(memory, V1)
        await export_store(memory, tmp_path / "first")
    manifest = json.loads((tmp_path / "first" / "manifest.json").read_text())
    assert manifest["layout"] == 2 and manifest["collections"][SESSION_STUDENTS] == 5
    for line in (tmp_path / "first" / "sessions.jsonl").read_text().splitlines():
        assert '"students"' not in line
    async with open_store(f"local://{tmp_path / 'local'}") as local:
        await restore_store(local, tmp_path / "first")
        await export_store(local, tmp_path / "second")
    async with open_store("memory://") as again:
        await restore_store(again, tmp_path / "second")
        await export_store(again, tmp_path / "third")
    for export in ("second", "third"):
        for original in (tmp_path / "first").glob("*.jsonl"):
            assert (tmp_path / export / original.name).read_bytes() == original.read_bytes(), (export, original.name)
    # A layout-1 backup restored twice changes nothing the second time.
    async with open_store("memory://") as twice:
        await restore_store(twice, V1)
        await restore_store(twice, V1)
        await export_store(twice, tmp_path / "twice")
    for original in (tmp_path / "first").glob("*.jsonl"):
        assert (tmp_path / "twice" / original.name).read_bytes() == original.read_bytes(), original.name


def layout_2_backup(tmp_path: Path) -> Path:
    """A copy of the v1 fixture converted to layout 2 by hand (what a new export holds)."""
    folder = tmp_path / "layout2"
    shutil.copytree(V1, folder)
    from docstore._students import students_of_legacy_session

    options = json_util.JSONOptions(json_mode=json_util.JSONMode.CANONICAL, tz_aware=True)
    sessions, records = [], []
    for session in v1_documents("sessions"):
        document, students = students_of_legacy_session(session)
        sessions.append(document)
        records += students

    def write(name: str, documents: list[dict[str, Any]]) -> None:
        documents = sorted(documents, key=lambda document: document["_id"])
        text = "".join(json_util.dumps(d, json_options=options, sort_keys=True) + "\n" for d in documents)
        (folder / f"{name}.jsonl").write_text(text, encoding="utf-8")

    write("sessions", sessions)
    write(SESSION_STUDENTS, records)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["layout"] = 2
    manifest["collections"][SESSION_STUDENTS] = len(records)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def edit_records(folder: Path, change: Any) -> None:
    path = folder / f"{SESSION_STUDENTS}.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps(line) + "\n" for line in change(lines)))


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda lines: [{**lines[0], "code": 5}, *lines[1:]], "is damaged: code"),
        (
            lambda lines: [
                {**lines[0], "session_id": "gone", "_id": record_id("gone", lines[0]["student_id"])},
                *lines[1:],
            ],
            "neither in the backup",
        ),
        (lambda lines: [{**lines[0], "_id": lines[0]["_id"] + "z"}, *lines[1:]], "is not under its key"),
        (lambda lines: [{**lines[0], "namespace_id": "other"}, *lines[1:]], "in namespace 'other'"),
    ],
    ids=["not-a-student", "no-session", "wrong-key", "wrong-namespace"],
)
async def test_student_records_of_a_backup_are_checked_before_anything_is_written(
    tmp_path: Path, target: Store, damage: Any, expected: str
) -> None:
    folder = layout_2_backup(tmp_path)
    edit_records(folder, damage)
    await target.sessions.create_session(Session(id="mine", join_code="MINE01"))
    with pytest.raises(InvalidBackup, match=expected):
        await restore_store(target, folder)
    assert await all_documents(target, SESSION_STUDENTS) == []
    assert [document["_id"] for document in await all_documents(target, "sessions")] == ["mine"]


async def test_a_layout_2_record_may_belong_to_a_session_of_the_store(tmp_path: Path, target: Store) -> None:
    folder = layout_2_backup(tmp_path)
    await target.sessions.create_session(Session(id="mine", join_code="MINE01"))
    edit_records(
        folder,
        lambda lines: [
            *lines,
            {**lines[0], "_id": record_id("mine", "late"), "session_id": "mine", "student_id": "late"},
        ],
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["collections"][SESSION_STUDENTS] += 1
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert (await restore_store(target, folder))[SESSION_STUDENTS] == 6
    assert (await target.documents.get_document(SESSION_STUDENTS, record_id("mine", "late"))) is not None


async def test_a_restored_session_keeps_only_the_students_of_the_backup(target: Store) -> None:
    await restore_store(target, V1)
    live = next(d for d in await all_documents(target, "sessions") if d["join_code"] == "LIVE01")
    extra = dict((await all_documents(target, SESSION_STUDENTS))[0])
    extra.update(_id=record_id(live["_id"], "joined-later"), session_id=live["_id"], student_id="joined-later")
    await target.documents.upsert_documents(SESSION_STUDENTS, [extra])
    await restore_store(target, V1)
    assert await target.documents.get_document(SESSION_STUDENTS, extra["_id"]) is None
    assert len(await all_documents(target, SESSION_STUDENTS)) == 5


async def test_the_repositories_read_the_students_of_a_restored_layout_1_backup(target: Store) -> None:
    # Waits on the backends' student work (get_session assembling students from session_students).
    await restore_store(target, V1)
    live = await target.sessions.get_session_by_join_code("LIVE01")
    assert live is not None and set(live.students) == HOSTILE
    assert live.students["e@mail.org"].code == "print('latest')"
    assert live.students["ünï/cødé"].name == "Student 2"
    ended = await target.sessions.get_session_by_join_code("DONE01")
    assert ended is None or ended.students["x"].code == "x = 1"
    scoped = target.for_namespace("cs101")
    page = await scoped.sessions.list_all_sessions()
    with_student = [s for s in page if s.join_code == "NS0001"]
    assert with_student and (await scoped.sessions.get_session(with_student[0].id)) is not None
    full = await scoped.sessions.get_session(with_student[0].id)
    assert full is not None and full.students["a.b$%"].code == "print('ns')"
    assert await target.sessions.get_student(live.id, "a.b$%") is not None
    assert await target.sessions.count_students(live.id) == 3


PREVIOUS = Path(__file__).resolve().parents[1] / "fixtures" / "prev-export"


async def test_a_backup_of_the_release_before_restores_exactly(tmp_path: Path, target: Store) -> None:
    """``tests/fixtures/prev-export`` was written by release 3af9c5f (``make_export.py``):
    layout 2, its manifest without the files' sha256 of this release. It restores, judged on its
    content, and this release exports every collection of it byte for byte again."""
    assert "sha256" not in (PREVIOUS / "manifest.json").read_text()
    await restore_store(target, PREVIOUS)
    await export_store(target, tmp_path / "again")
    written = sorted(path.name for path in PREVIOUS.glob("*.jsonl"))
    assert written == sorted(path.name for path in (tmp_path / "again").glob("*.jsonl"))
    for name in written:
        assert (tmp_path / "again" / name).read_bytes() == (PREVIOUS / name).read_bytes(), name
