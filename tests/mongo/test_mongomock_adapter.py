"""The adapter speaks what Beanie 2 and docstore call of PyMongo's async API."""

from __future__ import annotations

import pytest
from beanie import init_beanie
from pymongo import DeleteOne, IndexModel, InsertOne, ReplaceOne, UpdateOne
from pymongo.errors import BulkWriteError

from docstore._memory._mongomock_adapter import MockDatabase
from docstore._mongo._beanie_models import document_models
from docstore._mongo._indexes import SESSION_INDEXES


async def test_list_collection_names_accepts_beanies_keywords() -> None:
    database = MockDatabase("t")
    await database["a"].insert_one({"_id": 1})
    assert await database.list_collection_names(authorizedCollections=True, nameOnly=True) == ["a"]


async def test_aggregate_and_list_indexes_are_awaited_like_pymongo_async() -> None:
    collection = MockDatabase("t")["c"]
    await collection.insert_many([{"_id": i, "g": i % 2} for i in range(5)])
    cursor = await collection.aggregate([{"$group": {"_id": "$g", "n": {"$sum": 1}}}])
    assert sorted((row["_id"], row["n"]) for row in await cursor.to_list(None)) == [(0, 3), (1, 2)]
    indexes = await (await collection.list_indexes()).to_list(None)
    assert [index["name"] for index in indexes] == ["_id_"]


async def test_text_indexes_are_skipped_and_the_rest_created() -> None:
    collection = MockDatabase("t")["c"]
    names = await collection.create_indexes(
        [IndexModel([("title", "text")], name="text"), IndexModel([("tags", 1)], name="tags")]
    )
    assert names == ["tags"]
    assert "text" not in await collection.index_information()


async def test_bulk_write_applies_every_kind_of_request() -> None:
    collection = MockDatabase("t")["c"]
    await collection.insert_one({"_id": "gone"})
    result = await collection.bulk_write(
        [
            InsertOne({"_id": "a", "v": 1}),
            UpdateOne({"_id": "a"}, {"$set": {"v": 2}}),
            UpdateOne({"_id": "b"}, {"$set": {"v": 3}}, upsert=True),
            ReplaceOne({"_id": "c"}, {"v": 4}, upsert=True),
            DeleteOne({"_id": "gone"}),
        ],
        ordered=False,
    )
    assert (result.inserted_count, result.modified_count, result.upserted_count, result.deleted_count) == (1, 1, 2, 1)
    assert sorted(await collection.distinct("v")) == [2, 3, 4]


async def test_unordered_bulk_write_reports_errors_and_keeps_the_rest() -> None:
    collection = MockDatabase("t")["c"]
    await collection.insert_one({"_id": "a"})
    with pytest.raises(BulkWriteError) as caught:
        await collection.bulk_write([InsertOne({"_id": "a"}), InsertOne({"_id": "b"})], ordered=False)
    assert [e["index"] for e in caught.value.details["writeErrors"]] == [0]
    assert await collection.count_documents({}) == 2


async def test_beanie_initializes_on_it_and_each_database_is_its_own() -> None:
    one, two = MockDatabase("docstore"), MockDatabase("docstore")
    models_one, models_two = document_models(), document_models()
    # The adapter stands in for PyMongo's AsyncDatabase (duck-typed, as Beanie uses it).
    await init_beanie(database=one, document_models=models_one.all())  # type: ignore[arg-type]
    await init_beanie(database=two, document_models=models_two.all())  # type: ignore[arg-type]
    await models_one.sessions.get_pymongo_collection().insert_one({"_id": "x"})
    assert await models_two.sessions.get_pymongo_collection().count_documents({}) == 0
    # The indexes are not Beanie's (``_indexes.py`` plans them); the adapter holds them.
    collection = models_one.sessions.get_pymongo_collection()
    assert "active_join_code_unique" not in await collection.index_information()
    await collection.create_indexes([SESSION_INDEXES[0].model()])
    info = await collection.index_information()
    assert info["active_join_code_unique"]["unique"] is True
