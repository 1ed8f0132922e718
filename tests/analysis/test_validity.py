"""Tests for analysis.validity (ML CFA) against lavaan reference values.

Reference file: tests/reference/kaltim/expected/cfa.csv, computed with R 4.2 and lavaan
0.6.14 ``cfa(model, data, std.lv = TRUE)`` (ML, listwise complete cases, five correlated
factors; reference README). Tolerance from METHODS.md section 9: CFA indices 1e-3.
"""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.reliability import omega_total, reliability
from analysis.validity import (
    CfaConvergenceError,
    CfaResult,
    InvarianceError,
    _Model,
    _MultiGroupModel,
    _MultiGroupObjective,
    _Objective,
    _start_values,
    cfa,
    cfa_from_cov,
    fit_indices,
    invariance_step_rejected,
    measurement_invariance,
)
from tests.analysis.reference import (
    keyed_items,
    read_expected,
    read_instrument,
    read_responses,
)


@functools.cache
def _reference_waves() -> dict[int, tuple[np.ndarray, list[int]]]:
    instrument, responses = read_instrument(), read_responses()
    factor = [k for k, dim in enumerate(instrument["dimensions"]) for _ in dim["items"]]
    return {int(wave): (keyed_items(group, instrument), factor)
            for wave, group in responses.groupby("wave")}


@functools.cache
def _reference_fits() -> dict[int, CfaResult]:
    return {wave: cfa(x, f) for wave, (x, f) in _reference_waves().items()}


# --------------------------------------------------------------------------------------------
# Reference data set: every wave
# --------------------------------------------------------------------------------------------


def test_cfa_reproduces_lavaan_for_every_wave() -> None:
    # Expected: expected/cfa.csv (lavaan 0.6.14, ML, std.lv = TRUE, five correlated factors).
    expected = read_expected("cfa.csv")
    fits = _reference_fits()
    assert sorted(fits) == sorted(int(w) for w in expected.wave)
    for row in expected.itertuples(index=False):
        got = fits[int(row.wave)]
        assert got.n == row.n
        assert got.df == row.df == 395
        assert got.chisq == pytest.approx(row.chisq, abs=1e-3)
        assert got.cfi == pytest.approx(row.cfi, abs=1e-3)
        assert got.tli == pytest.approx(row.tli, abs=1e-3)
        assert got.rmsea == pytest.approx(row.rmsea, abs=1e-3)
        assert got.srmr == pytest.approx(row.srmr, abs=1e-3)
        assert got.converged
        assert got.max_abs_gradient < 1e-6


def test_cfa_2021_reference_details() -> None:
    # expected/cfa.csv, wave 2021: chisq 391.19 < df 395, so lavaan reports CFI 1 (truncated),
    # TLI 1.00106 (not truncated) and RMSEA 0.
    got = _reference_fits()[2021]
    assert got.n == 707
    assert got.cfi == 1.0
    assert got.tli == pytest.approx(1.00106092001833, abs=1e-6)
    assert got.rmsea == 0.0
    # chisq = N F by construction; baseline df = p(p-1)/2 for 30 items.
    assert got.chisq == pytest.approx(got.n * got.fmin, rel=1e-15)
    assert got.baseline_df == 435
    # Factors are oriented so that their loadings are positive on this data.
    assert min(got.loadings) > 0
    corr = np.array(got.factor_correlations)
    assert np.allclose(np.diag(corr), 1.0)
    assert np.allclose(corr, corr.T)
    assert np.all(np.linalg.eigvalsh(corr) > 0)


def test_cfa_baseline_is_the_closed_form_independence_model() -> None:
    x, f = _reference_waves()[2022]
    got = _reference_fits()[2022]
    complete = x[~np.isnan(x).any(axis=1)]
    s = np.cov(complete, rowvar=False, ddof=0)
    expected = complete.shape[0] * (np.sum(np.log(np.diag(s))) - np.linalg.slogdet(s)[1])
    assert got.baseline_chisq == pytest.approx(expected, rel=1e-10)


# --------------------------------------------------------------------------------------------
# Fit-index formulas (test_vectors.md item 6)
# --------------------------------------------------------------------------------------------


def test_vector_6_fit_indices_from_chisq_statistics() -> None:
    # test_vectors.md item 6 (R statpsych fitindices): T_M 14.21, df_M 10, T_B 258.43,
    # df_B 20, N 300 -> CFI 0.9823428, TLI 0.9646857, RMSEA 0.03746109.
    got = fit_indices(14.21, 10, 258.43, 20, 300)
    assert got.cfi == pytest.approx(0.9823428, abs=5e-8)
    assert got.tli == pytest.approx(0.9646857, abs=5e-8)
    assert got.rmsea == pytest.approx(0.03746109, abs=5e-9)


