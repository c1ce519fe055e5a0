"""The ``memory://`` engine: the MongoDB dialect (``docstore._mongo``) over mongomock, in this process.

Loaded only when a ``memory://`` store is opened (``_mongo._engines.make_engine``): a
``mongodb://`` store imports nothing of it, nor mongomock (``tests/mongo/test_memory_isolation.py``).

- ``_engine``: ``MemoryEngine``, what ``MongoBackend`` drives in place of PyMongo's client.
- ``_mongomock_adapter``: mongomock-motor made to speak PyMongo's async API, per object.
- ``_mongomock_fast_paths``: id lookups and equality indexes on each collection object.
- ``_pins``: the mongomock versions these are written against, refused otherwise.

Nothing is imported here: ``_pins`` is read without loading mongomock.
"""

__all__: list[str] = []
