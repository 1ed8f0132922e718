"""Shared pytest fixtures for the Django side. Analysis fixtures live in tests/analysis/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def kaltim_dir() -> Path:
    """The shared reference data set (../shared/reference/kaltim), or NILAI_REFERENCE_DIR."""
    override = os.environ.get("NILAI_REFERENCE_DIR")
    path = Path(override) if override else REPO.parent / "shared" / "reference" / "kaltim"
    if not path.is_dir():
        pytest.fail(f"reference data not found at {path}; set NILAI_REFERENCE_DIR")
    return path
