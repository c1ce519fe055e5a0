"""The three repositories over HTTP: each method is one request, mapped by ``RemoteRepository.call``.

The methods are not written here: like the server's routes, they come from the
Protocols (``_forwarding.forwarded`` with the route ``_over_the_wire``), each sending
its name and its bound arguments; only ``watch`` (a stream, not a call) is written.

The server runs the engine's own checks, so the client checks only what JSON cannot
carry: that an item argument is the domain type it claims to be (the engine refuses a
look-alike dict; JSON would make one of any item).
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from types import UnionType
from typing import Any, NotRequired

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError, to_jsonable_python
from typing_extensions import TypedDict  # pydantic takes typing's TypedDict on 3.12+ only

from .._arguments import check_sequence
from .._changes import SessionFeed
from .._errors import ErrorCode, PersistenceError
from .._forwarding import forwarded
from .._interfaces import ProblemRepository, RevisionRepository, Scope, SessionRepository
from .._mapping import MAX_DEPTH, invalid
from .._page import Page
from .._wire import WireMethod, methods
from .._wire_values import from_extended, holds_foreign, map_free_form, map_result, may_hold_extended, to_extended
from ._feed import RemoteFeed
from ._transport import Transport

__all__ = ["RemoteProblemRepository", "RemoteRevisionRepository", "RemoteSessionRepository"]


class RemoteRepository:
    """What the three share: the scope headers, argument encoding and result decoding."""

    repository: str

    def __init__(self, transport: Transport, scope: Scope) -> None:
        self._transport = transport
        self._scope = scope
        self._methods = methods()[self.repository]

    async def call(self, name: str, **arguments: Any) -> Any:
        method = self._methods[name]
        body = encode_arguments(method, arguments)
        content = await self._transport.request(
            "POST",
            method.path,
            body=body,
            read=method.read,
            namespace=self._scope.namespace,
            actor=self._scope.actor,
        )
        try:
            return decode_result(method, content)
        except (ValueError, TypeError, RecursionError) as exc:
            # The server speaks another version of the protocol, or something else answered
            # (ValidationError; TypeError: Page.__init__ given items that are no sequence;
            # RecursionError: JSON nested past the stack).
            detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else type(exc).__name__
            raise PersistenceError(ErrorCode.STORAGE_ERROR, f"unexpected answer to {method.path}: {detail}") from None


def decode_result(method: WireMethod, content: bytes) -> Any:
    """A call's answer as the method returns it: ``method.result.validate_json(content)``,
    by a faster road for a ``Page`` (see ``_page_decoder``); ValidationError as it raises."""
    decoder = _page_decoder(method.returns)
    result = method.result.validate_json(content) if decoder is None else decoder(content)
    if may_hold_extended(content):
        try:
            return map_result(result, from_extended)
        except ValueError as exc:
            raise PersistenceError(ErrorCode.STORAGE_ERROR, f"unexpected answer to {method.path}: {exc}") from None
    return result


@functools.cache
def _page_decoder(returns: Any) -> Callable[[bytes], Any] | None:
    """For a ``Page[T]`` result, a decoder of its JSON giving what ``validate_json`` gives.

    ``Page`` has an ``__init__`` of its own, so pydantic validates a page from JSON by
    parsing it into Python objects first and then validating those again in Python
    (``Page.__init__``): measured 141 us for a page of 20 problems. Here the JSON is
    validated once, in Rust, as a typed dict of the same fields (the same item model, so
    the same rules and validators), and the page built from it without a second pass:
    100 us. What it refuses goes the slow road. Equal to the slow road for every answer
    (``tests/remote/test_fast_decode.py``).
    """
    if not (isinstance(returns, type) and issubclass(returns, Page)):
        return None
    fields = returns.model_fields
    answer = TypedDict(  # type: ignore[misc]  # built from the page's own field types
        f"{returns.__name__}Answer",
        {name: NotRequired[field.annotation] for name, field in fields.items()},
    )
    adapter: TypeAdapter[Any] = TypeAdapter(answer)
    slow: TypeAdapter[Any] = TypeAdapter(returns)

    def decode(content: bytes) -> Any:
        try:
            found = adapter.validate_json(content)
        except ValidationError:
            # Not a page as servers send them: the slow road answers it, whatever it makes
            # of it (``Page.__init__`` takes any iterable as items), so nothing changes.
            return slow.validate_json(content)
        # As ``Page.__init__`` does: items default to none, next_cursor to None.
        return returns.model_construct(items=found.get("items", []), next_cursor=found.get("next_cursor"))

    return decode


def encode_arguments(method: WireMethod, arguments: dict[str, Any]) -> bytes:
    """The JSON body of a call; INVALID_DATA for what no engine would take either."""
    encoded: dict[str, Any] = {}
    for name, model, sequence in _plan(method):
        value = arguments[name]
        if model is not None and value is not None:
            if sequence:
                # As the engines do: a generator or a dict's values is refused, not listed.
                value = [_item(model, element, name) for element in check_sequence(value, name, model.__name__)]
            else:
                value = _item(model, value, name)
        elif isinstance(value, Mapping) and value.__class__ is not dict:
            # The engines read an update given as any mapping; JSON writes only a dict.
            value = dict(value)
        check_sendable(value, name)
        encoded[name] = value
    for name, model in method.free_form_arguments:
        value = encoded[name]
        if isinstance(value, list):
            encoded[name] = [_free_form_out(element, model) for element in value]
        elif value is not None:
            encoded[name] = _free_form_out(value, model)
    try:
        # allow_nan=False: a last guard, JSON has no NaN (check_sendable refused it already).
        return json.dumps(to_jsonable_python(encoded), separators=(",", ":"), allow_nan=False).encode()
    except (PydanticSerializationError, ValueError, TypeError, RecursionError) as exc:
        raise invalid(f"arguments of {method.name} cannot be sent: {exc}") from None


# Per method, what each parameter takes: (name, its domain model or None, a sequence of it?).
# Keyed by the method's identity (``methods()`` makes each once), found without hashing it.
_Plan = tuple[tuple[str, type[BaseModel] | None, bool], ...]
_PLANS: dict[int, tuple[WireMethod, _Plan]] = {}


def _plan(method: WireMethod) -> _Plan:
    """``_model_of`` and ``_is_sequence`` of each parameter, worked out once per method
    (they walk typing objects: ~30 us a call for four optional parameters)."""
    found = _PLANS.get(id(method))
    if found is None or found[0] is not method:
        plan = tuple((name, _model_of(hint), _is_sequence(hint)) for name, hint, _ in method.parameters)
        found = _PLANS[id(method)] = (method, plan)
    return found[1]


def _refusing_dollar(value: Any) -> Any:
    return to_extended(value, refuse_dollar=True)


def _free_form_out(value: Any, model: type[BaseModel]) -> Any:
    """An item (or update) with its free-form values as they cross: Extended JSON for what
    JSON cannot hold (``_wire.to_extended``); the same object when all are JSON's own."""
    if isinstance(value, BaseModel | Mapping) and holds_foreign(value, model, dollar=True):
        return map_free_form(value, model, _refusing_dollar)
    return value


