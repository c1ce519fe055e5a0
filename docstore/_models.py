"""Domain types: what the live-coding tool stores. They know nothing of MongoDB.

How an item is laid out in a collection (``_id``, ``_metadata``) is the
business of ``_mapping.py``; these are plain pydantic models.
"""

from __future__ import annotations

import secrets
import time
import unicodedata
import warnings
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ._iso_text import IsoTextOnStrictWire
from ._models_deferred import DEFER_BUILD
from ._time import to_utc_ms, utc_now

__all__ = [
    "DEFAULT_NAMESPACE",
    "JOIN_CODE_RULE",
    "CodeRevision",
    "Difficulty",
    "ExecutionResult",
    "ProblemSpec",
    "Session",
    "StorageMetadata",
    "StoredItem",
    "Student",
    "UtcDateTime",
    "new_id",
    "normalize_join_code",
]

DEFAULT_NAMESPACE = "default"

# Strict JSON (the server's request bodies) takes ISO 8601 text only: ``_iso_text``.
UtcDateTime = Annotated[datetime, IsoTextOnStrictWire(), AfterValidator(to_utc_ms)]
Difficulty = Literal["beginner", "intermediate", "advanced"]


# The last id this process made: the one piece of process-wide state in docstore, kept
# because it is what makes ids strictly increasing within a process (two items made in the
# same millisecond sort in the order they were made, and ``new_id`` runs as a pydantic
# default factory, with no store to hold it). Per-store or per-call state would lose that
# order between stores of one process (see issue 19's report).
_last_id = 0


def new_id() -> str:
    """A 32-hex-digit id that sorts by creation time (milliseconds, then random bits).

    Within one process ids only grow, so two revisions saved in the same millisecond
    still sort in the order they were made: ``(timestamp, id)`` is a stable order.
    """
    global _last_id
    candidate = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    _last_id = max(candidate, _last_id + 1)
    return f"{_last_id:032x}"


# The version of the join-code rule below: a store that derived its join-code index
# under an older rule derives it again (``_sqlite/_join_codes.py``, ``docstore init``).
JOIN_CODE_RULE = 2
# Dotted capital I (after case folding: i + U+0307) and dotless i read as plain I to a person.
_TURKISH_I = str.maketrans({"\u0131": "i"})


def _visible(char: str) -> bool:
    """Whether a character shows: format characters (U+200B, U+FEFF, soft hyphen, joiners),
    controls and variation selectors do not, so a code never differs by one of them."""
    if unicodedata.category(char) in ("Cf", "Cc"):
        return False
    return not ("\ufe00" <= char <= "\ufe0f" or "\U000e0100" <= char <= "\U000e01ef" or char == "\u034f")


def normalize_join_code(code: str | None) -> str | None:
    """The form a join code is stored, indexed and looked up in: codes that look alike are one.

    Unicode compatibility form (fullwidth letters and digits are ASCII, NFD ``CAFÉ`` is NFC),
    no invisible characters, case-folded (``ß``/``ẞ`` are ``SS``, Turkish dotted capital I and dotless
    i are ``I``), then shown upper-case, without surrounding spaces. Idempotent; under the first
    rule (``strip().upper()``) printable ASCII codes were already in this form.
    """
    if code is None:
        return None
    if code.isascii() and code.isprintable():
        # Printable ASCII (nearly every code, and every read of a stored one): the whole
        # rule reduces to this, at a tenth of the cost.
        return code.strip().upper()
    return _whole_rule(code)


def _whole_rule(code: str) -> str:
    text = "".join(char for char in unicodedata.normalize("NFKC", code) if _visible(char))
    folded = text.casefold().replace("i\u0307", "i").translate(_TURKISH_I)
    return unicodedata.normalize("NFKC", folded.upper()).strip()


JoinCode = Annotated[str | None, AfterValidator(normalize_join_code)]


class _Model(BaseModel):
    """Base of the domain types: strict about unknown fields."""

    # Unknown keys are refused so a typo never silently vanishes. Validators are built on
    # first use (``_models_deferred.py``): opening a store and reading builds none of them.
    model_config = ConfigDict(extra="forbid", defer_build=DEFER_BUILD)


class StorageMetadata(_Model):
    """Bookkeeping that docstore keeps on every stored item (``_metadata`` in MongoDB)."""

    created_at: UtcDateTime
    updated_at: UtcDateTime
    version: int = Field(default=1, ge=1)
    created_by: str | None = None
    modified_by: str | None = None


class StoredItem(_Model):
    """Base of everything a repository stores: an id and its metadata."""

    id: str = Field(default_factory=new_id, min_length=1)
    # None until the item has been written; always set on items a repository returns.
    metadata: StorageMetadata | None = None

    def public(self) -> dict[str, Any]:
        """The item as plain JSON-ready data, without ``metadata`` at any depth: what a client may see."""
        return _without_metadata(self.model_dump(mode="json", exclude={"metadata"}), type(self))


class ExecutionResult(_Model):
    """What running a student's code produced: success, printed output, error text, duration."""

    success: bool
    output: str = ""
    error: str = ""
    execution_time_ms: float | None = None
    # Fields of the original tool that docstore does not model (kept, not lost).
    extra: dict[str, Any] = Field(default_factory=dict)


