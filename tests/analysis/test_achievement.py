"""Tests of analysis.achievement (capaian, METHODS.md section 8).

Reference values: tests/reference/kaltim/expected/achievements.csv (scipy 1.17 run,
computed independently from targets.csv, indicators.json, indicator_values.csv and
expected/estimates.csv) and test_vectors.md item 10.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.achievement import (
    ACHIEVEMENT_COLUMNS,
    Achievement,
    achievement_pct,
    achievement_table,
    assess_achievement,
)
from analysis.proxies import IndicatorMeta
from tests.analysis.reference import (
    read_estimates,
    read_expected,
    read_indicator_values,
    read_indicators,
    read_targets,
)

TOL = 1e-6


def _nullable(values: pd.Series) -> list[bool | None]:
    return [None if pd.isna(v) else bool(v) for v in values]


# ---------------------------------------------------------------- reference: kaltim
def test_achievement_table_reproduces_reference_achievements_csv() -> None:
    targets, indicators, values = read_targets(), read_indicators(), read_indicator_values()
    got = achievement_table(targets, indicators, values, read_estimates())
    expected = read_expected("achievements.csv", bools=("met",),
                             nullable_bools=("met_with_confidence",))
    assert tuple(got.columns) == ACHIEVEMENT_COLUMNS == tuple(expected.columns)
    keys = ["indicator", "region", "year"]
    # 100 targets; INDEX 6411 2023 has no row (n = 20 < 30, suppressed) -> 99 rows
    assert len(targets) == 100 and len(got) == len(expected) == 99
    assert set(map(tuple, got[keys].values.tolist())) == set(
        map(tuple, expected[keys].values.tolist())
    )
    assert ("INDEX", "6411", 2023) not in set(map(tuple, got[keys].values.tolist()))
    merged = got.merge(expected, on=keys, suffixes=("", "_ref"), validate="one_to_one")
    for col in ("target", "realisation", "achievement_pct"):
        assert np.allclose(merged[col], merged[f"{col}_ref"], rtol=TOL, atol=0), col
    assert merged["met"].tolist() == merged["met_ref"].tolist()
    assert _nullable(merged["met_with_confidence"]) == _nullable(merged["met_with_confidence_ref"])
    # survey-based rows carry met_with_confidence, administrative rows leave it blank
    is_index = merged["indicator"] == "INDEX"
    assert merged.loc[is_index, "met_with_confidence"].notna().all()
    assert merged.loc[~is_index, "met_with_confidence"].isna().all()


def test_reference_rows_written_out() -> None:
    targets, indicators, values = read_targets(), read_indicators(), read_indicator_values()
    got = achievement_table(targets, indicators, values, read_estimates()).set_index(
        ["indicator", "region", "year"]
    )
    # expected/achievements.csv: INDEX,6402,2023,65.0,68.7964073456065,105.84062668554846,
    # true,true  (CI low of 6402 2023 INDEX >= 65)
    row = got.loc[("INDEX", "6402", 2023)]
    assert row["realisation"] == pytest.approx(68.7964073456065, rel=TOL)
    assert row["achievement_pct"] == pytest.approx(105.84062668554846, rel=TOL)
    assert bool(row["met"]) is True and bool(row["met_with_confidence"]) is True
    # expected/achievements.csv: KONFLIK_SARA,6472,2023,4.4,7.378,32.31818181818183,false,
    # (negative polarity: 100 (2 - 7.378 / 4.4))
    row = got.loc[("KONFLIK_SARA", "6472", 2023)]
    assert row["achievement_pct"] == pytest.approx(32.31818181818183, rel=TOL)
    assert bool(row["met"]) is False and pd.isna(row["met_with_confidence"])


# ---------------------------------------------------------------- test_vectors.md item 10
@pytest.mark.parametrize(
    ("polarity", "realisation", "target", "printed"),
    [
        ("positive", 70.0, 80.0, 87.5),
        ("negative", 6.5, 7.0, 107.142857),
        ("negative", 9.0, 8.0, 87.5),
        ("positive", 92.0, 90.0, 102.222222),
    ],
)
def test_achievement_vectors(
    polarity: str, realisation: float, target: float, printed: float
) -> None:
    # test_vectors.md item 10; tolerance: the printed digits (6 decimals)
    assert achievement_pct(realisation, target, polarity) == pytest.approx(printed, abs=5e-7)


# ---------------------------------------------------------------- unit behaviour
def test_assess_achievement_met_and_confidence() -> None:
    res = assess_achievement("INDEX", "6401", 2024, 66.5, 67.0, "positive", ci_low=65.0)
    assert res == Achievement("INDEX", "6401", 2024, 66.5, 67.0, res.achievement_pct, True, False)
    assert res.achievement_pct == pytest.approx(100 * 67 / 66.5)
    exact = assess_achievement("INDEX", "ALL", 2024, 66.5, 66.5, "positive", ci_low=66.5)
    assert exact.achievement_pct == 100.0 and exact.met and exact.met_with_confidence is True
    admin = assess_achievement("KONFLIK", "6401", 2024, 4.0, 4.0, "negative")
    assert admin.achievement_pct == 100.0 and admin.met and admin.met_with_confidence is None


@pytest.mark.parametrize("target", [0.0, -1.0, float("nan"), float("inf")])
def test_non_positive_or_non_finite_target_is_an_error(target: float) -> None:
    with pytest.raises(ValueError, match="positive finite"):
        achievement_pct(50.0, target, "positive")


def test_bad_polarity_or_realisation_is_an_error() -> None:
    with pytest.raises(ValueError, match="polarity"):
        achievement_pct(50.0, 60.0, "up")
    with pytest.raises(ValueError, match="realisation"):
        achievement_pct(float("nan"), 60.0, "positive")
    with pytest.raises(ValueError, match="positive-polarity"):
        assess_achievement("X", "6401", 2024, 5.0, 4.0, "negative", ci_low=3.0)


def _estimates() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "wave": [2024, 2024, 2024, 2024],
            "region": ["6401", "6411", "ALL", "6401"],
            "dimension": ["INDEX", "INDEX", "INDEX", "S1"],
            "estimate": [70.0, 40.0, 65.0, 99.0],
            "ci_low": [68.0, 30.0, 64.0, 98.0],
            "suppressed": [False, True, False, False],
        }
    )


META = {
    "KONFLIK": IndicatorMeta("KONFLIK", "negative", "outcome"),
    "SOSIALISASI": IndicatorMeta("SOSIALISASI", "positive", "output"),
}


def _values() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "indicator": ["KONFLIK", "KONFLIK", "SOSIALISASI"],
            "region": ["6401", "6402", "6401"],
            "year": [2024, 2024, 2024],
            "value": [3.0, float("nan"), 12.0],
        }
    )


def test_table_rules_on_small_input() -> None:
    targets = pd.DataFrame(
        {
            "indicator": ["INDEX", "INDEX", "INDEX", "INDEX", "KONFLIK", "KONFLIK", "SOSIALISASI"],
            "region": ["6401", "6411", "ALL", "6402", "6401", "6402", "6401"],
            "year": [2024] * 7,
            "target": [66.0, 66.0, 64.5, 66.0, 4.0, 4.0, 10.0],
        }
    )
    got = achievement_table(targets, META, _values(), _estimates())
    assert tuple(got.columns) == ACHIEVEMENT_COLUMNS
    # 6411 suppressed, INDEX 6402 without estimate, KONFLIK 6402 value missing: no rows
    assert got[["indicator", "region"]].values.tolist() == [
        ["INDEX", "6401"],
        ["INDEX", "ALL"],
        ["KONFLIK", "6401"],
        ["SOSIALISASI", "6401"],
    ]
    assert got["achievement_pct"].tolist() == pytest.approx(
        [100 * 70 / 66, 100 * 65 / 64.5, 100 * (2 - 3 / 4), 100 * 12 / 10]
    )
    assert got["met"].tolist() == [True, True, True, True]
    assert _nullable(got["met_with_confidence"]) == [True, False, None, None]
    assert got["met"].dtype == bool and str(got["met_with_confidence"].dtype) == "boolean"


def test_table_rejects_bad_targets() -> None:
    base = {"indicator": ["INDEX"], "region": ["6401"], "year": [2024]}
    with pytest.raises(ValueError, match="positive finite"):
        achievement_table(pd.DataFrame({**base, "target": [0.0]}), META, _values(), _estimates())
    with pytest.raises(ValueError, match="undefined indicator"):
        achievement_table(
            pd.DataFrame({**base, "indicator": ["NOPE"], "target": [1.0]}),
            META,
            _values(),
            _estimates(),
        )
    dup = pd.DataFrame(
        {
            "indicator": ["INDEX"] * 2,
            "region": ["6401"] * 2,
            "year": [2024] * 2,
            "target": [60.0, 61.0],
        }
    )
    with pytest.raises(ValueError, match="duplicate target"):
        achievement_table(dup, META, _values(), _estimates())
    with pytest.raises(ValueError, match="ci_low"):
        achievement_table(
            pd.DataFrame({**base, "target": [60.0]}),
            META,
            _values(),
            _estimates().drop(columns="ci_low"),
        )


# ---------------------------------------------------------------- properties
_positive = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(realisation=_positive, target=_positive)
def test_positive_and_negative_polarity_are_symmetric_about_100(
    realisation: float, target: float
) -> None:
    pos = achievement_pct(realisation, target, "positive")
    neg = achievement_pct(realisation, target, "negative")
    # 100 R/T + 100 (2 - R/T) = 200: being x % above target on one polarity is x % below on
    # the other
    assert pos + neg == pytest.approx(200.0, rel=1e-12, abs=1e-9)
    assert (pos > 100) == (neg < 100)


@settings(max_examples=200, deadline=None)
@given(target=_positive, factor=st.floats(min_value=0.0, max_value=3.0))
def test_met_iff_realisation_on_the_right_side_of_the_target(target: float, factor: float) -> None:
    realisation = target * factor
    pos = assess_achievement("X", "6401", 2024, target, realisation, "positive")
    neg = assess_achievement("X", "6401", 2024, target, realisation, "negative")
    ratio = realisation / target
    assert pos.met == (pos.achievement_pct >= 100.0) and neg.met == (neg.achievement_pct >= 100.0)
    if abs(ratio - 1.0) > 1e-12:  # away from the last-ulp rounding of 100 * ratio
        assert pos.met == (ratio > 1.0)
        assert neg.met == (ratio < 1.0)
    if realisation == target:
        assert pos.met and neg.met
    assert math.isclose(pos.achievement_pct, 100 * ratio, rel_tol=1e-12)
