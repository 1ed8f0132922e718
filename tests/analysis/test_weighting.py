"""Raking, trimming and Kish effective size (METHODS.md section 3)."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import weighting
from analysis.weighting import (
    DEFAULT_TOL,
    KishResult,
    Margin,
    RakeResult,
    RakingError,
    kish,
    rake,
    rake_wave,
    trim_weights,
)

# Largest relative difference of any final weight from expected/weights.csv seen when this test
# was written: 4.0e-11 (2022); the tolerance is METHODS.md section 9's 1e-6.
WEIGHT_RTOL = 1e-6


def _margin_sums(weights: np.ndarray, codes: np.ndarray) -> dict[str, float]:
    return pd.Series(weights).groupby(np.asarray(codes)).sum().to_dict()


def test_reference_weights_reproduced_for_every_wave(ref_responses, ref_population,
                                                     ref_expected) -> None:
    # Expected: expected/weights.csv, R survey 4.1 rake() to region x sex and region x
    # age_group per wave (reference/README.md).
    expected = ref_expected("weights.csv")
    merged = ref_responses.merge(expected, on=["respondent", "wave"], validate="1:1")
    assert len(merged) == len(ref_responses) == 9140
    worst = 0.0
    for wave, group in merged.groupby("wave"):
        result = rake_wave(region=group["region"], sex=group["sex"],
                           age_group=group["age_group"], base_weight=group["base_weight"],
                           population=ref_population, year=wave)
        want = group["final_weight"].to_numpy()
        np.testing.assert_allclose(result.weights, want, rtol=WEIGHT_RTOL, atol=0)
        worst = max(worst, float(np.max(np.abs(result.weights / want - 1))))
        assert result.max_change < 1e-10
        # Every population margin of the surveyed regions is met.
        pop = ref_population[(ref_population.year == wave)
                             & ref_population.region.isin(set(group["region"]))]
        for column in ("sex", "age_group"):
            target = pop.groupby(["region", column])["population"].sum()
            got = pd.Series(result.weights).groupby(
                [group["region"].to_numpy(), group[column].to_numpy()]).sum()
            np.testing.assert_allclose(got.sort_index().to_numpy(),
                                       target.sort_index().to_numpy(), rtol=1e-9)
    assert worst < 1e-9


def test_vector_3_raking_matches_r_survey_rake() -> None:
    # test_vectors.md item 3 (R survey 4.1 rake, converged): printed to 7 significant digits.
    result = rake(
        [1.0] * 8,
        [Margin(list("LLLPPPPL"), {"L": 510, "P": 490}, "sex"),
         Margin(list("abcabcab"), {"a": 400, "b": 350, "c": 250}, "age")],
    )
    assert isinstance(result, RakeResult)
    np.testing.assert_allclose(
        result.weights,
        [140.5349, 119.7345, 129.9961, 129.7326, 110.5310, 120.0039, 129.7326, 119.7345],
        rtol=0, atol=5e-5,
    )
    assert result.kish.deff_w == pytest.approx(1.004807, abs=5e-7)  # Kish deff 1.004807
    assert result.max_change < 1e-10


def _r_rake_default(base: np.ndarray, margins: list[Margin], epsilon: float = 1.0,
                    maxit: int = 10) -> tuple[np.ndarray, int]:
    """R survey::rake's loop with its default control (maxit 10, epsilon 1): stop when the
    largest absolute change of the weighted table of all raking variables is below epsilon."""
    w = base.astype(float).copy()
    cells = pd.Series(list(zip(*(np.asarray(mg.codes) for mg in margins), strict=True)))
    old = pd.Series(w).groupby(cells).sum()
    for iteration in range(maxit):
        for mg in margins:
            codes = pd.Series(np.asarray(mg.codes))
            sums = pd.Series(w).groupby(codes).transform("sum").to_numpy()
            w *= codes.map(mg.totals).to_numpy(dtype=float) / sums
        new = pd.Series(w).groupby(cells).sum()
        if float((old - new).abs().max()) < epsilon:
            return w, iteration
        old = new
    return w, maxit


def test_stopping_rule_is_relative_weight_change_not_r_rakes_table_change() -> None:
    # The docstrings state the rule: R's rake stops when the weighted table moves by less than
    # epsilon = 1 unit of weight (maxit 10); Nilai stops on max |w_new / w_old - 1| < 1e-10.
    # With small totals (sum 10) R's default stops after the first cycle, 1.9 % off the sex
    # margin; the rule here goes on until both margins are met.
    margins = [Margin(list("LLLPPPPL"), {"L": 5.1, "P": 4.9}, "sex"),
               Margin(list("abcabcab"), {"a": 4.0, "b": 3.5, "c": 2.5}, "age")]
    r_weights, r_iterations = _r_rake_default(np.ones(8), margins)
    r_male = r_weights[np.array(list("LLLPPPPL")) == "L"].sum()
    assert r_iterations == 0 and abs(r_male / 5.1 - 1) > 0.01
    result = rake(np.ones(8), margins)
    assert result.iterations > 5 and result.max_change < DEFAULT_TOL
    male = result.weights[np.array(list("LLLPPPPL")) == "L"].sum()
    assert male == pytest.approx(5.1, rel=1e-9)
    # converged far enough, R's loop gives the same weights
    tight, _ = _r_rake_default(np.ones(8), margins, epsilon=1e-13, maxit=100)
    np.testing.assert_allclose(result.weights, tight, rtol=1e-9)
    for doc in (weighting.__doc__, rake.__doc__):
        assert "epsilon" in doc and "max_i |w_i^new / w_i^old - 1| < tol" in doc
    assert "the rule of R ``survey::rake``" not in rake.__doc__


def test_vector_5_kish() -> None:
    # test_vectors.md item 5: n_eff = (sum w)^2 / sum w^2 = 121/20.5 = 5.902439; deff 1.355372.
    result = kish([1, 1, 1, 2, 2, 3, 0.5, 0.5])
    assert result == KishResult(n=8, n_eff=pytest.approx(121 / 20.5, rel=1e-15),
                                deff_w=pytest.approx(8 * 20.5 / 121, rel=1e-15))
    assert result.n_eff == pytest.approx(5.902439, abs=5e-7)
    assert result.deff_w == pytest.approx(1.355372, abs=5e-7)
    assert kish([]).n == 0 and kish([]).n_eff == 0.0 and np.isnan(kish([]).deff_w)
    with pytest.raises(ValueError, match=r"weights must be finite and > 0; position 1 is 0.0"):
        kish([1.0, 0.0])


def test_single_margin_is_post_stratification_in_one_cycle() -> None:
    # One margin: w_i T_c / sum_c w; the second cycle changes nothing.
    result = rake([1, 3, 2], [Margin(["x", "x", "y"], {"x": 8, "y": 5})])
    np.testing.assert_allclose(result.weights, [2.0, 6.0, 5.0], rtol=1e-15)
    assert result.iterations == 2


def test_inconsistent_margins_are_an_error_although_weights_stop_changing() -> None:
    # Sex sums to 1000, age to 1010: no weights meet both. IPF repeats the same cycle, so the
    # weights at the end of each cycle do not change (R's rake would report convergence).
    margins = [Margin(list("LLPP"), {"L": 500, "P": 500}, "sex"),
               Margin(list("abab"), {"a": 505, "b": 505}, "age")]
    with pytest.raises(RakingError, match=r"margin sex cannot be met together with the others "
                                          r"\(largest relative gap 0.01\); margins sum to "
                                          r"\[1000.0, 1010.0\]"):
        rake([1.0] * 4, margins)


def test_max_iter_too_small_is_an_error_not_a_silent_result() -> None:
    margins = [Margin(list("LLLPPPPL"), {"L": 510, "P": 490}, "sex"),
               Margin(list("abcabcab"), {"a": 400, "b": 350, "c": 250}, "age")]
    with pytest.raises(RakingError, match="did not converge in 2 cycles"):
        rake([1.0] * 8, margins, max_iter=2)
    assert issubclass(RakingError, ValueError)


def test_sample_category_without_population_is_an_error() -> None:
    with pytest.raises(RakingError, match=r"margin sex: sample cell 'P' has no population"):
        rake([1.0, 1.0], [Margin(["L", "P"], {"L": 10}, "sex")])
    with pytest.raises(RakingError, match=r"sample cell 'P' has no population \(total 0\)"):
        rake([1.0, 1.0], [Margin(["L", "P"], {"L": 10, "P": 0}, "sex")])


def test_population_category_without_sample_is_an_error() -> None:
    with pytest.raises(RakingError, match=r"population cell 'P' \(total 7\) has no respondent"):
        rake([1.0, 1.0], [Margin(["L", "L"], {"L": 10, "P": 7}, "sex")])
    # A zero-population category without respondents is harmless.
    result = rake([1.0, 1.0], [Margin(["L", "L"], {"L": 10, "P": 0}, "sex")])
    np.testing.assert_allclose(result.weights, [5.0, 5.0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_weights": [1.0, -1.0]}, r"base_weights must be finite and > 0; position 1"),
        ({"base_weights": [1.0, np.nan]}, "base_weights must be finite"),
        ({"margins": [Margin(["a", None], {"a": 1})]}, "missing label at position 1"),
        ({"margins": [Margin(["a"], {"a": 1})]}, "codes has length 1, expected 2"),
        ({"margins": []}, "at least one margin"),
        ({"tol": 0.0}, "tol must be finite and > 0"),
        ({"max_iter": 0}, "max_iter must be a positive integer"),
        ({"margins": [Margin(["a", "a"], {"a": -1})]}, "must be finite and >= 0"),
    ],
)
def test_rake_rejects_bad_input(kwargs: dict, message: str) -> None:
    args = {"base_weights": [1.0, 1.0], "margins": [Margin(["a", "a"], {"a": 4})]} | kwargs
    with pytest.raises(ValueError, match=message):
        rake(**args)


def _toy_population() -> pd.DataFrame:
    rows = []
    for region, scale in (("A", 1), ("B", 2), ("C", 3)):
        for sex in ("L", "P"):
            for age, pop in (("young", 30), ("old", 20)):
                rows.append({"year": 2024, "region": region, "sex": sex, "age_group": age,
                             "population": pop * scale + (5 if sex == "P" else 0)})
    return pd.DataFrame(rows)


def _toy_sample() -> dict[str, list]:
    return {"region": ["A", "A", "A", "A", "B", "B", "B", "B", "B"],
            "sex": ["L", "L", "P", "P", "L", "P", "P", "L", "P"],
            "age_group": ["young", "old", "young", "old", "young", "old", "young", "old", "old"],
            "base_weight": [1, 2, 1, 1, 3, 1, 2, 1, 1]}


def test_rake_wave_restricts_margins_to_surveyed_regions() -> None:
    # Region C has population but no respondent: it is left out, not an error.
    sample = _toy_sample()
    result = rake_wave(**sample, population=_toy_population(), year=2024)
    pop = _toy_population()
    for column in ("sex", "age_group"):
        target = pop[pop.region != "C"].groupby(["region", column])["population"].sum()
        got = pd.Series(result.weights).groupby([sample["region"], sample[column]]).sum()
        np.testing.assert_allclose(got.sort_index().to_numpy(), target.sort_index().to_numpy(),
                                   rtol=1e-10)
    # Labels are compared as strings; permuting the columns' order of rows does not matter.
    assert result.weights.sum() == pytest.approx(pop[pop.region != "C"].population.sum())


def test_rake_wave_population_cell_without_sample_is_an_error() -> None:
    sample = _toy_sample()
    sample["sex"][2:4] = ["L", "L"]  # region A has no woman left
    with pytest.raises(RakingError, match=r"region x sex: population cell \('A', 'P'\)"):
        rake_wave(**sample, population=_toy_population(), year=2024)


def test_rake_wave_sample_cell_without_population_is_an_error() -> None:
    pop = _toy_population()
    pop.loc[(pop.region == "B") & (pop.age_group == "old"), "population"] = 0
    with pytest.raises(RakingError, match=r"sample cell \('B', 'L'\)|sample cell \('B', 'old'\)"):
        rake_wave(**_toy_sample(), population=pop, year=2024)
    with pytest.raises(RakingError, match=r"surveyed region\(s\) \['D'\] have no population"):
        rake_wave(**(_toy_sample() | {"region": ["D"] + _toy_sample()["region"][1:]}),
                  population=_toy_population(), year=2024)


def test_rake_wave_year_handling() -> None:
    pop = pd.concat([_toy_population(), _toy_population().assign(year=2025)])
    with pytest.raises(ValueError, match="several years: pass year="):
        rake_wave(**_toy_sample(), population=pop)
    with pytest.raises(RakingError, match="no row for year 2030"):
        rake_wave(**_toy_sample(), population=pop, year=2030)
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['population'\]"):
        rake_wave(**_toy_sample(), population=pop.drop(columns="population"), year=2024)


def test_trim_weights_caps_at_median_plus_iqr_or_five_means() -> None:
    # Group g1: [1,1,1,1,100]: median 1, IQR 0 -> cap min(1, 5 * 20.8) = 1.
    # Group g2: [1,2,3,4]: Q1 1.75, median 2.5, Q3 3.25 (type 7) -> cap min(2.5 + 5.25, 12.5).
    w = np.array([1, 1, 1, 1, 100, 1, 2, 3, 4], dtype=float)
    groups = ["g1"] * 5 + ["g2"] * 4
    np.testing.assert_array_equal(trim_weights(w, groups), [1, 1, 1, 1, 1, 1, 2, 3, 4])
    # The 5 x mean cap binds when the IQR is wide: [1, 1, 50, 50, 1000] mean 220.4, cap
    # min(50 + 3.5 * 49, 1102) = 221.5.
    np.testing.assert_allclose(trim_weights([1, 1, 50, 50, 1000], ["g"] * 5),
                               [1, 1, 50, 50, 221.5])


def test_rake_wave_with_trimming_still_meets_the_margins() -> None:
    sample = _toy_sample()
    sample["base_weight"] = [1, 1, 1, 1, 1, 1, 1, 1, 1]
    # Make region B's single young man carry a large share.
    pop = _toy_population()
    pop.loc[(pop.region == "B") & (pop.sex == "L") & (pop.age_group == "young"),
            "population"] = 600
    plain = rake_wave(**sample, population=pop, year=2024)
    trimmed = rake_wave(**sample, population=pop, year=2024, trim=True)
    assert plain.n_trimmed == 0
    assert trimmed.n_trimmed >= 1
    assert trimmed.weights.max() < plain.weights.max()
    for column in ("sex", "age_group"):
        target = pop[pop.region != "C"].groupby(["region", column])["population"].sum()
        got = pd.Series(trimmed.weights).groupby([sample["region"], sample[column]]).sum()
        np.testing.assert_allclose(got.sort_index().to_numpy(), target.sort_index().to_numpy(),
                                   rtol=1e-9)


@st.composite
def raking_problems(draw: st.DrawFn) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    n = draw(st.integers(4, 60))
    n_margins = draw(st.integers(1, 3))
    codes = [np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
             for _ in range(n_margins)]
    base = np.array(draw(st.lists(st.floats(0.1, 10), min_size=n, max_size=n)))
    # Totals from a hidden positive "population" weighting keep the margins consistent, so
    # a solution exists and IPF converges.
    hidden = np.array(draw(st.lists(st.floats(0.5, 50), min_size=n, max_size=n)))
    return base, codes, hidden


@settings(max_examples=80, deadline=None)
@given(problem=raking_problems(), seed=st.integers(0, 2**32 - 1))
def test_raked_weights_reproduce_every_margin_and_permute_along(problem, seed: int) -> None:
    base, codes, hidden = problem
    margins = [Margin(c, _margin_sums(hidden, c), f"m{k}") for k, c in enumerate(codes)]
    result = rake(base, margins, max_iter=100_000)
    for c, m in zip(codes, margins, strict=True):
        got = _margin_sums(result.weights, c)
        assert got.keys() == m.totals.keys()
        for key, total in m.totals.items():
            assert got[key] == pytest.approx(total, rel=1e-8)
    perm = np.random.default_rng(seed).permutation(base.size)
    permuted = rake(base[perm], [Margin(c[perm], m.totals) for c, m in
                                 zip(codes, margins, strict=True)], max_iter=100_000)
    np.testing.assert_allclose(permuted.weights, result.weights[perm], rtol=1e-9)


def test_docstring_examples_run() -> None:
    import analysis.weighting as module

    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted >= 2
