"""Fixtures for the pure ``analysis`` tests: the Kalimantan Timur reference data set.

Locating and reading the data is done by :mod:`tests.analysis.reference` (also imported by the
test modules directly); the fixtures here are session-scoped views of it. A missing data set
fails the test (``pytest.fail``), it is never skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from analysis.scoring import InstrumentSpec
from tests.analysis import reference


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    return reference.require_reference_dir()


@pytest.fixture(scope="session")
def ref_instrument() -> dict[str, Any]:
    return reference.read_instrument()


@pytest.fixture(scope="session")
def ref_spec(ref_instrument: dict[str, Any]) -> InstrumentSpec:
    return reference.spec_from_instrument(ref_instrument)


@pytest.fixture(scope="session")
def ref_responses() -> pd.DataFrame:
    return reference.read_responses()


@pytest.fixture(scope="session")
def ref_population() -> pd.DataFrame:
    return reference.read_population()


@pytest.fixture(scope="session")
def ref_expected() -> Callable[..., pd.DataFrame]:
    """``ref_expected("estimates.csv")`` reads a file of ``expected/`` with region as text."""
    return reference.read_expected
