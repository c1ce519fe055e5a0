"""The compose file and the Dockerfile, checked by real tools (no Docker engine runs here)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (.ci/run installs it)")
    return found


def test_compose_file_is_valid_and_complete() -> None:
    compose = tool("docker-compose")
    result = subprocess.run(
        [compose, "--env-file", ".env.example", "-f", "docker-compose.yml", "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    resolved = result.stdout
    assert "image: mongo:8" in resolved
    assert "--replSet" in resolved and "--keyFile" in resolved
    assert "healthcheck:" in resolved and "rs.initiate" in resolved
    assert "condition: service_healthy" in resolved
    assert "mongo-data:" in resolved and "tools" in resolved
    assert "replicaSet=rs0" in resolved


def test_compose_refuses_to_run_without_secrets(tmp_path: Path) -> None:
    compose = tool("docker-compose")
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = subprocess.run(
        [compose, "--env-file", str(empty), "-f", str(ROOT / "docker-compose.yml"), "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "MONGO_ROOT_USERNAME" in result.stderr


def test_dockerfile_passes_hadolint() -> None:
    hadolint = tool("hadolint")
    result = subprocess.run([hadolint, "Dockerfile"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_as_a_pinned_python_and_not_as_root() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11." in dockerfile and "-slim" in dockerfile
    assert "\nUSER 10001" in dockerfile


def test_secrets_stay_out_of_the_repository() -> None:
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    assert (ROOT / ".env.example").is_file()