def test_fit_indices_edges_follow_lavaan() -> None:
    # chisq < df: CFI truncated to 1, RMSEA 0, TLI above 1 (lavaan lav_fit_cfi.R).
    got = fit_indices(8.0, 10, 258.43, 20, 300)
    assert got.cfi == 1.0
    assert got.rmsea == 0.0
    assert got.tli == pytest.approx(1.0 - (8.0 - 10.0) * 20 / ((258.43 - 20) * 10), abs=1e-15)
    # Saturated model (df 0): TLI 1 and RMSEA 0 as lavaan reports them.
    sat = fit_indices(0.0, 0, 258.43, 20, 300)
    assert (sat.cfi, sat.tli, sat.rmsea) == (1.0, 1.0, 0.0)
    # Model worse than baseline: CFI floors at 0.
    assert fit_indices(300.0, 10, 100.0, 20, 300).cfi == 0.0
    with pytest.raises(ValueError, match="n must be positive"):
        fit_indices(1.0, 1, 2.0, 3, 0)


def test_multi_group_rmsea_is_scaled_by_sqrt_groups() -> None:
    # lavaan lav_fit_rmsea: sqrt(max(0, (X2/N)/df - 1/N)) * sqrt(G) (Steiger 1998).
    one = fit_indices(14.21, 10, 258.43, 20, 300)
    three = fit_indices(14.21, 10, 258.43, 20, 300, n_groups=3)
    assert three.rmsea == pytest.approx(one.rmsea * np.sqrt(3), rel=1e-15)
    assert (three.cfi, three.tli) == (one.cfi, one.tli)


# --------------------------------------------------------------------------------------------
# Engine: analytic gradient and simulated recovery
# --------------------------------------------------------------------------------------------


def _simulate(
    rng: np.random.Generator,
    n: int,
    loadings: np.ndarray,
    factor: np.ndarray,
    phi: np.ndarray,
    theta: np.ndarray,
) -> np.ndarray:
    m = phi.shape[0]
    eta = rng.standard_normal((n, m)) @ np.linalg.cholesky(phi).T
    lam = np.zeros((loadings.size, m))
    lam[np.arange(loadings.size), factor] = loadings
    return eta @ lam.T + rng.standard_normal((n, loadings.size)) * np.sqrt(theta)


def _likert(y: np.ndarray, n_categories: int) -> np.ndarray:
    z = (y - y.mean(axis=0)) / y.std(axis=0)
    cuts = np.linspace(-1.8, 1.8, n_categories - 1)
    return (np.searchsorted(cuts, z) + 1).astype(float)


FACTOR_345 = np.repeat([0, 1, 2], [3, 5, 4])
LAMBDA_345 = np.array([0.8, 0.7, 0.6, 0.9, 0.5, 0.7, 0.6, 0.8, 0.75, 0.65, 0.7, 0.55])
PHI_3 = np.array([[1.0, 0.4, 0.3], [0.4, 1.0, 0.5], [0.3, 0.5, 1.0]])


def test_analytic_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(7)
    y = _simulate(rng, 500, LAMBDA_345, FACTOR_345, PHI_3, np.full(12, 0.5))
    s = np.cov(y, rowvar=False, ddof=0)
    model = _Model(FACTOR_345, 3)
    obj = _Objective(model, s)
    x0 = _start_values(s, model) * rng.uniform(0.8, 1.2, size=model.q)
    numeric = scipy.optimize.approx_fprime(x0, obj.fun, 1e-7)
    assert obj.grad(x0) == pytest.approx(numeric, abs=2e-5)


def test_expected_information_equals_the_hessian_at_a_perfect_fit() -> None:
    # With S = Sigma(x) the observed Hessian of F equals the expected information used by
    # the optimiser; compare it with central differences of the analytic gradient.
    model = _Model(FACTOR_345, 3)
    x = np.concatenate([LAMBDA_345, 1.0 - LAMBDA_345**2, PHI_3[model.phi_a, model.phi_b]])
    obj = _Objective(model, model.sigma(x))
    h = 1e-6
    numeric = np.array([
        (obj.grad(x + h * e) - obj.grad(x - h * e)) / (2 * h) for e in np.eye(model.q)
    ])
    assert obj.hess(x) == pytest.approx(numeric, abs=1e-6)


