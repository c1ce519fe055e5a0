"""``StorageConfig`` reads ``DOCSTORE_*`` as pydantic-settings does, and imports it only then."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from docstore._config import StorageConfig

_OPEN_AND_READ = """
import asyncio, sys, tempfile
from docstore import open_store
async def main():
    async with open_store("local://" + tempfile.mkdtemp()) as store:
        await store.stats()
asyncio.run(main())
print(sorted(name for name in ("pydantic_settings", "dotenv") if name in sys.modules))
"""


def test_a_local_open_and_read_does_not_import_pydantic_settings() -> None:
    environment = {name: value for name, value in os.environ.items() if not name.upper().startswith("DOCSTORE_")}
    environment["DOCSTORE_ADMIN_TOKEN"] = "not-a-store-setting"
    answer = subprocess.run(
        [sys.executable, "-c", _OPEN_AND_READ], env=environment, capture_output=True, text=True, check=True
    )
    assert answer.stdout.strip() == "[]", answer.stderr


def test_the_environment_fills_what_code_does_not_give(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCSTORE_URL", "memory://")
    monkeypatch.setenv("docstore_cache_ttl_s", "2.5")  # any case, as pydantic-settings reads it
    monkeypatch.setenv("DOCSTORE_RETRY_READS", "false")
    monkeypatch.setenv("DOCSTORE_TOKEN", "s3cret")
    config = StorageConfig(url="local://./x")
    assert (config.url, config.cache_ttl_s, config.retry_reads) == ("local://./x", 2.5, False)
    assert config.token is not None and config.token.get_secret_value() == "s3cret"


def test_a_bad_value_from_the_environment_is_refused_and_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCSTORE_URL", "ftp://user:hunter2@host")
    monkeypatch.setenv("DOCSTORE_MAX_POOL_SIZE", "0")
    with pytest.raises(ValueError) as raised:
        StorageConfig()
    assert "hunter2" not in str(raised.value)
    assert "max_pool_size" in str(raised.value) and "url" in str(raised.value)
