"""A short tour of docstore on the embedded default store (``local://./.docstore``).

    python scripts/demo.py [URL]

Opens an instructor's session, lets three students type, saves their revisions,
and prints the instructor's overview. Run it twice: the data is still there.
"""

from __future__ import annotations

import asyncio
import secrets
import sys

from docstore import CodeRevision, ExecutionResult, ProblemSpec, Session, Student, open_store


async def main(url: str | None) -> None:
    async with open_store(url) as store:
        classroom = store.for_namespace("demo", actor="teacher@example.org")
        problem_id = await classroom.problems.save_problem(
            ProblemSpec(id="fizzbuzz", title="FizzBuzz", description="Print 1..15, Fizz/Buzz", tags=["loops"])
        )
        session = Session(join_code=secrets.token_hex(3), problem_text="FizzBuzz, please")
        session_id = await classroom.sessions.create_session(session)
        names = ["Ana", "Bo", "Zoë"]
        for index, name in enumerate(names):
            await classroom.sessions.upsert_student(session_id, Student(id=f"s{index}", name=name))
        await asyncio.gather(
            *(classroom.sessions.update_student_code(session_id, f"s{i}", "for i in range(1, 16):\n") for i in range(3))
        )
        await classroom.revisions.save_revisions(
            [
                CodeRevision(
                    session_id=session_id,
                    student_id=f"s{i}",
                    code=f"print({step})",
                    execution_result=ExecutionResult(success=True, output=f"{step}\n") if step == 2 else None,
                )
                for i in range(3)
                for step in range(3)
            ]
        )
        overview = await classroom.revisions.get_latest_revisions(session_id)
        print(f"store: {store.config.masked_url} ({(await store.health()).engine})")
        print(f"session {session.join_code}: {len(names)} students, problem {problem_id!r}")
        for student_id, latest in overview.items():
            print(f"  {student_id}: {latest.code!r} ran={latest.execution_result is not None}")
        print(
            f"sessions in the store: {await store.sessions.count_sessions()}, "
            f"revisions in this one: {await store.revisions.count_revisions(session_id)}"
        )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
