"""The start-up check that no endpoint answers with a raw domain model by accident.

``install(app)`` makes routes declared on the app afterwards (and in
``docstore.fastapi.APIRouter``s) answer in public form; a route declared before it, or in
a plain ``fastapi.APIRouter``, would still send ``Session`` with its metadata. The app's
OpenAPI document shows every declared response model whatever router holds it, so the
check reads it: an operation whose response schema reaches ``Session``, ``ProblemSpec``,
``CodeRevision`` or ``StorageMetadata`` is a leak, unless the route chose it
(``SEND_PRIVATE_FIELDS``, which marks the operation with ``x-docstore-private-fields``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["PRIVATE_EXTENSION", "RAW_MODELS", "leaking_operations"]

PRIVATE_EXTENSION = "x-docstore-private-fields"
# Schema titles of the domain models that carry bookkeeping (their public models are named Public*).
RAW_MODELS = frozenset({"Session", "ProblemSpec", "CodeRevision", "StorageMetadata"})
_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})


def leaking_operations(spec: dict[str, Any]) -> list[str]:
    """``METHOD /path`` of every operation whose answer would carry a raw domain model."""
    components: dict[str, Any] = spec.get("components", {}).get("schemas", {})
    found: list[str] = []
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _METHODS or not isinstance(operation, dict) or operation.get(PRIVATE_EXTENSION):
                continue
            schemas = [
                media.get("schema", {})
                for response in operation.get("responses", {}).values()
                for media in response.get("content", {}).values()
            ]
            if any(_reaches_raw(schema, components) for schema in schemas):
                found.append(f"{method.upper()} {path}")
    return found


def _reaches_raw(schema: Any, components: dict[str, Any]) -> bool:
    stack, seen = [schema], set()
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        reference = node.get("$ref")
        if isinstance(reference, str):
            name = reference.rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                stack.append(components.get(name, {}))
            continue
        if node.get("title") in RAW_MODELS and "properties" in node:
            return True
        for key in ("properties", "items", "additionalProperties", "anyOf", "oneOf", "allOf", "prefixItems"):
            value = node.get(key)
            stack.extend(value.values() if key == "properties" and isinstance(value, dict) else [value])
    return False
