"""CPU per call of the wire's free-form handling (finding 8): with it and without it, interleaved.

A 30-student session (``create_session``'s body, ``get_session``'s answer) and a page of 20
problems (``list_problems``' answer), whose ``extra`` holds only JSON-native values (the hot
path: must cost nearly nothing more) and then a datetime and bytes (the Extended JSON road).
"Without" is the same code with the free-form step skipped, measured in the same process, so
the ratio is what the step costs. Prints microseconds of CPU per call (time.process_time).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from docstore import ProblemSpec, Session, Student
from docstore._remote._repositories import _page_decoder, decode_result, encode_arguments
from docstore._wire import WireMethod, methods
from docstore._wire_values import map_result, to_extended

ROUNDS, CALLS = 7, 300


def _cpu_us(call: Callable[[], Any]) -> float:
    start = time.process_time()
    for _ in range(CALLS):
        call()
    return (time.process_time() - start) / CALLS * 1e6


class _Bare(WireMethod):
    free_form_arguments = ()


def _after_encode(method: WireMethod, result: Any) -> bytes:
    return method.result.dump_json(map_result(result, to_extended))


def _before_encode(method: WireMethod, result: Any) -> bytes:
    return method.result.dump_json(result)


def _before_decode(method: WireMethod, content: bytes) -> Any:
    decoder = _page_decoder(method.returns)  # decode_result as it was: no free-form step
    return method.result.validate_json(content) if decoder is None else decoder(content)


def _compare(label: str, with_it: Callable[[], Any], without: Callable[[], Any]) -> None:
    a, b = [], []
    for _ in range(ROUNDS):  # interleaved: the shared machine's noise hits both alike
        a.append(_cpu_us(with_it))
        b.append(_cpu_us(without))
    best_a, best_b = min(a), min(b)
    print(f"{label:58} {best_b:8.1f} us -> {best_a:8.1f} us  ({best_a / best_b:5.2f}x)")


def main() -> None:
    sessions, problems = methods()["sessions"], methods()["problems"]
    create, get, listing = sessions["create_session"], sessions["get_session"], problems["list_problems"]
    bare_create = _Bare(*(getattr(create, f) for f in ("repository", "name", "parameters", "returns", "doc")))
    for kind, extra in [
        ("empty extra", {}),
        ("JSON-native extra", {"seat": 3, "tags": ["a", "b"], "note": "x", "score": 1.5}),
        ("datetime+bytes extra", {"seen": datetime(2020, 1, 2, tzinfo=UTC), "blob": b"\x00\x01"}),
    ]:
        students = {f"s{i}": Student(id=f"s{i}", name=f"n{i}", code="print(1)\n" * 5, extra=extra) for i in range(30)}
        session = Session(join_code="BENCH1", students=students, extra=extra)
        page = listing.returns(items=[ProblemSpec(title=f"p{i}", tags=["t"], extra=extra) for i in range(20)])
        _compare(
            f"client encode create_session, 30 students, {kind}",
            partial(encode_arguments, create, {"session": session}),
            partial(encode_arguments, bare_create, {"session": session}),
        )
        for method, result, what in [(get, session, "session of 30 students"), (listing, page, "page of 20 problems")]:
            answer = method.result.dump_json(map_result(result, to_extended))
            _compare(
                f"server encode {what}, {kind}",
                partial(_after_encode, method, result),
                partial(_before_encode, method, result),
            )
            _compare(
                f"client decode {what}, {kind}",
                partial(decode_result, method, answer),
                partial(_before_decode, method, answer),
            )


if __name__ == "__main__":
    main()
