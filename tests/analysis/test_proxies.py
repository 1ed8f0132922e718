"""Tests of analysis.proxies (METHODS.md section 7).

Reference values: tests/reference/kaltim/expected/proxy_validation.csv (scipy 1.17,
computed independently from indicators.json, indicator_values.csv and expected/estimates.csv).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis.proxies import (
    PROXY_COLUMNS,
    IndicatorMeta,
    ProxyValidation,
    correlate_proxy,
    indicator_meta,
    proxy_pairs,
    validate_proxies,
    validate_proxy,
)
from tests.analysis.reference import (
    read_estimates,
    read_expected,
    read_indicator_values,
    read_indicators,
)

TOL = 1e-6  # METHODS.md section 9 (trend/validation figures)


def _estimates(rows: list[tuple[str, int, float, bool]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"wave": y, "region": r, "dimension": "INDEX", "estimate": e, "suppressed": s}
            for r, y, e, s in rows
        ]
    )


def _values(code: str, rows: list[tuple[str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"indicator": code, "region": r, "year": y, "value": v} for r, y, v in rows]
    )


POS = IndicatorMeta("PARTISIPASI", "positive", "outcome")
NEG = IndicatorMeta("KONFLIK", "negative", "outcome")
OUT = IndicatorMeta("SOSIALISASI", "positive", "output")


# ---------------------------------------------------------------- reference: kaltim
def test_validate_proxies_reproduces_reference_proxy_validation_csv() -> None:
    got = validate_proxies(read_indicators(), read_indicator_values(), read_estimates())
    expected = read_expected("proxy_validation.csv", bools=("sign_ok", "accepted"))
    assert tuple(got.columns) == PROXY_COLUMNS == tuple(expected.columns)
    # same row set: the two outcome proxies; the two output indicators get no row
    assert (
        sorted(got["indicator"])
        == sorted(expected["indicator"])
        == ["KONFLIK_SARA", "PARTISIPASI_MUSRENBANG"]
    )
    merged = got.merge(expected, on="indicator", suffixes=("", "_ref"), validate="one_to_one")
    for col in PROXY_COLUMNS[1:]:
        a, b = merged[col], merged[f"{col}_ref"]
        if col in ("n_pairs", "sign_ok", "accepted"):
            assert a.tolist() == b.tolist(), col
        else:
            assert np.allclose(a.to_numpy(float), b.to_numpy(float), rtol=TOL, atol=0), col


def test_reference_values_written_out() -> None:
    # expected/proxy_validation.csv, row KONFLIK_SARA (negative polarity)
    res = validate_proxy(
        indicator_meta(read_indicators())["KONFLIK_SARA"], read_indicator_values(), read_estimates()
    )
    assert res.n_pairs == 49  # 10 regions x 5 years minus Mahakam Ulu 2023 (n = 20 < 30)
    assert res.spearman_rho == pytest.approx(-0.6144897959183673, rel=TOL)
    assert res.spearman_p == pytest.approx(2.6433391401695564e-06, rel=TOL)
    assert res.pearson_r == pytest.approx(-0.6538654661967941, rel=TOL)
    assert res.pearson_p == pytest.approx(3.4988572965744885e-07, rel=TOL)
    assert res.pearson_ci_low == pytest.approx(-0.7898385879325798, rel=TOL)
    assert res.pearson_ci_high == pytest.approx(-0.4566263672978281, rel=TOL)
    assert res.sign_ok is True and res.accepted is True


def test_pairs_exclude_all_region_and_suppressed_estimates() -> None:
    pairs = proxy_pairs("PARTISIPASI_MUSRENBANG", read_indicator_values(), read_estimates())
    assert len(pairs) == 49
    assert "ALL" not in set(pairs["region"])
    assert not ((pairs["region"] == "6411") & (pairs["year"] == 2023)).any()


def test_output_indicators_are_never_validated() -> None:
    metas = indicator_meta(read_indicators())
    assert metas["PASKIBRAKA_TAHAPAN"].level == "output"
    with pytest.raises(ValueError, match="output indicator"):
        validate_proxy(metas["PASKIBRAKA_TAHAPAN"], read_indicator_values(), read_estimates())


# ---------------------------------------------------------------- hand-computed values
def test_correlate_proxy_small_example() -> None:
    # x = 1..5, y = 2, 4, 5, 4, 5 (hand computation):
    # Pearson r = 6 / sqrt(10 * 6) = 0.7745967; Spearman on ranks (1, 2.5, 4.5, 2.5, 4.5)
    # rho = 7 / sqrt(10 * 9) = 0.7378648; Fisher CI = tanh(atanh(r) -+ 1.959964 / sqrt(2)).
    x, y = [1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 4.0, 5.0, 4.0, 5.0]
    res = correlate_proxy(POS, x, y)
    r = 6 / math.sqrt(60)
    assert res.n_pairs == 5
    assert res.pearson_r == pytest.approx(r, rel=1e-12)
    assert res.spearman_rho == pytest.approx(7 / math.sqrt(90), rel=1e-12)
    half = 1.959963984540054 / math.sqrt(2)
    assert res.pearson_ci_low == pytest.approx(math.tanh(math.atanh(r) - half), rel=1e-12)
    assert res.pearson_ci_high == pytest.approx(math.tanh(math.atanh(r) + half), rel=1e-12)
    # cross-check with scipy's own Fisher interval
    ci = stats.pearsonr(x, y).confidence_interval(0.95)
    assert (res.pearson_ci_low, res.pearson_ci_high) == pytest.approx((ci.low, ci.high))
    # p(rho) by scipy's t approximation: t = rho sqrt(3 / (1 - rho^2)) on 3 df = 0.1546185
    rho = 7 / math.sqrt(90)
    t = rho * math.sqrt(3 / (1 - rho**2))
    assert res.spearman_p == pytest.approx(2 * stats.t.sf(t, 3), rel=1e-9)
    assert res.spearman_p == pytest.approx(0.1546185, abs=5e-8)
    # -> not accepted
    assert res.sign_ok is True and res.accepted is False


def test_wrong_sign_is_not_accepted() -> None:
    # perfectly increasing with the index, but registered as negative polarity
    x = np.arange(10.0)
    res = correlate_proxy(NEG, x, 50 + 2 * x)
    assert res.spearman_rho == pytest.approx(1.0)
    assert res.spearman_p < 1e-6
    assert res.sign_ok is False and res.accepted is False
    assert correlate_proxy(POS, x, 50 + 2 * x).accepted is True


def test_weak_correlation_is_not_accepted_even_if_significant() -> None:
    # |rho| < .40 rejects regardless of p; build a big sample with rho about 0.3
    rng = np.random.default_rng(20261128)
    x = rng.normal(size=2000)
    y = 0.3 * x + math.sqrt(1 - 0.09) * rng.normal(size=2000)
    res = correlate_proxy(POS, x, y)
    assert 0.2 < res.spearman_rho < 0.4 and res.spearman_p < 0.05
    assert res.sign_ok is True and res.accepted is False


@pytest.mark.parametrize("n", [0, 1, 2])
def test_fewer_than_three_pairs_leave_statistics_blank(n: int) -> None:
    res = correlate_proxy(POS, np.arange(float(n)), np.arange(float(n)))
    assert res.n_pairs == n
    assert all(
        math.isnan(getattr(res, f))
        for f in (
            "spearman_rho",
            "spearman_p",
            "pearson_r",
            "pearson_p",
            "pearson_ci_low",
            "pearson_ci_high",
        )
    )
    assert res.sign_ok is None and res.accepted is False


def test_three_pairs_have_no_fisher_interval() -> None:
    res = correlate_proxy(POS, [1.0, 2.0, 3.0], [1.0, 3.0, 2.0])
    assert res.pearson_r == pytest.approx(0.5)  # hand: 1 / sqrt(2 * 2)
    assert math.isnan(res.pearson_ci_low) and math.isnan(res.pearson_ci_high)


def test_constant_variable_leaves_statistics_blank() -> None:
    res = correlate_proxy(POS, [3.0, 3.0, 3.0, 3.0], [1.0, 2.0, 3.0, 4.0])
    assert math.isnan(res.spearman_rho) and res.sign_ok is None and res.accepted is False


def test_table_pairs_only_published_regional_estimates() -> None:
    est = _estimates(
        [
            ("6401", 2021, 60.0, False),
            ("6402", 2021, 55.0, False),
            ("6403", 2021, 50.0, False),
            ("6404", 2021, 45.0, False),
            ("6405", 2021, 99.0, True),
            ("ALL", 2021, 52.0, False),
        ]
    )
    vals = pd.concat(
        [
            _values(
                "KONFLIK",
                [
                    ("6401", 2021, 1.0),
                    ("6402", 2021, 2.0),
                    ("6403", 2021, 3.0),
                    ("6404", 2021, 4.0),
                    ("6405", 2021, 0.1),
                    ("ALL", 2021, 2.5),
                    ("6406", 2021, 9.0),
                ],
            ),
            _values("KONFLIK", [("6401", 2022, float("nan"))]),
            _values("SOSIALISASI", [("6401", 2021, 3.0)]),
        ]
    )
    metas = {"KONFLIK": NEG, "SOSIALISASI": OUT, "PARTISIPASI": POS}
    table = validate_proxies(metas, vals, est)
    assert tuple(table.columns) == PROXY_COLUMNS
    # outputs skipped; outcome without values still gets a row with n_pairs 0
    assert table["indicator"].tolist() == ["KONFLIK", "PARTISIPASI"]
    konflik = table.iloc[0]
    # 6405 suppressed, ALL excluded, 6406 has no estimate, 2022 value missing -> 4 pairs
    assert konflik["n_pairs"] == 4
    assert konflik["spearman_rho"] == pytest.approx(-1.0)
    assert bool(konflik["sign_ok"]) is True
    assert table.iloc[1]["n_pairs"] == 0 and table["sign_ok"].isna().iloc[1]
    # rho = -1 exactly: scipy's t approximation gives p(rho) = 0, so even 4 pairs pass the rule
    assert konflik["spearman_p"] == 0.0
    assert table["accepted"].tolist() == [True, False]
    assert str(table["sign_ok"].dtype) == "boolean" and table["accepted"].dtype == bool


def test_indicator_meta_rejects_bad_definitions() -> None:
    with pytest.raises(ValueError, match="polarity"):
        indicator_meta([{"code": "A", "polarity": "up", "level": "outcome"}])
    with pytest.raises(ValueError, match="level"):
        indicator_meta([{"code": "A", "polarity": "positive", "level": "impact"}])
    with pytest.raises(ValueError, match="reserved"):
        indicator_meta([{"code": "INDEX", "polarity": "positive", "level": "outcome"}])
    with pytest.raises(ValueError, match="duplicate"):
        indicator_meta([{"code": "A", "polarity": "positive", "level": "outcome"}] * 2)
    with pytest.raises(ValueError, match="lacks"):
        indicator_meta([{"code": "A", "polarity": "positive"}])


def test_validate_proxies_rejects_undefined_or_duplicate_values() -> None:
    est = _estimates([("6401", 2021, 60.0, False)])
    with pytest.raises(ValueError, match="undefined indicator"):
        validate_proxies({"KONFLIK": NEG}, _values("X", [("6401", 2021, 1.0)]), est)
    dup = _values("KONFLIK", [("6401", 2021, 1.0), ("6401", 2021, 2.0)])
    with pytest.raises(ValueError, match="duplicate value"):
        validate_proxies({"KONFLIK": NEG}, dup, est)


def test_correlate_proxy_rejects_output_and_bad_arrays() -> None:
    with pytest.raises(ValueError, match="output indicator"):
        correlate_proxy(OUT, [1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="equal length"):
        correlate_proxy(POS, [1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        correlate_proxy(POS, [1.0, float("nan"), 3.0], [1.0, 2.0, 3.0])


# ---------------------------------------------------------------- properties
_pairs = st.integers(min_value=4, max_value=30).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(-1e3, 1e3), min_size=n, max_size=n),
        st.lists(st.floats(0, 100), min_size=n, max_size=n),
        st.permutations(range(n)),
    )
)


@settings(max_examples=60, deadline=None)
@given(data=_pairs)
def test_order_of_pairs_does_not_matter(data: tuple) -> None:
    x, y, perm = data
    a = correlate_proxy(POS, x, y)
    b = correlate_proxy(POS, [x[i] for i in perm], [y[i] for i in perm])
    assert isinstance(a, ProxyValidation)
    assert (a.n_pairs, a.sign_ok, a.accepted) == (b.n_pairs, b.sign_ok, b.accepted)
    for f in ("spearman_rho", "pearson_r", "pearson_ci_low"):
        va, vb = getattr(a, f), getattr(b, f)
        assert (math.isnan(va) and math.isnan(vb)) or va == pytest.approx(vb, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(data=_pairs)
def test_negating_the_proxy_mirrors_polarity(data: tuple) -> None:
    x, y, _ = data
    pos = correlate_proxy(POS, x, y)
    neg = correlate_proxy(NEG, [-v for v in x], y)
    if math.isnan(pos.spearman_rho):
        assert pos.sign_ok is None and neg.sign_ok is None
        return
    assert neg.spearman_rho == pytest.approx(-pos.spearman_rho, abs=1e-12)
    assert neg.spearman_p == pytest.approx(pos.spearman_p, rel=1e-9, abs=1e-12)
    assert neg.pearson_r == pytest.approx(-pos.pearson_r, abs=1e-12)
    if abs(pos.spearman_rho) > 1e-9:
        assert neg.sign_ok == pos.sign_ok
        assert neg.accepted == pos.accepted
