"""CI, in a virtualenv holding only `pip install docstore`: local:// works, the rest names its extra."""

from __future__ import annotations

import asyncio
import importlib.util
import sys

import docstore
from docstore import PersistenceError, Session, open_store

ABSENT = ("beanie", "mongomock", "mongomock_motor", "fastapi", "uvicorn", "httpx")


async def main(url: str) -> None:
    installed = [name for name in ABSENT if importlib.util.find_spec(name) is not None]
    assert not installed, f"the bare install pulled {installed}"
    async with open_store(url) as store:
        await store.sessions.create_session(Session(join_code="bare01"))
        stats = await store.stats()
        assert stats["sessions"].documents == 1, stats
    others = (("memory://", "memory"), ("mongodb://127.0.0.1:1/", "mongodb"), ("http://127.0.0.1:1", "remote"))
    for other, extra in others:
        try:
            await open_store(other).initialize()
        except PersistenceError as error:
            assert f"docstore[{extra}]" in error.message, error.message
        else:
            raise AssertionError(f"{other} opened without its extra")
    print(f"bare install: local:// works, other engines name their extra (docstore {docstore.__version__})")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
