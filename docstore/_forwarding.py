"""One forwarding mechanism: a class writes the Protocol methods it changes, the rest are made.

A wrapper (the read cache, the remote client, the guarded view a store hands out, the
``memory://`` change log) subclasses the Protocol it implements and defines only the
methods it does something in; ``forwarded`` fills in every other Protocol method, each
made by a *route* from the Protocol's own declaration (name, signature, docstring):

- ``to_inner``: call the same method on ``self._inner`` (the cache, the change log);
- the remote client's route: send the name and the bound arguments over the wire
  (``_remote/_repositories.py``), as the server derives its routes from the same Protocols;
- the store's route: check the store is open, then call the backend's object (``_guarded.py``).

Typing: a class that subclasses a Protocol without defining all of it is abstract to
mypy, so it can only be made through the ``Callable`` that ``forwarded`` returns, typed
with the class's own constructor and instance type. mypy still checks every method a
class writes against the Protocol; ``tests/unit/test_protocol_coverage.py`` checks that
every Protocol method is there, with the Protocol's signature, on every backend.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ParamSpec, Protocol, TypeVar

__all__ = ["Route", "forwarded", "like", "protocol_methods", "protocol_of", "to_inner"]

P = ParamSpec("P")
T = TypeVar("T")


class Route(Protocol):
    """Makes the method ``name`` of a class from its Protocol declaration ``declared``."""

    def __call__(self, name: str, declared: Callable[..., Any]) -> Callable[..., Any]: ...


def protocol_of(cls: type) -> type:
    """The Protocol ``cls`` implements: its first base that is one."""
    for base in cls.__mro__[1:]:
        if getattr(base, "_is_protocol", False) and base.__module__ != "typing":
            return base
    raise TypeError(f"{cls.__name__} subclasses no Protocol")


def protocol_methods(protocol: type) -> dict[str, Callable[..., Any]]:
    """The public methods a Protocol declares, by name, in declaration order."""
    return {
        name: value
        for name, value in vars(protocol).items()
        if not name.startswith("_") and inspect.isfunction(value)
    }


def like(wrapper: Callable[..., Any], declared: Callable[..., Any], *, bound: bool = False) -> Callable[..., Any]:
    """``wrapper`` with the name, docstring and signature of the Protocol method ``declared``
    (without ``self`` when ``bound``: a function called on an instance's behalf)."""
    functools.update_wrapper(wrapper, declared)
    del wrapper.__wrapped__  # type: ignore[attr-defined]  # else inspect follows it to the declaration
    signature = inspect.signature(declared)
    if bound:
        signature = signature.replace(parameters=list(signature.parameters.values())[1:])
    wrapper.__signature__ = signature  # type: ignore[attr-defined]
    return wrapper


def to_inner(name: str, declared: Callable[..., Any]) -> Callable[..., Any]:
    """The method as ``self._inner``'s: a wrapper forwards what it does not change."""
    if inspect.iscoroutinefunction(declared):

        async def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            return await getattr(self._inner, name)(*args, **kwargs)

        return call

    # A plain method (a feed, a document iterator): the inner object's answer, as it is.
    def plain(self: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(self._inner, name)(*args, **kwargs)

    return plain


def forwarded(cls: Callable[P, T], route: Route = to_inner) -> Callable[P, T]:
    """``cls`` (returned, typed as its constructor) with every method of its Protocol that it
    does not define itself made by ``route``."""
    assert isinstance(cls, type)
    protocol = protocol_of(cls)
    for name, declared in protocol_methods(protocol).items():
        owner = next(klass for klass in cls.__mro__ if name in vars(klass))
        if getattr(owner, "_is_protocol", False):  # only declared, not written: make it
            method = like(route(name, declared), declared)
            method.__qualname__ = f"{cls.__qualname__}.{name}"
            setattr(cls, name, method)
    return cls
