"""Wrote examples/pre-sqlite-store with the journal+snapshot engine of commit aa955bc (kept for the record; that engine is gone)."""
import asyncio, os, shutil, sys
from datetime import UTC, datetime
from docstore import open_store, Session, Student, ProblemSpec, CodeRevision, ExecutionResult

D = sys.argv[1]
shutil.rmtree(D, ignore_errors=True)

async def main():
    url = f"local://{D}"
    # First run: written, then compacted on close into snapshot.bson
    async with open_store(url, actor="teacher1") as store:
        ns = store.for_namespace("course-a", actor="teacher1")
        p1 = ProblemSpec(id="p-fizz", title="FizzBuzz", description="Print fizz and buzz", tags=["loops", "basics"], difficulty="beginner")
        await ns.problems.save_problem(p1)
        await store.problems.save_problem(ProblemSpec(id="p-sort", title="Sorting lists", description="Sort a list of numbers", tags=["lists"], difficulty="intermediate"))
        s1 = await ns.sessions.create_session(Session(id="sess-1", join_code="ABC123", instructor_id="teacher1", problem=p1))
        await ns.sessions.upsert_student(s1, Student(id="ana@example.org", name="Ana"))
        await ns.sessions.upsert_student(s1, Student(id="bo.b", name="Bob"))
        for i in range(3):
            await ns.sessions.record_code(s1, "ana@example.org", f"print({i})", ExecutionResult(success=True, output=str(i)))
        await ns.sessions.record_code(s1, "bo.b", "x = 1")
        await store.documents.upsert_documents("legacy_users", [
            {"_id": "u1", "name": "Ana", "big": 2**62, "when": datetime(2020, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)},
            {"_id": "u2", "name": "Bob", "nested": {"a": [1, 2, {"b": None}]}},
        ])
    # Second run: writes left only in the journal (simulate a crash: no clean close)
    store = open_store(url, actor="teacher2")
    await store.initialize()
    s2 = await store.sessions.create_session(Session(id="sess-2", join_code="XYZ789", instructor_id="teacher2"))
    await store.sessions.upsert_student(s2, Student(id="cy", name="Cy"))
    await store.sessions.record_code(s2, "cy", "print('journal only')")
    await store.sessions.end_session("sess-1") if False else None
    await store.problems.update_problem("p-sort", {"tags": ["lists", "sorting"]})
    await store.documents.upsert_documents("legacy_users", [{"_id": "u3", "name": "Cy (journal)"}])
    await store.documents.delete_document("legacy_users", "u2")
    # a refused write (duplicate join code) is journaled too; it must not be applied on replay
    try:
        await store.sessions.create_session(Session(id="sess-dup", join_code="XYZ789"))
    except Exception as e:
        print("refused as expected:", e)
    os._exit(0)  # no shutdown: the journal is all there is

asyncio.run(main())
