"""``open_store``'s keyword settings are typed: a misspelling is a type error and INVALID_DATA."""

from __future__ import annotations

import textwrap
import typing
from pathlib import Path

import pytest

from docstore import ErrorCode, PersistenceError, StorageConfig, StoreSettings, open_store


def test_the_settings_are_exactly_the_config_fields_but_the_url() -> None:
    # Fails when a setting is added to StorageConfig and not to StoreSettings (or the reverse).
    assert set(typing.get_type_hints(StoreSettings)) == set(StorageConfig.model_fields) - {"url"}


def test_a_misspelled_setting_is_invalid_data_at_run_time() -> None:
    with pytest.raises(PersistenceError) as caught:
        open_store("memory://", **{"databse": "x"})  # type: ignore[arg-type]
    assert caught.value.code is ErrorCode.INVALID_DATA and "databse" in caught.value.message


@pytest.mark.slow
def test_mypy_catches_a_misspelled_or_mistyped_setting(tmp_path: Path) -> None:
    from mypy import api

    program = tmp_path / "caller.py"
    program.write_text(
        textwrap.dedent(
            """
            from docstore import open_store
            open_store("memory://", database="ok", create=False, cache_ttl_s=1.5)
            open_store("memory://", databse="x")
            open_store("memory://", max_pool_size="10")
            """
        )
    )
    out, _, status = api.run(["--strict", "--no-incremental", "--follow-imports=silent", str(program)])
    assert status == 1, out
    assert 'Unexpected keyword argument "databse"' in out
    assert '"max_pool_size" to "open_store" has incompatible type "str"' in out
    assert "caller.py:3:" not in out  # the correct call passes
