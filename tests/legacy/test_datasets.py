"""Every shared legacy dataset imports exactly as the original tool reads it back (expected.json)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from docstore import Store, import_legacy, open_store

from .conftest import DATASETS


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.fixture(params=["memory", "local"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    url = "memory://" if request.param == "memory" else f"local://{tmp_path / 'store'}"
    async with open_store(url) as opened:
        yield opened


@pytest.mark.parametrize("dataset", DATASETS)
async def test_dataset_imports_exactly(store: Store, legacy_data: Path, dataset: str, tmp_path: Path) -> None:
    expected = json.loads((legacy_data / dataset / "expected.json").read_text(encoding="utf-8"))
    counts = expected["counts"]
    report = await import_legacy(legacy_data / dataset / "data", store, rejects_path=tmp_path / "rejects.jsonl")

    assert report.rejected == 0, (tmp_path / "rejects.jsonl").read_text()
    assert report.kinds["sessions"].imported == counts["sessions"]
    assert report.kinds["problems"].imported == counts["problems"]
    assert report.kinds["revisions"].imported == counts["revisions"]
    assert report.orphan_streams == counts["orphan_revision_streams"]
    assert set(report.files) | {"problems/index.json"} >= set(expected["files"])
    if "auth-sessions.json" in expected["files"]:
        assert report.files["auth-sessions.json"].status == "skipped"
    for kind in ("users", "classes", "sections", "memberships", "namespaces"):
        if expected.get(kind) is not None:
            assert report.kinds[kind].imported == len(expected[kind]), kind

    assert await store.sessions.count_sessions() == counts["sessions"]
    if counts["sessions_active"] is not None:
        assert await store.sessions.count_sessions(active=True) == counts["sessions_active"]
    assert await store.problems.count_problems() == counts["problems"]
    await check_sessions(store, expected)
    await check_problems(store, expected)
    await check_revisions(store, expected)


async def check_sessions(store: Store, expected: dict[str, Any]) -> None:
    for session_id, want in expected["sessions"].items():
        session = await store.sessions.get_session(session_id)
        assert session is not None, session_id
        assert session.metadata is not None
        assert session.join_code == want["join_code"]
        if want["join_code"] is not None:
            found = await store.sessions.get_session_by_join_code(want["join_code"].lower())
            assert (found is not None) == session.active
        assert session.active == (want["status"] in (None, "active"))
        assert session.instructor_id == want["creator_id"]
        assert iso(session.created_at) == want["created_at"]
        assert iso(session.last_activity) == want["last_activity"]
        assert iso(session.ended_at) == want["ended_at"]
        assert session.featured_student_id == want["featured_student_id"]
        assert session.featured_code == want["featured_code"]
        assert session.metadata.version == want["metadata_version"]
        assert session.namespace_id == (want["namespace_id"] or "default")
        assert session.extra.get("status") == want["status"]
        assert session.extra.get("sectionName") == want["section_name"]
        assert session.extra.get("sectionId") == want["section_id"]
        participants = session.extra.get("participants")
        assert (sorted(participants) if participants is not None else None) == want["participants"]
        if want["problem_text"] is not None:
            assert session.problem_text == want["problem_text"]
        if want["problem_id"] is not None:
            assert session.problem is not None
            assert (session.problem.id, session.problem.title) == (want["problem_id"], want["problem_title"])
        if want["section_id"] is not None:
            section = await store.documents.get_document("legacy_sections", want["section_id"])
            assert (section or {}).get("joinCode") == want["section_join_code"]
        assert sorted(session.students) == want["student_ids"]
        for student_id, student_want in want["students"].items():
            student = session.students[student_id]
            assert student.name == student_want["name"]
            assert student.code == student_want["code"]
            assert iso(student.last_update) == student_want["last_update"]
            assert student.extra.get("executionSettings") == student_want["execution_settings"]


async def check_problems(store: Store, expected: dict[str, Any]) -> None:
    for problem_id, want in expected["problems"].items():
        problem = await store.problems.get_problem(problem_id)
        assert problem is not None, problem_id
        assert problem.metadata is not None
        assert problem.title == want["title"]
        assert problem.created_by == want["author"]
        assert problem.tags == (want["tags"] or [])
        assert problem.difficulty == want["difficulty"]
        assert problem.starter_code == want["starter_code"]
        assert sha256(problem.description) == want["description_sha256"]
        assert problem.extra.get("classId") == want["class_id"]
        assert problem.namespace_id == (want["namespace_id"] or "default")
        assert iso(problem.created_at) == want["created_at"]
        assert iso(problem.metadata.updated_at) == want["updated_at"]
        assert problem.metadata.version == (want["metadata_version"] or 1)
        if "has_solution" in want:
            assert (problem.solution is not None) == want["has_solution"]
        if "test_case_count" in want:
            assert len(problem.extra["testCases"]) == want["test_case_count"]
            assert problem.extra.get("executionSettings") == want["execution_settings"]


async def check_revisions(store: Store, expected: dict[str, Any]) -> None:
    for session_id, session_want in expected["sessions"].items():
        streams = await store.revisions.get_all_session_revisions(session_id)
        assert sorted(streams) == sorted(session_want["revisions"]), session_id
        for student_id, want in session_want["revisions"].items():
            revisions = await store.revisions.get_revisions(session_id, student_id)
            assert [r.id for r in revisions] == want["ids"]
            assert len(revisions) == want["count"]
            assert [sha256(r.code) for r in revisions] == want["code_sha256"]
            assert [{"id": r.id, "success": r.execution_result.success} for r in revisions if r.execution_result] == (
                want["execution_results"]
            )
            first, last = revisions[0], revisions[-1]
            assert {"id": first.id, "timestamp": iso(first.timestamp), "code": first.code} == want["first"]
            assert {"id": last.id, "timestamp": iso(last.timestamp), "code": last.code} == want["last"]
            assert [r.id for r in streams[student_id]] == want["ids"]
            assert all(r.metadata is not None and r.metadata.version == 1 for r in revisions)


@pytest.mark.parametrize("dataset", DATASETS)
async def test_dataset_students_are_records_of_their_own(
    store: Store, legacy_data: Path, dataset: str, tmp_path: Path
) -> None:
    # The stored layout itself (store.documents): sessions without students, one record per student.
    from docstore._students import SESSION_STUDENTS, record_id, student_from_record

    expected = json.loads((legacy_data / dataset / "expected.json").read_text(encoding="utf-8"))
    report = await import_legacy(legacy_data / dataset / "data", store, rejects_path=tmp_path / "rejects.jsonl")
    total = sum(len(want["student_ids"]) for want in expected["sessions"].values())
    assert report.rejected == 0 and report.kinds["students"].imported == total
    for session_id, want in expected["sessions"].items():
        document = await store.documents.get_document("sessions", session_id)
        assert document is not None and "students" not in document
        for student_id, student_want in want["students"].items():
            record = await store.documents.get_document(SESSION_STUDENTS, record_id(session_id, student_id))
            assert record is not None and record["namespace_id"] == document["namespace_id"]
            student = student_from_record(record)
            assert student.id == student_id and student.name == student_want["name"]
            assert student.code == student_want["code"]
            assert iso(student.last_update) == student_want["last_update"]
            assert student.extra.get("executionSettings") == student_want["execution_settings"]
    assert len([d async for d in store.documents.iter_documents(SESSION_STUDENTS)]) == total
    again = await import_legacy(legacy_data / dataset / "data", store, rejects_path=tmp_path / "rejects.jsonl")
    assert again.kinds["students"].unchanged == total and again.kinds["students"].imported == 0
    assert again.kinds["sessions"].unchanged == len(expected["sessions"])
