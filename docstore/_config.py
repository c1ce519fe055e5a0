"""``StorageConfig``: where the data lives and how to reach it, from code or ``DOCSTORE_*``."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_URL", "StorageConfig", "mask_secrets"]

DEFAULT_URL = "local://./.docstore"
_SCHEMES = ("mongodb://", "mongodb+srv://", "memory://", "local://")

# user:password@ in any URL-looking text -> user:***@
_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@\s]*)@", re.I)


def mask_secrets(text: str) -> str:
    """Hide the password of every URL in ``text`` (for logs, reprs and errors)."""
    return _CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)


class StorageConfig(BaseSettings):
    """Connection settings. Every field can come from the environment as ``DOCSTORE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="DOCSTORE_", extra="ignore")

    url: str = Field(default=DEFAULT_URL, description="mongodb://, mongodb+srv://, memory:// or local://DIR")
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

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(_SCHEMES):
            raise ValueError(f"unsupported URL {mask_secrets(value)!r}: expected one of {', '.join(_SCHEMES)}")
        return value

    @property
    def engine(self) -> str:
        """``mongodb``, ``memory`` or ``local``."""
        scheme = self.url.split("://", 1)[0]
        return "mongodb" if scheme.startswith("mongodb") else scheme

    @property
    def local_path(self) -> str:
        return self.url.split("://", 1)[1] or "."

    @property
    def masked_url(self) -> str:
        return mask_secrets(self.url)

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, mask_secrets(value) if name == "url" and isinstance(value, str) else value
