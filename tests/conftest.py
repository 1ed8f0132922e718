"""Shared pytest fixtures for the Django side. Analysis fixtures live in tests/analysis/."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.analysis.reference import require_reference_dir


@pytest.fixture(scope="session")
def kaltim_dir() -> Path:
    """The repository's copy of the reference data set (tests/reference/kaltim)."""
    return require_reference_dir()
