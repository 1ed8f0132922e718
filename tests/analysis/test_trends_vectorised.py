"""The vectorised `trend_table` / `change_table` against the per-series definitions.

Reference: a loop of `analysis.trends.series_trend` / `series_changes` over the published
points of every (region, dimension) series -- the implementation `trend_table` and
`change_table` had before issue 15 -- on seeded random tables with thousands of series of
2..10 points: gaps (missing years), unequal year spacings, suppressed rows and rows without an
estimate, ties, constant series, 7-point-scale-like rounded values, near-perfect linear fits and
near-zero slopes. Every column must agree: discrete columns exactly; Theil-Sen, Kendall and
change figures bit for bit; OLS figures to 1e-12 relative (no absolute slack); NaN in the same
places.
"""

from __future__ import annotations

import functools
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest

from analysis import trends
from analysis.trends import (
    CHANGE_COLUMNS,
    TREND_COLUMNS,
    change_table,
    series_changes,
    series_trend,
    series_trends,
    trend_table,
    year_change,
    year_changes,
)

RTOL = 1e-12
_EXACT_TREND = ("region", "dimension", "n_points", "first_wave", "last_wave", "direction")
_SAME_BITS_TREND = ("sen_slope", "sen_ci_low", "sen_ci_high", "kendall_tau", "kendall_p")
_EXACT_CHANGE = ("region", "dimension", "from_wave", "to_wave", "significant")


# ---------------------------------------------------------------- reference (the loop)
def _published_groups(estimates: pd.DataFrame) -> pd.core.groupby.DataFrameGroupBy:
    keep = ~estimates["suppressed"].astype(bool) & estimates["estimate"].notna()
    pub = estimates.loc[keep].astype({"wave": "int64", "estimate": "float64", "se": "float64"})
    return pub.sort_values(["region", "dimension", "wave"], kind="stable").groupby(
        ["region", "dimension"], sort=True
    )