class Student(_Model):
    """One student in a session: who they are and the code they have now."""

    # Any text up to 256 characters: e-mail addresses and the original tool's ids alike.
    id: str = Field(min_length=1, max_length=256)
    name: str = ""
    code: str = ""
    last_update: UtcDateTime | None = None
    # Fields of the original tool that docstore does not model (kept, not lost).
    extra: dict[str, Any] = Field(default_factory=dict)


class ProblemSpec(StoredItem):
    """An exercise of the library: text, starter code, solution, difficulty and tags."""

    title: str
    description: str = ""
    starter_code: str = ""
    solution: str | None = None
    difficulty: Difficulty | None = None
    tags: list[str] = Field(default_factory=list)
    created_at: UtcDateTime = Field(default_factory=utc_now)
    created_by: str | None = None
    namespace_id: str = DEFAULT_NAMESPACE
    extra: dict[str, Any] = Field(default_factory=dict)

    def public(self, *, include_solution: bool = False) -> dict[str, Any]:
        """What a client may see: no ``metadata``, and no ``solution`` unless ``include_solution``.

        The default is the student's view; an instructor's tool asks for the solution.
        """
        data = super().public()
        if not include_solution:
            data.pop("solution", None)
        return data


def _keyed_by_id(students: dict[str, Student]) -> dict[str, Student]:
    """A session reaches a student by id: a student kept under another key is unreachable."""
    for key, student in students.items():
        if key != student.id:
            raise ValueError(f"student {student.id!r} is under the key {key!r}; a student's key is its id")
    return students


# A field validator rather than a model validator: a partial update of ``students``
# validates this field alone (``_mapping.validate_updates``) and must be refused too.
StudentsById = Annotated[dict[str, Student], AfterValidator(_keyed_by_id)]


class Session(StoredItem):
    """An instructor's live session: its join code, problem and students."""

    join_code: JoinCode = None
    problem_text: str = ""
    problem: ProblemSpec | None = None
    students: StudentsById = Field(default_factory=dict)
    featured_student_id: str | None = None
    featured_code: str | None = None
    instructor_id: str | None = None
    namespace_id: str = DEFAULT_NAMESPACE
    active: bool = True
    created_at: UtcDateTime = Field(default_factory=utc_now)
    last_activity: UtcDateTime = Field(default_factory=utc_now)
    ended_at: UtcDateTime | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """Deprecated: every student's code, with no metadata and no solution. Use the audience views.

        ``docstore.StudentView.of(session, student)`` is what a joining student may see (no
        classmates); ``docstore.InstructorView.of(session)`` is the instructor's dashboard.
        Kept working (same output) so existing callers do not break, with a warning.
        """
        warnings.warn(
            "Session.public() shows every student's code to whoever gets it; use docstore.StudentView.of(session, "
            "student) for a student and docstore.InstructorView.of(session) for the instructor",
            DeprecationWarning,
            stacklevel=2,
        )
        data = super().public()
        if isinstance(data.get("problem"), dict):
            data["problem"].pop("solution", None)
        return data


class CodeRevision(StoredItem):
    """One snapshot of a student's code in a session, with the result of running it, if it ran."""

    session_id: str
    student_id: str
    code: str
    timestamp: UtcDateTime = Field(default_factory=utc_now)
    execution_result: ExecutionResult | None = None
    namespace_id: str = DEFAULT_NAMESPACE
    # Fields of the original tool that docstore does not model (kept, not lost).
    extra: dict[str, Any] = Field(default_factory=dict)


def _without_metadata(data: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """``data`` (a dump of ``model``) without the metadata of the stored items nested in it.

    Walks the model's declared fields, not the data's keys: a student's own ``extra`` field
    that happens to be called ``metadata`` is their data and is left alone, while the
    bookkeeping key ``_metadata`` is removed wherever free-form data (``extra``) carries it,
    since a legacy record may hold a copy of another item's bookkeeping (author e-mail).
    """
    for name, field in model.model_fields.items():
        value = data.get(name)
        if value is None:
            continue
        inner = _stored_item_type(field.annotation)
        if inner is not None and isinstance(value, dict):
            value.pop("metadata", None)
            data[name] = _without_metadata(value, inner)
        elif name == "students" and isinstance(value, dict):
            for student in value.values():
                if isinstance(student, dict):
                    _without_metadata(student, Student)
        elif name == "extra" and isinstance(value, dict):
            data[name] = _strip_key(value, "_metadata")
    return data


def _stored_item_type(annotation: Any) -> type[StoredItem] | None:
    """The ``StoredItem`` subclass a field holds (``ProblemSpec | None`` -> ``ProblemSpec``), if any."""
    candidates = get_args(annotation) or (annotation,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, StoredItem):
            return candidate
    return None


def _strip_key(value: Any, key: str) -> Any:
    """``value`` with ``key`` removed from every mapping at any depth (iterative: no recursion limit)."""
    stack: list[Any] = [value]
    while stack:
        container = stack.pop()
        if isinstance(container, dict):
            container.pop(key, None)
            children: Any = container.values()
        else:
            children = container
        stack.extend(child for child in children if isinstance(child, dict | list))
    return value
