"""An export is restored only as it was written: a flipped byte, or a half-renamed export, is refused.

Findings of the operations attack (tester4):

- finding 1: a byte flipped inside a document of an export (a letter of a student's code)
  still parses, so ``restore`` wrote the changed document without a word;
- finding 2: ``export`` renames its files into place one by one; killed between two renames,
  the directory held new files beside the earlier export's manifest, and ``restore`` took
  the mix when the counts happened to agree;
- finding 3: ``export`` renamed its files into place without ``fsync``: after a power cut the
  final names could hold empty or partial files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from docstore import InvalidBackup, PersistenceError, Session, export_store, import_legacy, open_store, restore_store
from tests.ops.test_ops_commands import EXAMPLE, docstore


async def example_export(folder: Path) -> None:
    async with open_store("memory://") as source:
        await import_legacy(EXAMPLE, source)
        await export_store(source, folder)


def flip_a_letter_of_code(path: Path) -> None:
    data = bytearray(path.read_bytes())
    position = data.index(b'"code": "') + len(b'"code": "') + 2
    data[position] ^= 0x01  # 'a' <-> '`', 't' <-> 'u': still a valid document
    path.write_bytes(bytes(data))


async def test_a_flipped_byte_in_an_export_is_refused_and_the_store_unchanged(tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    await example_export(backup)
    flip_a_letter_of_code(backup / "revisions.jsonl")
    async with open_store("memory://") as target:
        await target.sessions.create_session(Session(id="mine", join_code="MINE01"))
        with pytest.raises(InvalidBackup) as caught:
            await restore_store(target, backup)
        assert (await target.stats())["revisions"].documents == 0
    assert any("revisions.jsonl" in problem and "checksum" in problem for problem in caught.value.problems)
    result = docstore("restore", str(backup), url="memory://")
    assert result.returncode == 2 and "revisions.jsonl" in result.stderr and "checksum" in result.stderr


async def test_an_export_killed_between_its_renames_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backup = tmp_path / "backup"
    async with open_store("memory://") as source:
        await import_legacy(EXAMPLE, source)
        await export_store(source, backup)
        first = (await source.sessions.list_all_sessions())[0]
        await source.sessions.update_session(first.id, {"problem_text": "changed after the first export"})
        real_replace = os.replace
        renamed: list[str] = []

        def replace_then_die(source_path: str, target: Path) -> None:
            if len(renamed) == 9:  # every collection file renamed, the manifest not yet: killed here
                raise KeyboardInterrupt
            real_replace(source_path, target)
            renamed.append(str(target))

        monkeypatch.setattr(os, "replace", replace_then_die)
        with pytest.raises(KeyboardInterrupt):
            await export_store(source, backup)
        monkeypatch.setattr(os, "replace", real_replace)
    assert any(name.endswith("/sessions.jsonl") for name in renamed) and not any(
        name.endswith("manifest.json") for name in renamed
    )
    async with open_store("memory://") as target:
        with pytest.raises(InvalidBackup, match="checksum"):
            await restore_store(target, backup)
        assert (await target.stats())["sessions"].documents == 0


async def test_an_untouched_export_restores_and_a_manifest_without_checksums_still_does(tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    await example_export(backup)
    manifest = json.loads((backup / "manifest.json").read_text())
    assert set(manifest["sha256"]) == set(manifest["collections"])
    async with open_store("memory://") as target:
        assert sum((await restore_store(target, backup)).values()) == 92
    # A backup of an earlier release has no checksums: restored as before, on its content checks.
    del manifest["sha256"]
    (backup / "manifest.json").write_text(json.dumps(manifest))
    async with open_store("memory://") as target:
        assert sum((await restore_store(target, backup)).values()) == 92


@pytest.mark.parametrize("sha256", [[1], {"sessions": "xyz"}, {"sessions": 5}, "abc"])
async def test_a_malformed_checksum_entry_is_refused(tmp_path: Path, sha256: object) -> None:
    backup = tmp_path / "backup"
    await example_export(backup)
    manifest = json.loads((backup / "manifest.json").read_text())
    manifest["sha256"] = sha256
    (backup / "manifest.json").write_text(json.dumps(manifest))
    async with open_store("memory://") as target:
        with pytest.raises(InvalidBackup, match="sha256"):
            await restore_store(target, backup)


async def test_export_makes_every_file_durable_before_it_takes_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(descriptor: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        real_fsync(descriptor)

    real_replace = os.replace
    renamed_unsynced: list[str] = []

    def checking_replace(source_path: str, target: Path) -> None:
        if str(source_path) not in synced:
            renamed_unsynced.append(str(target))
        real_replace(source_path, target)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(os, "replace", checking_replace)
    backup = tmp_path / "backup"
    await example_export(backup)
    assert renamed_unsynced == []
    # The renames themselves are made durable: the directory is synced after them.
    assert str(backup) in synced


async def test_a_file_changed_on_purpose_restores_once_its_checksum_entry_is_removed(tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    await example_export(backup)
    flip_a_letter_of_code(backup / "revisions.jsonl")
    manifest = json.loads((backup / "manifest.json").read_text())
    del manifest["sha256"]["revisions"]
    (backup / "manifest.json").write_text(json.dumps(manifest))
    async with open_store("memory://") as target:
        assert (await restore_store(target, backup))["revisions"] == 72


async def test_a_directory_where_an_export_file_goes_is_refused_before_anything_moves(tmp_path: Path) -> None:
    """Finding 15 of the operations attack (tester4): a directory named ``manifest.json`` in the
    export directory failed the last rename only, after every collection file had replaced the
    earlier export's, and the command said "nothing of it was kept"."""
    backup = tmp_path / "backup"
    await example_export(backup)
    before = {path.name: path.read_bytes() for path in backup.glob("*.jsonl")}
    (backup / "manifest.json").unlink()
    (backup / "manifest.json").mkdir()
    async with open_store("memory://") as source:
        await import_legacy(EXAMPLE, source)
        await source.sessions.create_session(Session(id="new", join_code="NEW001"))
        with pytest.raises(PersistenceError, match="not a regular file"):
            await export_store(source, backup)
    assert {path.name: path.read_bytes() for path in backup.glob("*.jsonl")} == before
