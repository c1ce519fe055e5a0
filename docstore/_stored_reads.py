"""Items of documents PyMongo decoded with naive datetimes, built by one derived validator a model.

What ``_mapping.from_document`` gives, at about half its cost, for the documents the MongoDB
dialect's naive reads return (``_mongo/_naive_reads.py``): a page of problems, a session, its
class, the overview's revisions. ``from_document`` copies each document to rename ``_id`` and
``_metadata``, then the model's validator calls ``_time.to_utc_ms`` from pydantic's Rust core for every datetime
(three a problem, ~0.75 us each with the call: half of pydantic's time). Here each model gets,
once, a validator derived from its own core schema (``__pydantic_core_schema__``) that:

- reads ``id`` and ``metadata`` under their stored names (``_id``, ``_metadata``; a Student's id
  under ``student_id``), both required, and leaves out keys no field has, as ``from_document``
  (and ``student_from_record``) do: no copy, no renaming;
- takes each ``UtcDateTime`` as the datetime it is, strictly (no text, no number), and makes
  it aware UTC afterwards in one pass over the page's items, by arithmetic for a naive value
  (what ``to_utc_ms`` does with one: BSON datetimes are whole milliseconds) and by ``to_utc_ms``
  itself for any other;
- is otherwise the model's schema (every other check, every default, ``extra="forbid"`` inside).

pydantic-core takes a complete model's own validator wherever a schema names its class (the
flag ``__pydantic_complete__`` in the class's own ``__dict__``), so the derived validator is
built while each model it changes is flagged incomplete (``_named_afresh``), and builds
instances of the model itself: the caller gets the very items ``from_document`` gives (class,
values, ``tzinfo`` ``datetime.UTC``, ``model_fields_set``, extras), and the pass after
validation only makes datetimes UTC (instances of a private subclass given their class back
cost as much again: ~0.3 us each). A page the derived validator refuses (a damaged document,
or one it is stricter about) goes item by item, each the derived way or, failing that,
``from_document``'s, so a damaged document is the same STORAGE_ERROR naming the same item
and field.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic_core import SchemaValidator, core_schema

from ._mapping import METADATA, from_document
from ._models import Session, Student
from ._students import student_from_record
from ._time import to_utc_ms

__all__ = ["naive_items", "naive_students"]

T = TypeVar("T", bound=BaseModel)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
# The names a top-level item's fields are stored under (``_mapping.to_document``, ``_students``).
_STORED_ITEM_NAMES = {"id": "_id", "metadata": METADATA}
_RECORD_NAMES = {"id": "student_id"}


@dataclass
class _Plan:
    """What the pass after validation does to one instance: its datetimes made UTC."""

    cls: type[BaseModel]
    times: tuple[str, ...] = ()
    nested: tuple[tuple[str, _Plan], ...] = ()  # a field holding an instance (or None)
    mapped: tuple[tuple[str, _Plan], ...] = ()  # a field holding a dict of instances

    def fixer(self) -> Callable[[Any], None]:
        """The pass over one instance, as straight-line code.

        It runs for every item of every read: the same steps as loops over the plan cost a
        third more (~0.3 us an item). Only names of the plan go in the code (as literals);
        the datetime steps are the function's globals.
        """
        scope: dict[str, Any] = {"epoch": _EPOCH, "naive": _NAIVE_EPOCH, "general": to_utc_ms}
        lines = ["def fix(item0):"]
        self._lines(0, lines, "    ")
        exec("\n".join(lines), scope)  # code made of the plan's field names, as literals
        fix: Callable[[Any], None] = scope["fix"]
        return fix

    def _lines(self, level: int, lines: list[str], indent: str) -> int:
        """The steps for ``item{level}``; the next free level."""
        values = f"values{level}"
        lines.append(f"{indent}{values} = item{level}.__dict__")
        for name in self.times:
            # Naive: a BSON datetime (whole milliseconds), so ``to_utc_ms``'s own arithmetic.
            lines.append(f"{indent}value = {values}[{name!r}]")
            lines.append(f"{indent}if value is not None:")
            lines.append(
                f"{indent}    {values}[{name!r}] = epoch + (value - naive) if value.tzinfo is None else general(value)"
            )
        free = level + 1
        for name, plan in self.nested:
            lines.append(f"{indent}item{free} = {values}[{name!r}]")
            lines.append(f"{indent}if item{free} is not None:")
            free = plan._lines(free, lines, indent + "    ")
        for name, plan in self.mapped:
            lines.append(f"{indent}for item{free} in {values}[{name!r}].values():")
            free = plan._lines(free, lines, indent + "    ")
        return free


@dataclass
class _Derivation:
    """The walk over one core schema: the derived schema's parts and each changed model's plan."""

    plans: dict[str, _Plan] = field(default_factory=dict)  # by definition ref
    changed: list[type[BaseModel]] = field(default_factory=list)  # the models whose schema differs

    def schema(self, schema: Any) -> tuple[Any, _Plan | None]:
        """``schema`` derived, and the plan of the instance it gives if that is a changed model."""
        kind = schema.get("type")
        if kind == "definitions":
            definitions = []
            for definition in schema["definitions"]:
                derived, plan = self.schema(definition)
                definitions.append(derived)
                if plan is not None:
                    self.plans[definition["ref"]] = plan
            inner, plan = self.schema(schema["schema"])
            return {**schema, "definitions": definitions, "schema": inner}, plan
        if kind == "definition-ref":
            return schema, self.plans.get(schema["schema_ref"])
        if kind in ("default", "nullable"):
            inner, plan = self.schema(schema["schema"])
            return {**schema, "schema": inner}, plan
        if kind == "model":
            return self.model(schema, {})
        return schema, None

    def model(self, schema: Any, stored_names: Mapping[str, str]) -> tuple[Any, _Plan | None]:
        """A model's schema with its datetimes left to the plan (and ``stored_names`` read as such)."""
        fields_schema = schema["schema"]
        if fields_schema.get("type") != "model-fields" or schema.get("post_init"):
            return schema, None
        fields: dict[str, Any] = {}
        plan = _Plan(schema["cls"])
        for name, model_field in fields_schema["fields"].items():
            inner = model_field["schema"]
            if name in stored_names:
                # Required under its stored name: ``from_document`` gives None for a missing one,
                # which the derived path leaves to it (``model_fields_set`` then holds the field).
                inner = inner["schema"] if inner.get("type") == "default" else inner
                model_field = {**model_field, "validation_alias": stored_names[name]}
            derived, kind, inner_plan = self.field(inner)
            if kind == "time":
                plan.times += (name,)
            elif kind == "nested" and inner_plan is not None:
                plan.nested += ((name, inner_plan),)
            elif kind == "mapped" and inner_plan is not None:
                plan.mapped += ((name, inner_plan),)
            fields[name] = {**model_field, "schema": derived}
        if not (plan.times or plan.nested or plan.mapped):
            return schema, None  # nothing to change: the model's own validator serves
        self.changed.append(plan.cls)
        derived_fields = {**fields_schema, "fields": fields}
        if stored_names:
            # Keys no field has are left out, as ``from_document`` leaves them (a tool's document).
            derived_fields["extra_behavior"] = "ignore"
        return {**schema, "schema": derived_fields}, plan

    def field(self, schema: Any) -> tuple[Any, str, _Plan | None]:
        """A field's schema derived, and what its value is to the plan: a time, an instance, a dict of them."""
        kind = schema.get("type")
        if kind in ("default", "nullable"):
            inner, what, plan = self.field(schema["schema"])
            return {**schema, "schema": inner}, what, plan
        if _is_utc_datetime(schema):
            # The datetime as it is (strict: a text or a number is left to the model's own road).
            return {**_python_datetime(schema["schema"]), "strict": True}, "time", None
        if kind == "function-after" and schema["schema"].get("type") == "dict":
            inner, what, plan = self.field(schema["schema"])
            return {**schema, "schema": inner}, what, plan
        if kind == "dict" and schema["values_schema"].get("type") in ("model", "definition-ref"):
            values, plan = self.schema(schema["values_schema"])
            return {**schema, "values_schema": values}, "mapped", plan
        if kind in ("model", "definition-ref"):
            derived, plan = self.schema(schema)
            return derived, "nested", plan
        return schema, "other", None


