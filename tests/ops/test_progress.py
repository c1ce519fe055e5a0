"""Long operator commands say how far they are: ``export`` and ``restore`` print progress on stderr.

Finding 7 of the operations attack (tester4): ``docstore import`` shows progress, but
``export`` and ``restore`` printed nothing until they were done (a restore of 49,306
documents: 9 s of silence on this machine; a million revisions, minutes), so an operator
could not tell a slow restore from a hung one. Progress goes to stderr (the report stays on
stdout): a bar on a terminal, a few plain lines otherwise.
"""

from __future__ import annotations

from pathlib import Path

from docstore import CodeRevision, Session, open_store
from tests.ops.test_ops_commands import docstore


async def test_export_and_restore_print_progress_per_collection_on_stderr(tmp_path: Path) -> None:
    url = f"local://{tmp_path / 'store'}"
    async with open_store(url) as store:
        session = await store.sessions.create_session(Session(id="big", join_code="BIG001"))
        await store.revisions.save_revisions(
            [CodeRevision(session_id=session, student_id=f"s{n % 30}", code=f"print({n})") for n in range(2500)]
        )
    backup = tmp_path / "backup"
    exported = docstore("export", str(backup), url=url)
    assert exported.returncode == 0, exported.stderr
    assert "revisions: 2,500 of 2,500 documents" in exported.stderr, exported.stderr
    assert "revisions: 0 of 2,500" not in exported.stdout  # the report alone on stdout

    restored = docstore("restore", str(backup), url=f"local://{tmp_path / 'copy'}")
    assert restored.returncode == 0, restored.stderr
    assert "checking revisions: 2,500 of 2,500 documents" in restored.stderr, restored.stderr
    assert "restoring revisions: 2,500 of 2,500 documents" in restored.stderr, restored.stderr
    assert "restored 2,501 documents" in restored.stdout


async def test_check_prints_progress_per_step_on_stderr(tmp_path: Path) -> None:
    # The operations attack's last closing note: `docstore check` said nothing until it was done
    # (it reads every page, then decodes every document: minutes on a large store).
    url = f"local://{tmp_path / 'store'}"
    async with open_store(url) as store:
        session = await store.sessions.create_session(Session(id="big", join_code="BIG001"))
        await store.revisions.save_revisions(
            [CodeRevision(session_id=session, student_id=f"s{n % 30}", code=f"print({n})") for n in range(2500)]
        )
    checked = docstore("check", url=url)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "checking revisions: 0 of 2,500 documents (0%)" in checked.stderr, checked.stderr
    assert "checking revisions: 2,500 of 2,500 documents (100%)" in checked.stderr, checked.stderr
    assert "checking the live feed's log" not in checked.stdout and "sound" in checked.stdout  # report on stdout

    from docstore._sqlite._verify import INTEGRITY_CHECK, LOG_CHECK, verify_store

    calls: list[tuple[str, int, int]] = []
    _path, problems = verify_store(tmp_path / "store", lambda *call: calls.append(call))
    assert problems == []
    steps = list(dict.fromkeys(step for step, _, _ in calls))
    assert steps[0] == INTEGRITY_CHECK and "checking revisions" in steps and "checking sessions" in steps
    assert LOG_CHECK in steps
    for step in steps:
        mine = [(done, total) for name, done, total in calls if name == step]
        assert mine[0][0] == 0 and mine[-1][0] == mine[-1][1]  # from 0 to the whole step
        assert [done for done, _ in mine] == sorted(done for done, _ in mine)
    pages = [total for name, _, total in calls if name == INTEGRITY_CHECK]
    assert pages[0] > 0
