"""``local://DIR``: the embedded store on SQLite (standard library ``sqlite3``, WAL)."""

from ._backend import SqliteBackend

__all__ = ["SqliteBackend"]
