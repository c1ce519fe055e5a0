"""``encode_arguments`` works out each method's parameters once (``_repositories._plan``): the
plan is what walking the annotations on every call gave, for every method of the wire."""

from __future__ import annotations

from docstore._remote._repositories import _is_sequence, _model_of, _plan
from docstore._wire import methods


def test_each_methods_plan_is_what_its_annotations_say() -> None:
    for by_name in methods().values():
        for method in by_name.values():
            expected = tuple((name, _model_of(hint), _is_sequence(hint)) for name, hint, _ in method.parameters)
            assert _plan(method) == expected
            assert _plan(method) is _plan(method)  # worked out once
