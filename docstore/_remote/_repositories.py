"""The three repositories over HTTP: each method is one request, mapped by ``RemoteRepository.call``.

The server runs the engine's own checks, so the client checks only what JSON cannot
carry: that an item argument is the domain type it claims to be (the engine refuses a
look-alike dict; JSON would make one of any item).
"""

from __future__ import annotations

import json
import math
import typing
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import UnionType
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError, to_jsonable_python

from .._changes import SessionFeed
from .._errors import ErrorCode, PersistenceError
from .._interfaces import ProblemSortKey, Scope, SessionDeletion, SessionSortKey, SortOrder, TagMatch
from .._mapping import MAX_DEPTH, invalid
from .._models import CodeRevision, Difficulty, ExecutionResult, ProblemSpec, Session, Student
from .._page import Page
from .._wire import WireMethod, methods
from ._feed import RemoteFeed
from ._transport import Transport

__all__ = ["RemoteProblemRepository", "RemoteRevisionRepository", "RemoteSessionRepository"]


class RemoteRepository:
    """What the three share: the scope headers, argument encoding and result decoding."""

    repository: str

    def __init__(self, transport: Transport, scope: Scope) -> None:
        self._transport = transport
        self._scope = scope
        self._methods = methods()[self.repository]

    async def call(self, name: str, **arguments: Any) -> Any:
        method = self._methods[name]
        body = encode_arguments(method, arguments)
        content = await self._transport.request(
            "POST",
            method.path,
            body=body,
            read=method.read,
            namespace=self._scope.namespace,
            actor=self._scope.actor,
        )
        try:
            return method.result.validate_json(content)
        except ValidationError as exc:
            # The server speaks another version of the protocol, or something else answered.
            raise PersistenceError(
                ErrorCode.STORAGE_ERROR, f"unexpected answer to {method.path}: {exc.errors()[0]['msg']}"
            ) from None


def encode_arguments(method: WireMethod, arguments: dict[str, Any]) -> bytes:
    """The JSON body of a call; INVALID_DATA for what no engine would take either."""
    encoded: dict[str, Any] = {}
    for name, annotation, _ in method.parameters:
        value = arguments[name]
        model = _model_of(annotation)
        if model is not None and value is not None:
            if _is_sequence(annotation):
                if isinstance(value, str | bytes | dict) or not isinstance(value, typing.Iterable):
                    raise invalid(f"{name} must be a list of {model.__name__}")
                value = [_item(model, element, name) for element in value]
            else:
                value = _item(model, value, name)
        check_sendable(value, name)
        encoded[name] = value
    try:
        # allow_nan=False: a last guard, JSON has no NaN (check_sendable refused it already).
        return json.dumps(to_jsonable_python(encoded), separators=(",", ":"), allow_nan=False).encode()
    except (PydanticSerializationError, ValueError, TypeError, RecursionError) as exc:
        raise invalid(f"arguments of {method.name} cannot be sent: {exc}") from None


def check_sendable(value: object, name: str) -> None:
    """INVALID_DATA for what JSON would change on the way: NaN and infinities (pydantic
    writes them as ``null``, so the engine would store None) and nesting past
    ``MAX_DEPTH`` (which the server could not even parse, and no engine stores).

    Iterative, so a hostile depth is an error, never a ``RecursionError``. Models are
    walked through their fields: an ``updates`` dict may hold one.
    """
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                raise invalid(f"{name}: {item} is not a finite number (not JSON)")
            continue
        if isinstance(item, BaseModel):
            children: Iterable[object] = vars(item).values()
        elif isinstance(item, Mapping):
            children = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth >= MAX_DEPTH:
            raise invalid(f"{name} is nested deeper than {MAX_DEPTH} levels")
        # Exact classes, tested inline: most values are leaves, and this runs on every call.
        for child in children:
            if child.__class__ not in _LEAVES:
                stack.append((child, depth + 1))


# Values that hold nothing to check (bool and NoneType included: ``is``-class tests, not isinstance).
_LEAVES = frozenset({str, int, bool, type(None), datetime})