def test_cfa_recovers_a_known_model_with_unequal_factor_sizes() -> None:
    # 3 correlated factors with 3, 5 and 4 items; population values known.
    rng = np.random.default_rng(20261128)
    theta = 1.0 - LAMBDA_345**2
    y = _simulate(rng, 20_000, LAMBDA_345, FACTOR_345, PHI_3, theta)
    got = cfa(y, FACTOR_345)
    assert got.df == 12 * 13 // 2 - (12 + 12 + 3) == 51
    assert np.asarray(got.loadings) == pytest.approx(LAMBDA_345, abs=0.03)
    assert np.asarray(got.residual_variances) == pytest.approx(theta, abs=0.03)
    assert np.asarray(got.factor_correlations) == pytest.approx(PHI_3, abs=0.03)
    # Correct model: chisq ~ chi2(51) (mean 51, sd 10); fit indices near perfect.
    assert got.chisq < 51 + 5 * np.sqrt(2 * 51)
    assert got.cfi > 0.995
    assert got.rmsea < 0.02
    assert got.srmr < 0.02


def test_cfa_on_a_seven_point_scale_with_unequal_dimensions() -> None:
    rng = np.random.default_rng(11)
    y = _simulate(rng, 3_000, LAMBDA_345, FACTOR_345, PHI_3, 1.0 - LAMBDA_345**2)
    x = _likert(y, 7)
    x[rng.random(x.shape) < 0.02] = np.nan
    assert set(np.unique(x[~np.isnan(x)])) == set(range(1, 8))
    got = cfa(x, FACTOR_345)
    assert got.n == int((~np.isnan(x).any(axis=1)).sum())
    assert got.df == 51
    # Discretisation attenuates loadings a little; standardised loadings stay close.
    assert np.asarray(got.std_loadings) == pytest.approx(LAMBDA_345, abs=0.08)
    assert got.cfi > 0.97


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sizes=st.lists(st.integers(3, 6), min_size=2, max_size=4))
def test_cfa_is_invariant_to_permuting_respondents(seed: int, sizes: list[int]) -> None:
    rng = np.random.default_rng(seed)
    factor = np.repeat(np.arange(len(sizes)), sizes)
    m = len(sizes)
    phi = np.full((m, m), 0.3) + 0.7 * np.eye(m)
    lam = rng.uniform(0.55, 0.85, size=factor.size)
    x = _likert(_simulate(rng, 800, lam, factor, phi, 1.0 - lam**2), 5)
    a = cfa(x, factor)
    b = cfa(x[rng.permutation(x.shape[0])], factor)
    assert b.n == a.n
    assert b.df == a.df
    assert b.chisq == pytest.approx(a.chisq, abs=1e-6)
    assert b.srmr == pytest.approx(a.srmr, abs=1e-8)
    assert np.asarray(b.loadings) == pytest.approx(np.asarray(a.loadings), abs=1e-6)


def test_cfa_is_invariant_to_column_order_and_factor_labels() -> None:
    rng = np.random.default_rng(3)
    y = _simulate(rng, 1_000, LAMBDA_345, FACTOR_345, PHI_3, 1.0 - LAMBDA_345**2)
    a = cfa(y, FACTOR_345)
    order = rng.permutation(12)
    labels = np.array([10, 20, 30])[FACTOR_345][order]
    b = cfa(y[:, order], labels)
    assert b.chisq == pytest.approx(a.chisq, abs=1e-7)
    assert np.asarray(b.loadings) == pytest.approx(np.asarray(a.loadings)[order], abs=1e-6)


def test_one_factor_fit_gives_reliability_omega() -> None:
    rng = np.random.default_rng(5)
    lam = np.array([0.8, 0.6, 0.7, 0.5, 0.65])
    x = _likert(_simulate(rng, 2_000, lam, np.zeros(5, int), np.eye(1), 1.0 - lam**2), 5)
    fit = cfa(x, [0] * 5)
    assert fit.df == 5
    rel = reliability(x, list("abcde"))
    assert rel.omega_status == "ok"
    assert rel.omega_total == pytest.approx(
        omega_total(fit.loadings, fit.residual_variances), abs=1e-9
    )


