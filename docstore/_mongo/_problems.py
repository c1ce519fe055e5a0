"""The problems repository: the library of exercises, filtered by tags and difficulty."""

from __future__ import annotations

import re
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from .._arguments import check_difficulty, check_tags
from .._backend_common import already_exists, not_found
from .._interfaces import ProblemSortKey, SortOrder, TagMatch
from .._listing import PROBLEM_SORT_KEYS, listing
from .._mapping import METADATA, require_id, to_document, validate_updates
from .._models import Difficulty, ProblemSpec
from .._page import Page
from .._search import MAX_SEARCH_CANDIDATES, more_candidates, query_words, ranked_hits, with_more_candidates
from ._beanie_models import PROBLEMS
from ._driver_errors import translated
from ._repository import Repository, damaged

__all__ = ["MongoProblemRepository"]


def _id_of(raw: dict[str, Any]) -> object:
    return raw["_id"]


class MongoProblemRepository(Repository[ProblemSpec]):
    collection_name = PROBLEMS
    model = ProblemSpec

    @translated
    async def save_problem(self, problem: ProblemSpec) -> str:
        """Insert the problem, or replace the stored one with the same id (version + 1)."""
        item = self._prepared(problem)
        document = to_document(item)
        metadata = document.pop(METADATA)
        del document["_id"]
        update = self._touch(document)
        update["$setOnInsert"] = {
            f"{METADATA}.created_at": metadata["created_at"],
            f"{METADATA}.created_by": metadata["created_by"],
        }
        # The item's namespace is part of the match even through the unscoped root store:
        # namespace_id is frozen, so a replacement never moves a problem elsewhere.
        match = {"_id": item.id, "namespace_id": item.namespace_id}
        try:
            await self._collection.find_one_and_update(
                self._scoped(match), update, upsert=True, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:
            # Either another save of this id in this view won the race to insert it (then
            # this save replaces that one, as it would have a moment later), or the id
            # belongs to another namespace, which this view (or this replacement) may not
            # overwrite.
            replaced = await self._collection.find_one_and_update(self._scoped(match), update, projection={"_id": 1})
            if replaced is None:
                raise already_exists("problem", item.id) from None
        return item.id

    @translated
    async def get_problem(self, problem_id: str) -> ProblemSpec | None:
        return await self._find_one({"_id": require_id(problem_id)})

    @translated
    async def update_problem(
        self, problem_id: str, updates: dict[str, Any], *, expected_version: int | None = None
    ) -> ProblemSpec:
        fields = validate_updates(ProblemSpec, updates)
        return await self._update_one(problem_id, self._touch(fields), expected_version=expected_version)

    @translated
    async def delete_problem(self, problem_id: str) -> None:
        problem_id = require_id(problem_id)
        result = await self._collection.delete_one(self._scoped({"_id": problem_id}))
        if result.deleted_count == 0:
            raise not_found("ProblemSpec", problem_id)

    @translated
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

    @translated
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
    def _filter(difficulty: str | None, tags: list[str] | None, match: str, created_by: str | None) -> dict[str, Any]:
        filter: dict[str, Any] = {}
        if check_difficulty(difficulty) is not None:
            filter["difficulty"] = difficulty
        tags = check_tags(tags, match)
        if tags:
            filter["tags"] = {"$in" if match == "any" else "$all": tags}
        if created_by is not None:
            filter["created_by"] = require_id(created_by, "created_by")
        return filter

    @translated
    async def search_problems(self, query: str, limit: int = 20) -> Page[ProblemSpec]:
        """Problems whose title or description contains any word of ``query``, title hits first.

        The words, hits, ranking and damaged problems: ``_search``; here, only the candidates.
        """
        words = query_words(query, limit)
        if not words:
            return Page([])
        if self._state.supports_text_search:
            filter: dict[str, Any] = {"$text": {"$search": " ".join(words)}}
        else:
            filter = {
                "$or": [
                    {field: {"$regex": rf"\b{re.escape(word)}\b", "$options": "i"}}
                    for word in words
                    for field in ("title", "description")
                ]
            }
        in_title_filter = {"$or": [{"title": {"$regex": rf"\b{re.escape(word)}\b", "$options": "i"}} for word in words]}
        raws = await self._candidates({"$and": [filter, in_title_filter]}, MAX_SEARCH_CANDIDATES)
        more = more_candidates(len(raws), limit)
        if more:
            raws = with_more_candidates(raws, await self._candidates(filter, more), _id_of)
        return ranked_hits(raws, words, limit)

    async def _candidates(self, filter: dict[str, Any], cap: int) -> list[dict[str, Any]]:
        found = self._collection.find(self._scoped(filter))
        if self._state.supports_text_search:
            # Best matches first (a title word weighs ten description words), so the cap
            # keeps the best candidates of a broad query instead of any 2,000.
            found = found.sort([("score", {"$meta": "textScore"})])
        candidates: list[dict[str, Any]] = await found.limit(cap).to_list(None)
        return candidates

    @translated
    async def tag_counts(self) -> dict[str, int]:
        """How many problems carry each tag, most used first."""
        pipeline: list[dict[str, Any]] = [
            {"$match": self._scoped({"tags": {"$exists": True}})},
            {"$unwind": "$tags"},
            # "problem": one carrier of the tag, to name it if the tag turns out damaged.
            {"$group": {"_id": "$tags", "count": {"$sum": 1}, "problem": {"$first": "$_id"}}},
        ]
        # The tags index holds every tagged problem: walking it beats scanning the collection.
        index = "ns_tags_by_created_at" if self._namespace is not None else "tags_by_created_at"
        rows = await (await self._collection.aggregate(pipeline, hint=index)).to_list(None)
        for row in rows:
            if type(row["_id"]) is not str:  # written through Store.documents, never checked
                raise damaged("ProblemSpec", row.get("problem"), f"tag {row['_id']!r} is not a string")
        rows.sort(key=lambda row: (-row["count"], row["_id"]))
        return {row["_id"]: row["count"] for row in rows}
