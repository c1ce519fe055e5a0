"""Optional dependencies: which extra brings what, and the error when one is missing.

``pip install docstore`` brings what ``local://`` and the CLI need. The other engines
and the HTTP parts live in extras, so an app on ``local://`` installs (and imports)
neither a MongoDB driver stack, a mock database, FastAPI nor an HTTP client.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

from ._config import StorageConfig
from ._errors import ErrorCode, PersistenceError
from ._interfaces import StorageBackend

if TYPE_CHECKING:  # the remote extra's: never imported here at run time
    import httpx

__all__ = [
    "ENGINE_EXTRAS",
    "EXTRA_MODULES",
    "engine_label",
    "import_backend",
    "make_backend",
    "missing_extra",
    "require_extra",
]

# The top-level modules each extra installs (a ModuleNotFoundError naming one of them
# means the extra is missing, not that docstore is broken).
EXTRA_MODULES: dict[str, frozenset[str]] = {
    "mongodb": frozenset({"beanie", "pymongo", "motor", "lazy_model"}),
    "memory": frozenset({"mongomock", "mongomock_motor", "beanie"}),
    "server": frozenset({"fastapi", "starlette", "uvicorn"}),
    "remote": frozenset({"httpx", "httpcore"}),
}

# The extra an engine (``StorageConfig.engine``) needs; local needs none.
ENGINE_EXTRAS = {"mongodb": "mongodb", "memory": "memory", "remote": "remote"}


def missing_extra(error: ModuleNotFoundError, extra: str) -> bool:
    """True when ``error`` is about a module that ``extra`` installs."""
    name = (error.name or "").split(".")[0]
    return name in EXTRA_MODULES[extra]


def require_extra(extra: str, what: str, error: ModuleNotFoundError) -> PersistenceError:
    """The error for ``what`` needing ``extra``, or ``error`` itself if it is about something else."""
    if not missing_extra(error, extra):
        # A module missing from docstore itself or another package: not an install choice.
        return PersistenceError(ErrorCode.STORAGE_ERROR, f"{what} cannot be loaded: {error}")
    # STORAGE_ERROR, not UNAVAILABLE: trying again will not help until someone installs it.
    return PersistenceError(
        ErrorCode.STORAGE_ERROR,
        f"{what} needs the docstore[{extra}] extra ({error.name} is not installed): "
        f"pip install 'docstore[{extra}]'",
    )


def import_backend(engine: str, module: str) -> ModuleType:
    """Import a backend package (``docstore._mongo``, ...), naming the extra if one is missing."""
    try:
        return importlib.import_module(module, __package__)
    except ModuleNotFoundError as error:
        extra = ENGINE_EXTRAS.get(engine)
        if extra is None:
            raise
        raise require_extra(extra, engine_label(engine), error) from None


def engine_label(engine: str) -> str:
    """How an error names a store of ``engine``: ``a memory:// store``, ``an http(s):// store``."""
    return "an http(s):// store" if engine == "remote" else f"a {engine}:// store"


def make_backend(config: StorageConfig, transport: httpx.AsyncBaseTransport | None = None) -> StorageBackend:
    """The backend for the config's URL scheme, imported on demand (a local store loads no MongoDB).

    ``transport`` goes to the remote backend (``open_store(..., transport=...)``). An
    engine whose extra is not installed is STORAGE_ERROR naming the extra to install.
    """
    engine = config.engine
    modules = {"mongodb": "._mongo", "memory": "._mongo", "local": "._sqlite", "remote": "._remote"}
    classes = {"mongodb": "MongoBackend", "memory": "MongoBackend", "local": "SqliteBackend", "remote": "RemoteBackend"}
    if engine not in modules:
        raise PersistenceError(ErrorCode.INVALID_DATA, f"no backend for {config.masked_url!r}")
    module = import_backend(engine, modules[engine])
    try:
        injected = {"transport": transport} if transport is not None else {}
        backend: StorageBackend = getattr(module, classes[engine])(config, **injected)
    except ModuleNotFoundError as error:  # memory:// loads mongomock only when it is asked for
        raise require_extra(ENGINE_EXTRAS[engine], engine_label(engine), error) from None
    return backend
