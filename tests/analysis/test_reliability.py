"""Tests for analysis.reliability against R psych / lavaan reference values.

Reference files: tests/reference/kaltim/expected/{reliability,items}.csv, computed with
R 4.2, psych 2.2.9 ``alpha`` and lavaan 0.6.14 ``cfa(std.lv = TRUE)`` (reference README).
Tolerances from METHODS.md section 9: alpha and item statistics 1e-9, omega 1e-3.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.reliability import (
    ItemStats,
    ReliabilityResult,
    alpha_from_cov,
    cronbach_alpha,
    feldt_ci,
    omega_total,
    reliability,
)
from tests.analysis.reference import (
    keyed_items,
    read_expected,
    read_instrument,
    read_responses,
)


@functools.cache
def _reference_results() -> dict[tuple[int, str], ReliabilityResult]:
    instrument, responses = read_instrument(), read_responses()
    out = {}
    for wave, group in responses.groupby("wave"):
        for dim in instrument["dimensions"]:
            x = keyed_items(group, instrument, [dim])
            out[(int(wave), dim["code"])] = reliability(x, [i["code"] for i in dim["items"]])
    return out


# --------------------------------------------------------------------------------------------
# Reference data set: every wave x dimension
# --------------------------------------------------------------------------------------------


def test_reliability_reproduces_reference_for_every_wave_and_dimension() -> None:
    # Expected: expected/reliability.csv (R psych 2.2.9 alpha; lavaan 0.6.14 for omega).
    expected = read_expected("reliability.csv")
    results = _reference_results()
    assert len(expected) == 25
    assert set(results) == {(int(w), d) for w, d in zip(expected.wave, expected.dimension,
                                                        strict=True)}
    for row in expected.itertuples(index=False):
        got = results[(int(row.wave), row.dimension)]
        assert got.n == row.n
        assert got.k == row.k
        assert got.alpha == pytest.approx(row.alpha, abs=1e-9)
        assert got.alpha_std == pytest.approx(row.alpha_std, abs=1e-9)
        assert got.alpha_ci_low == pytest.approx(row.alpha_ci_low, abs=1e-9)
        assert got.alpha_ci_high == pytest.approx(row.alpha_ci_high, abs=1e-9)
        assert got.omega_total == pytest.approx(row.omega_total, abs=1e-3)
        assert got.omega_status == "ok"


def test_item_statistics_reproduce_reference_for_every_item() -> None:
    # Expected: expected/items.csv (R psych 2.2.9 alpha: r.drop, alpha.drop, mean, sd).
    expected = read_expected("items.csv")
    results = _reference_results()
    assert len(expected) == 150
    for row in expected.itertuples(index=False):
        items = {it.item: it for it in results[(int(row.wave), row.dimension)].items}
        got = items[row.item]
        assert got.item_rest_r == pytest.approx(row.item_rest_r, abs=1e-9)
        assert got.alpha_if_deleted == pytest.approx(row.alpha_if_deleted, abs=1e-9)
        assert got.mean == pytest.approx(row.mean, abs=1e-9)
        assert got.sd == pytest.approx(row.sd, abs=1e-9)


def test_reliability_uses_complete_cases_within_the_dimension(ref_instrument,
                                                               ref_responses) -> None:
    dim = ref_instrument["dimensions"][0]
    group = ref_responses[ref_responses.wave == 2021]
    x = keyed_items(group, ref_instrument, [dim])
    complete = x[~np.isnan(x).any(axis=1)]
    got = reliability(x, [i["code"] for i in dim["items"]])
    # 1513: expected/reliability.csv, wave 2021, S1
    assert got.n == complete.shape[0] == 1513
    assert got.alpha == cronbach_alpha(complete)


# --------------------------------------------------------------------------------------------
# Small test vectors (shared/reference/test_vectors.md); tolerance = printed digits
# --------------------------------------------------------------------------------------------

TV1 = np.array(
    [[4, 5, 4, 5], [3, 3, 4, 3], [5, 5, 5, 4], [2, 3, 2, 2], [4, 4, 3, 4], [3, 2, 3, 3]],
    dtype=float,
)


def test_vector_1_cronbach_alpha_item_statistics() -> None:
    # test_vectors.md item 1: R psych 2.2.9 alpha on the 6 x 4 rows.
    got = reliability(TV1, ["i1", "i2", "i3", "i4"])
    assert got.alpha == pytest.approx(0.9197397, abs=5e-8)
    assert cronbach_alpha(TV1) == pytest.approx(0.9197397, abs=5e-8)
    assert [it.alpha_if_deleted for it in got.items] == pytest.approx(
        [0.8653846, 0.9036145, 0.9190141, 0.8933824], abs=5e-8
    )
    assert [it.item_rest_r for it in got.items] == pytest.approx(
        [0.9068504, 0.8025152, 0.7437318, 0.8232906], abs=5e-8
    )
    assert got.n == 6
    assert got.k == 4
    assert [it.item for it in got.items] == ["i1", "i2", "i3", "i4"]
    # Item means / sds of the rows, by hand: i2 = (5+3+5+3+4+2)/6 = 22/6.
    assert got.items[1].mean == pytest.approx(22 / 6, abs=1e-15)
    assert got.items[0].sd == pytest.approx(np.sqrt(5.5 / 5), abs=1e-15)


@pytest.mark.parametrize(
    ("alpha", "n", "k", "low", "high", "tol"),
    [
        # test_vectors.md item 2, R qf: alpha .80, n 400, k 5.
        (0.80, 400, 5, 0.767249, 0.8293979, 5e-7),
        # test_vectors.md item 2, same formula.
        (0.70, 100, 4, 0.5910, 0.7857, 5e-5),
        (0.85, 1000, 23, 0.8362, 0.8631, 5e-5),
    ],
)
def test_vector_2_feldt_ci(
    alpha: float, n: int, k: int, low: float, high: float, tol: float
) -> None:
    got_low, got_high = feldt_ci(alpha, n, k)
    assert got_low == pytest.approx(low, abs=tol)
    assert got_high == pytest.approx(high, abs=tol)


def test_vector_7_omega_total_from_standardised_loadings() -> None:
    # test_vectors.md item 7: loadings .70 .80 .60 .75, residuals 1 - l^2 -> 0.806604.
    lam = np.array([0.70, 0.80, 0.60, 0.75])
    assert omega_total(lam, 1.0 - lam**2) == pytest.approx(0.806604, abs=5e-7)


def test_standardised_alpha_equals_alpha_of_the_correlation_matrix() -> None:
    got = reliability(TV1, ["a", "b", "c", "d"])
    corr = np.corrcoef(TV1, rowvar=False)
    assert got.alpha_std == pytest.approx(alpha_from_cov(corr), abs=1e-14)


def test_feldt_ci_at_other_levels_brackets_alpha() -> None:
    low90, high90 = feldt_ci(0.8, 400, 5, level=0.90)
    low95, high95 = feldt_ci(0.8, 400, 5)
    assert low95 < low90 < 0.8 < high90 < high95


# --------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------


def test_reliability_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="2-D"):
        reliability(np.ones(5), ["a"])
    with pytest.raises(ValueError, match="at least 2 items"):
        reliability(np.ones((5, 1)), ["a"])
    with pytest.raises(ValueError, match="3 item codes for 4 columns"):
        reliability(TV1, ["a", "b", "c"])
    with pytest.raises(ValueError, match="duplicates"):
        reliability(TV1, ["a", "b", "c", "a"])
    with pytest.raises(ValueError, match="at least 2 complete cases"):
        reliability(np.array([[1.0, 2.0], [np.nan, 1.0]]), ["a", "b"])
    with pytest.raises(ValueError, match="infinite"):
        reliability(np.array([[1.0, np.inf], [2.0, 1.0], [3.0, 3.0]]), ["a", "b"])
    with pytest.raises(ValueError, match="n >= 2 and k >= 2"):
        feldt_ci(0.8, 1, 5)
    with pytest.raises(ValueError, match="equal length"):
        omega_total([0.5, 0.6], [0.3])


def test_two_items_have_no_omega_and_no_alpha_if_deleted() -> None:
    got = reliability(TV1[:, :2], ["a", "b"])
    assert np.isnan(got.omega_total)
    assert got.omega_status == "not_identified"
    assert all(np.isnan(it.alpha_if_deleted) for it in got.items)
    # Two items: item-rest r is the inter-item correlation.
    r = np.corrcoef(TV1[:, 0], TV1[:, 1])[0, 1]
    assert got.items[0].item_rest_r == pytest.approx(r, abs=1e-14)


def test_improper_one_factor_solution_gives_nan_omega_not_an_error() -> None:
    # Small sample whose one-factor ML estimate does not exist (a residual variance runs to
    # minus infinity: item 4 correlates .42 and .28 with items 2 and 3, which correlate -.10).
    corr = np.array([
        [1.0, 0.017, 0.245, 0.215],
        [0.017, 1.0, -0.097, 0.418],
        [0.245, -0.097, 1.0, 0.282],
        [0.215, 0.418, 0.282, 1.0],
    ])
    rng = np.random.default_rng(0)
    z = rng.standard_normal((33, 4))
    z = (z - z.mean(axis=0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False)).T)
    x = z @ np.linalg.cholesky(corr).T
    got = reliability(x, list("abcd"))
    assert got.omega_status == "not_converged"
    assert np.isnan(got.omega_total)
    assert np.isfinite(got.alpha)
    assert reliability(x, list("abcd"), omega=False).omega_status == "skipped"


def test_result_is_frozen() -> None:
    got = reliability(TV1, ["a", "b", "c", "d"])
    with pytest.raises(AttributeError):
        got.alpha = 0.0  # type: ignore[misc]
    assert isinstance(got.items[0], ItemStats)


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------


def _simulate_likert(
    rng: np.random.Generator, n: int, loadings: np.ndarray, n_categories: int
) -> np.ndarray:
    """Congeneric one-factor data cut into 1..K categories at equally spaced thresholds."""
    eta = rng.standard_normal(n)
    y = np.outer(eta, loadings) + rng.standard_normal((n, loadings.size)) * np.sqrt(
        1.0 - loadings**2
    )
    cuts = np.linspace(-2.0, 2.0, n_categories - 1)
    return (np.searchsorted(cuts, y) + 1).astype(float)


@settings(max_examples=60, deadline=None)
@given(
    column=st.lists(st.integers(1, 5), min_size=3, max_size=60).filter(
        lambda c: len(set(c)) > 1
    ),
    k=st.integers(2, 8),
)
def test_alpha_of_identical_items_is_one(column: list[int], k: int) -> None:
    x = np.tile(np.asarray(column, dtype=float)[:, None], (1, k))
    got = reliability(x, [f"i{j}" for j in range(k)])
    assert got.alpha == pytest.approx(1.0, abs=1e-12)
    assert got.alpha_std == pytest.approx(1.0, abs=1e-12)
    assert cronbach_alpha(x) == pytest.approx(1.0, abs=1e-12)
    # A singular covariance matrix has no ML one-factor solution: omega is reported as NaN.
    assert np.isnan(got.omega_total)
    assert got.omega_status == ("singular" if k >= 3 else "not_identified")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(30, 400), k=st.integers(3, 7))
def test_permuting_respondents_changes_nothing(seed: int, n: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    x = _simulate_likert(rng, n, rng.uniform(0.5, 0.85, size=k), 5)
    x[rng.random(x.shape) < 0.03] = np.nan
    codes = [f"i{j}" for j in range(k)]
    a = reliability(x, codes)
    b = reliability(x[rng.permutation(n)], codes)
    assert a.n == b.n
    for f in ("alpha", "alpha_std", "alpha_ci_low", "alpha_ci_high"):
        assert getattr(b, f) == pytest.approx(getattr(a, f), abs=1e-12, nan_ok=True)
    assert b.omega_total == pytest.approx(a.omega_total, abs=1e-8, nan_ok=True)
    for ia, ib in zip(a.items, b.items, strict=True):
        for f in ("item_rest_r", "alpha_if_deleted", "mean", "sd"):
            assert getattr(ib, f) == pytest.approx(getattr(ia, f), abs=1e-12, nan_ok=True)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.sampled_from([3, 4, 5, 8]))
def test_seven_point_scale_and_other_sizes(seed: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    x = _simulate_likert(rng, 500, np.full(k, 0.7), 7)
    got = reliability(x, [f"i{j}" for j in range(k)])
    assert got.k == k
    assert got.n == 500
    assert set(np.unique(x)) <= set(range(1, 8))
    # Alpha from its definition on the same data (numpy's own variances, ddof = 1).
    total_var = np.var(x.sum(axis=1), ddof=1)
    manual = k / (k - 1) * (1.0 - np.var(x, axis=0, ddof=1).sum() / total_var)
    assert got.alpha == pytest.approx(manual, abs=1e-12)
    # Item-rest r from its definition.
    rest = x.sum(axis=1) - x[:, 0]
    assert got.items[0].item_rest_r == pytest.approx(np.corrcoef(x[:, 0], rest)[0, 1], abs=1e-12)
    # Alpha-if-deleted from its definition.
    if k > 2:
        assert got.items[0].alpha_if_deleted == pytest.approx(cronbach_alpha(x[:, 1:]), abs=1e-12)
    # Equal true loadings (tau-equivalent): omega and alpha nearly coincide.
    assert got.omega_total == pytest.approx(got.alpha, abs=0.02)
    assert got.alpha_ci_low < got.alpha < got.alpha_ci_high


def test_large_sample_is_exact_and_fast() -> None:
    # Covariance from centred cross-products stays exact at 200,000 rows (vs numpy.cov).
    rng = np.random.default_rng(20261128)
    x = _simulate_likert(rng, 200_000, np.array([0.6, 0.7, 0.5, 0.65, 0.55, 0.6]), 5)
    got = reliability(x, list("abcdef"))
    cov = np.cov(x, rowvar=False)
    assert got.alpha == pytest.approx(alpha_from_cov(cov), abs=1e-12)
    assert [it.sd for it in got.items] == pytest.approx(np.sqrt(np.diag(cov)), abs=1e-12)
