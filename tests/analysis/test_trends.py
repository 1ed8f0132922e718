"""Tests of analysis.trends against the Kalimantan Timur reference and published series.

Reference values: tests/reference/kaltim/expected/{trends,changes}.csv (scipy 1.17,
computed independently following METHODS.md section 6) and test_vectors.md items 8 and 9.
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis.trends import (
    CHANGE_COLUMNS,
    MDC_FACTOR,
    TREND_COLUMNS,
    ChangeResult,
    TrendResult,
    change_table,
    series_changes,
    series_trend,
    trend_table,
    year_change,
)
from tests.analysis.reference import read_estimates, read_expected

TOL = 1e-6  # METHODS.md section 9: trend figures 1e-6


def assert_printed(value: float, printed: str) -> None:
    """|value - printed| <= half a unit of the printed last digit (test_vectors.md tolerance)."""
    exponent = Decimal(printed).as_tuple().exponent
    assert isinstance(exponent, int)
    tol = 0.5 * 10.0**exponent
    assert abs(value - float(printed)) <= tol * (1 + 1e-9), (value, printed)


def assert_frames_match(
    got: pd.DataFrame, expected: pd.DataFrame, keys: list[str], exact: list[str]
) -> None:
    """Same key set, exact equality on `exact` columns, 1e-6 relative on the rest."""
    assert not got.duplicated(keys).any()
    assert set(map(tuple, got[keys].to_numpy().tolist())) == set(
        map(tuple, expected[keys].to_numpy().tolist())
    )
    merged = got.merge(expected, on=keys, suffixes=("", "_ref"), validate="one_to_one")
    assert len(merged) == len(expected)
    for col in expected.columns:
        if col in keys:
            continue
        a, b = merged[col], merged[f"{col}_ref"]
        if col in exact:
            assert (
                a.astype(object).where(a.notna(), None).tolist()
                == b.astype(object).where(b.notna(), None).tolist()
            ), col
        else:
            a_f, b_f = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
            assert np.array_equal(np.isnan(a_f), np.isnan(b_f)), col
            assert np.allclose(a_f, b_f, rtol=TOL, atol=1e-12, equal_nan=True), (
                col,
                np.nanmax(np.abs(a_f - b_f)),
            )


# ---------------------------------------------------------------- reference: kaltim
def test_trend_table_reproduces_reference_trends_csv() -> None:
    # given the reference estimates with suppressed = n < 30
    got = trend_table(read_estimates())
    # then every row of expected/trends.csv is reproduced (scipy 1.17 reference, 1e-6)
    expected = read_expected("trends.csv")
    assert tuple(got.columns) == TREND_COLUMNS == tuple(expected.columns)
    assert len(got) == len(expected) == 66  # 11 regions (10 + ALL) x 6 dimensions
    assert_frames_match(
        got,
        expected,
        ["region", "dimension"],
        exact=["n_points", "first_wave", "last_wave", "direction"],
    )


def test_change_table_reproduces_reference_changes_csv() -> None:
    got = change_table(read_estimates())
    expected = read_expected("changes.csv", nullable_bools=("significant",))
    assert tuple(got.columns) == CHANGE_COLUMNS
    assert tuple(got.columns[: len(expected.columns)]) == tuple(expected.columns)
    # 60 series x 4 changes + 6 Mahakam Ulu series x 3 changes (2023 suppressed) = 258
    assert len(got) == len(expected) == 258
    assert_frames_match(
        got, expected, ["region", "dimension", "from_wave", "to_wave"], exact=["significant"]
    )
    assert np.allclose(got["mdc"], MDC_FACTOR * got["se"], rtol=0, atol=0)


def test_suppressed_wave_is_bridged_not_skipped() -> None:
    # given Mahakam Ulu (6411) 2023 with n = 20 < 30 (expected/estimates.csv)
    est = read_estimates()
    assert est.loc[(est.region == "6411") & (est.wave == 2023), "n"].eq(20).all()
    changes = change_table(est)
    mu = changes[(changes.region == "6411") & (changes.dimension == "INDEX")]
    # then its changes go 2021->2022, 2022->2024, 2024->2025 (expected/changes.csv)
    assert list(zip(mu.from_wave, mu.to_wave, strict=True)) == [
        (2021, 2022),
        (2022, 2024),
        (2024, 2025),
    ]
    row = mu[mu.from_wave == 2022].iloc[0]
    # expected/changes.csv row "6411,INDEX,2022,2024"
    assert row.delta == pytest.approx(-5.324505566085001, rel=TOL)
    assert row.se == pytest.approx(3.503709195914572, rel=TOL)
    assert row.z == pytest.approx(-1.5196767963201774, rel=TOL)
    assert row.p == pytest.approx(0.12859222613884103, rel=TOL)
    assert bool(row.significant) is False
    # and its trend has 4 points 2021..2025 (expected/trends.csv row "6411,INDEX")
    tr = trend_table(est).set_index(["region", "dimension"]).loc[("6411", "INDEX")]
    assert (tr.n_points, tr.first_wave, tr.last_wave) == (4, 2021, 2025)
    assert tr.ols_slope == pytest.approx(-1.1678938848063602, rel=TOL)
    assert tr.kendall_p == pytest.approx(0.3333333333333333, rel=TOL)
    assert tr.direction == "none"


def test_suppressed_rows_with_blank_numbers_are_ignored() -> None:
    # given the exported shape: suppressed rows have blank estimate/se (INTERFACE.md section 3)
    est = read_estimates()
    est.loc[est.suppressed, ["estimate", "se"]] = np.nan
    # then the tables are the same as with the numbers present
    pd.testing.assert_frame_equal(change_table(est), change_table(read_estimates()))
    pd.testing.assert_frame_equal(trend_table(est), trend_table(read_estimates()))


# ---------------------------------------------------------------- test_vectors.md item 8
@pytest.mark.parametrize(
    ("n", "printed"),
    [(3, "0.3333"), (4, "0.08333"), (5, "0.01667"), (6, "0.002778"), (7, "0.0003968")],
)
def test_exact_mann_kendall_p_of_monotone_series(n: int, printed: str) -> None:
    # test_vectors.md item 8 (scipy kendalltau method="exact"); exact value 2 / n!
    res = series_trend(np.arange(2020, 2020 + n), np.arange(n, dtype=float) * 1.5 + 40.0)
    assert_printed(res.kendall_p, printed)
    assert res.kendall_p == pytest.approx(2 / math.factorial(n), rel=1e-12)
    assert res.kendall_tau == pytest.approx(1.0, abs=1e-12)
    # METHODS.md section 6: with 3 or 4 points no monotone trend can be significant
    assert res.direction == ("none" if n <= 4 else "up")


# ---------------------------------------------------------------- test_vectors.md item 9
def test_bps_democracy_index_2009_2019() -> None:
    # BPS Indeks Demokrasi Indonesia as published; statistics: test_vectors.md item 9 (scipy 1.17)
    idi = [67.30, 63.17, 65.48, 62.63, 63.72, 73.04, 72.82, 70.09, 72.11, 72.39, 74.92]
    res = series_trend(np.arange(2009, 2020), idi)
    assert (res.n_points, res.first_wave, res.last_wave) == (11, 2009, 2019)
    assert_printed(res.ols_slope, "1.080818")
    assert_printed(res.ols_slope_se, "0.279570")
    assert_printed(res.ols_p, "0.003812")
    assert_printed(res.sen_slope, "1.148")
    assert_printed(res.sen_ci_low, "0.183333")
    assert_printed(res.sen_ci_high, "1.865")
    assert_printed(res.kendall_tau, "0.490909")
    assert_printed(res.kendall_p, "0.040532")
    assert res.direction == "up"


def test_kemenag_religious_harmony_index_2015_2021() -> None:
    # Kemenag Indeks KUB as published; statistics: test_vectors.md item 9 (scipy 1.17)
    kub = [75.36, 75.47, 72.27, 70.90, 73.83, 67.46, 72.39]
    res = series_trend(np.arange(2015, 2022), kub)
    assert_printed(res.ols_slope, "-0.834643")
    assert_printed(res.ols_slope_se, "0.441473")
    assert_printed(res.ols_p, "0.117272")
    assert_printed(res.sen_slope, "-0.72")
    assert_printed(res.sen_ci_low, "-2.0025")
    assert_printed(res.sen_ci_high, "0.496667")
    assert_printed(res.kendall_tau, "-0.428571")
    assert_printed(res.kendall_p, "0.238889")
    # no significant trend, though single years were announced as rises and falls
    assert res.direction == "none"


# ---------------------------------------------------------------- unit behaviour
def test_short_series_rows_have_blank_statistics() -> None:
    one = series_trend([2024], [55.0])
    assert isinstance(one, TrendResult)
    assert (one.n_points, one.first_wave, one.last_wave, one.direction) == (1, 2024, 2024, None)
    assert all(math.isnan(getattr(one, f)) for f in TREND_COLUMNS[5:15])
    three = series_trend([2021, 2022, 2023], [50.0, 52.0, 51.0])
    assert math.isnan(three.ols_slope) and math.isnan(three.ols_p)  # OLS needs n >= 4
    assert three.sen_slope == pytest.approx(0.5)  # median of slopes (2, 0.5, -1)
    assert three.kendall_tau == pytest.approx(1 / 3)
    assert three.direction == "none"


def test_trend_table_gives_single_point_series_a_row() -> None:
    est = pd.DataFrame(
        {
            "wave": [2021, 2022, 2023, 2021],
            "region": ["6401", "6401", "6401", "6402"],
            "dimension": ["INDEX"] * 4,
            "n": [100, 100, 10, 100],
            "estimate": [60.0, 61.0, 99.0, 58.0],
            "se": [1.0, 1.0, 9.0, 1.0],
            "suppressed": [False, False, True, False],
        }
    )
    tt = trend_table(est).set_index("region")
    assert tt.loc["6402", "n_points"] == 1 and tt.loc["6402", "direction"] is None
    assert tt.loc["6401", "n_points"] == 2 and tt.loc["6401", "last_wave"] == 2022
    ct = change_table(est)
    assert ct[["region", "from_wave", "to_wave"]].values.tolist() == [["6401", 2021, 2022]]
    assert ct.loc[0, "se"] == pytest.approx(math.sqrt(2))
    assert ct.loc[0, "mdc"] == pytest.approx(2.80 * math.sqrt(2))


def test_year_change_formulas() -> None:
    # delta 3, SE = sqrt(1.2^2 + 1.6^2) = 2, z = 1.5, p = 2(1 - Phi(1.5)) = 0.1336144 (R pnorm)
    res = year_change(2022, 2023, 60.0, 1.2, 63.0, 1.6)
    assert res == ChangeResult(2022, 2023, 3.0, 2.0, 1.5, res.p, False, 5.6)
    assert res.p == pytest.approx(0.13361440253771617, rel=1e-12)
    big = year_change(2022, 2023, 60.0, 1.2, 65.0, 1.6)  # z = 2.5, p = 0.01241933
    assert big.significant and big.p == pytest.approx(0.012419330651552318, rel=1e-12)


def test_year_change_with_missing_se_is_not_significant() -> None:
    res = year_change(2022, 2023, 60.0, float("nan"), 70.0, 1.0)
    assert math.isnan(res.z) and math.isnan(res.p) and res.significant is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((2023, 2023, 60.0, 1.0, 61.0, 1.0), "must precede"),
        ((2022, 2023, float("nan"), 1.0, 61.0, 1.0), "finite"),
        ((2022, 2023, 60.0, -1.0, 61.0, 1.0), ">= 0"),
    ],
)
def test_year_change_rejects_bad_input(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        year_change(*args)


def test_series_functions_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="at least one point"):
        series_trend([], [])
    with pytest.raises(ValueError, match="unique"):
        series_trend([2021, 2021, 2022], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="finite"):
        series_trend([2021, 2022, 2023], [1.0, float("nan"), 3.0])
    with pytest.raises(ValueError, match="one value per year"):
        series_changes([2021, 2022], [1.0, 2.0], [1.0])


def test_tables_reject_malformed_estimates() -> None:
    est = pd.DataFrame(
        {
            "wave": [2021, 2021],
            "region": ["6401"] * 2,
            "dimension": ["S1"] * 2,
            "estimate": [1.0, 2.0],
            "se": [1.0, 1.0],
            "suppressed": [False, False],
        }
    )
    with pytest.raises(ValueError, match="duplicate"):
        trend_table(est)
    with pytest.raises(ValueError, match="lack column"):
        change_table(est.drop(columns="suppressed"))
    est2 = est.assign(wave=[2021, 2022], suppressed=[False, None])
    with pytest.raises(ValueError, match="suppressed"):
        trend_table(est2)


def test_empty_estimates_give_empty_tables_with_columns() -> None:
    est = pd.DataFrame(columns=["wave", "region", "dimension", "estimate", "se", "suppressed"])
    assert tuple(trend_table(est).columns) == TREND_COLUMNS and trend_table(est).empty
    assert tuple(change_table(est).columns) == CHANGE_COLUMNS and change_table(est).empty


# ---------------------------------------------------------------- properties
_years = st.integers(min_value=5, max_value=12).flatmap(
    lambda n: st.lists(st.integers(1990, 2060), min_size=n, max_size=n, unique=True)
)
_steps = st.floats(min_value=0.05, max_value=10.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(years=_years, data=st.data())
def test_strictly_increasing_series_of_five_or_more_points_goes_up(
    years: list[int], data: st.DataObject
) -> None:
    steps = data.draw(st.lists(_steps, min_size=len(years), max_size=len(years)))
    values = 40.0 + np.cumsum(steps)
    res = series_trend(sorted(years), values)
    assert res.direction == "up"
    assert res.kendall_tau == pytest.approx(1.0, abs=1e-12)
    assert res.kendall_p == pytest.approx(2 / math.factorial(len(years)), rel=1e-9)
    assert res.sen_slope > 0 and res.ols_slope > 0


@settings(max_examples=60, deadline=None)
@given(
    years=_years,
    data=st.data(),
)
def test_reversing_years_flips_the_sign_of_every_slope(
    years: list[int], data: st.DataObject
) -> None:
    values = data.draw(
        st.lists(st.floats(0, 100, allow_nan=False), min_size=len(years), max_size=len(years))
    )
    ys = sorted(years)
    fwd = series_trend(ys, values)
    # reverse the time axis: year -> first + last - year (== ys[::-1] when evenly spaced)
    rev = series_trend([ys[0] + ys[-1] - y for y in ys], values)
    assert rev.ols_slope == pytest.approx(-fwd.ols_slope, rel=1e-9, abs=1e-9)
    assert rev.sen_slope == pytest.approx(-fwd.sen_slope, rel=1e-9, abs=1e-9)
    if math.isnan(fwd.kendall_tau):
        assert math.isnan(rev.kendall_tau)
    else:
        assert rev.kendall_tau == pytest.approx(-fwd.kendall_tau, abs=1e-12)
        assert rev.kendall_p == pytest.approx(fwd.kendall_p, rel=1e-9)
    flip = {"up": "down", "down": "up", "none": "none"}
    assert rev.direction == flip[fwd.direction]


@settings(max_examples=60, deadline=None)
@given(years=_years, data=st.data())
def test_changes_telescope_and_mdc_is_2_80_se(years: list[int], data: st.DataObject) -> None:
    n = len(years)
    values = data.draw(st.lists(st.floats(0, 100), min_size=n, max_size=n))
    ses = data.draw(st.lists(st.floats(0.1, 5), min_size=n, max_size=n))
    ys = sorted(years)
    res = series_changes(ys, values, ses)
    assert len(res) == n - 1
    assert [(c.from_wave, c.to_wave) for c in res] == list(zip(ys[:-1], ys[1:], strict=True))
    assert sum(c.delta for c in res) == pytest.approx(values[-1] - values[0], abs=1e-9)
    for c in res:
        assert c.mdc == pytest.approx(2.80 * c.se, rel=1e-15)
        assert c.significant == (c.p < 0.05)


def test_tied_values_fall_back_to_tie_corrected_normal_p() -> None:
    # y = 1, 2, 2, 3, 4: S = 9 concordant - 0 discordant, one tied pair in y.
    # tau_b = 9 / sqrt(10 * 9) = 0.9486833; Var(S) = (5*4*15 - 2*1*9) / 18 = 15.666667,
    # z = 9 / sqrt(15.666667) = 2.273837, p = 2 (1 - Phi(z)) = 0.0229774 (hand computation).
    res = series_trend([2021, 2022, 2023, 2024, 2025], [1.0, 2.0, 2.0, 3.0, 4.0])
    assert res.kendall_tau == pytest.approx(9 / math.sqrt(90), rel=1e-12)
    assert_printed(res.kendall_p, "0.0229774")
    assert res.direction == "up"


def test_constant_series_has_no_trend() -> None:
    res = series_trend([2021, 2022, 2023], [5.0, 5.0, 5.0])
    assert res.sen_slope == 0.0
    assert math.isnan(res.kendall_tau) and math.isnan(res.kendall_p)
    assert res.direction == "none"


def test_series_trend_equals_the_public_scipy_functions_bit_for_bit() -> None:
    """series_trend calls scipy's undecorated functions (speed, see analysis.trends); on
    random series of 3-9 points, with ties, a constant series and unsorted years, every figure
    equals the public scipy.stats functions' exactly."""
    rng = np.random.default_rng(20261203)
    cases = []
    for _ in range(400):
        n = int(rng.integers(3, 10))
        years = rng.choice(np.arange(2000, 2040), n, replace=False)
        cases.append((years, rng.normal(60, 4, n)))
    cases.append((np.array([2021, 2022, 2023, 2024]), np.array([50.0, 51.0, 51.0, 53.0])))
    cases.append((np.array([2021, 2022, 2023]), np.array([50.0, 50.0, 50.0])))
    for years, values in cases:
        got = series_trend(years, values)
        order = np.argsort(years)
        x, y = years[order].astype(float), values[order]
        n = len(y)
        sen = stats.theilslopes(y, x, alpha=0.95, method="separate")
        assert (got.sen_slope, got.sen_ci_low, got.sen_ci_high) == (
            sen.slope, sen.low_slope, sen.high_slope)
        if n >= 4:
            fit = stats.linregress(x, y)
            half = stats.t.ppf(0.975, n - 2) * fit.stderr
            assert (got.ols_slope, got.ols_slope_se, got.ols_p) == (
                fit.slope, fit.stderr, fit.pvalue)
            assert (got.ols_ci_low, got.ols_ci_high) == (fit.slope - half, fit.slope + half)
        if np.ptp(y) > 0:
            method = "exact" if np.unique(y).size == n else "asymptotic"
            kt = stats.kendalltau(x, y, method=method)
            assert (got.kendall_tau, got.kendall_p) == (kt.statistic, kt.pvalue)
        else:
            assert np.isnan(got.kendall_tau) and np.isnan(got.kendall_p)