def _is_utc_datetime(schema: Mapping[str, Any]) -> bool:
    """Whether ``schema`` is a ``UtcDateTime``'s: a datetime (its Python road), then ``to_utc_ms``."""
    function = schema.get("function")
    return (
        schema.get("type") == "function-after"
        and isinstance(function, Mapping)
        and function.get("function") is to_utc_ms
        and _python_datetime(schema["schema"]).get("type") == "datetime"
    )


def _python_datetime(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """The schema a Python value meets (a ``UtcDateTime`` tells JSON apart: ``_iso_text``)."""
    return schema["python_schema"] if schema.get("type") == "json-or-python" else schema


# Derivations flag models incomplete for a moment: one at a time, so none restores another's flag.
_DERIVING = threading.Lock()
_ABSENT = object()


@contextmanager
def _named_afresh(models: list[type[BaseModel]]) -> Iterator[None]:
    """While inside, a validator built from a schema naming one of ``models`` builds it from that schema.

    pydantic-core reuses a model's own validator for a schema naming the model when the
    model's own ``__dict__`` says ``__pydantic_complete__``; the derived schemas differ from
    the models' own. For the moment of the build that flag is off; the only other readers
    of it are ``model_rebuild`` (it would rebuild the same validator) and another schema
    built meanwhile in another thread (it would build the model inline: the same checks).
    """
    flags = [(model, model.__dict__.get("__pydantic_complete__", _ABSENT)) for model in dict.fromkeys(models)]
    try:
        for model, _ in flags:
            type.__setattr__(model, "__pydantic_complete__", False)
        yield
    finally:
        for model, flag in reversed(flags):
            if flag is _ABSENT:
                type.__delattr__(model, "__pydantic_complete__")
            else:
                type.__setattr__(model, "__pydantic_complete__", flag)


@dataclass(frozen=True)
class _Reader:
    """A model's derived validator (a list of items) and the plan of each item."""

    validator: SchemaValidator
    fix: Callable[[Any], None]
    single: SchemaValidator


_READERS: dict[tuple[type[BaseModel], str], _Reader | None] = {}


def _reader(model: type[BaseModel], layout: str) -> _Reader | None:
    """The derived reader of ``model`` stored as ``layout`` (an item, a record); None if none derives."""
    key = (model, layout)
    if key not in _READERS:
        with _DERIVING:
            if key not in _READERS:
                _READERS[key] = _derive(model, _STORED_ITEM_NAMES if layout == "item" else _RECORD_NAMES)
    return _READERS[key]


def _derive(model: type[BaseModel], stored_names: Mapping[str, str]) -> _Reader | None:
    if not model.__pydantic_complete__:
        model.model_rebuild()
    schema = model.__pydantic_core_schema__
    derivation = _Derivation()
    if schema.get("type") == "definitions":
        derived, _ = derivation.schema({**schema, "schema": {"type": "any"}})
        top, plan = derivation.model(schema["schema"], stored_names)
        derived = {**derived, "schema": top}
    else:
        derived, plan = derivation.model(schema, stored_names)
    if plan is None:
        return None  # nothing derived: the model's own road
    with _named_afresh(derivation.changed):
        return _Reader(SchemaValidator(core_schema.list_schema(derived)), plan.fixer(), SchemaValidator(derived))


def naive_items(model: type[T], rows: list[dict[str, Any]]) -> list[T]:
    """``from_document(model, row)`` for each of ``rows``, documents a naive read returned.

    Only for documents PyMongo decoded (every datetime whole milliseconds, naive unless the
    naive read made the document again aware): the same items, or the same STORAGE_ERROR.
    """
    reader = _reader(model, "item")
    # A session of the earlier layout holds its students, under escaped keys: ``from_document``'s.
    if reader is None or not rows or (model is Session and any("students" in row for row in rows)):
        return [from_document(model, row) for row in rows]  # type: ignore[type-var]
    return _built(reader, rows, lambda row: from_document(model, row))  # type: ignore[type-var]


def naive_students(records: list[dict[str, Any]]) -> list[Student]:
    """``student_from_record(record)`` for each of ``records`` a naive read returned."""
    reader = _reader(Student, "record")
    if reader is None or not records:
        return [student_from_record(record) for record in records]
    return _built(reader, records, student_from_record)


def _built(reader: _Reader, rows: list[dict[str, Any]], reference: Callable[[dict[str, Any]], T]) -> list[T]:
    try:
        items: list[T] = reader.validator.validate_python(rows)
        fix = reader.fix
        for item in items:
            fix(item)
        return items
    except Exception:  # any refusal: item by item, the reference road deciding
        return [_one(reader, row, reference) for row in rows]


def _one(reader: _Reader, row: dict[str, Any], reference: Callable[[dict[str, Any]], T]) -> T:
    try:
        item: T = reader.single.validate_python(row)
        reader.fix(item)
        return item
    except Exception:  # damaged, or something the derived schema is stricter about
        return reference(row)
