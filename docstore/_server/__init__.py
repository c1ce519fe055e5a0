"""``docstore serve``: the HTTP API over a store (FastAPI), its tokens and its limits."""

from ._app import ADMIN_TOKEN_VARIABLE, create_app, ensure_someone_can_authenticate
from ._protocol import uvicorn_limits

__all__ = ["ADMIN_TOKEN_VARIABLE", "create_app", "ensure_someone_can_authenticate", "uvicorn_limits"]
