"""The README's usage example runs as written."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


async def test_the_usage_example_runs() -> None:
    example = re.search(r"## Use\n\n```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert example is not None
    lines = example.group(1).splitlines()
    imports = "\n".join(line for line in lines if line.startswith("from "))
    body = "\n".join(line for line in lines if not line.startswith("from "))
    source = f"{imports}\n\nasync def example():\n{textwrap.indent(body, '    ')}\n    return client_payload\n"
    namespace: dict[str, object] = {}
    exec(compile(source, str(README), "exec"), namespace)
    payload = await namespace["example"]()  # type: ignore[operator]
    assert payload["join_code"] == "AB12CD" and "metadata" not in payload
    assert payload["students"]["s1"]["code"] == "print('hi')"
