"""The compose file and the Dockerfile, checked by real tools (no Docker engine runs here)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pymongo.uri_parser import parse_uri

from docstore import StorageConfig

ROOT = Path(__file__).resolve().parents[2]


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (.ci/run installs it)")
    return found


def compose_config(env_file: Path | str, compose_file: str = "docker-compose.yml") -> dict[str, Any]:
    """``docker-compose config``: the file as compose resolves it, or a failed test.

    ``services``: each service's block of the resolved YAML, as text (compose prints it
    in one stable layout; no YAML parser is among the dependencies).
    """
    result = subprocess.run(
        [tool("docker-compose"), "--env-file", str(env_file), "-f", compose_file, "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout
    body = text.split("\nservices:\n", 1)[1] if text.startswith("services:") is False else text[len("services:\n") :]
    body = re.split(r"^\S", body, maxsplit=1, flags=re.M)[0]
    blocks = re.split(r"^  (?=[\w-]+:\n)", body, flags=re.M)
    services = {block.split(":", 1)[0]: block for block in blocks if block.strip()}
    return {"services": services, "_text": text}


def setting(block: str, name: str) -> str:
    """The value of ``name:`` in a service block (environment entries included)."""
    match = re.search(rf"^\s+{re.escape(name)}: (.*)$", block, flags=re.M)
    assert match, f"{name} not in {block}"
    value = match.group(1).strip()
    return value[1:-1].replace("''", "'") if value.startswith("'") and value.endswith("'") else value


def test_compose_file_is_valid_and_complete() -> None:
    resolved = compose_config(".env.example")["_text"]
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


# -- the compose issues: reports, credentials, host-side URL, the API, the sharded cluster --
AWKWARD = "p/@:%$ss w0rd#1"  # in .env, single-quoted: taken literally


def test_credentials_reach_docstore_apart_from_the_url(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    example = (ROOT / ".env.example").read_text()
    env.write_text(example.replace("DOCSTORE_APP_PASSWORD=change-me-app", f"DOCSTORE_APP_PASSWORD='{AWKWARD}'"))
    services = compose_config(env)["services"]
    for name in ("importer", "api"):
        block = services[name]
        assert setting(block, "DOCSTORE_USERNAME") == "docstore"
        password = setting(block, "DOCSTORE_PASSWORD")
        assert password.replace("$$", "$") == AWKWARD  # compose prints "$" escaped as "$$"
        url = setting(block, "DOCSTORE_URL")
        assert "@" not in url and "replicaSet=rs0" in url and "change-me" not in url
        config = StorageConfig(url=url, username="docstore", password=password)
        assert config.engine == "mongodb"


def test_the_importer_can_write_its_reports() -> None:
    importer = compose_config(ROOT / ".env.example")["services"]["importer"]
    assert "- importer-reports:/reports:rw" in importer  # a named volume, written to
    assert "- /reports/import-report.json" in importer
    # A new named volume takes the ownership of the image's directory: it must exist, as the importer's.
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "mkdir -p /reports && chown 10001:10001 /reports" in dockerfile
    assert dockerfile.index("chown 10001:10001 /reports") < dockerfile.index("\nUSER 10001")


def test_the_api_service_serves_from_the_same_image_on_localhost() -> None:
    services = compose_config(ROOT / ".env.example")["services"]
    api = services["api"]
    assert setting(api, "image") == setting(services["importer"], "image") == "docstore:latest"
    assert "command:\n    - serve\n    - --host\n    - 0.0.0.0\n    - --port\n    - '8080'" in api
    assert re.search(r"depends_on:\n\s+mongo:\n\s+condition: service_healthy", api)
    assert setting(api, "DOCSTORE_ADMIN_TOKEN") == "change-me-admin-token"
    assert "- 127.0.0.1:8080:8080/tcp" in api
    check = api.split("healthcheck:", 1)[1]
    assert "urllib" in check and "http://localhost:8080/v1/health" in check and "curl" not in check


def test_env_example_gives_a_host_side_url_that_ignores_the_member_name() -> None:
    example = (ROOT / ".env.example").read_text()
    [line] = [line for line in example.splitlines() if "DOCSTORE_URL=" in line]
    url = line.split("DOCSTORE_URL=", 1)[1].strip("'\" ")
    assert url.startswith("mongodb://localhost:27017/") and "directConnection=true" in url
    assert "replicaSet" not in url and "@" not in url
    assert parse_uri(url)["options"]["directConnection"] is True
    assert StorageConfig(url=url, username="docstore", password="x").engine == "mongodb"


def test_sharded_compose_file_is_valid_and_complete() -> None:
    resolved = compose_config(ROOT / ".env.example", "deploy/sharded/docker-compose.yml")
    services, text = resolved["services"], resolved["_text"]
    assert {"config", "shard1", "shard2", "mongos", "init", "api"} <= set(services)
    assert "- --configsvr" in services["config"]
    for shard in ("shard1", "shard2"):
        block = services[shard]
        assert "- --shardsvr" in block and "- --keyFile" in block and f"- {shard}\n" in block
        assert f"host: ''{shard}:27018''" in block  # YAML doubles the quotes of the script
    assert "mongos --configdb cfg/config:27019 --keyFile /key/cluster.key" in services["mongos"]
    assert re.search(r"shard2:\n\s+condition: service_healthy", services["mongos"])
    assert "command:\n    - init\n    - --shard" in services["init"]
    assert "@" not in setting(services["api"], "DOCSTORE_URL")
    assert (ROOT / "deploy/sharded/init-cluster.js").is_file()
    assert "image: mongo:8" in text


def test_sharded_compose_refuses_to_run_without_secrets(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = subprocess.run(
        [tool("docker-compose"), "--env-file", str(empty), "-f", "deploy/sharded/docker-compose.yml", "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "MONGO_ROOT_USERNAME" in result.stderr


@pytest.mark.parametrize("compose_file", ["docker-compose.yml", "deploy/sharded/docker-compose.yml"])
def test_no_command_line_carries_a_password(compose_file: str) -> None:
    """A health check's command line is listed by ``ps`` to anyone on the host: the shell reads
    the credentials from its environment (``process.env``) instead of ``-p "$PASSWORD"``."""
    text = (ROOT / compose_file).read_text()
    assert not re.search(r"(^|\s)(-p|--password)[\s=]", text), compose_file
    assert "process.env.MONGO_" in text
