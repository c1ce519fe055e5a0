from __future__ import annotations

from pathlib import Path

import pytest

# The shared datasets sit beside the checkout (the same in CI); never copied into the repo.
LEGACY_DATA = Path(__file__).resolve().parents[3] / "shared" / "legacy-data"
DATASETS = ["v2025-12-18", "v2025-12-20", "v2026-01-05"]


@pytest.fixture
def legacy_data() -> Path:
    if not LEGACY_DATA.is_dir():
        pytest.skip(f"the shared legacy datasets are not at {LEGACY_DATA}")
    return LEGACY_DATA
