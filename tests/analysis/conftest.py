"""Fixtures for the pure ``analysis`` tests: the Kalimantan Timur reference data set.

The reference lives outside the repository, in ``<repo>/../shared/reference/kaltim`` (see
/work/shared/reference/README.md); set ``NILAI_REFERENCE_DIR`` to point elsewhere. Its expected
outputs were computed with R ``survey`` 4.1, ``psych`` 2.2.9, ``lavaan`` 0.6.14 and scipy 1.17.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from analysis.scoring import InstrumentSpec

REFERENCE_ENV = "NILAI_REFERENCE_DIR"

# Identifier-like columns of responses.csv: read as text so that codes keep their spelling.
RESPONSE_ID_COLUMNS = ("respondent", "region", "sex", "age_group", "stratum", "psu")


def locate_reference_dir() -> Path:
    """``$NILAI_REFERENCE_DIR`` if set, else ``<repo>/../shared/reference/kaltim``."""
    override = os.environ.get(REFERENCE_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "kaltim"


def spec_from_instrument(instrument: dict[str, Any]) -> InstrumentSpec:
    """Build the scoring spec of a parsed instrument JSON (INTERFACE.md section 1)."""
    return InstrumentSpec.from_mapping(instrument)


def read_responses(path: Path) -> pd.DataFrame:
    """responses.csv with id columns as ``str``, ``wave`` int, weights and items float."""
    return pd.read_csv(path, dtype={c: str for c in RESPONSE_ID_COLUMNS}, keep_default_na=True)


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    path = locate_reference_dir()
    if not (path / "instrument.json").is_file():
        pytest.fail(f"reference data not found at {path}; set {REFERENCE_ENV}")
    return path


@pytest.fixture(scope="session")
def ref_instrument(reference_dir: Path) -> dict[str, Any]:
    return json.loads((reference_dir / "instrument.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def ref_spec(ref_instrument: dict[str, Any]) -> InstrumentSpec:
    return spec_from_instrument(ref_instrument)


@pytest.fixture(scope="session")
def ref_responses(reference_dir: Path) -> pd.DataFrame:
    return read_responses(reference_dir / "responses.csv")


@pytest.fixture(scope="session")
def ref_population(reference_dir: Path) -> pd.DataFrame:
    return pd.read_csv(reference_dir / "population.csv",
                       dtype={"region": str, "sex": str, "age_group": str})


@pytest.fixture(scope="session")
def ref_expected(reference_dir: Path):
    """``ref_expected("estimates.csv")`` reads a file of ``expected/`` with region as text."""

    def read(name: str) -> pd.DataFrame:
        return pd.read_csv(reference_dir / "expected" / name,
                           dtype={"region": str, "respondent": str})

    return read
