"""Domain means and Taylor-linearised SEs (METHODS.md section 4)."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis.estimation import (
    ESTIMATE_COLUMNS,
    MIN_PUBLISH_N,
    DesignError,
    DomainEstimate,
    estimate_domains,
    survey_mean,
)
from analysis.scoring import answers_from_frame, categorize, score
from analysis.weighting import rake_wave

# expected/estimates.csv: R 4.2, survey 4.1 svyby(svymean) on svydesign(ids=~psu,
# strata=~stratum, weights=~final_weight) after rake() (reference/README.md). Largest relative
# errors seen when this test was written (our raking + scoring + estimation): n_eff 2.0e-11,
# estimate 3.5e-12, se 4.6e-10, ci 8.2e-12. Tolerance: METHODS.md section 9, 1e-6 relative.
RTOL = 1e-6
NUMERIC = ["n_eff", "estimate", "se", "ci_low", "ci_high"]


def _reference_table(responses: pd.DataFrame, population: pd.DataFrame, spec,
                     weights: dict[int, np.ndarray] | None = None) -> pd.DataFrame:
    parts = []
    for wave, group in responses.groupby("wave"):
        if weights is None:
            w = rake_wave(region=group["region"], sex=group["sex"],
                          age_group=group["age_group"], base_weight=group["base_weight"],
                          population=population, year=wave).weights
        else:
            w = weights[wave]
        result = estimate_domains(score(answers_from_frame(group, spec), spec), w,
                                  group["stratum"], group["psu"], group["region"],
                                  categories=True)
        parts.append(result.table.assign(wave=wave))
    return pd.concat(parts, ignore_index=True)


def _assert_matches_reference(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert len(got) == len(expected) == 330  # 5 waves x (10 regions + ALL) x (S1..S5 + INDEX)
    keys = ["wave", "region", "dimension"]
    # Same rows in the same order: dimension-major, regions sorted, ALL last.
    pd.testing.assert_frame_equal(got[keys], expected[keys], check_dtype=False)
    np.testing.assert_array_equal(got["n"].to_numpy(), expected["n"].to_numpy())
    np.testing.assert_array_equal(got["df"].to_numpy(), expected["df"].to_numpy())
    for column in NUMERIC:
        np.testing.assert_allclose(got[column].to_numpy(), expected[column].to_numpy(),
                                   rtol=RTOL, atol=0, err_msg=column)


def test_reference_estimates_reproduced_end_to_end(ref_responses, ref_population, ref_spec,
                                                   ref_expected) -> None:
    expected = ref_expected("estimates.csv")
    got = _reference_table(ref_responses, ref_population, ref_spec)
    _assert_matches_reference(got, expected)
    assert list(got.columns[:-1]) == list(ESTIMATE_COLUMNS)
    # Publication rule: exactly Mahakam Ulu 2023 (n = 20) is suppressed, numbers kept.
    suppressed = got[got.suppressed]
    assert set(zip(suppressed.wave, suppressed.region, strict=True)) == {(2023, "6411")}
    assert len(suppressed) == 6 and (suppressed.n == 20).all()
    assert suppressed.estimate.notna().all()
    assert got.category.tolist() == categorize(got.estimate.to_numpy()).tolist()


def test_reference_estimates_from_reference_weights(ref_responses, ref_population, ref_spec,
                                                    ref_expected) -> None:
    # Isolates estimation from raking: weights taken from expected/weights.csv.
    final = ref_responses.merge(ref_expected("weights.csv"), on=["respondent", "wave"],
                                validate="1:1")
    weights = {wave: g["final_weight"].to_numpy() for wave, g in final.groupby("wave")}
    got = _reference_table(ref_responses, ref_population, ref_spec, weights)
    _assert_matches_reference(got, ref_expected("estimates.csv"))


def test_vector_4_taylor_se() -> None:
    # test_vectors.md item 4: R survey svydesign(ids=~psu, strata=~h, weights=~w), svymean
    # -> mean 75.96667, SE 2.537628. df = 4 PSUs - 2 strata = 2.
    result = survey_mean([70, 80, 60, 65, 75, 85, 90, 72], [10, 10, 12, 12, 20, 20, 18, 18],
                         [1, 1, 1, 1, 2, 2, 2, 2], [1, 1, 2, 2, 3, 3, 4, 4])
    assert isinstance(result, DomainEstimate)
    assert result.estimate == pytest.approx(75.96667, abs=5e-6)
    assert result.se == pytest.approx(2.537628, abs=5e-7)
    assert result.df == 2
    t = stats.t.ppf(0.975, 2)
    assert result.ci_low == pytest.approx(result.estimate - t * result.se, rel=1e-15)
    assert result.ci_high == pytest.approx(result.estimate + t * result.se, rel=1e-15)
    assert result.n == 8 and result.suppressed
    # n_eff = (sum w)^2 / sum w^2 = 120^2 / 1936.
    assert result.n_eff == pytest.approx(120**2 / 1936, rel=1e-15)


def _naive(y: np.ndarray, w: np.ndarray, stratum: np.ndarray, psu: np.ndarray,
           in_domain: np.ndarray) -> tuple[float, float]:
    """METHODS.md section 4 written out literally, loop by loop (independent of the engine)."""
    d = in_domain & ~np.isnan(y)
    if not d.any():
        return np.nan, np.nan
    mean = np.sum(w[d] * y[d]) / np.sum(w[d])
    z = np.where(d, w * (np.where(d, y, 0) - mean) / np.sum(w[d]), 0.0)
    variance = 0.0
    for h in np.unique(stratum):
        totals = [z[(stratum == h) & (psu == k)].sum() for k in np.unique(psu[stratum == h])]
        n_h = len(totals)
        if n_h > 1:
            variance += n_h / (n_h - 1) * np.sum((np.array(totals) - np.mean(totals)) ** 2)
    return mean, float(np.sqrt(variance))


def _small_design() -> dict[str, np.ndarray]:
    # Three strata; PSU "p5" mixes regions A and B (domains need not follow the design); region
    # C's respondents all lack y1; stratum s3 has 2 PSUs with one respondent each.
    return {
        "stratum": np.array(["s1"] * 6 + ["s2"] * 6 + ["s3"] * 2),
        "psu": np.array(["p1", "p1", "p2", "p2", "p3", "p3",
                         "p4", "p4", "p5", "p5", "p6", "p6", "p7", "p8"]),
        "region": np.array(["A", "A", "A", "B", "B", "B", "B", "A", "A", "B", "C", "C", "A",
                            "B"]),
        "w": np.array([1.0, 2, 1.5, 1, 3, 2, 1, 1, 2.5, 1, 2, 1, 4, 1]),
        "y": np.array([[50, 10], [75, 20], [25, 30], [100, 40], [0, 50], [50, 60], [75, 70],
                       [25, 80], [np.nan, 90], [50, 100], [np.nan, 0], [np.nan, 5],
                       [100, 15], [75, np.nan]]),
    }


def test_domains_match_the_literal_formula_including_missing_and_mixed_psus() -> None:
    d = _small_design()
    result = estimate_domains(d["y"], d["w"], d["stratum"], d["psu"], d["region"],
                              dimension_codes=["y1", "y2"])
    table = result.table.set_index(["region", "dimension"])
    assert result.df == 8 - 3 and result.n_psu == 8 and result.n_strata == 3
    for j, code in enumerate(["y1", "y2"]):
        for region in ["A", "B", "C", "ALL"]:
            mask = np.ones(14, bool) if region == "ALL" else d["region"] == region
            mean, se = _naive(d["y"][:, j], d["w"], d["stratum"], d["psu"], mask)
            row = table.loc[(region, code)]
            assert row.n == int(np.sum(mask & ~np.isnan(d["y"][:, j])))
            if np.isnan(mean):
                assert np.isnan(row.estimate) and np.isnan(row.se)
            else:
                assert row.estimate == pytest.approx(mean, rel=1e-12)
                assert row.se == pytest.approx(se, rel=1e-10)


def test_respondent_with_missing_score_keeps_its_psu_in_the_design() -> None:
    # One stratum, PSUs 1 (y 10, 20; w 1, 1), 2 (y 40; w 2), 3 (y missing; w 1).
    # mean = (10 + 20 + 80) / 4 = 27.5; z totals: PSU1 (-17.5 - 7.5)/4 = -6.25, PSU2
    # 2 (40 - 27.5)/4 = 6.25, PSU3 0 (kept). V = 3/2 (6.25^2 + 6.25^2 + 0) = 117.1875.
    # Dropping the row would drop PSU3: V = 2 (2 * 6.25^2) = 156.25, SE 12.5 (wrong).
    # R 4.2.2 / survey 4.1.1 (run for this test): svymean(~y, svydesign(ids=~psu, strata=~h,
    # weights=~w), na.rm=TRUE) -> 27.500000000000, SE 10.825317547305.
    y = np.array([10.0, 20.0, 40.0, np.nan])
    r = survey_mean(y, [1.0, 1.0, 2.0, 1.0], [1, 1, 1, 1], [1, 1, 2, 3])
    assert r.n == 3 and r.df == 2
    assert r.estimate == pytest.approx(27.5, rel=1e-15)
    assert r.se == pytest.approx(np.sqrt(117.1875), rel=1e-14)
    assert r.se == pytest.approx(10.825317547305, rel=1e-12)
    dropped = survey_mean(y[:3], [1.0, 1.0, 2.0], [1, 1, 1], [1, 1, 2])
    assert dropped.se == pytest.approx(12.5, rel=1e-14)


def test_empty_domain_row() -> None:
    d = _small_design()
    full = estimate_domains(d["y"][:, :1], d["w"], d["stratum"], d["psu"], d["region"],
                            dimension_codes=["y1"]).table
    # C has no valid y1: an empty domain, n = 0, suppressed, no category; its PSU p6 stays
    # in the design and in df.
    c = full[full.region == "C"].iloc[0]
    assert (c.n, c.n_eff, c.suppressed, c.category, c.df) == (0, 0.0, True, None, 5)
    assert np.isnan(c.estimate) and np.isnan(c.se) and np.isnan(c.ci_low)


def test_any_numeric_score_works_and_categories_are_opt_in() -> None:
    # Scores on another scale (here 150..350): the estimates need no 0-100 range; the
    # category bands are only computed when asked for.
    d = _small_design()
    y = d["y"] * 2.0 + 150.0
    plain = estimate_domains(y, d["w"], d["stratum"], d["psu"], d["region"],
                             dimension_codes=["y1", "y2"]).table
    reference = estimate_domains(d["y"], d["w"], d["stratum"], d["psu"], d["region"],
                                 dimension_codes=["y1", "y2"]).table
    np.testing.assert_allclose(plain.estimate, reference.estimate * 2.0 + 150.0, rtol=1e-12)
    np.testing.assert_allclose(plain.se, reference.se * 2.0, rtol=1e-9, atol=1e-12)
    assert plain.estimate.min() > 100
    assert list(plain.columns) == list(ESTIMATE_COLUMNS)
    assert plain.category.isna().all() and plain.category.dtype == object
    with pytest.raises(ValueError, match=r"category values must lie in \[0, 100\]"):
        estimate_domains(y, d["w"], d["stratum"], d["psu"], d["region"],
                         dimension_codes=["y1", "y2"], categories=True)
    banded = estimate_domains(d["y"], d["w"], d["stratum"], d["psu"], d["region"],
                              dimension_codes=["y1", "y2"], categories=True).table
    assert banded.category.tolist() == categorize(banded.estimate.to_numpy()).tolist()
    assert banded.category.notna().sum() == banded.estimate.notna().sum() > 0


def test_regions_without_respondents_get_empty_rows_in_the_given_order() -> None:
    d = _small_design()
    table = estimate_domains(d["y"], d["w"], d["stratum"], d["psu"], d["region"],
                             dimension_codes=["y1", "y2"], regions=["C", "B", "Z", "A"]).table
    assert table.region.tolist() == ["C", "B", "Z", "A", "ALL"] * 2
    assert table.dimension.tolist() == ["y1"] * 5 + ["y2"] * 5
    z = table[table.region == "Z"]
    assert z.n.tolist() == [0, 0] and z.estimate.isna().all()
    with pytest.raises(ValueError, match=r"region\(s\) \['C'\] are not in regions="):
        estimate_domains(d["y"], d["w"], d["stratum"], d["psu"], d["region"],
                         dimension_codes=["y1", "y2"], regions=["A", "B"])
    with pytest.raises(ValueError, match="regions contains the duplicate 'A'"):
        estimate_domains(d["y"], d["w"], d["stratum"], d["psu"], d["region"],
                         dimension_codes=["y1", "y2"], regions=["A", "B", "C", "A"])


def test_suppression_threshold_is_thirty() -> None:
    assert MIN_PUBLISH_N == 30
    rng = np.random.default_rng(7)
    n = 59
    region = np.array(["A"] * 29 + ["B"] * 30)
    y = rng.uniform(0, 100, (n, 1))
    psu = np.arange(n) // 5
    table = estimate_domains(y, np.ones(n), np.zeros(n, int), psu, region,
                             dimension_codes=["S1"]).table.set_index("region")
    assert table.loc["A", "suppressed"] and table.loc["A", "n"] == 29
    assert not table.loc["B", "suppressed"] and table.loc["B", "n"] == 30
    assert table.loc["A", "estimate"] == pytest.approx(y[:29, 0].mean(), rel=1e-12)


def _singleton_design() -> dict[str, np.ndarray]:
    return {
        "y": np.array([60.0, 70, 80, 65, 90, 40, 55]),
        "w": np.array([1.0, 2, 1, 3, 1, 2, 1]),
        "stratum": np.array(["h1", "h1", "h1", "h1", "h2", "h2", "lonely"]),
        "psu": np.array([1, 1, 2, 2, 3, 4, 5]),
    }


def test_singleton_psu_stratum_policies() -> None:
    d = _singleton_design()
    args = (d["y"], d["w"], d["stratum"], d["psu"])
    with pytest.raises(DesignError, match="stratum lonely has only one PSU"):
        survey_mean(*args, lonely_psu="fail")  # R's default survey.lonely.psu = "fail"
    # "certainty" and "remove": the lonely stratum adds nothing; its respondent still enters
    # the mean and the other strata's z values.
    # R 4.2.2 / survey 4.1.1 (run for this test), svymean(~y, svydesign(ids=~psu, strata=~h,
    # weights=~w)) under options(survey.lonely.psu=...): certainty and remove -> mean
    # 63.636363636364, SE 6.773457118083; average -> SE 8.295756866963; fail -> "Stratum
    # (lonely) has only one PSU at stage 1".
    mean, se = _naive(*args, np.ones(7, bool))  # the naive loop skips n_h = 1 strata
    for policy in ("certainty", "remove"):
        r = survey_mean(*args, lonely_psu=policy)
        assert r.estimate == pytest.approx(mean, rel=1e-14)
        assert r.estimate == pytest.approx(63.636363636364, rel=1e-12)
        assert r.se == pytest.approx(se, rel=1e-12)
        assert r.se == pytest.approx(6.773457118083, rel=1e-11)
        assert r.df == 5 - 3
    # "average" (R): variance times #strata / #strata with 2+ PSUs = 3/2.
    avg = survey_mean(*args, lonely_psu="average")
    assert avg.se == pytest.approx(se * np.sqrt(3 / 2), rel=1e-12)
    assert avg.se == pytest.approx(8.295756866963, rel=1e-11)
    table = estimate_domains(d["y"][:, None], d["w"], d["stratum"], d["psu"],
                             np.array(["A"] * 7), dimension_codes=["S1"])
    assert table.singleton_strata == ("lonely",) and table.lonely_psu == "certainty"
    with pytest.raises(ValueError, match="lonely_psu must be one of"):
        survey_mean(*args, lonely_psu="adjust")  # type: ignore[arg-type]


# 40 respondents, 4 strata (stratum 3 has one PSU), PSUs crossing regions, 5 missing y
# (rows "h,psu,region,w,y").
_SVYBY_ROWS = (
    "2,2,B,3.58,85.8", "3,0,B,2.59,82.9", "0,2,A,1.5,14.0", "3,0,C,3.38,52.7", "1,1,C,0.98,25.8",
    "2,2,A,3.62,49.2", "2,0,A,3.36,55.3", "1,0,A,2.19,10.6", "3,0,A,4.09,86.4",
    "0,2,C,1.37,27.9", "1,0,B,2.26,44.7", "1,2,B,4.09,5.7", "2,1,A,2.21,0.3", "1,0,B,3.71,19.5",
    "0,1,C,3.26,34.2", "0,2,A,4.73,", "0,2,C,4.96,", "0,2,A,3.76,48.1", "0,0,A,4.14,45.5",
    "3,0,C,1.19,66.7", "0,2,C,3.71,", "2,2,A,4.31,33.7", "3,0,C,2.31,79.4", "0,0,C,2.99,39.9",
    "1,0,B,2.66,59.4", "1,1,B,4.81,73.7", "1,1,C,1.93,50.1", "3,0,C,2.31,69.1", "0,2,C,0.5,69.7",
    "3,0,B,2.39,0.6", "3,0,A,3.34,3.9", "3,0,C,4.71,14.9", "0,0,A,4.66,21.4", "1,2,B,1.97,20.3",
    "2,0,C,4.95,4.9", "1,0,A,1.34,21.7", "2,0,A,4.2,60.1", "2,0,C,1.21,88.6", "2,0,A,2.32,35.0",
    "0,2,C,0.83,",
)


def test_domains_match_r_svyby_with_missing_values_and_a_lonely_psu() -> None:
    # R 4.2.2 / survey 4.1.1 (run for this test): options(survey.lonely.psu = "certainty");
    # des <- svydesign(ids=~psu, strata=~h, weights=~w, data=d, nest=TRUE);
    # svyby(~y, ~region, des, svymean, na.rm=TRUE); svymean(~y, des, na.rm=TRUE); degf(des) 6.
    expected = {
        "A": (38.900666074600, 4.790808285921),
        "B": (45.348574483250, 11.939446427413),
        "C": (39.498777742039, 3.648775854507),
        "ALL": (40.815663691333, 3.733601941297),
    }
    fields = [row.split(",") for row in _SVYBY_ROWS]
    h = np.array([int(f[0]) for f in fields])
    psu = np.array([int(f[1]) for f in fields])
    region = np.array([f[2] for f in fields])
    w = np.array([float(f[3]) for f in fields])
    y = np.array([[float(f[4]) if f[4] else np.nan] for f in fields])
    result = estimate_domains(y, w, h, psu, region, dimension_codes=["y"])
    assert result.df == 6 and result.singleton_strata == ("3",)
    for row in result.table.itertuples():
        mean, se = expected[row.region]
        assert row.estimate == pytest.approx(mean, rel=1e-12)
        assert row.se == pytest.approx(se, rel=1e-11)


def test_no_degrees_of_freedom_gives_no_ci() -> None:
    r = survey_mean([10.0, 20.0], [1.0, 1.0], ["h", "h"], [1, 1])
    assert r.df == 0 and r.se == 0.0 and np.isnan(r.ci_low) and np.isnan(r.ci_high)


def test_survey_mean_domain_mask() -> None:
    d = _small_design()
    mask = d["region"] == "B"
    r = survey_mean(d["y"][:, 1], d["w"], d["stratum"], d["psu"], domain=mask)
    mean, se = _naive(d["y"][:, 1], d["w"], d["stratum"], d["psu"], mask)
    assert (r.estimate, r.se) == (pytest.approx(mean, rel=1e-12), pytest.approx(se, rel=1e-10))
    with pytest.raises(ValueError, match="domain must be a boolean mask"):
        survey_mean(d["y"][:, 1], d["w"], d["stratum"], d["psu"], domain=mask.astype(int))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"w": np.r_[np.ones(13), 0.0]}, "weights must be finite and > 0; position 13"),
        ({"stratum": np.r_[np.array(["s1"] * 13, dtype=object), None]},
         "stratum has a missing label at position 13"),
        ({"psu": np.array(["p1"] * 3)}, "psu has length 3, expected 14"),
        ({"y": np.ones((14, 3))}, "2 dimension codes for 3 score columns"),
        ({"y": np.full((14, 2), np.inf)}, "scores must be finite or NaN"),
        ({"region": np.array(["A"] * 13)}, "region has length 13, expected 14"),
    ],
)
def test_estimate_domains_rejects_bad_input(change: dict, message: str) -> None:
    d = _small_design() | change
    with pytest.raises(ValueError, match=message):
        estimate_domains(d["y"], d["w"], d["stratum"], d["psu"], d["region"],
                         dimension_codes=["y1", "y2"])


@st.composite
def designs(draw: st.DrawFn) -> dict[str, np.ndarray]:
    n = draw(st.integers(4, 50))
    ints = st.lists(st.integers(0, 3), min_size=n, max_size=n)
    stratum = np.array(draw(ints))
    psu = np.array(draw(ints))
    region = np.array([f"R{r}" for r in draw(ints)])
    w = np.array(draw(st.lists(st.floats(0.2, 20), min_size=n, max_size=n)))
    values = st.one_of(st.floats(0, 100), st.just(np.nan))
    y = np.array(draw(st.lists(st.lists(values, min_size=2, max_size=2), min_size=n,
                               max_size=n)))
    return {"stratum": stratum, "psu": psu, "region": region, "w": w, "y": y}


@settings(max_examples=60, deadline=None)
@given(d=designs(), seed=st.integers(0, 2**32 - 1))
def test_vectorised_pass_equals_literal_formula_and_ignores_row_order(d, seed: int) -> None:
    table = estimate_domains(d["y"], d["w"], d["stratum"], d["psu"], d["region"],
                             dimension_codes=["a", "b"]).table
    # PSU labels are taken within stratum (R nest = TRUE): the literal formula gets the pair.
    psu_key = np.char.add(d["stratum"].astype(str), np.char.add("/", d["psu"].astype(str)))
    for row in table.itertuples():
        j = 0 if row.dimension == "a" else 1
        mask = np.ones(len(d["w"]), bool) if row.region == "ALL" else d["region"] == row.region
        mean, se = _naive(d["y"][:, j], d["w"], d["stratum"], psu_key, mask)
        if np.isnan(mean):
            assert row.n == 0 and np.isnan(row.estimate)
        else:
            assert row.estimate == pytest.approx(mean, rel=1e-9, abs=1e-9)
            assert row.se == pytest.approx(se, rel=1e-7, abs=1e-9)
    perm = np.random.default_rng(seed).permutation(len(d["w"]))
    permuted = estimate_domains(d["y"][perm], d["w"][perm], d["stratum"][perm], d["psu"][perm],
                                d["region"][perm], dimension_codes=["a", "b"]).table
    pd.testing.assert_frame_equal(permuted, table, check_exact=False, rtol=1e-12, atol=1e-12)


def test_docstring_examples_run() -> None:
    import analysis.estimation as module

    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted >= 2
