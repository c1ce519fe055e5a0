"""Free-form values on the wire: ``extra`` (at any depth of an item) as JSON where JSON holds
it, as canonical Extended JSON where it does not (a datetime, bytes), both ways.

Shared by the remote client (``_remote/_repositories.py``: arguments out, answers in) and
``docstore serve`` (``_server/_routes.py``: arguments in, answers out). The walks are led by the
models' declared fields (``_free_form_fields``), never by the data's keys, so a student id
or a field name that starts with "$" is never read as Extended JSON.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache
from itertools import chain, compress, repeat
from operator import attrgetter, methodcaller
from typing import Any

from bson import json_util
from pydantic import BaseModel

from ._errors import ErrorCode, PersistenceError
from ._page import Page

__all__ = [
    "DOCUMENT_JSON",
    "extras_hold_foreign",
    "free_form_fields",
    "from_extended",
    "holds_foreign",
    "map_free_form",
    "map_result",
    "may_hold_extended",
    "to_extended",
]

# Stored documents (the admin endpoints) cross as canonical Extended JSON, as in an
# export: dates, 64-bit integers and exact floats survive the trip.
DOCUMENT_JSON = json_util.JSONOptions(json_mode=json_util.JSONMode.CANONICAL, tz_aware=True, tzinfo=UTC)

# Free-form values (``extra``, at any depth of an item) cross as JSON where JSON holds them
# and as canonical Extended JSON where it does not (a datetime, bytes): ``{"$date": ...}``.
# Unambiguous because no engine stores a key starting with "$" (``_mapping.check_document``),
# so a "$" key in a free-form value on the wire is always Extended JSON; the client refuses
# a caller's own "$" key before sending, as the engine would. JSON-native values are sent as
# they are: a document whose extra holds only those costs one walk of its extra, no copy.
_NATIVE = frozenset({str, int, float, bool, type(None)})
_NATIVE_OR_NESTED = _NATIVE | {dict, list}
_IS_DICT, _IS_LIST = frozenset({dict}).__contains__, frozenset({list}).__contains__
_STR = frozenset({str})
_DOLLAR = methodcaller("startswith", "$")
_EXTRA_OF_MODEL = attrgetter("extra")
_FREE, _MODEL, _MODELS = 0, 1, 2


@cache
def free_form_fields(model: type[BaseModel]) -> tuple[tuple[str, int, Any], ...]:
    """Where ``model`` holds free-form values: its ``extra``, and models nested in its fields."""
    found: list[tuple[str, int, Any]] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if name == "extra":
            found.append((name, _FREE, None))
            continue
        # ``X``, ``X | None``, ``dict[str, X]`` or ``list[X]`` of a model X holding free-form values.
        members = (annotation,) if typing.get_origin(annotation) in (dict, list) else typing.get_args(annotation)
        for member in members or (annotation,):
            if isinstance(member, type) and issubclass(member, BaseModel) and free_form_fields(member):
                found.append((name, _MODEL, member))
            elif typing.get_origin(member) in (dict, list):
                inner = typing.get_args(member)[-1]
                if isinstance(inner, type) and issubclass(inner, BaseModel) and free_form_fields(inner):
                    found.append((name, _MODELS, inner))
    return tuple(found)


def map_free_form(value: Any, model: type[BaseModel], convert: Callable[[Any], Any]) -> Any:
    """``value`` (a ``model`` or its dump) with ``convert`` applied to each of its free-form
    values; the same object when ``convert`` changed none (else a shallow copy)."""
    if isinstance(value, BaseModel):
        model = type(value)
    fields = free_form_fields(model)
    changes: dict[str, Any] = {}
    plain = type(value) is dict or not isinstance(value, BaseModel)
    for name, kind, inner in fields:
        child = value.get(name) if plain else getattr(value, name, None)
        if not child:
            continue
        if kind == _FREE:
            new = convert(child)
        elif kind == _MODEL:
            new = map_free_form(child, inner, convert) if isinstance(child, BaseModel | Mapping) else child
        elif isinstance(child, Mapping):
            mapped = {key: _mapped(item, inner, convert) for key, item in child.items()}
            new = mapped if any(mapped[key] is not item for key, item in child.items()) else child
        elif isinstance(child, list | tuple):
            listed = [_mapped(item, inner, convert) for item in child]
            new = listed if any(a is not b for a, b in zip(listed, child, strict=True)) else child
        else:
            new = child
        if new is not child:
            changes[name] = new
    if not changes:
        return value
    return {**value, **changes} if plain else value.model_copy(update=changes)


def holds_foreign(value: Any, model: type[BaseModel], *, dollar: bool = False) -> bool:
    """Whether ``value`` (a ``model`` or its dump) holds a free-form value JSON cannot hold
    (or, with ``dollar``, a free-form key starting with "$"): the cheap test that keeps the
    common case, JSON-native extras, off ``map_free_form``'s copying road."""
    extras: list[Any] = []
    _collect_extras(value, model, extras)
    return extras_hold_foreign(extras, dollar=dollar)


