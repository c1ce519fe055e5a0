"""On the strict wire a datetime is ISO 8601 text, never the text of a number.

pydantic reads a JSON string of digits (``"2"``, ``"-1.5"``, ``"1733356800"``) as seconds or
milliseconds since 1970, even strictly. The server reads request bodies strictly
(``_server/_routes.py``) and its OpenAPI document says ``format: date-time``: a number's
text there is a client's mistake, taken silently as a date in 1970 (schemathesis found it).
So strict JSON validation of a ``UtcDateTime`` refuses it and otherwise reads the text
exactly as pydantic would; lax JSON (the client reading the server's answers) and Python
validation take their usual road, at their usual cost.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, SchemaValidator, ValidationError, core_schema

__all__ = ["IsoTextOnStrictWire"]

# Every string pydantic's datetime parser takes as a number (seconds or milliseconds).
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
_STRICT_TEXT = SchemaValidator(core_schema.datetime_schema())


def _iso_text(value: Any, handler: core_schema.ValidatorFunctionWrapHandler) -> Any:
    if type(value) is not str:
        return handler(value)  # a JSON number, null, ...: refused strictly as before
    if _NUMBER.fullmatch(value):
        raise PydanticCustomError("datetime_from_number", "Input should be ISO 8601 text, not a number of seconds")
    try:
        # What strict JSON validation does with the text (the handler would get a Python str).
        text: Any = value  # pydantic-core's stub types the argument as its own recursive alias
        return _STRICT_TEXT.validate_strings(text, strict=True)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise PydanticCustomError(error["type"], error["msg"]) from None


class IsoTextOnStrictWire:
    """``Annotated`` marker: strict JSON validation of this datetime refuses a number's text."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        inner = handler(source)
        strict = core_schema.no_info_wrap_validator_function(_iso_text, inner)
        return core_schema.json_or_python_schema(
            json_schema=core_schema.lax_or_strict_schema(lax_schema=inner, strict_schema=strict),
            python_schema=inner,
        )
