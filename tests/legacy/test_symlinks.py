"""Symbolic links in a legacy directory: one leading out of it (or nowhere) is refused unless followed on purpose."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from docstore import ErrorCode, PersistenceError, import_legacy, open_store

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "legacy-data"


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    target = tmp_path / "legacy"
    shutil.copytree(EXAMPLE, target)
    return target


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside the legacy directory that an import must not read unless told to."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    path = outside / "private.json"
    path.write_text(json.dumps({"k": {"id": "k", "secret": "s3cr3t"}}))
    return path


def docstore(*args: str) -> subprocess.CompletedProcess[str]:
    # The timeout guards against a hang (a link loop), it asserts nothing about speed.
    return subprocess.run(
        [sys.executable, "-m", "docstore", *args], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


@pytest.mark.parametrize("where", ["classes.json", "problems", "problems/extra.json", "deeper/one.json"])
async def test_a_link_leading_out_is_refused_naming_it_and_nothing_is_written(
    legacy: Path, secret: Path, where: str
) -> None:
    link = legacy / where
    if where == "problems":
        shutil.rmtree(link)
        link.symlink_to(secret.parent, target_is_directory=True)
    else:
        link.parent.mkdir(exist_ok=True)
        link.unlink(missing_ok=True)
        link.symlink_to(secret)
    async with open_store("memory://") as store:
        with pytest.raises(PersistenceError) as refused:
            await import_legacy(legacy, store, rejects_path=legacy.parent / "r.jsonl")
        assert refused.value.code is ErrorCode.INVALID_DATA
        assert str(link) in refused.value.message and "--follow-symlinks" in refused.value.message
        assert all(stats.documents == 0 for stats in (await store.stats()).values())


def test_the_command_refuses_a_link_leading_out_in_one_line_and_creates_no_store(
    legacy: Path, secret: Path, tmp_path: Path
) -> None:
    (legacy / "classes.json").unlink()
    (legacy / "classes.json").symlink_to(secret)
    result = docstore("import", str(legacy), "--url", f"local://{tmp_path / 'store'}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert f"{legacy / 'classes.json'} is a symbolic link to {secret}" in line and "--follow-symlinks" in line
    assert not (tmp_path / "store").exists()


async def test_followed_on_purpose_a_link_is_read_and_said(legacy: Path, secret: Path, tmp_path: Path) -> None:
    (legacy / "classes.json").unlink()
    (legacy / "classes.json").symlink_to(secret)
    async with open_store("memory://") as store:
        report = await import_legacy(legacy, store, follow_symlinks=True, rejects_path=tmp_path / "r.jsonl")
        assert report.exit_code == 0
        assert (await store.documents.get_document("legacy_classes", "k")) == {
            "_id": "k",
            "id": "k",
            "secret": "s3cr3t",
        }
    result = docstore("import", str(legacy), "--url", f"local://{tmp_path / 'store'}", "--follow-symlinks")
    assert result.returncode == 0, result.stderr
    assert f"note: --follow-symlinks: {legacy / 'classes.json'} is a symbolic link to {secret}" in result.stderr


async def test_a_link_that_stays_inside_is_read_as_the_file_it_names(legacy: Path, tmp_path: Path) -> None:
    (legacy / "people.json").symlink_to("users.json")
    async with open_store("memory://") as store:
        report = await import_legacy(legacy, store, rejects_path=tmp_path / "r.jsonl")
        assert report.exit_code == 0 and report.kinds["people"].imported == report.kinds["users"].imported > 0


def test_link_loops_never_hang_refused_or_followed(legacy: Path, tmp_path: Path) -> None:
    (legacy / "loop.json").symlink_to("loop.json")
    (legacy / "ping.json").symlink_to("pong.json")
    (legacy / "pong.json").symlink_to("ping.json")
    (legacy / "around").symlink_to(".", target_is_directory=True)  # leads inside: allowed, never entered
    (legacy / "gone.json").symlink_to(tmp_path / "no-such-file.json")
    url = f"local://{tmp_path / 'store'}"
    refused = docstore("import", str(legacy), "--url", url)
    assert refused.returncode == 2
    [line] = refused.stderr.strip().splitlines()
    assert "gone.json is a symbolic link that leads nowhere" in line and "(and 3 more such link(s))" in line
    rejects = tmp_path / "r.jsonl"
    followed = docstore("import", str(legacy), "--url", url, "--follow-symlinks", "--rejects", str(rejects))
    assert followed.returncode == 1, followed.stderr  # finished, with the unreadable links as rejects
    lines = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert sorted(line["file"] for line in lines) == ["gone.json", "loop.json", "ping.json", "pong.json"]
    assert all("cannot read the file" in line["reason"] for line in lines)
    assert os.path.islink(legacy / "around")
