"""The one place that locates and reads the Kalimantan Timur reference data set.

The repository carries its own copy in ``tests/reference/kaltim`` (see tests/reference/README.md
for where each file comes from); tests read only that copy, so a clone passes its tests with
nothing beside it. ``tests/test_reference_copy.py`` checks the copy against the upstream
``../shared/reference/kaltim`` when that exists. The expected outputs were computed with R
``survey`` 4.1, ``psych`` 2.2.9, ``lavaan`` 0.6.14, ``metafor`` 3.8 and scipy 1.17.

The data set is part of the test contract: when one of its files is missing, the test that asked
for it fails with a message naming the path; it is never skipped. Every reader returns a fresh
object, so a test may modify what it gets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analysis.scoring import InstrumentSpec

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "reference" / "kaltim"

# Identifier-like columns of responses.csv: read as text so that codes keep their spelling.
RESPONSE_ID_COLUMNS = ("respondent", "region", "sex", "age_group", "stratum", "psu")

# Publication rule applied to expected/estimates.csv (METHODS.md section 4): n < 30 suppressed.
SUPPRESS_BELOW_N = 30

_BOOL_TEXT = {"true": True, "false": False}


def locate_reference_dir() -> Path:
    """The repository's copy of the reference set, ``tests/reference/kaltim``."""
    return REFERENCE_DIR


def require_reference_dir() -> Path:
    """The reference directory; fails the calling test if it holds no ``instrument.json``."""
    path = locate_reference_dir()
    if not (path / "instrument.json").is_file():
        pytest.fail(f"reference data not found at {path} (part of the repository)")
    return path


def reference_file(*parts: str) -> Path:
    """Path of a file of the reference set; fails the calling test if it does not exist."""
    path = require_reference_dir().joinpath(*parts)
    if not path.is_file():
        pytest.fail(f"reference file {path} not found (part of the repository)")
    return path


def read_json(name: str) -> Any:
    return json.loads(reference_file(name).read_text(encoding="utf-8"))


def read_instrument() -> dict[str, Any]:
    """instrument.json, parsed."""
    return read_json("instrument.json")


def spec_from_instrument(instrument: dict[str, Any]) -> InstrumentSpec:
    """Build the scoring spec of a parsed instrument JSON (INTERFACE.md section 1)."""
    return InstrumentSpec.from_mapping(instrument)


def read_responses(path: Path | None = None) -> pd.DataFrame:
    """responses.csv with id columns as ``str``, ``wave`` int, weights and items float."""
    if path is None:
        path = reference_file("responses.csv")
    return pd.read_csv(path, dtype={c: str for c in RESPONSE_ID_COLUMNS}, keep_default_na=True)


def read_population() -> pd.DataFrame:
    """population.csv with region, sex and age group as text."""
    return pd.read_csv(reference_file("population.csv"),
                       dtype={"region": str, "sex": str, "age_group": str})


def read_indicators() -> list[dict[str, Any]]:
    """indicators.json, parsed."""
    return read_json("indicators.json")


def read_indicator_values() -> pd.DataFrame:
    """indicator_values.csv with region as text."""
    return pd.read_csv(reference_file("indicator_values.csv"), dtype={"region": str})


def read_targets() -> pd.DataFrame:
    """targets.csv with region as text."""
    return pd.read_csv(reference_file("targets.csv"), dtype={"region": str})


def read_bool(series: pd.Series, *, nullable: bool = False) -> pd.Series:
    """``true``/``false`` text as booleans; blanks (NaN) are allowed only when ``nullable``."""
    values = series.dropna() if nullable else series
    assert set(values.unique()) <= set(_BOOL_TEXT), f"not true/false: {series.unique()}"
    return series.map(_BOOL_TEXT)


def read_expected(name: str, *, bools: tuple[str, ...] = (),
                  nullable_bools: tuple[str, ...] = ()) -> pd.DataFrame:
    """A file of ``expected/``: region and respondent as text, only a blank field missing.

    ``bools`` are ``true``/``false`` columns read as ``bool``; ``nullable_bools`` may also be
    blank (NaN stays NaN).
    """
    text = {c: str for c in ("region", "respondent", *bools, *nullable_bools)}
    df = pd.read_csv(reference_file("expected", name), dtype=text, keep_default_na=False,
                     na_values=[""])
    for col in bools:
        df[col] = read_bool(df[col])
    for col in nullable_bools:
        df[col] = read_bool(df[col], nullable=True)
    return df


def read_estimates() -> pd.DataFrame:
    """expected/estimates.csv with the publication rule applied: suppressed = n < 30."""
    est = read_expected("estimates.csv")
    est["suppressed"] = est["n"] < SUPPRESS_BELOW_N
    return est


def keyed_items(responses: pd.DataFrame, instrument: dict[str, Any],
                dimensions: list[dict[str, Any]] | None = None) -> np.ndarray:
    """Item answers of ``dimensions`` (default: all, in instrument order) as a float matrix,
    reverse-keyed items mapped to ``min + max - x``; NaN stays NaN.

    Written from instrument.json directly (not through ``analysis.scoring``), so that the
    reliability and CFA tests do not depend on the scoring code they sit beside.
    """
    lo, hi = instrument["scale"]["min"], instrument["scale"]["max"]
    dims = instrument["dimensions"] if dimensions is None else dimensions
    items = [item for dim in dims for item in dim["items"]]
    reverse = np.array([item["reverse"] for item in items])
    x = responses[[item["code"] for item in items]].to_numpy(dtype=float)
    x[:, reverse] = lo + hi - x[:, reverse]
    return x