def test_just_identified_one_factor_model_has_closed_form_loadings() -> None:
    # Three indicators: lambda_1^2 = s12 s13 / s23 exactly, chisq 0.
    s = np.array([[1.0, 0.42, 0.35], [0.42, 1.0, 0.30], [0.35, 0.30, 1.0]])
    got = cfa_from_cov(s, 100, [0, 0, 0])
    assert got.df == 0
    assert got.chisq == pytest.approx(0.0, abs=1e-9)
    assert got.loadings[0] == pytest.approx(np.sqrt(0.42 * 0.35 / 0.30), abs=1e-7)


# --------------------------------------------------------------------------------------------
# Measurement invariance (METHODS.md section 5, last paragraph): against lavaan 0.6.14 on the
# reference waves (expected/invariance.csv, CFA tolerance 1e-3), through identities that any
# correct implementation satisfies, and through simulated (non-)invariance.
# --------------------------------------------------------------------------------------------


def _mg_point(level: str, n_groups: int, rng: np.random.Generator) -> tuple[
    _MultiGroupModel, np.ndarray
]:
    model = _MultiGroupModel(level, FACTOR_345, 3, n_groups)
    x = np.zeros(model.q)
    for g in range(n_groups):
        x[model.lam[g]] = LAMBDA_345 * rng.uniform(0.9, 1.1, 12)
        x[model.theta[g]] = rng.uniform(0.3, 0.6, 12)
        x[model.nu[g]] = rng.uniform(2.5, 3.5, 12)
        ph = model.phi[g]
        scale = rng.uniform(0.8, 1.2, 3) if g > 0 and level != "configural" else np.ones(3)
        phi = PHI_3 * np.outer(scale, scale)
        x[ph[ph >= 0]] = phi[model.ph_a, model.ph_b][ph >= 0]
        al = model.alpha[g]
        x[al[al >= 0]] = rng.uniform(-0.3, 0.3, int((al >= 0).sum()))
    return model, x


@pytest.mark.parametrize("level", ["configural", "metric", "scalar"])
def test_multi_group_gradient_and_information(level: str) -> None:
    rng = np.random.default_rng(17)
    model, x = _mg_point(level, 3, rng)
    sizes = np.array([300.0, 500.0, 400.0])
    moments = [model.moments(x, g) for g in range(3)]
    # At a perfect fit the expected information is the Hessian.
    perfect = _MultiGroupObjective(model, [c for c, _ in moments], [m for _, m in moments], sizes)
    assert perfect.fun(x) == pytest.approx(0.0, abs=1e-12)
    h = 1e-6
    numeric_h = np.array([
        (perfect.grad(x + h * e) - perfect.grad(x - h * e)) / (2 * h) for e in np.eye(model.q)
    ])
    assert perfect.hess(x) == pytest.approx(numeric_h, abs=1e-6)
    # Away from it, the analytic gradient matches finite differences of F.
    covs = [c + 0.05 * np.diag(rng.uniform(0.5, 1.5, 12)) for c, _ in moments]
    means = [m + rng.normal(0.0, 0.05, 12) for _, m in moments]
    obj = _MultiGroupObjective(model, covs, means, sizes)
    numeric_g = scipy.optimize.approx_fprime(x, obj.fun, 1e-7)
    assert obj.grad(x) == pytest.approx(numeric_g, abs=2e-5)


def test_invariance_on_reference_waves() -> None:
    waves = _reference_waves()
    x = np.vstack([waves[w][0] for w in sorted(waves)])
    labels = np.concatenate([np.full(waves[w][0].shape[0], w) for w in sorted(waves)])
    factor = waves[2021][1]
    got = measurement_invariance(x, factor, labels)
    fits = _reference_fits()
    # 707, 743, 666, 705, 669: expected/cfa.csv n per wave (lavaan listwise).
    assert got.group_sizes == (707, 743, 666, 705, 669)
    assert got.groups == ("2021", "2022", "2023", "2024", "2025")
    configural, metric, scalar = got.steps
    # Configural: means saturated and groups independent, so chisq is the sum of the
    # single-wave lavaan statistics of expected/cfa.csv (sum = 2057.199 there).
    assert configural.chisq == pytest.approx(sum(f.chisq for f in fits.values()), abs=1e-6)
    assert configural.chisq == pytest.approx(2057.199, abs=1e-3)
    assert configural.df == 5 * 395
    # Metric frees 5 factor variances and equates 30 loadings in 4 groups; scalar likewise
    # with 5 latent means and 30 intercepts.
    assert metric.df == configural.df + 4 * (30 - 5) == 2075
    assert scalar.df == metric.df + 4 * (30 - 5) == 2175
    assert got.baseline_df == 5 * 30 * 29 // 2
    assert configural.chisq < metric.chisq < scalar.chisq
    # The synthetic instrument is invariant by construction (one generating model).
    assert got.level == "scalar"
    assert metric.delta_cfi == pytest.approx(metric.cfi - configural.cfi, abs=1e-15)
    assert not metric.rejected and not scalar.rejected


