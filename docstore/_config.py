"""``StorageConfig``: where the data lives and how to reach it, from code or ``DOCSTORE_*``.

The environment is read by pydantic-settings, imported only when a ``DOCSTORE_*``
variable is set: importing it costs a new process about a third of what opening a
``local://`` store and reading it costs (``scripts/bench_import_time.py``).
"""

from __future__ import annotations

import os
import re
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from ._models_deferred import DEFER_BUILD

__all__ = ["DEFAULT_URL", "StorageConfig", "check_mongodb_credentials", "mask_secrets", "mask_url"]

DEFAULT_URL = "local://./.docstore"
_SCHEMES = ("mongodb://", "mongodb+srv://", "memory://", "local://", "http://", "https://")

# The patterns below are compiled on first use (``_pattern``): a process that opens a store
# and reads masks nothing, and compiling them all cost ~1.2 ms of its start.
# scheme://user: then everything up to the last "@" of the line: the password, even
# one with unescaped "@", "/", ":" or spaces in it (masking a host too is harmless).
_CREDENTIALS = r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s'\"]*):(?P<pw>[^\n]*)@"
# scheme://secret@host: userinfo without a ":" is a credential on its own (an API token
# over https, an X.509 subject or a Kerberos principal over mongodb): all of it goes.
_BARE_USERINFO = r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^:/@\s'\"?#]+@"
# ?tlsCertificateKeyFilePassword=..., &password=..., access_token=..., api_key=...: any
# option that names a secret, and MongoDB's authMechanismProperties whole (its
# AWS_SESSION_TOKEN:... pairs, percent-encoded or not).
_SECRET_NAME = r"\w*(?:password|passwd|pwd|secret|token|api_?key|access_?key|credential|signature)\w*"
_SECRET_OPTIONS = rf"(?P<name>\b(?:{_SECRET_NAME}|authMechanismProperties)=)(?P<value>[^&;\s'\"]*)"
# The same secrets in a driver's prose: AWS_SESSION_TOKEN:value, 'AWS_SESSION_TOKEN': 'value'.
_SECRET_PAIRS = rf"(?P<name>\b{_SECRET_NAME}['\"]?\s*:\s*['\"]?)(?P<value>[^,&;\s'\"}}]+)"
# A user name or password as PyMongo reads it: RFC 3986 userinfo characters or %HH.
# "+" is out: PyMongo unquotes userinfo as a form value, so a "+" would become a space
# (a password holding "+" writes it %2B; a space, %20).
_USERINFO_PART = r"(?:[A-Za-z0-9\-._~!$&'()*,;=]|%[0-9A-Fa-f]{2})*"
_MONGODB_SCHEMES = ("mongodb://", "mongodb+srv://")
# Settings whose value is never shown, whatever form it takes.
_SECRET_FIELDS = frozenset({"password", "token"})


_URL_CREDENTIALS = _CREDENTIALS.replace(r"[^\n]*", ".*")


@cache
def _pattern(source: str, flags: int = re.I) -> re.Pattern[str]:
    return re.compile(source, flags)


def mask_secrets(text: str) -> str:
    """Hide every credential of every URL and every secret option in ``text`` (logs, reprs, errors)."""
    return _masked_options(_pattern(_CREDENTIALS).sub(_userinfo_masked, text))


def mask_url(url: str) -> str:
    """``mask_secrets`` for one URL: its password may hold anything, line breaks included."""
    return _masked_options(_pattern(_URL_CREDENTIALS, re.I | re.S).sub(_userinfo_masked, url))


def _userinfo_masked(match: re.Match[str]) -> str:
    return f"{match['scheme']}{match['user']}:***@"


def _masked_options(text: str) -> str:
    text = _pattern(_BARE_USERINFO).sub(lambda m: f"{m['scheme']}***@", text)
    text = _pattern(_SECRET_OPTIONS).sub(lambda m: f"{m['name']}***", text)
    return _pattern(_SECRET_PAIRS).sub(lambda m: f"{m['name']}***", text)


def check_mongodb_credentials(url: str) -> None:
    """Refuse a MongoDB URL whose user name or password PyMongo would misread.

    PyMongo splits the URL at the first "/" and the last "@" of what precedes it, and
    unquotes what it finds: an unescaped "@", "/", ":", "%", "+" or space in a
    password silently changes the host, the database or the password itself.
    """
    rest = url.split("://", 1)[1]
    if "@" not in rest:
        return
    userinfo = rest.rpartition("@")[0]
    user, _, password = userinfo.partition(":")
    if not all(_pattern(_USERINFO_PART, 0).fullmatch(part) for part in (user, password)):
        raise ValueError(
            "the user name or password in the URL has characters that must be percent-encoded "
            "(urllib.parse.quote(password, safe=''): '@' is %40, '/' is %2F, ':' is %3A, '%' is %25, "
            "'+' is %2B, ' ' is %20), "
            "or pass them as DOCSTORE_USERNAME and DOCSTORE_PASSWORD instead"
        )


_ENV_PREFIX = "DOCSTORE_"


