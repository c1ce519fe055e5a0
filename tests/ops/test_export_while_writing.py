"""An export taken while the application writes is restorable: no student record without its session.

Finding 14 of the operations attack (tester4): ``export`` writes collection after collection
by name, ``session_students`` before ``sessions``. A session deleted (or replaced) by the
application between the two left its student records in the export and not the session, and
``restore`` of that export into an empty store refused it whole: "its session 'gone' is
neither in the backup nor in the store". A classroom store is exported while in use, so its
backups could be unrestorable. Sessions are now exported before their students, and a
student record is kept only with its session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from docstore import Session, Student, _backup, export_store, open_store, restore_store


@pytest.mark.parametrize("change", ["delete", "create"])
async def test_an_export_racing_session_changes_restores_into_an_empty_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    async with open_store(f"local://{tmp_path / 'store'}") as store:
        for name in ("kept", "gone"):
            await store.sessions.create_session(Session(id=name, join_code=f"{name.upper()}01"))
            await store.sessions.upsert_student(name, Student(id="s1", name="Ana"))
        real = _backup._export_collection

        async def export_then_change(*args: Any, **kwargs: Any) -> tuple[int, str]:
            result = await real(*args, **kwargs)
            if args[3] in ("session_students", "sessions") and not getattr(export_then_change, "done", False):
                export_then_change.done = True  # type: ignore[attr-defined]
                # The application, between two collections of the export.
                if change == "delete":
                    await store.sessions.delete_session("gone")
                else:
                    await store.sessions.create_session(Session(id="new", join_code="NEW001"))
                    await store.sessions.upsert_student("new", Student(id="s9", name="Bo"))
            return result

        monkeypatch.setattr(_backup, "_export_collection", export_then_change)
        await export_store(store, tmp_path / "backup")
    async with open_store("memory://") as empty:
        await restore_store(empty, tmp_path / "backup")  # before: InvalidBackup, the whole backup refused
        assert await empty.sessions.count_students("kept") == 1
        # A session created during the export is in it whole (with its student) or not at all.
        if await empty.sessions.get_session("new") is not None:
            assert await empty.sessions.count_students("new") == 1