def _item(model: type[BaseModel], value: object, name: str) -> Any:
    if not isinstance(value, model):
        raise invalid(f"{name}: expected a {model.__name__}, got {type(value).__name__}")
    try:
        # Re-validate, as the engines do: attribute assignment skips validation. No
        # serializer warnings for a mutated field: the validation below refuses it.
        # Python mode, not JSON mode, which would turn NaN into None unseen.
        return model.model_validate(value.model_dump(warnings=False)).model_dump()
    except PydanticSerializationError as exc:
        raise invalid(f"{name} cannot be sent: {exc}") from None
    except ValidationError as exc:
        detail = exc.errors()[0]
        raise invalid(f"{name}.{'.'.join(map(str, detail['loc']))}: {detail['msg']}") from None


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The domain model a parameter takes (``Session``, ``X | None``, ``Sequence[X]``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, UnionType) or origin is Sequence:
        for argument in typing.get_args(annotation):
            found = _model_of(argument)
            if found is not None:
                return found
    return None


def _is_sequence(annotation: Any) -> bool:
    return typing.get_origin(annotation) is Sequence


class RemoteSessionRepository(RemoteRepository):
    repository = "sessions"

    async def create_session(self, session: Session) -> str:
        result: str = await self.call("create_session", session=session)
        return result

    async def get_session(self, session_id: str, *, include_students: bool = True) -> Session | None:
        result: Session | None = await self.call(
            "get_session", session_id=session_id, include_students=include_students
        )
        return result

    async def get_session_by_join_code(self, join_code: str, *, include_students: bool = True) -> Session | None:
        result: Session | None = await self.call(
            "get_session_by_join_code", join_code=join_code, include_students=include_students
        )
        return result

    async def update_session(
        self, session_id: str, updates: dict[str, Any], *, expected_version: int | None = None
    ) -> Session:
        result: Session = await self.call(
            "update_session", session_id=session_id, updates=updates, expected_version=expected_version
        )
        return result

    async def end_session(self, session_id: str) -> Session:
        result: Session = await self.call("end_session", session_id=session_id)
        return result

    async def delete_session(self, session_id: str, *, cascade: bool = True) -> SessionDeletion:
        result: SessionDeletion = await self.call("delete_session", session_id=session_id, cascade=cascade)
        return result

    async def list_active_sessions(self, limit: int = 100, *, cursor: str | None = None) -> Page[Session]:
        result: Page[Session] = await self.call("list_active_sessions", limit=limit, cursor=cursor)
        return result

    async def list_all_sessions(
        self,
        *,
        active: bool | None = None,
        instructor_id: str | None = None,
        sort_by: SessionSortKey = "created_at",
        sort_order: SortOrder = "desc",
        limit: int = 50,
        offset: int = 0,
        cursor: str | None = None,
    ) -> Page[Session]:
        result: Page[Session] = await self.call(
            "list_all_sessions",
            active=active,
            instructor_id=instructor_id,
            sort_by=sort_by,
            sort_order=sort_order,
            limit=limit,
            offset=offset,
            cursor=cursor,
        )
        return result

    async def count_sessions(self, *, active: bool | None = None, instructor_id: str | None = None) -> int:
        result: int = await self.call("count_sessions", active=active, instructor_id=instructor_id)
        return result

    def watch(self, session_id: str, *, after: str | None = None) -> SessionFeed:
        return RemoteFeed(self._transport, self._scope, session_id, after)

    async def get_student(self, session_id: str, student_id: str) -> Student | None:
        result: Student | None = await self.call("get_student", session_id=session_id, student_id=student_id)
        return result

    async def list_students(self, session_id: str, *, limit: int = 100, cursor: str | None = None) -> Page[Student]:
        result: Page[Student] = await self.call("list_students", session_id=session_id, limit=limit, cursor=cursor)
        return result

    async def count_students(self, session_id: str) -> int:
        result: int = await self.call("count_students", session_id=session_id)
        return result

    async def upsert_student(self, session_id: str, student: Student) -> Session:
        result: Session = await self.call("upsert_student", session_id=session_id, student=student)
        return result

    async def update_student_code(self, session_id: str, student_id: str, code: str) -> Student:
        result: Student = await self.call(
            "update_student_code", session_id=session_id, student_id=student_id, code=code
        )
        return result

    async def record_code(
        self, session_id: str, student_id: str, code: str, execution_result: ExecutionResult | None = None
    ) -> CodeRevision:
        result: CodeRevision = await self.call(
            "record_code", session_id=session_id, student_id=student_id, code=code, execution_result=execution_result
        )
        return result


