"""The problems repository on SQLite: tags in their own indexed table, text in FTS5."""

from __future__ import annotations

import sqlite3
from typing import Any

from .._arguments import check_difficulty, check_tags
from .._backend_common import already_exists, damaged, not_found, stored_version
from .._interfaces import ProblemSortKey, SortOrder, TagMatch
from .._listing import PROBLEM_SORT_KEYS, listing
from .._mapping import METADATA, require_id, to_document, validate_updates
from .._models import Difficulty, ProblemSpec
from .._page import Page
from .._search import MAX_SEARCH_CANDIDATES, more_candidates, query_words, ranked_hits, with_more_candidates
from ._codec import yielding
from ._repository import Filter, SqliteRepository
from ._tables import decode_row, delete_document, get_document, put_document

__all__ = ["SqliteProblemRepository"]


def _id_of(row: Any) -> object:
    return row[2]


def _fts_query(words: list[str]) -> str:
    """Each word as an FTS5 string (quoted, quotes doubled): never an operator, prefix or column."""
    return " OR ".join('"' + word.replace('"', '""') + '"' for word in words)


class SqliteProblemRepository(SqliteRepository[ProblemSpec]):
    collection_name = "problems"
    model = ProblemSpec

    async def save_problem(self, problem: ProblemSpec) -> str:
        """Insert the problem, or replace the stored one with the same id (version + 1)."""
        item = self._prepared(problem)
        document = to_document(item)

        def save(connection: sqlite3.Connection) -> None:
            stored = get_document(connection, self._path, "problems", item.id)
            if stored is not None:
                if stored.get("namespace_id") != item.namespace_id:
                    # Same id, other namespace: no view may overwrite it, and a replacement
                    # through the root store never moves a problem to another namespace.
                    raise already_exists("problem", item.id)
                version = stored_version(stored, "ProblemSpec")
                before = stored[METADATA]
                document[METADATA].update(
                    created_at=before.get("created_at", document[METADATA]["created_at"]),
                    created_by=before.get("created_by"),
                    version=version + 1,
                )
            put_document(connection, "problems", document)

        await self._db.write(save)
        return item.id

    async def get_problem(self, problem_id: str) -> ProblemSpec | None:
        return await self._get(require_id(problem_id))

    async def update_problem(
        self, problem_id: str, updates: dict[str, Any], *, expected_version: int | None = None
    ) -> ProblemSpec:
        fields = validate_updates(ProblemSpec, updates)
        return await self._update_fields(require_id(problem_id), fields, expected_version)

    async def delete_problem(self, problem_id: str) -> None:
        problem_id = require_id(problem_id)

        def delete(connection: sqlite3.Connection) -> None:
            if not delete_document(connection, "problems", problem_id, self._namespace):
                raise not_found("ProblemSpec", problem_id)

        await self._db.write(delete)

    async def list_problems(
        self,
        *,
        difficulty: Difficulty | None = None,
        tags: list[str] | None = None,
        match: TagMatch = "any",
        created_by: str | None = None,
        sort_by: ProblemSortKey = "created_at",
        sort_order: SortOrder = "desc",
        limit: int = 50,
        offset: int = 0,
        cursor: str | None = None,
    ) -> Page[ProblemSpec]:
        page = listing(sort_by, PROBLEM_SORT_KEYS, sort_order, limit, offset, cursor)
        return await self._page(self._filter(difficulty, tags, match, created_by), page)

    async def count_problems(
        self,
        *,
        difficulty: Difficulty | None = None,
        tags: list[str] | None = None,
        match: TagMatch = "any",
        created_by: str | None = None,
    ) -> int:
        return await self._count(self._filter(difficulty, tags, match, created_by))

    @staticmethod
    def _filter(difficulty: str | None, tags: list[str] | None, match: str, created_by: str | None) -> Filter:
        conditions: list[str] = []
        arguments: list[Any] = []
        if check_difficulty(difficulty) is not None:
            conditions.append("difficulty = ?")
            arguments.append(difficulty)
        tags = check_tags(tags, match)
        if tags:
            wanted = sorted(set(tags))
            if wanted:
                marks = ", ".join("?" * len(wanted))
                subquery = f"SELECT problem_id FROM problem_tags WHERE tag IN ({marks})"
                if match == "all":
                    subquery += f" GROUP BY problem_id HAVING count(DISTINCT tag) = {len(wanted)}"
                conditions.append(f"id IN ({subquery})")
                arguments += wanted
        if created_by is not None:
            conditions.append("created_by = ?")
            arguments.append(require_id(created_by, "created_by"))
        return conditions, arguments

    async def search_problems(self, query: str, limit: int = 20) -> Page[ProblemSpec]:
        """Problems whose title or description contains any word of ``query``, title hits first.

        The words, hits, ranking and damaged problems: ``_search``; here, only the candidates,
        each word quoted for FTS5 (never an operator).
        """
        words = query_words(query, limit)
        if not words:
            return Page([])
        title_hits = self._candidates(f"title : ({_fts_query(words)})", MAX_SEARCH_CANDIDATES)

        def search(connection: sqlite3.Connection) -> Page[ProblemSpec]:
            rows = connection.execute(*title_hits).fetchall()
            more = more_candidates(len(rows), limit)
            if more:
                anywhere = connection.execute(*self._candidates(_fts_query(words), more)).fetchall()
                rows = with_more_candidates(rows, anywhere, _id_of)
            documents = (decode_row((row[0], row[1]), self._path, "problems") for row in yielding(rows))
            return ranked_hits(documents, words, limit)

        return await self._db.read(search)

    def _candidates(self, fts_query: str, cap: int) -> tuple[str, list[Any]]:
        """The statement fetching at most ``cap`` problems matching ``fts_query``."""
        conditions, arguments = self._scope(
            ["pk IN (SELECT rowid FROM problem_text WHERE problem_text MATCH ?)"], [fts_query]
        )
        where = " AND ".join(conditions)
        return f"SELECT doc, checksum, id FROM problems WHERE {where} LIMIT {int(cap)}", arguments

    async def tag_counts(self) -> dict[str, int]:
        """How many problems carry each tag, most used first."""
        conditions, arguments = self._scope()
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        # min(problem_id): one carrier of the tag, to name it if the tag turns out damaged.
        sql = f"SELECT tag, count(*), min(problem_id) FROM problem_tags{where} GROUP BY tag"

        def count(connection: sqlite3.Connection) -> dict[str, int]:
            rows = connection.execute(sql, arguments).fetchall()
            for tag, _, problem_id in rows:
                if type(tag) is not str:  # written through Store.documents, never checked
                    raise damaged("ProblemSpec", problem_id, "a tag is not a string")
            rows.sort(key=lambda row: (-row[1], row[0]))
            return {tag: number for tag, number, _ in rows}

        return await self._db.read(count)