def check_sendable(value: object, name: str) -> None:
    """INVALID_DATA for what JSON would change on the way: NaN and infinities (pydantic
    writes them as ``null``, so the engine would store None) and nesting past
    ``MAX_DEPTH`` (which the server could not even parse, and no engine stores).

    Iterative, so a hostile depth is an error, never a ``RecursionError``. Models are
    walked through their fields: an ``updates`` dict may hold one.
    """
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                raise invalid(f"{name}: {item} is not a finite number (not JSON)")
            continue
        if isinstance(item, BaseModel):
            children: Iterable[object] = vars(item).values()
        elif isinstance(item, Mapping):
            children = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth >= MAX_DEPTH:
            raise invalid(f"{name} is nested deeper than {MAX_DEPTH} levels")
        # Exact classes, tested inline: most values are leaves, and this runs on every call.
        for child in children:
            if child.__class__ not in _LEAVES:
                stack.append((child, depth + 1))


# Values that hold nothing to check (bool and NoneType included: ``is``-class tests, not isinstance).
_LEAVES = frozenset({str, int, bool, type(None), datetime})


def _item(model: type[BaseModel], value: object, name: str) -> Any:
    if not isinstance(value, model):
        raise invalid(f"{name}: expected a {model.__name__}, got {type(value).__name__}")
    try:
        # Re-validate, as the engines do: attribute assignment skips validation. No
        # serializer warnings for a mutated field: the validation below refuses it.
        # Python mode, not JSON mode, which would turn NaN into None unseen.
        return model.model_validate(value.model_dump(warnings=False)).model_dump()
    except PydanticSerializationError as exc:
        raise invalid(f"{name} cannot be sent: {exc}") from None
    except ValidationError as exc:
        detail = exc.errors()[0]
        raise invalid(f"{name}.{'.'.join(map(str, detail['loc']))}: {detail['msg']}") from None


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The domain model a parameter takes (``Session``, ``X | None``, ``Sequence[X]``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, UnionType) or origin is Sequence:
        for argument in typing.get_args(annotation):
            found = _model_of(argument)
            if found is not None:
                return found
    return None


def _is_sequence(annotation: Any) -> bool:
    return typing.get_origin(annotation) is Sequence


def _over_the_wire(name: str, declared: Callable[..., Any]) -> Callable[..., Any]:
    """A repository method as one call: its arguments bound to the Protocol's signature
    (defaults included: the server's body model names every parameter), then sent."""
    signature = inspect.signature(declared)
    parameters = list(signature.parameters.values())[1:]  # without self
    positional = tuple(p.name for p in parameters if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD)
    defaults = {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}
    names = frozenset(p.name for p in parameters)

    async def send(self: RemoteRepository, *args: Any, **kwargs: Any) -> Any:
        # What ``signature.bind`` does, at a tenth of its cost (this runs on every call);
        # any call that does not plainly fit goes to it (Python's own TypeError).
        arguments = {**defaults, **dict(zip(positional, args, strict=False)), **kwargs}
        if (
            len(args) > len(positional)
            or not names.issuperset(kwargs)
            or not kwargs.keys().isdisjoint(positional[: len(args)])
            or len(arguments) != len(names)
        ):
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            arguments = {key: value for key, value in bound.arguments.items() if key != "self"}
        return await self.call(name, **arguments)

    return send


class _RemoteSessions(RemoteRepository, SessionRepository):
    repository = "sessions"

    def watch(self, session_id: str, *, after: str | None = None) -> SessionFeed:
        return RemoteFeed(self._transport, self._scope, session_id, after)


class _RemoteProblems(RemoteRepository, ProblemRepository):
    repository = "problems"


class _RemoteRevisions(RemoteRepository, RevisionRepository):
    repository = "revisions"


RemoteSessionRepository = forwarded(_RemoteSessions, _over_the_wire)
RemoteProblemRepository = forwarded(_RemoteProblems, _over_the_wire)
RemoteRevisionRepository = forwarded(_RemoteRevisions, _over_the_wire)