def loop_trend_table(estimates: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (region, dimension), grp in _published_groups(estimates):
        res = series_trend(grp["wave"].to_numpy(), grp["estimate"].to_numpy())
        rows.append({"region": region, "dimension": dimension, **asdict(res)})
    out = pd.DataFrame(rows, columns=list(TREND_COLUMNS))
    return out.astype({"n_points": "int64", "first_wave": "int64", "last_wave": "int64"})


def loop_change_table(estimates: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (region, dimension), grp in _published_groups(estimates):
        for res in series_changes(
            grp["wave"].to_numpy(), grp["estimate"].to_numpy(), grp["se"].to_numpy()
        ):
            rows.append({"region": region, "dimension": dimension, **asdict(res)})
    out = pd.DataFrame(rows, columns=list(CHANGE_COLUMNS))
    return out.astype({"from_wave": "int64", "to_wave": "int64", "significant": "bool"})


# ---------------------------------------------------------------- random tables
@functools.cache
def random_estimates(seed: int, n_series: int = 4000) -> pd.DataFrame:
    """Seeded estimates table: per series 2..10 waves drawn from 2005..2030 (gaps, unequal
    spacings), a value kind among continuous / trending / rounded 7-point / 1-decimal /
    constant / tied / exactly linear / near-flat, ~12 % suppressed rows (estimate kept or
    blank) and ~3 % rows with no estimate. Cached: callers must not modify it (copy first)."""
    rng = np.random.default_rng(seed)
    pool = np.arange(2005, 2031)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in
                                         ("wave", "series", "estimate", "se", "suppressed")}
    for s in range(n_series):
        n = int(rng.integers(2, 11))
        years = np.sort(rng.choice(pool, n, replace=False))
        if rng.random() < 0.3:  # a regular schedule: consecutive years
            start = int(rng.integers(2005, 2031 - n + 1))
            years = np.arange(start, start + n)
        kind = int(rng.integers(0, 8))
        t = (years - years[0]).astype(float)
        if kind == 0:  # continuous index values
            y = rng.normal(65, 8, n)
        elif kind == 1:  # trend plus noise
            y = 60 + rng.normal(0, 2) * t + rng.normal(0, 1.5, n)
        elif kind == 2:  # 7-point scale means rounded to whole points (many ties)
            y = np.round(rng.uniform(1, 7, n))
        elif kind == 3:  # rounded to one decimal (ties, zero slopes by cancellation)
            y = np.round(rng.normal(4.5, 0.2, n), 1)
        elif kind == 4:  # constant
            y = np.full(n, np.round(rng.uniform(1, 100), 2))
        elif kind == 5:  # explicit ties among continuous values
            y = rng.normal(70, 5, n)
            y[rng.integers(0, n)] = y[rng.integers(0, n)]
        elif kind == 6:  # exactly / nearly linear: |r| ~ 1
            y = 50 + 0.37 * t + rng.choice([0.0, 1e-9, 1e-4]) * rng.normal(size=n)
        else:  # palindromic around the middle year: slope ~ 0
            base = np.round(rng.normal(60, 3, n), 2)
            y = (base + base[::-1]) / 2
        suppressed = rng.random(n) < 0.12
        estimate = y.copy()
        blank = suppressed & (rng.random(n) < 0.5)
        estimate[blank] = np.nan  # exported shape: suppressed rows without numbers
        missing = ~suppressed & (rng.random(n) < 0.03)
        estimate[missing] = np.nan  # published row without an estimate
        se = np.round(rng.uniform(0.2, 4.0, n), 3)
        se[rng.random(n) < 0.02] = np.nan  # a missing SE: change z, p NaN, not significant
        se[rng.random(n) < 0.02] = 0.0  # a degenerate SE
        for key, arr in (("wave", years), ("series", np.full(n, s)), ("estimate", estimate),
                         ("se", se), ("suppressed", suppressed)):
            cols[key].append(arr)
    flat = {k: np.concatenate(v) for k, v in cols.items()}
    series = flat.pop("series")
    dims = np.array(["INDEX", "S1", "S2", "S3", "S4", "S5"], dtype=object)
    est = pd.DataFrame(
        {
            "wave": flat["wave"],
            "region": np.array([f"R{k:04d}" for k in range(n_series // 6 + 1)],
                               dtype=object)[series // 6],
            "dimension": dims[series % 6],
            "estimate": flat["estimate"],
            "se": flat["se"],
            "suppressed": flat["suppressed"],
        }
    )
    return est.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # any row order


def assert_columns_equal(
    got: pd.DataFrame, ref: pd.DataFrame, exact: tuple[str, ...], bitwise: tuple[str, ...] = ()
) -> None:
    """`exact`: equal values; `bitwise`: identical floats (NaN in the same places); the other
    columns to RTOL relative."""
    assert tuple(got.columns) == tuple(ref.columns)
    assert len(got) == len(ref)
    assert list(got.dtypes) == list(ref.dtypes)
    for col in ref.columns:
        a, b = got[col], ref[col]
        if col in exact:
            assert a.tolist() == b.tolist(), col
            continue
        a_f, b_f = a.to_numpy(float), b.to_numpy(float)
        if col in bitwise:
            assert np.array_equal(a_f, b_f, equal_nan=True), col
            continue
        assert np.array_equal(np.isnan(a_f), np.isnan(b_f)), col
        fin = ~np.isnan(b_f)
        bad = np.abs(a_f[fin] - b_f[fin]) > RTOL * np.abs(b_f[fin])
        assert not bad.any(), (col, int(bad.sum()), a_f[fin][bad][:3], b_f[fin][bad][:3])


# ---------------------------------------------------------------- tests
@pytest.mark.parametrize("seed", [20261203, 15])
def test_trend_table_equals_the_series_trend_loop(seed: int) -> None:
    est = random_estimates(seed)
    got = trend_table(est)
    ref = loop_trend_table(est)
    # Theil-Sen and Kendall are the same operations on the same numbers: the same bits; OLS
    # sums are numpy sums here, BLAS dot products in linregress: 1e-12 relative
    assert_columns_equal(got, ref, _EXACT_TREND, bitwise=_SAME_BITS_TREND)
    # the table covers what it should: short series, ties, constants, significant trends
    assert set(got["n_points"]) == set(range(1, 11))
    assert (got["direction"] == "up").any() and (got["direction"] == "down").any()
    assert got["direction"].isna().any()


@pytest.mark.parametrize("seed", [20261203])
def test_change_table_equals_the_series_changes_loop(seed: int) -> None:
    est = random_estimates(seed)
    got = change_table(est)
    ref = loop_change_table(est)
    assert_columns_equal(got, ref, _EXACT_CHANGE,
                         bitwise=("delta", "se", "z", "p", "mdc"))  # year_change's operations
    assert got["significant"].any() and got["p"].isna().any()


def test_most_series_take_the_vectorised_route() -> None:
    """The scalar fallback is for ill-conditioned OLS figures and constant series only: on
    continuous index-like series (the national case) it stays rare."""
    rng = np.random.default_rng(3)
    y = 60 + rng.normal(0, 1, (3090, 1)) * np.arange(5) + rng.normal(0, 2, (3090, 5))
    block = trends._trend_block(np.arange(2021, 2026, dtype=float), y)
    assert block["fallback"].mean() < 0.05  # ~2 % (see analysis.trends._ILL_CONDITIONED)
    # and the fallback flags the cases it exists for
    flat = np.array([[60.0, 61.5, 60.4, 61.5, 60.0]])  # palindrome: zero slope by cancellation
    line = np.array([[50.1, 50.2, 50.3, 50.4, 50.5]])  # |r| = 1 up to rounding
    const = np.array([[4.2, 4.2, 4.2, 4.2, 4.2]])
    for case in (flat, line, const):
        assert trends._trend_block(np.arange(2021, 2026, dtype=float), case)["fallback"].all()


def test_exact_kendall_table_matches_scipy_on_random_permutations() -> None:
    # independent check of the (n, D) table: kendalltau(method="exact") on random permutations
    from scipy import stats

    rng = np.random.default_rng(11)
    for n in range(3, 14):
        for _ in range(60):
            perm = rng.permutation(n).astype(float)
            dis = sum(perm[i] > perm[j] for i in range(n) for j in range(i + 1, n))
            kt = stats.kendalltau(np.arange(n), perm, method="exact")
            assert trends._kendall_exact(n, int(dis)) == (kt.statistic, kt.pvalue)


def test_tables_raise_the_series_functions_errors() -> None:
    est = random_estimates(5, n_series=30).copy()
    est.loc[est.index[~est.suppressed & est.estimate.notna()][0], "estimate"] = np.inf
    with pytest.raises(ValueError, match="finite"):
        trend_table(est)
    est2 = random_estimates(5, n_series=30).copy()
    grp = est2[~est2.suppressed & est2.estimate.notna()].groupby(["region", "dimension"])
    key = next(k for k, g in grp if len(g) >= 2)
    row = grp.get_group(key).index[0]
    est2.loc[row, "se"] = -1.0
    with pytest.raises(ValueError, match=">= 0"):
        change_table(est2)


def test_series_trends_equals_series_trend_one_by_one() -> None:
    # unsorted years, ties, constants, 1..10 points; every field equal (1e-12 relative)
    rng = np.random.default_rng(99)
    years, values = [], []
    for k in range(1500):
        n = int(rng.integers(1, 11))
        years.append(rng.choice(np.arange(1995, 2035), n, replace=False))
        vals = np.round(rng.normal(5, 1, n), int(rng.integers(0, 3)))
        values.append(np.full(n, 3.5) if k % 50 == 0 else vals)
    got = series_trends(years, values)
    assert len(got) == len(years)
    for res, yrs, vals in zip(got, years, values, strict=True):
        ref = series_trend(yrs, vals)
        for field, want in asdict(ref).items():
            value = getattr(res, field)
            if isinstance(want, float) and not np.isnan(want):
                assert abs(value - want) <= RTOL * abs(want), (field, value, want)
            elif isinstance(want, float):
                assert np.isnan(value), field
            else:
                assert value == want and type(value) is type(want), field
    assert series_trends([], []) == []
    with pytest.raises(ValueError, match="unique"):
        series_trends([[2021, 2021]], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="finite"):
        series_trends([[2021, 2022, 2023]], [[1.0, np.nan, 2.0]])


def test_year_changes_equals_year_change_pair_by_pair() -> None:
    # the same operations element by element: the same bits, NaN / 0 / inf SEs included
    rng = np.random.default_rng(4)
    k = 3000
    a = rng.integers(2000, 2030, k)
    b = a + rng.integers(1, 4, k)
    e0, e1 = rng.normal(60, 5, k), rng.normal(60, 5, k)
    s0, s1 = rng.uniform(0, 3, k), rng.uniform(0, 3, k)
    s0[::37], s1[::41], s0[::53], s1[::53], s1[::97] = np.nan, np.nan, 0.0, 0.0, np.inf
    got = year_changes(a, b, e0, s0, e1, s1)
    ref = pd.DataFrame([asdict(year_change(*args)) for args in zip(
        a.tolist(), b.tolist(), e0.tolist(), s0.tolist(), e1.tolist(), s1.tolist(), strict=True)])
    assert tuple(got.columns) == tuple(ref.columns) == CHANGE_COLUMNS[2:]
    for col in ref.columns:
        assert np.array_equal(got[col].to_numpy(), ref[col].to_numpy(),
                              equal_nan=col not in ("significant",)), col
    assert got["p"].isna().sum() > 100 and got["significant"].any()
    with pytest.raises(ValueError, match="must precede"):
        year_changes(b[:3], a[:3], e0[:3], s0[:3], e1[:3], s1[:3])


# --- analysis.bridges.segmented_tables (the index run's trends stage) -------------------------


def _segmented_world(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, dict, dict[int, int]]:
    """60 regions, 2 codes, waves 2019-2024 with a version change at 2022: ``S1`` one linked
    series over both versions (bridge estimates for its waves), ``S2`` broken into two full
    series; ~10 % of the full and bridge rows suppressed or without an estimate."""
    from analysis.bridges import Segment

    rng = np.random.default_rng(seed)
    years = list(range(2019, 2025))
    version = {y: 1 if y < 2022 else 2 for y in years}
    rows, brows = [], []
    for r in range(60):
        for code in ("S1", "S2"):
            for y in years:
                est = float(np.round(rng.normal(60 + 0.8 * (y - 2019), 4), 1 + r % 3))
                rows.append({"wave": y, "region": f"R{r:02d}", "dimension": code,
                             "estimate": est if rng.random() > 0.05 else np.nan,
                             "se": float(rng.uniform(0.5, 3)),
                             "suppressed": bool(rng.random() < 0.05)})
                if code == "S1":
                    brows.append({"wave": y, "region": f"R{r:02d}", "dimension": code,
                                  "series": 1, "estimate": est + float(rng.normal(0, 1)),
                                  "se": float(rng.uniform(0.5, 3)),
                                  "suppressed": bool(rng.random() < 0.1)})
    plan = {
        "S1": [Segment("S1", 1, tuple(years), (1, 2), None)],
        "S2": [Segment("S2", 1, tuple(years[:3]), (1,), None),
               Segment("S2", 2, tuple(years[3:]), (2,), None)],
    }
    return pd.DataFrame(rows), pd.DataFrame(brows), plan, version


@pytest.mark.parametrize("seed", [3, 11])
def test_segmented_tables_equal_the_scalar_definitions(seed):
    """Every trend row of `segmented_tables` is `series_trend` of its series' published points
    (full estimates, or the bridge estimates on the linked basis) and every computed change
    row `year_change` of its two points; series breaks and missing bridges stay blank."""
    from analysis.bridges import (
        BASIS_LINKED,
        REASON_BRIDGE_MISSING,
        REASON_SERIES_BREAK,
        segmented_tables,
    )

    full, bridge, plan, version = _segmented_world(seed)
    trends_df, changes_df = segmented_tables(full, bridge, plan, version)

    def published(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[~frame["suppressed"] & frame["estimate"].notna()]
    pub = published(full).set_index(["region", "dimension", "wave"])
    bpub = published(bridge).set_index(["region", "dimension", "wave"])
    assert len(trends_df) > 100 and (trends_df["basis"] == BASIS_LINKED).any()
    for row in trends_df.to_dict("records"):
        seg = plan[row["dimension"]][row["series"] - 1]
        source = bpub if row["basis"] == BASIS_LINKED else pub
        pts = source.loc[(row["region"], row["dimension"])]
        pts = pts[pts.index.isin(seg.waves)].sort_index()
        expected = asdict(series_trend(pts.index.to_numpy(int), pts["estimate"].to_numpy()))
        for key, value in expected.items():
            got = row[key]
            if isinstance(value, float):
                np.testing.assert_allclose(got, value, rtol=RTOL, atol=0, equal_nan=True,
                                           err_msg=key)
            else:
                # a missing direction (too few points) is blank in the table
                assert got == value or (value is None and (got is None or pd.isna(got))), key
    reasons = set(changes_df["reason"])
    assert {"", REASON_SERIES_BREAK, REASON_BRIDGE_MISSING} <= reasons
    for row in changes_df.to_dict("records"):
        if row["reason"]:
            assert np.isnan(row["delta"]) and not row["significant"]
            continue
        source = bpub if row["basis"] == BASIS_LINKED else pub
        a = source.loc[(row["region"], row["dimension"], row["from_wave"])]
        b = source.loc[(row["region"], row["dimension"], row["to_wave"])]
        expected = asdict(year_change(row["from_wave"], row["to_wave"], a["estimate"], a["se"],
                                      b["estimate"], b["se"]))
        for key, value in expected.items():
            if isinstance(value, float):
                assert row[key] == value or (np.isnan(value) and np.isnan(row[key])), key
            else:
                assert row[key] == value, key