class StorageConfig(BaseModel):
    """Connection settings. Every field can come from the environment as ``DOCSTORE_<NAME>``
    (what is passed in code wins over the environment, as with pydantic-settings)."""

    # A misspelled setting is an error, never silently ignored (environment variables
    # that name no setting are not read at all). Built on first use (``_models_deferred``):
    # a URL alone, the common case, never needs the validator (``__init__``).
    model_config = ConfigDict(extra="forbid", defer_build=DEFER_BUILD)

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
    # A bound on what a server's answer may make this client hold (a hostile or broken server
    # could send without end); an answer past it is STORAGE_ERROR, read no further.
    max_answer_mb: int = Field(
        default=256, gt=0, description="largest answer (or line of a streamed one) read from an http(s):// store, MiB"
    )
    # The read cache (any backend); 0 turns it off.
    cache_ttl_s: float = Field(default=0.0, ge=0, description="seconds a cached read may be served; 0 = no cache")
    cache_max_entries: int = Field(default=10_000, gt=0, description="most entries the read cache holds")
    # False: opening a store that does not exist yet is UNAVAILABLE instead of creating it
    # (``docstore health``, ``import --dry-run``).
    create: bool = Field(default=True, description="create the store (local://: its directory) if missing")
    # True: initialize() succeeds while the server (MongoDB, a docstore server) is unreachable;
    # calls are UNAVAILABLE and health() says so until a background retry connects.
    lazy_connect: bool = Field(default=False, description="start while the server is unreachable; connect later")

    def __init__(self, **values: Any) -> None:
        given = {**_from_environment(), **values}
        url = given.get("url")
        if given.keys() == {"url"} and type(url) is str and type(self) is StorageConfig and _plain_url(url):
            # A URL and nothing else (``open_store("local://DIR")``): validation would check
            # it with ``_known_scheme``, keep it as it is and take every default, which
            # ``_credentials_once`` accepts. So the instance is made as validation makes it
            # (as ``model_construct`` does), and a new process opening a store builds no
            # validator (``_models_deferred.py``). Anything else (a refused URL, a subclass
            # with fields of its own) is validated; tests/unit/test_deferred_imports.py
            # holds both to the same result.
            _set(self, "__dict__", {**_defaults(), "url": url})
            _set(self, "__pydantic_fields_set__", {"url"})
            _set(self, "__pydantic_extra__", None)
            _set(self, "__pydantic_private__", None)
            return
        try:
            super().__init__(**given)
        except ValidationError as exc:
            # pydantic quotes every rejected input: never a password, in any form.
            raise _masked(exc) from None

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(_SCHEMES):
            raise ValueError(f"unsupported URL {mask_url(value)!r}: expected one of {', '.join(_SCHEMES)}")
        if value.startswith("local://") and not value[len("local://") :].strip():
            # Never the current directory by accident: say where the store lives.
            raise ValueError("local:// needs a directory, e.g. local://./.docstore")
        if value.startswith(_MONGODB_SCHEMES):
            check_mongodb_credentials(value)
        return value

    @model_validator(mode="after")
    def _credentials_once(self) -> StorageConfig:
        if self.password is not None and self.username is None:
            raise ValueError("a password needs a user name (DOCSTORE_USERNAME)")
        if self.username is not None:
            if not self.url.startswith(_MONGODB_SCHEMES):
                raise ValueError("username and password are settings of mongodb:// stores")
            if "@" in self.url.split("://", 1)[1].split("/", 1)[0]:
                raise ValueError("give the credentials in the URL or as DOCSTORE_USERNAME/PASSWORD, not both")
        return self

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
        return mask_url(self.url)

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, mask_url(value) if name == "url" and isinstance(value, str) else value


_set = object.__setattr__  # as pydantic sets an instance's slots (BaseModel.__setattr__ checks fields)


def _plain_url(url: str) -> bool:
    """Whether validation accepts ``url`` unchanged (it either keeps a URL or refuses it)."""
    try:
        StorageConfig._known_scheme(url)
    except ValueError:
        return False
    return True


@cache
def _defaults() -> dict[str, Any]:
    """Every setting's default, in field order: immutable values, shared as validation shares them."""
    return {name: field.get_default(call_default_factory=True) for name, field in StorageConfig.model_fields.items()}


def _from_environment() -> dict[str, Any]:
    """The settings given as ``DOCSTORE_<NAME>`` variables (read as pydantic-settings reads
    them: names in any case); none, and no pydantic-settings imported, when no variable
    names a setting (``DOCSTORE_ADMIN_TOKEN`` and the like are not settings of a store)."""
    names = _environment_names()
    if not any(name.upper() in names for name in os.environ):
        return {}
    found = _environment_settings()()
    return {name: getattr(found, name) for name in found.model_fields_set}


@cache
def _environment_names() -> frozenset[str]:
    return frozenset(f"{_ENV_PREFIX}{name}".upper() for name in StorageConfig.model_fields)


@cache
def _environment_settings() -> type[Any]:
    """A ``BaseSettings`` with ``StorageConfig``'s fields, untyped: it only reads the values
    (``StorageConfig`` validates them, with every rule, its messages and their masking)."""
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class _Environment(BaseSettings):
        model_config = SettingsConfigDict(env_prefix=_ENV_PREFIX, extra="ignore")

    from pydantic import create_model

    fields: dict[str, Any] = {name: (Any, None) for name in StorageConfig.model_fields}
    return create_model("StorageConfigEnvironment", __base__=_Environment, **fields)


def _masked(exc: ValidationError) -> ValidationError:
    """The same validation errors, with every input that could hold a secret masked."""
    errors: list[Any] = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        value = error.get("input")
        if field in _SECRET_FIELDS:
            value = "***"
        elif isinstance(value, str):
            value = mask_url(value)
        elif isinstance(value, dict):
            # A model-level error quotes every setting at once.
            value = {
                key: "***" if key in _SECRET_FIELDS else mask_url(item) if isinstance(item, str) else item
                for key, item in value.items()
            }
        masked: dict[str, Any] = {"type": error["type"], "loc": error["loc"], "input": value}
        if "ctx" in error:
            masked["ctx"] = error["ctx"]
        errors.append(masked)
    return ValidationError.from_exception_data(exc.title, errors)