def _collect_extras(value: Any, model: type[BaseModel], into: list[Any]) -> None:
    """Every free-form value of ``value`` (a ``model`` or its dump) appended to ``into``."""
    if isinstance(value, BaseModel):
        model = type(value)
        get = value.__dict__.get
    else:
        get = value.get
    for name, kind, inner in free_form_fields(model):
        child = get(name)
        if not child:
            continue
        if kind == _FREE:
            into.append(child)
        elif kind == _MODEL:
            if isinstance(child, BaseModel | Mapping):
                _collect_extras(child, inner, into)
        else:
            items = child.values() if isinstance(child, Mapping) else child
            kinds = set(map(type, items)) if _OWN_EXTRA_ONLY[inner] else None
            # A class of students, as models or as their dumps: their extras picked in C.
            if kinds == {inner}:
                into.extend(map(_EXTRA_OF_MODEL, items))
            elif kinds == {dict}:
                into.extend(map(dict.get, items, repeat("extra")))
            else:
                for item in items:
                    if isinstance(item, BaseModel | Mapping):
                        _collect_extras(item, inner, into)


def extras_hold_foreign(extras: list[Any], *, dollar: bool = False) -> bool:
    """Whether free-form values ``extras`` hold anything JSON cannot hold (``dollar``: or a
    key starting with "$"). Level by level over all of them at once, so the common case (a
    class of students with small JSON-native extras) is a few C-level passes, not a Python
    call per value."""
    level = [extra for extra in extras if extra]
    while level:
        types = list(map(type, level))
        kinds = set(types)
        if kinds <= _NATIVE:
            return False
        if not kinds <= _NATIVE_OR_NESTED:
            return True  # a datetime, bytes, a tuple, a dict subclass: the copying road decides
        # The next level: the children of this level's dicts and lists, picked in C (compress).
        below: list[Any] = []
        if dict in kinds:
            dicts = list(compress(level, map(_IS_DICT, types)))
            if dollar:
                keys = list(chain.from_iterable(dicts))
                if not set(map(type, keys)) <= _STR or any(map(_DOLLAR, keys)):
                    return True  # the copying road refuses it, naming the key
            below.extend(chain.from_iterable(map(dict.values, dicts)))
        if list in kinds:
            below.extend(chain.from_iterable(compress(level, map(_IS_LIST, types))))
        level = below
    return False


class _OwnExtraOnly(dict[type[BaseModel], bool]):
    """Whether a model's only free-form value is its own ``extra`` (a student's, a run's)."""

    def __missing__(self, model: type[BaseModel]) -> bool:
        self[model] = found = free_form_fields(model) == (("extra", _FREE, None),)
        return found


_OWN_EXTRA_ONLY = _OwnExtraOnly()


def _mapped(item: Any, model: type[BaseModel], convert: Callable[[Any], Any]) -> Any:
    return map_free_form(item, model, convert) if isinstance(item, BaseModel | Mapping) else item


def _items_hold_foreign(items: list[Any]) -> bool:
    """Whether a result's items (models, or ids) may hold what ``to_extended`` converts;
    True for anything else (a list of lists): the item by item road decides."""
    extras: list[Any] = []
    for item in items:
        model = item.__class__
        if model in _NATIVE:
            continue
        if not isinstance(item, BaseModel):
            return True
        if _OWN_EXTRA_ONLY[model]:
            extras.append(item.__dict__.get("extra"))
        else:
            _collect_extras(item, model, extras)
    return extras_hold_foreign(extras)