def test_invariance_matches_lavaan_reference() -> None:
    # lavaan 0.6.14: cfa(model, data, group = "wave", std.lv = TRUE, group.equal = ...) on the
    # cases complete on every item, reverse-keyed items recoded (tests/reference/README.md)
    waves = _reference_waves()
    x = np.vstack([waves[w][0] for w in sorted(waves)])
    labels = np.concatenate([np.full(waves[w][0].shape[0], w) for w in sorted(waves)])
    got = {step.level: step for step in measurement_invariance(x, waves[2021][1], labels).steps}
    expected = read_expected("invariance.csv")
    assert expected["level"].tolist() == ["configural", "metric", "scalar"]
    for row in expected.itertuples(index=False):
        step = got[row.level]
        assert step.df == row.df
        assert step.chisq == pytest.approx(row.chisq, abs=1e-3)
        for name in ("cfi", "tli", "rmsea", "srmr"):
            assert getattr(step, name) == pytest.approx(getattr(row, name), abs=1e-3), name
    assert got["scalar"].delta_srmr == pytest.approx(
        expected["srmr"].iloc[2] - expected["srmr"].iloc[1], abs=1e-6)


def test_invariance_on_holzinger_swineford_by_school_gives_metric() -> None:
    # lavaan 0.6.14 on its HolzingerSwineford1939 data by school (tests/reference/holzinger,
    # make_holzinger_reference.R): 115.851/48, 124.044/54, 164.103/60; the scalar step is
    # rejected only through the SRMR supplement (dRMSEA .0145 < .015, dSRMR .0108 >= .010)
    folder = Path(__file__).resolve().parents[1] / "reference" / "holzinger"
    data = pd.read_csv(folder / "holzinger1939.csv")
    expected = pd.read_csv(folder / "expected_invariance.csv")
    x = data[[f"x{i}" for i in range(1, 10)]].to_numpy(float)
    got = measurement_invariance(x, [0, 0, 0, 1, 1, 1, 2, 2, 2], data["school"].tolist())
    for step, row in zip(got.steps, expected.itertuples(index=False), strict=True):
        assert step.level == row.level and step.df == row.df
        assert step.chisq == pytest.approx(row.chisq, abs=1e-3)
        for name in ("cfi", "tli", "rmsea", "srmr"):
            assert getattr(step, name) == pytest.approx(getattr(row, name), abs=1e-3), name
    metric, scalar = got.steps[1], got.steps[2]
    assert not metric.rejected and scalar.rejected
    assert scalar.delta_rmsea < 0.015 and scalar.delta_srmr >= 0.010
    assert got.level == "metric"


@pytest.mark.parametrize(("level", "d_cfi", "d_rmsea", "d_srmr", "rejected"), [
    # METHODS 5 worked example, lavaan's HolzingerSwineford1939 by school, scalar step:
    # the SRMR supplement rejects it although dRMSEA stays below .015
    ("scalar", -0.0385, 0.0145, 0.0108, True),
    ("scalar", -0.0385, 0.0145, 0.0099, False),
    ("scalar", -0.0099, 0.0200, 0.0200, False),    # CFI change too small: never rejected
    ("metric", -0.0200, 0.0100, 0.0108, False),    # .010 is the scalar limit, not metric's
    ("metric", -0.0200, 0.0100, 0.0300, True),
    ("metric", -0.0100, 0.0150, 0.0, True),        # boundaries are inclusive
])
def test_chen_rule_with_srmr_supplement(level: str, d_cfi: float, d_rmsea: float,
                                        d_srmr: float, rejected: bool) -> None:
    assert invariance_step_rejected(level, d_cfi, d_rmsea, d_srmr) is rejected


def test_exactly_invariant_groups_give_equal_chisq_at_every_level() -> None:
    rng = np.random.default_rng(23)
    y = _simulate(rng, 600, LAMBDA_345, FACTOR_345, PHI_3, 1.0 - LAMBDA_345**2)
    x = np.vstack([y, y])
    labels = np.repeat(["a", "b"], 600)
    got = measurement_invariance(x, FACTOR_345, labels)
    single = cfa(y, FACTOR_345)
    chisqs = [step.chisq for step in got.steps]
    assert chisqs == pytest.approx([2 * single.chisq] * 3, abs=1e-6)
    assert got.level == "scalar"


