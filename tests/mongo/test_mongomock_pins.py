"""The memory engine's pins: the one place a mongomock, mongomock-motor or PyMongo upgrade fails.

The adapter and the fast paths (``docstore/_memory/``) rely on private parts of those
packages, listed in ``docstore/_memory/_pins.py``. Here, against the installed versions:
each is the pinned version (and pyproject pins exactly that), each private still has the
shape and the behaviour the adapter expects, nothing of mongomock is patched for everyone,
and ``memory://`` refuses to open with another version. A failure names what to re-check.
"""

from __future__ import annotations

import importlib
import inspect
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mongomock
import mongomock.aggregate
import mongomock.collection
import mongomock.database
import mongomock.filtering
import mongomock.store
import mongomock_motor
import pytest
from pymongo import InsertOne, UpdateOne
from pymongo.errors import DuplicateKeyError

from docstore import ErrorCode, PersistenceError, Session, Student, open_store
from docstore._memory import _pins
from docstore._memory._pins import PINNED, PRIVATE_ATTRIBUTES, PRIVATE_CALLS

ROOT = Path(__file__).resolve().parents[2]
RECHECK = "re-check docstore/_memory/_mongomock_adapter.py and _mongomock_fast_paths.py against it"


def _database() -> Any:
    """A plain mongomock database (typed Any: the adapter reaches past its declared surface)."""
    return mongomock.MongoClient()["pins"]