def map_result(value: Any, convert: Callable[[Any], Any]) -> Any:
    """A method's result (an item, a page, a list or dict of them) with ``convert`` applied
    to every free-form value in it; the same object when nothing changed."""
    if isinstance(value, Page):
        if convert is to_extended and not _items_hold_foreign(value.items):
            return value  # the common case, tested without a call per item to this function
        items = [map_result(item, convert) for item in value.items]
        if all(a is b for a, b in zip(items, value.items, strict=True)):
            return value
        return type(value).model_construct(items=items, next_cursor=value.next_cursor)
    if isinstance(value, BaseModel):
        if convert is to_extended and not holds_foreign(value, type(value)):
            return value  # the common case: nothing to convert, nothing copied
        return map_free_form(value, type(value), convert)
    if type(value) is list:
        if convert is to_extended and not _items_hold_foreign(value):
            return value  # a history: tested at once, as a page
        listed = [map_result(item, convert) for item in value]
        return listed if any(a is not b for a, b in zip(listed, value, strict=True)) else value
    if type(value) is dict:
        if convert is to_extended and not _items_hold_foreign(list(value.values())):
            return value  # the latest revision of each student: tested at once
        mapped = {key: map_result(item, convert) for key, item in value.items()}
        return mapped if any(mapped[key] is not item for key, item in value.items()) else value
    return value


def to_extended(value: Any, *, refuse_dollar: bool = False) -> Any:
    """A free-form value as it crosses: JSON-native parts as they are (the same object when
    all are), anything else as canonical Extended JSON. ``refuse_dollar``: INVALID_DATA for
    a key starting with "$" (the client's side: no engine stores one, and on the wire it
    would read as Extended JSON); and for a naive datetime, which no engine stores either."""
    kind = value.__class__
    if kind in _NATIVE:
        return value
    if kind is dict or isinstance(value, Mapping):
        mapped = {}
        changed = kind is not dict
        for key, child in value.items():
            if refuse_dollar and type(key) is str and key.startswith("$"):
                raise PersistenceError(ErrorCode.INVALID_DATA, f"key {key!r} in extra may not start with '$'")
            new = child if child.__class__ in _NATIVE else to_extended(child, refuse_dollar=refuse_dollar)
            changed = changed or new is not child
            mapped[key] = new
        return mapped if changed else value
    if kind is list or isinstance(value, list | tuple):
        listed = [to_extended(child, refuse_dollar=refuse_dollar) for child in value]
        changed = kind is not list or any(a is not b for a, b in zip(listed, value, strict=True))
        return listed if changed else value
    if isinstance(value, datetime) and value.tzinfo is None and refuse_dollar:
        raise PersistenceError(ErrorCode.INVALID_DATA, "a datetime in extra must be timezone-aware")
    try:
        return json_util.default(value, json_options=DOCUMENT_JSON)
    except TypeError:
        return value  # not BSON either (an IntEnum, a model): JSON's own rules, as before


def from_extended(value: Any) -> Any:
    """What ``to_extended`` sent, back as Python values (bottom up, as ``json_util.loads``);
    the same object when it holds no Extended JSON. ValueError for malformed Extended JSON."""
    if type(value) is dict:
        mapped = {key: from_extended(child) for key, child in value.items()}
        if any(type(key) is str and key.startswith("$") for key in mapped):
            try:
                return json_util.object_hook(mapped, DOCUMENT_JSON)
            except Exception as exc:  # bson raises what its parsers meet: KeyError, TypeError, ...
                raise ValueError(f"malformed Extended JSON {value!r}: {exc}") from None
        return mapped if any(mapped[key] is not child for key, child in value.items()) else value
    if type(value) is list:
        listed = [from_extended(child) for child in value]
        return listed if any(a is not b for a, b in zip(listed, value, strict=True)) else value
    return value


def may_hold_extended(content: bytes | str) -> bool:
    """False when ``content`` (JSON) holds no "$" key: the answer or body needs no decoding walk.

    A byte search (memchr) first, the common answer; then the exact test. A "$" written as
    ``\\u0024`` is not looked for (every encoder writes "$" as it is): such a key reaches the
    engine as it is, and every engine refuses it (INVALID_DATA), so nothing is read amiss.
    """
    if isinstance(content, str):  # a feed's event, read as text
        return "$" in content and '"$' in content
    return b"$" in content and b'"$' in content
