"""Write a legacy data directory in the original tool's newest format (2026-01-05).

    python scripts/legacy_generator.py OUT_DIR [--sessions N] [--students N] [--revisions N] [--code-bytes N]

Used for ``examples/legacy-data`` (small) and by ``bench_import.py`` (large).
Files are written as they are generated, so a 1 GB ``revisions.json`` never sits
in memory. Deterministic for a given ``--seed``.
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from diff_match_patch import diff_match_patch

NAMESPACE = "default"
BASE = datetime(2026, 1, 6, 13, 0, tzinfo=UTC)
LINES = [
    "total = 0\n",
    "for n in range(1, 16):\n",
    "    if n % 15 == 0:\n",
    "        print('FizzBuzz')\n",
    "    elif n % 3 == 0:\n",
    "        print('Fizz')\n",
    "    total += n  # ×2 later?\n",  # noqa: RUF001 - the legacy data has it too
    "print('¡Listo!', total, '°C')\n",
]
NAMES = ["Ana Souza", "Bo Chen", "Zoë Martin", "Kwame Mensah", "Leila Yilmaz", "Mateo García", "Priya Nair"]


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def dump(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False), encoding="utf-8")


class Generator:
    def __init__(self, out: Path, *, sessions: int, students: int, revisions: int, code_bytes: int, seed: int) -> None:
        self.out = out
        self.rng = random.Random(seed)
        self.sessions = sessions
        self.students = students
        self.revisions = revisions
        self.code_bytes = code_bytes
        self.dmp = diff_match_patch()

    def write(self) -> int:
        self.out.mkdir(parents=True, exist_ok=True)
        instructor = uid(self.rng)
        student_ids = [uid(self.rng) for _ in range(self.students)]
        created = iso(BASE - timedelta(days=2))
        dump(
            self.out / "namespaces.json",
            {
                NAMESPACE: {
                    "id": NAMESPACE,
                    "displayName": "Lakeside High",
                    "active": True,
                    "createdBy": instructor,
                    "createdAt": created,
                    "updatedAt": created,
                }
            },
        )
        users = {
            instructor: {
                "id": instructor,
                "username": "teacher@lakeside.example",
                "role": "instructor",
                "namespaceId": NAMESPACE,
                "createdAt": created,
                "lastLoginAt": created,
            }
        }
        for index, student in enumerate(student_ids):
            users[student] = {
                "id": student,
                "username": f"student{index}@lakeside.example",
                "role": "student",
                "namespaceId": NAMESPACE,
                "createdAt": created,
                "lastLoginAt": created,
            }
        dump(self.out / "users.json", users)
        class_id, section_id = f"class-{uid(self.rng)}", f"section-{uid(self.rng)}"
        dump(
            self.out / "classes.json",
            {
                class_id: {
                    "id": class_id,
                    "name": "Intro to Python",
                    "description": "CS 1",
                    "createdBy": instructor,
                    "namespaceId": NAMESPACE,
                    "createdAt": created,
                    "updatedAt": created,
                }
            },
        )
        dump(
            self.out / "sections.json",
            {
                section_id: {
                    "id": section_id,
                    "classId": class_id,
                    "name": "Period 2",
                    "semester": "Spring 2026",
                    "instructorIds": [instructor],
                    "active": True,
                    "namespaceId": NAMESPACE,
                    "joinCode": "QA57YT",
                    "createdAt": created,
                    "updatedAt": created,
                }
            },
        )
        memberships = {}
        for student in student_ids:
            membership = f"membership-{uid(self.rng)}"
            memberships[membership] = {
                "id": membership,
                "userId": student,
                "sectionId": section_id,
                "role": "student",
                "joinedAt": created,
            }
        dump(self.out / "memberships.json", memberships)
        dump(
            self.out / "auth-sessions.json",
            {"tok": {"sessionId": "tok", "user": users[instructor], "createdAt": created}},
        )
        problem = self._problems(instructor, class_id)
        session_ids = [uid(self.rng) for _ in range(self.sessions)]
        codes = self._revisions(session_ids, student_ids)
        self._sessions(session_ids, student_ids, instructor, section_id, problem, codes)
        return self.sessions * self.students * self.revisions

    def _problems(self, author: str, class_id: str) -> dict[str, Any]:
        folder = self.out / "problems"
        folder.mkdir(exist_ok=True)
        entries, first = [], None
        for title in ("FizzBuzz", "Temperature Conversion"):
            problem_id = uid(self.rng)
            record: dict[str, Any] = {
                "id": problem_id,
                "namespaceId": NAMESPACE,
                "title": title,
                "description": f"# {title}\n\nWrite it with a loop.",
                "starterCode": "total = 0",
                "testCases": [],
                "executionSettings": {"stdin": "12\n30"},
                "authorId": author,
                "classId": class_id,
                "createdAt": iso(BASE - timedelta(days=1)),
                "updatedAt": iso(BASE - timedelta(hours=20)),
            }
            dump(folder / f"{problem_id}.json", record)
            entries.append(
                {
                    "id": problem_id,
                    "namespaceId": NAMESPACE,
                    "title": title,
                    "testCaseCount": 0,
                    "createdAt": record["createdAt"],
                    "authorName": author,
                    "classId": class_id,
                }
            )
            first = first or record
        dump(folder / "index.json", {"problems": entries, "lastUpdated": iso(BASE)})
        assert first is not None
        return first

    def _code(self, step: int) -> str:
        body = "".join(LINES[: 1 + step % len(LINES)])
        if self.code_bytes > len(body):
            body += "# " + "x" * (self.code_bytes - len(body)) + "\n"
        return body

    def _revisions(self, session_ids: list[str], student_ids: list[str]) -> dict[tuple[str, str], str]:
        last_code: dict[tuple[str, str], str] = {}
        with open(self.out / "revisions.json", "w", encoding="utf-8") as out:
            out.write("{")
            first_stream = True
            for session in session_ids:
                for student in student_ids:
                    out.write(("" if first_stream else ",") + f"\n  {json.dumps(session + ':' + student)}: [")
                    first_stream = False
                    last_code[(session, student)] = self._stream(out, session, student)
                    out.write("\n  ]")
            out.write("\n}")
        return last_code

    def _stream(self, out: TextIO, session: str, student: str) -> str:
        previous = ""
        moment = BASE
        for step in range(self.revisions):
            code = self._code(step)
            moment += timedelta(seconds=self.rng.randint(2, 40), milliseconds=self.rng.randint(0, 999))
            revision: dict[str, Any] = {
                "id": uid(self.rng),
                "namespaceId": NAMESPACE,
                "sessionId": session,
                "studentId": student,
                "timestamp": iso(moment),
            }
            ran = step % 7 == 6
            # Full snapshots as the original tool wrote them: first, every tenth, and with a run.
            if step % 10 == 0 or ran or self.code_bytes:
                revision |= {"isDiff": False, "fullCode": code}
            else:
                patch = self.dmp.patch_toText(self.dmp.patch_make(previous, code))
                revision |= {"isDiff": True, "diff": patch}
            if ran:
                revision["executionResult"] = {"success": True, "output": "Fizz\n", "error": ""}
            written = iso(moment + timedelta(seconds=5))
            revision["_metadata"] = {"createdAt": written, "updatedAt": written, "version": 1}
            out.write(("," if step else "") + "\n    " + json.dumps(revision, ensure_ascii=False))
            previous = code
        return previous

    def _sessions(
        self,
        session_ids: list[str],
        student_ids: list[str],
        instructor: str,
        section_id: str,
        problem: dict[str, Any],
        codes: dict[tuple[str, str], str],
    ) -> None:
        sessions = {}
        for index, session in enumerate(session_ids):
            active = index == len(session_ids) - 1  # one active session per instructor
            started = BASE - timedelta(minutes=5)
            record: dict[str, Any] = {
                "id": session,
                "namespaceId": NAMESPACE,
                "problem": problem,
                "students": {
                    "__type": "Map",
                    "entries": [
                        [
                            student,
                            {
                                "id": student,
                                "name": NAMES[i % len(NAMES)],
                                "code": codes[(session, student)],
                                "lastUpdate": iso(BASE + timedelta(hours=1)),
                            },
                        ]
                        for i, student in enumerate(student_ids)
                    ],
                },
                "createdAt": iso(started),
                "lastActivity": iso(BASE + timedelta(hours=1)),
                "creatorId": instructor,
                "participants": student_ids,
                "status": "active" if active else "completed",
                "sectionId": section_id,
                "sectionName": "Period 2",
                "_metadata": {
                    "createdAt": iso(started),
                    "updatedAt": iso(BASE + timedelta(hours=1)),
                    "version": 1 + len(student_ids) * self.revisions,
                },
            }
            if not active:
                record["endedAt"] = iso(BASE + timedelta(hours=1, minutes=1))
            sessions[session] = record
        dump(self.out / "sessions.json", sessions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--sessions", type=int, default=2)
    parser.add_argument("--students", type=int, default=3)
    parser.add_argument("--revisions", type=int, default=12, help="revisions per student per session")
    parser.add_argument("--code-bytes", type=int, default=0, help="pad every revision's code to this size")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    total = Generator(
        args.out,
        sessions=args.sessions,
        students=args.students,
        revisions=args.revisions,
        code_bytes=args.code_bytes,
        seed=args.seed,
    ).write()
    print(f"wrote {total:,} revisions to {args.out}")


if __name__ == "__main__":
    main()