class RemoteProblemRepository(RemoteRepository):
    repository = "problems"

    async def save_problem(self, problem: ProblemSpec) -> str:
        result: str = await self.call("save_problem", problem=problem)
        return result

    async def get_problem(self, problem_id: str) -> ProblemSpec | None:
        result: ProblemSpec | None = await self.call("get_problem", problem_id=problem_id)
        return result

    async def update_problem(
        self, problem_id: str, updates: dict[str, Any], *, expected_version: int | None = None
    ) -> ProblemSpec:
        result: ProblemSpec = await self.call(
            "update_problem", problem_id=problem_id, updates=updates, expected_version=expected_version
        )
        return result

    async def delete_problem(self, problem_id: str) -> None:
        await self.call("delete_problem", problem_id=problem_id)

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
        result: Page[ProblemSpec] = await self.call(
            "list_problems",
            difficulty=difficulty,
            tags=tags,
            match=match,
            created_by=created_by,
            sort_by=sort_by,
            sort_order=sort_order,
            limit=limit,
            offset=offset,
            cursor=cursor,
        )
        return result

    async def count_problems(
        self,
        *,
        difficulty: Difficulty | None = None,
        tags: list[str] | None = None,
        match: TagMatch = "any",
        created_by: str | None = None,
    ) -> int:
        result: int = await self.call(
            "count_problems", difficulty=difficulty, tags=tags, match=match, created_by=created_by
        )
        return result

    async def search_problems(self, query: str, limit: int = 20) -> Page[ProblemSpec]:
        result: Page[ProblemSpec] = await self.call("search_problems", query=query, limit=limit)
        return result

    async def tag_counts(self) -> dict[str, int]:
        result: dict[str, int] = await self.call("tag_counts")
        return result


class RemoteRevisionRepository(RemoteRepository):
    repository = "revisions"

    async def save_revision(self, revision: CodeRevision) -> str:
        result: str = await self.call("save_revision", revision=revision)
        return result

    async def save_revisions(self, revisions: Sequence[CodeRevision]) -> list[str]:
        result: list[str] = await self.call("save_revisions", revisions=revisions)
        return result

    async def get_revision(self, revision_id: str) -> CodeRevision | None:
        result: CodeRevision | None = await self.call("get_revision", revision_id=revision_id)
        return result

    async def get_revisions(
        self,
        session_id: str,
        student_id: str,
        *,
        limit: int | None = None,
        after: datetime | str | None = None,
        cursor: str | None = None,
    ) -> Page[CodeRevision]:
        result: Page[CodeRevision] = await self.call(
            "get_revisions", session_id=session_id, student_id=student_id, limit=limit, after=after, cursor=cursor
        )
        return result

    async def get_latest_revision(self, session_id: str, student_id: str) -> CodeRevision | None:
        result: CodeRevision | None = await self.call(
            "get_latest_revision", session_id=session_id, student_id=student_id
        )
        return result

    async def get_latest_revisions(self, session_id: str) -> dict[str, CodeRevision]:
        result: dict[str, CodeRevision] = await self.call("get_latest_revisions", session_id=session_id)
        return result

    async def get_all_session_revisions(self, session_id: str) -> dict[str, list[CodeRevision]]:
        result: dict[str, list[CodeRevision]] = await self.call("get_all_session_revisions", session_id=session_id)
        return result

    async def count_revisions(self, session_id: str, student_id: str | None = None) -> int:
        result: int = await self.call("count_revisions", session_id=session_id, student_id=student_id)
        return result

    async def delete_revisions(self, session_id: str, student_id: str | None = None) -> int:
        result: int = await self.call("delete_revisions", session_id=session_id, student_id=student_id)
        return result