def _mg_data(loadings_b: np.ndarray, intercepts_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(29)
    theta = np.full(12, 0.5)
    groups = [
        _simulate(rng, 1500, LAMBDA_345, FACTOR_345, PHI_3, theta),
        _simulate(rng, 1500, LAMBDA_345, FACTOR_345, PHI_3, theta),
        _simulate(rng, 1500, loadings_b, FACTOR_345, PHI_3, theta) + intercepts_b,
    ]
    return np.vstack(groups), np.repeat(["a", "b", "c"], 1500)


def test_non_invariant_loadings_reject_metric() -> None:
    loadings = LAMBDA_345.copy()
    loadings[[0, 3, 4, 8]] = [0.2, 0.3, 1.2, 0.2]
    x, labels = _mg_data(loadings, np.zeros(12))
    got = measurement_invariance(x, FACTOR_345, labels)
    assert got.steps[1].rejected
    assert got.steps[1].delta_cfi <= -0.010 and got.steps[1].delta_rmsea >= 0.015
    assert got.level == "configural"


def test_shifted_intercepts_reject_scalar_only() -> None:
    shift = np.zeros(12)
    shift[[0, 3, 8, 9]] = [0.8, -0.8, 0.8, -0.6]
    x, labels = _mg_data(LAMBDA_345, shift)
    got = measurement_invariance(x, FACTOR_345, labels)
    assert not got.steps[1].rejected
    assert got.steps[2].rejected
    assert got.level == "metric"


def test_invariance_rejects_unusable_groups() -> None:
    rng = np.random.default_rng(31)
    y = _simulate(rng, 200, LAMBDA_345, FACTOR_345, PHI_3, 1.0 - LAMBDA_345**2)
    with pytest.raises(InvarianceError, match="at least 2 groups"):
        measurement_invariance(y, FACTOR_345, ["a"] * 200)
    with pytest.raises(InvarianceError, match="group 'b' has 10 complete cases"):
        measurement_invariance(y, FACTOR_345, ["a"] * 190 + ["b"] * 10)
    with pytest.raises(ValueError, match="one label per row"):
        measurement_invariance(y, FACTOR_345, ["a"] * 10)


# --------------------------------------------------------------------------------------------
# Input validation and purity
# --------------------------------------------------------------------------------------------


def test_cfa_rejects_bad_input() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((50, 6))
    with pytest.raises(ValueError, match="one entry per column"):
        cfa(x, [0, 0, 0, 1, 1])
    with pytest.raises(ValueError, match="at least 2 items"):
        cfa(x, [0, 0, 0, 0, 0, 1])
    with pytest.raises(ValueError, match="at least 3 items"):
        cfa(x[:, :2], [0, 0])
    with pytest.raises(ValueError, match="integer"):
        cfa(x, [0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="more complete cases than items"):
        cfa(x[:5], [0, 0, 0, 1, 1, 1])
    with pytest.raises(ValueError, match="infinite"):
        cfa(np.where(x > 2.5, np.inf, x), [0, 0, 0, 1, 1, 1])
    duplicated = np.column_stack([x[:, :5], x[:, 0]])
    with pytest.raises(ValueError, match="not positive definite"):
        cfa(duplicated, [0, 0, 0, 1, 1, 1])


def test_improper_solution_raises_a_clear_error() -> None:
    # One-factor model on n = 33 where item 4 correlates with items 2 and 3 that correlate
    # negatively with each other: the ML estimate does not exist (theta_4 -> -infinity).
    corr = np.array([
        [1.0, 0.017, 0.245, 0.215],
        [0.017, 1.0, -0.097, 0.418],
        [0.245, -0.097, 1.0, 0.282],
        [0.215, 0.418, 0.282, 1.0],
    ])
    with pytest.raises(CfaConvergenceError, match="residual variance of item 3 diverges"):
        cfa_from_cov(corr, 33, [0, 0, 0, 0])


def test_modules_import_no_framework_code() -> None:
    code = (
        "import sys, analysis.validity, analysis.reliability; "
        "top = {m.split('.')[0] for m in sys.modules}; "
        "bad = top & {'django', 'surveys', 'rest_framework'}; "
        "assert not bad, bad"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)
