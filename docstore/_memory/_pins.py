"""The versions the memory engine is written against, and the check that refuses any other.

``_mongomock_adapter`` and ``_mongomock_fast_paths`` reach past mongomock's public API:
they replace two private methods on each collection object (``_ensure_uniques``,
``_iter_documents``), read its private store (``_store``: ``_documents``,
``_ttl_indexes``), call its cursor's ``_compute_results`` (or read its ``_factory``, ``_skip``
and ``_limit``: ``_cursor_page``), and use mongomock-motor's
``patches._patch_collection_internals``. Private names may change meaning in any release,
and the likely failure is not a crash but a wrong answer (a uniqueness check skipped, a
stale lookup), i.e. tests that pass where MongoDB would fail. So the two packages are
pinned exactly (``PINNED``, the same pins as pyproject's ``memory`` extra), and opening a
``memory://`` store with another version installed is refused (STORAGE_ERROR), not warned
about: a warning scrolls by in a test run whose results it makes untrustworthy.

PyMongo is not pinned: it is the production driver (and docstore's ``bson``), and holding
it back for a test engine would make the tests run another driver than production. The
adapter reads the private slots of PyMongo's bulk requests (``_filter``, ``_doc``,
``_upsert``); ``check_request_slots`` checks they still hold what the adapter expects,
at every open, since they cost a few microseconds to check.

To move a pin: install the new version, run ``tests/mongo/test_mongomock_pins.py`` (it
checks every private in ``PRIVATE_CALLS`` and ``PRIVATE_ATTRIBUTES`` and names what
changed), then ``tests/mongo``, ``tests/unit`` and ``tests/contract -k memory``.
"""

from __future__ import annotations

import functools
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from .._errors import ErrorCode, PersistenceError

__all__ = [
    "PINNED",
    "PRIVATE_ATTRIBUTES",
    "PRIVATE_CALLS",
    "REQUEST_SLOTS",
    "check_pinned_versions",
    "check_request_slots",
    "installed_version",
    "request_parts",
]

# Distribution name -> the exact version the adapter and the fast paths were checked against.
PINNED = {"mongomock": "4.3.0", "mongomock-motor": "0.0.36"}

# The private callables used, with the signature they are called with (``inspect.signature``).
PRIVATE_CALLS = {
    "mongomock.collection.Collection._ensure_uniques": "(self, new_data)",  # wrapped: the size limit
    "mongomock.collection.Collection._iter_documents": "(self, filter)",  # replaced: the fast paths
    "mongomock.collection.Cursor._compute_results": "(self, with_limit_and_skip=False)",  # MockCursor
    "mongomock.collection.Collection._get_dataset": "(self, spec, sort, fields, as_class)",  # a cursor's _factory
    "mongomock.helpers.make_datetime_timezone_aware_in_document": "(value)",  # _cursor_page
    "mongomock.aggregate.process_pipeline": "(collection, database, pipeline, session)",  # aggregate
    "mongomock.filtering.filter_applies": "(search_filter, document)",  # the fast paths' final filter
    "mongomock_motor.patches._patch_collection_internals": "(collection: mongomock.collection.Collection)"
    " -> mongomock.collection.Collection",
}

# Class -> the private attributes its instances must have (read by the fast paths).
PRIVATE_ATTRIBUTES = {
    "mongomock.collection.Collection": ("_store",),
    "mongomock.store.CollectionStore": ("_documents", "_ttl_indexes"),
    "mongomock.collection.Cursor": ("_factory", "_skip", "_limit", "collection"),  # _cursor_page
}

# PyMongo bulk request -> the private slots the adapter reads.
REQUEST_SLOTS = {
    "InsertOne": ("_doc",),
    "DeleteOne": ("_filter",),
    "DeleteMany": ("_filter",),
    "ReplaceOne": ("_filter", "_doc", "_upsert"),
    "UpdateOne": ("_filter", "_doc", "_upsert"),
    "UpdateMany": ("_filter", "_doc", "_upsert"),
}


@functools.cache
def installed_version(name: str) -> str | None:
    """The installed version of a distribution, None if it is not installed.

    Read once a process: reading package metadata costs ~0.4 ms, a few percent of opening a store.
    """
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def check_pinned_versions() -> None:
    """STORAGE_ERROR when an installed mongomock or mongomock-motor is not the pinned version.

    A package that is not installed at all passes: importing it then names the extra to install.
    """
    for name, pinned in PINNED.items():
        installed = installed_version(name)
        if installed is not None and installed != pinned:
            raise PersistenceError(
                ErrorCode.STORAGE_ERROR,
                f"memory:// is written against {name}=={pinned} (it relies on private parts of it) "
                f"but {name} {installed} is installed: pip install 'docstore[memory]' restores the pin; "
                "to move the pin, see docstore/_memory/_pins.py",
            )


def request_parts(request: Any) -> tuple[Any, Any, bool]:
    """(filter, document or update, upsert) of a PyMongo bulk request; absent parts are None/False."""
    return getattr(request, "_filter", None), getattr(request, "_doc", None), bool(getattr(request, "_upsert", False))


def check_request_slots() -> None:
    """STORAGE_ERROR when PyMongo's bulk requests no longer hold what ``request_parts`` reads."""
    import pymongo

    filter, document = {"_id": "x"}, {"$set": {"n": 1}}
    samples = {
        "InsertOne": (pymongo.InsertOne(filter), (None, filter, False)),
        "DeleteOne": (pymongo.DeleteOne(filter), (filter, None, False)),
        "DeleteMany": (pymongo.DeleteMany(filter), (filter, None, False)),
        "ReplaceOne": (pymongo.ReplaceOne(filter, filter, upsert=True), (filter, filter, True)),
        "UpdateOne": (pymongo.UpdateOne(filter, document, upsert=True), (filter, document, True)),
        "UpdateMany": (pymongo.UpdateMany(filter, document, upsert=True), (filter, document, True)),
    }
    for name, (request, expected) in samples.items():
        if request_parts(request) != expected:
            raise PersistenceError(
                ErrorCode.STORAGE_ERROR,
                f"memory:// cannot read PyMongo {pymongo.version}'s {name} "
                f"(its {', '.join(REQUEST_SLOTS[name])} changed): see docstore/_memory/_pins.py",
            )