def _resolve(dotted: str) -> Any:
    """The object a dotted path names: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            target = getattr(target, name)
        return target
    raise AssertionError(f"{dotted} names no module")


@pytest.mark.parametrize("distribution", sorted(PINNED))
def test_the_installed_version_is_the_pinned_one(distribution: str) -> None:
    installed = version(distribution)
    pinned = PINNED[distribution]
    assert installed == pinned, f"{distribution} {installed} is installed, pinned {pinned}: {RECHECK}"


def test_pyproject_pins_the_memory_extra_exactly() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for distribution, pinned in PINNED.items():
        assert f"{distribution}=={pinned}" in extras["memory"], (distribution, extras["memory"])
    # The dev install (README's first command) gets them through docstore[all] -> memory.
    assert "docstore[all]" in extras["dev"] and "docstore[mongodb,memory,server,remote]" in extras["all"]


@pytest.mark.parametrize("dotted", sorted(PRIVATE_CALLS))
def test_each_private_call_has_the_signature_the_adapter_uses(dotted: str) -> None:
    try:
        target = _resolve(dotted)
    except AttributeError:
        pytest.fail(f"{dotted} is gone: {RECHECK}")
    assert callable(target), dotted
    assert str(inspect.signature(target)) == PRIVATE_CALLS[dotted], f"{dotted} changed: {RECHECK}"


def test_each_private_attribute_is_there() -> None:
    collection = _database()["things"]
    collection.insert_one({"_id": "a", "n": 1})
    instances = {
        "mongomock.collection.Collection": collection,
        "mongomock.store.CollectionStore": collection._store,
        "mongomock.collection.Cursor": collection.find().sort("n").skip(1).limit(2),
    }
    for dotted, names in PRIVATE_ATTRIBUTES.items():
        assert isinstance(instances[dotted], _resolve(dotted)), dotted
        for name in names:
            assert hasattr(instances[dotted], name), f"{dotted}.{name} is gone: {RECHECK}"
    store = collection._store
    # What the fast paths read in place: id -> document, and the TTL indexes (a dict).
    assert dict(store._documents) == {"a": {"_id": "a", "n": 1}} and store._ttl_indexes == {}
    assert "a" in store and store["a"]["n"] == 1 and list(store.documents) == [{"_id": "a", "n": 1}]


def test_mongomock_calls_the_replaced_privates_through_the_collection_object() -> None:
    # The adapter replaces _ensure_uniques and _iter_documents on one collection object:
    # that works only while mongomock looks them up on the object at each write and read.
    database = _database()
    collection, other = database["mine"], database["other"]
    calls: list[str] = []
    ensure, scan = collection._ensure_uniques, collection._iter_documents

    def ensure_uniques(document: dict[str, Any]) -> None:
        calls.append("ensure")
        ensure(document)

    def iter_documents(filter: Any) -> Any:
        calls.append("scan")
        return scan(filter)

    collection._ensure_uniques = ensure_uniques
    collection._iter_documents = iter_documents
    collection.insert_one({"_id": "a", "n": 1})
    collection.update_one({"_id": "a"}, {"$set": {"n": 2}})
    assert collection.find_one({"n": 2}) == {"_id": "a", "n": 2}
    assert "ensure" in calls and "scan" in calls, f"mongomock no longer calls them per object ({calls}): {RECHECK}"
    calls.clear()
    other.insert_one({"_id": "b"})
    assert other.find_one({"_id": "b"}) and not calls  # another collection object keeps mongomock's own


def test_a_refusal_from_ensure_uniques_leaves_the_document_as_it_was() -> None:
    # The document-size limit raises from _ensure_uniques after mongomock has changed the
    # stored document, counting on mongomock to put it back (``_mongomock_adapter._Refused``).
    collection = _database()["things"]
    collection.insert_one({"_id": "a", "n": 1})

    def refuse(document: dict[str, Any]) -> None:
        raise DuplicateKeyError("refused", 11000)

    collection._ensure_uniques = refuse
    for method, change in (("update_one", {"$set": {"n": 2}}), ("replace_one", {"n": 3})):
        with pytest.raises(DuplicateKeyError):
            getattr(collection, method)({"_id": "a"}, change)
        assert collection._store["a"] == {"_id": "a", "n": 1}, f"mongomock no longer rolls back: {RECHECK}"


def test_pymongo_requests_hold_what_the_adapter_reads() -> None:
    _pins.check_request_slots()  # raises STORAGE_ERROR naming the request and its slots
    assert _pins.request_parts(UpdateOne({"_id": 1}, {"$set": {"n": 1}})) == ({"_id": 1}, {"$set": {"n": 1}}, False)
    assert _pins.request_parts(InsertOne({"_id": 1})) == (None, {"_id": 1}, False)


# The modules whose functions the adapter and the fast paths call: none is replaced either.
MODULES = (mongomock.aggregate, mongomock.filtering, mongomock.collection, mongomock_motor)


def _class_attributes() -> dict[str, dict[str, Any]]:
    classes = [
        mongomock.collection.Collection,
        mongomock.collection.Cursor,
        mongomock.store.CollectionStore,
        mongomock.database.Database,
        mongomock.MongoClient,
        mongomock_motor.AsyncMongoMockClient,
        mongomock_motor.AsyncMongoMockDatabase,
        mongomock_motor.AsyncMongoMockCollection,
        mongomock_motor.AsyncCursor,
    ]
    return {f"{cls.__module__}.{cls.__qualname__}": dict(vars(cls)) for cls in classes}


async def test_a_memory_store_patches_nothing_of_mongomock_for_everyone() -> None:
    before = _class_attributes()
    functions = {module.__name__: dict(vars(module)) for module in MODULES}
    async with open_store("memory://") as store:
        session_id = await store.sessions.create_session(Session(join_code="pin001"))
        await store.sessions.upsert_student(session_id, Student(id="s1", name="Ada"))
        await store.sessions.record_code(session_id, "s1", "print(1)")
        await store.revisions.get_latest_revisions(session_id)
        await store.documents.upsert_documents("pins", [{"_id": "d1", "n": 1}])
    assert _class_attributes() == before
    assert {module.__name__: dict(vars(module)) for module in MODULES} == functions


async def test_memory_refuses_another_mongomock_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_pins, "installed_version", lambda name: "4.4.1" if name == "mongomock" else version(name))
    with pytest.raises(PersistenceError) as raised:
        await open_store("memory://").initialize()
    assert raised.value.code is ErrorCode.STORAGE_ERROR
    assert f"mongomock=={PINNED['mongomock']}" in raised.value.message and "4.4.1" in raised.value.message


async def test_memory_refuses_a_pymongo_whose_requests_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_pins, "request_parts", lambda request: (None, None, False))
    with pytest.raises(PersistenceError) as raised:
        await open_store("memory://").initialize()
    assert raised.value.code is ErrorCode.STORAGE_ERROR and "PyMongo" in raised.value.message
