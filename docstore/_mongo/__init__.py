"""The MongoDB dialect: ``mongodb://`` (PyMongo async + Beanie 2), and ``memory://`` through ``docstore._memory``.

The repositories, Beanie models, index plans and migration here run on either engine
(``_engines.make_engine``); mongomock is loaded only for ``memory://``.
"""

from ._backend import MongoBackend

__all__ = ["MongoBackend"]
