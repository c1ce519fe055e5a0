"""``StorageConfig``: where the data lives and how to reach it, from code or ``DOCSTORE_*``."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_URL", "StorageConfig", "mask_secrets"]

DEFAULT_URL = "local://./.docstore"
_SCHEMES = ("mongodb://", "mongodb+srv://", "memory://", "local://", "http://", "https://")

# user:password@ in any URL-looking text -> user:***@
_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@\s]*)@", re.I)


def mask_secrets(text: str) -> str:
    """Hide the password of every URL in ``text`` (for logs, reprs and errors)."""
    return _CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)


class StorageConfig(BaseSettings):
    """Connection settings. Every field can come from the environment as ``DOCSTORE_<NAME>``."""

    # A misspelled setting is an error, never silently ignored (environment variables
    # that name no setting are not read at all).
    model_config = SettingsConfigDict(env_prefix="DOCSTORE_", extra="forbid")

    url: str = Field(
        default=DEFAULT_URL, description="mongodb://, mongodb+srv://, memory://, local://DIR, http:// or https://"
    )
    database: str = Field(default="docstore", min_length=1)
    server_selection_timeout_ms: int = Field(default=5000, gt=0)
    connect_timeout_ms: int = Field(default=5000, gt=0)
    socket_timeout_ms: int = Field(default=20000, gt=0)
    max_pool_size: int = Field(default=100, gt=0)
    min_pool_size: int = Field(default=0, ge=0)
    tls_ca_file: str | None = None
    app_name: str = "docstore"
    write_concern: str | None = Field(default=None, description='w= for MongoDB; None means "majority" on mongodb URLs')
    retry_writes: bool = True
    retry_reads: bool = Field(default=True, description="an idempotent read is retried once after a network error")
    # Credentials kept out of the URL, so that any password works (MongoDB).
    username: str | None = Field(default=None, description="MongoDB user, passed to the driver apart from the URL")
    password: SecretStr | None = Field(default=None, description="MongoDB password (any characters)")
    # The remote backend (http:// and https://).
    token: SecretStr | None = Field(default=None, description="API token for an http(s):// store")
    # The read cache (any backend); 0 turns it off.
    cache_ttl_s: float = Field(default=0.0, ge=0, description="seconds a cached read may be served; 0 = no cache")
    cache_max_entries: int = Field(default=10_000, gt=0, description="most entries the read cache holds")
    # False: opening a store that does not exist yet is UNAVAILABLE instead of creating it
    # (``docstore health``, ``import --dry-run``).
    create: bool = Field(default=True, description="create the store (local://: its directory) if missing")

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(_SCHEMES):
            raise ValueError(f"unsupported URL {mask_secrets(value)!r}: expected one of {', '.join(_SCHEMES)}")
        if value.startswith("local://") and not value[len("local://") :].strip():
            # Never the current directory by accident: say where the store lives.
            raise ValueError("local:// needs a directory, e.g. local://./.docstore")
        return value

    @property
    def engine(self) -> str:
        """``mongodb``, ``memory``, ``local`` or ``remote``."""
        scheme = self.url.split("://", 1)[0]
        if scheme.startswith("mongodb"):
            return "mongodb"
        return "remote" if scheme in ("http", "https") else scheme

    @property
    def local_path(self) -> str:
        return self.url.split("://", 1)[1]

    @property
    def masked_url(self) -> str:
        return mask_secrets(self.url)

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, mask_secrets(value) if name == "url" and isinstance(value, str) else value
