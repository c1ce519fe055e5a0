"""The MongoDB dialect: ``mongodb://`` (PyMongo async + Beanie 2) and ``memory://`` (mongomock)."""

from ._backend import MongoBackend

__all__ = ["MongoBackend"]
