"""Writes ``fixtures/v1_memory``: a memory:// store made by the release before issue 14.

Run with that release's code first on the path (students then lived inside their
session's document, keyed by ``student_field`` names)::

    git worktree add /work/wt-mongo-v1 f1272aa
    PYTHONPATH=/work/wt-mongo-v1 python tests/mongo/make_v1_store.py

The export (``export_store``) is what the migration tests plant, document by document,
into the collections of a store of this release. (The sessions' own times are fixed;
``_metadata`` and revision ids are those of the run that wrote the fixture.)
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from docstore import CodeRevision, ProblemSpec, Session, Student, export_store, open_store

FIXTURE = Path(__file__).parent / "fixtures" / "v1_memory"
HOSTILE_IDS = ["a/b", "a%2Fb", "x.y$z", "$where", "ünï/cødé", "e@mail.org", " ", "%", "a" * 256]
WHEN = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def main() -> None:
    async with open_store("memory://") as store:
        for number in range(12):
            view = store.for_namespace("cs101") if number % 3 == 0 else store
            ids = [f"s{number:02d}-{i}" for i in range(number % 4 + 1)]
            if number == 5:
                ids += HOSTILE_IDS
            students = {sid: Student(id=sid, name=f"Student {sid[:8]}", last_update=WHEN) for sid in ids}
            session_id = await view.sessions.create_session(
                Session(
                    id=f"v1-session-{number:02d}",
                    join_code=f"OLD{number:03d}",
                    instructor_id="teacher",
                    students=students,
                    problem_text=f"problem {number}",
                    created_at=WHEN,
                    last_activity=WHEN,
                )
            )
            for sid in ids[:2]:
                await view.revisions.save_revision(
                    CodeRevision(session_id=session_id, student_id=sid, code=f"print({sid!r})", timestamp=WHEN)
                )
                await view.sessions.update_student_code(session_id, sid, f"print({sid!r})")
            if number == 7:
                await view.sessions.end_session(session_id)
        await store.problems.save_problem(ProblemSpec(title="Loops", description="for and while"))
        await store.sessions.create_session(Session(id="v1-session-empty", join_code="EMPTY1", created_at=WHEN))
        FIXTURE.mkdir(parents=True, exist_ok=True)
        print(await export_store(store, FIXTURE))


if __name__ == "__main__":
    asyncio.run(main())
