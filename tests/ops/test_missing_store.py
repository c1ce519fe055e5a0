"""Commands pointed at a store that does not exist: they say so, exit 2, and create nothing.

Finding 13 of the operations attack (tester4): ``docstore stats`` (and ``token list``) on a
mistyped ``local://`` path created an empty store there and printed its empty collections
(exit 0); ``docstore restore NOT_A_BACKUP --url local://NEW`` refused the backup ("the store
is unchanged") but had already created the store; ``docstore check`` on a missing store said
"damaged ...: no docstore store here" with exit 1, the code of a damaged store.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ops.test_ops_commands import docstore


@pytest.mark.parametrize("args", [("stats",), ("token", "list")])
def test_reading_commands_never_create_a_store(tmp_path: Path, args: tuple[str, ...]) -> None:
    missing = tmp_path / "typo"
    result = docstore(*args, url=f"local://{missing}")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "no docstore store at" in result.stderr
    assert not missing.exists()


def test_a_restore_refusing_its_backup_creates_no_store(tmp_path: Path) -> None:
    missing = tmp_path / "new"
    (tmp_path / "not-a-backup").mkdir()
    result = docstore("restore", str(tmp_path / "not-a-backup"), url=f"local://{missing}")
    assert result.returncode == 2 and "no manifest.json" in result.stderr, result.stderr
    assert not missing.exists()


def test_check_of_a_missing_store_is_exit_2_not_damage(tmp_path: Path) -> None:
    result = docstore("check", url=f"local://{tmp_path / 'typo'}")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "no docstore store at" in result.stderr and "damaged" not in result.stdout
