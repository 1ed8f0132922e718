"""The one-pass estimation (issue 15) equals the previous two-pass algorithm.

`estimate_domains` now makes ONE pass over the respondents (sums per (region, PSU) group, then
everything at group level, the whole design's PSU sums as sums of the region groups). The
previous implementation, kept here verbatim as `_previous_partition` (analysis/estimation.py
before issue 15: one pass per partition, the linearised values ``z_i`` formed per respondent
and summed per (domain, PSU)), is the reference: every number of the table must agree to
1e-13 relative (the sums are the same sums in another order), on random designs with
singleton-PSU strata, PSUs that cross regions, missing scores, empty regions and 7-point
data, under every ``lonely_psu`` rule. The R reference values are checked in
test_estimation.py and tests/test_e2e_reference.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis._validation import factorize_str
from analysis.estimation import (
    ALL_REGION,
    _ci,
    _Design,
    _design,
    estimate_domains,
    survey_mean,
)
from analysis.scoring import DimensionSpec, InstrumentSpec, score

RTOL = 1e-13


def _previous_partition(y_t: np.ndarray, valid_t: np.ndarray, dom: np.ndarray, n_dom: int,
                        design: _Design) -> dict[str, np.ndarray]:
    """analysis.estimation._partition as it was before issue 15 (verbatim)."""
    n_col, n = y_t.shape
    col = np.arange(n_col)[:, None]
    wv = valid_t * design.weights
    y0 = np.where(valid_t, y_t, 0.0)
    idx = (dom + col * n_dom).ravel()
    m = n_col * n_dom

    def by_domain(values: np.ndarray) -> np.ndarray:
        return np.bincount(idx, weights=values.ravel(), minlength=m)

    n_valid = by_domain(valid_t.astype(np.float64))
    sw = by_domain(wv)
    sw2 = by_domain(wv * wv)
    swy = by_domain(wv * y0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = swy / sw
        n_eff = np.where(sw > 0, sw * sw / sw2, 0.0)
    safe_sw = np.where(sw > 0, sw, 1.0)
    z = wv.ravel() * (y0.ravel() - np.nan_to_num(mean)[idx]) / safe_sw[idx]
    if n_dom == 1:
        grp, n_grp = design.psu, design.n_psu
        grp_dom = np.zeros(n_grp, dtype=np.intp)
        grp_psu = np.arange(n_grp)
    else:
        key = dom.astype(np.int64) * design.n_psu + design.psu
        grp, uniq = pd.factorize(key)
        uniq = np.asarray(uniq)
        n_grp = len(uniq)
        grp_dom = (uniq // design.n_psu).astype(np.intp)
        grp_psu = (uniq % design.n_psu).astype(np.intp)
    totals = np.bincount((grp + col * n_grp).ravel(), weights=z, minlength=n_col * n_grp)
    n_cell = n_dom * design.n_strata
    cell = grp_dom * design.n_strata + design.psu_stratum[grp_psu]
    cidx = (cell + col * n_cell).ravel()
    n_h_cell = np.tile(design.n_h.astype(np.float64), n_col * n_dom)
    n_grp_cell = np.tile(np.bincount(cell, minlength=n_cell), n_col)
    cell_mean = np.bincount(cidx, weights=totals, minlength=n_col * n_cell) / n_h_cell
    dev = totals - cell_mean[cidx]
    ss: np.ndarray = np.bincount(cidx, weights=dev * dev, minlength=n_col * n_cell)
    ss += (n_h_cell - n_grp_cell) * cell_mean * cell_mean
    lonely = design.n_h == 1
    scale_h = np.where(lonely, 0.0, design.n_h / np.maximum(design.n_h - 1, 1))
    variance = (ss.reshape(n_col, n_dom, design.n_strata) * scale_h).sum(axis=2)
    if design.lonely_psu == "average" and lonely.any():
        n_ok = int((~lonely).sum())
        variance *= design.n_strata / n_ok if n_ok else np.nan
    n_valid = n_valid.reshape(n_col, n_dom)
    mean = mean.reshape(n_col, n_dom)
    empty = n_valid == 0
    mean[empty] = np.nan
    se = np.sqrt(variance)
    se[empty] = np.nan
    return {"n": n_valid.T, "n_eff": n_eff.reshape(n_col, n_dom).T, "estimate": mean.T,
            "se": se.T}


def _previous(y: np.ndarray, w: np.ndarray, stratum, psu, region, regions: list[str],
              lonely_psu: str) -> pd.DataFrame:
    """The numbers of estimate_domains before issue 15, in its table order."""
    design = _design(w, stratum, psu, lonely_psu)
    r_codes, r_labels = factorize_str(region, "region")
    position = {label: k for k, label in enumerate(regions)}
    r_codes = np.array([position[x] for x in r_labels], dtype=np.intp)[r_codes]
    y_t = np.ascontiguousarray(y.T)
    valid_t = ~np.isnan(y_t)
    by_region = _previous_partition(y_t, valid_t, r_codes, len(regions), design)
    overall = _previous_partition(y_t, valid_t, np.zeros(w.size, dtype=np.intp), 1, design)
    parts = {k: np.vstack([by_region[k], overall[k]]) for k in by_region}
    out = {k: v.T.reshape(-1) for k, v in parts.items()}
    out["ci_low"], out["ci_high"] = _ci(out["estimate"], out["se"], design.df, 0.95)
    return pd.DataFrame(out)


def _random_design(seed: int, n: int, n_col: int, scale: int) -> dict:
    rng = np.random.default_rng(seed)
    n_strata = int(rng.integers(3, 9))
    stratum = rng.integers(0, n_strata, n)
    psu = rng.integers(0, int(rng.integers(1, 6)), n)       # few PSUs: singletons occur
    single = int(rng.integers(0, n_strata))
    psu[stratum == single] = 0                              # one stratum with a single PSU
    region = np.array([f"R{k}" for k in rng.integers(0, 5, n)])  # crosses strata and PSUs
    y = rng.integers(1, scale + 1, (n, n_col)).astype(np.float64)
    y += rng.normal(0, 0.01, y.shape)                       # scores, not only integers
    y[rng.random(y.shape) < 0.1] = np.nan                   # missing scores
    y[region == "R3", 0] = np.nan                           # a region empty in one column
    w = rng.lognormal(0, 0.6, n) * 100
    return {"y": y, "w": w, "stratum": stratum.astype(str), "psu": psu, "region": region}


def _assert_close(new: pd.DataFrame, old: pd.DataFrame) -> None:
    np.testing.assert_array_equal(new["n"].to_numpy(), old["n"].to_numpy().astype(np.int64))
    for column in ("n_eff", "estimate", "se", "ci_low", "ci_high"):
        a, b = new[column].to_numpy(float), old[column].to_numpy(float)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=column)
        # relative to the column's scale, so that an SE of exactly 0 compares too
        scale = max(np.nanmax(np.abs(b)), 1e-300) if np.isfinite(b).any() else 1.0
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=RTOL * scale, equal_nan=True,
                                   err_msg=column)


@pytest.mark.parametrize("lonely_psu", ["certainty", "remove", "average"])
@pytest.mark.parametrize("seed", range(6))
def test_estimates_equal_the_previous_algorithm_on_random_designs(seed, lonely_psu) -> None:
    d = _random_design(seed, n=int(np.random.default_rng(seed).integers(200, 3000)),
                       n_col=4, scale=5 if seed % 2 else 7)
    regions = ["R0", "R1", "R2", "R3", "R4", "R9"]              # R9: no respondents
    result = estimate_domains(d["y"], d["w"], d["stratum"], d["psu"], d["region"],
                              dimension_codes=list("ABCD"), regions=regions,
                              lonely_psu=lonely_psu)
    new = result.table
    old = _previous(d["y"], d["w"], d["stratum"], d["psu"], d["region"], regions, lonely_psu)
    assert result.singleton_strata  # the designs exercise the lonely-PSU rule
    assert (new["region"] == ALL_REGION).sum() == 4 and (new["n"] == 0).any()
    _assert_close(new, old)


def test_seven_point_scores_of_a_scored_instrument_equal_the_previous_algorithm() -> None:
    rng = np.random.default_rng(7)
    n = 4000
    spec = InstrumentSpec(scale_min=1, scale_max=7, min_valid_share=2 / 3, dimensions=tuple(
        DimensionSpec(code=f"S{d}", weight=1 / 3, item_codes=tuple(f"S{d}_{j}" for j in range(4)),
                      reverse=(False, False, False, True)) for d in (1, 2, 3)))
    answers = rng.integers(1, 8, (n, 12)).astype(np.float64)
    answers[rng.random(answers.shape) < 0.2] = np.nan        # some scores become missing
    scores = score(answers, spec)
    region = np.array([f"64{k:02d}" for k in rng.integers(1, 12, n)])
    stratum = region.copy()
    psu = rng.integers(0, 40, n)
    w = rng.uniform(50, 500, n)
    regions = sorted(set(region))
    new = estimate_domains(scores, w, stratum, psu, region).table
    old = _previous(scores.all_scores, w, stratum, psu, region, regions, "certainty")
    assert np.isnan(scores.all_scores).any()
    _assert_close(new, old)


def test_survey_mean_with_a_domain_equals_the_previous_algorithm() -> None:
    d = _random_design(3, n=1500, n_col=1, scale=5)
    mask = d["region"] != "R1"
    r = survey_mean(d["y"][:, 0], d["w"], d["stratum"], d["psu"], domain=mask)
    design = _design(d["w"], d["stratum"], d["psu"], "certainty")
    valid = ~np.isnan(d["y"][:, 0]) & mask
    old = _previous_partition(d["y"][:, 0][None, :], valid[None, :],
                              np.zeros(d["w"].size, dtype=np.intp), 1, design)
    assert r.n == int(old["n"][0, 0])
    assert r.estimate == pytest.approx(old["estimate"][0, 0], rel=RTOL)
    assert r.se == pytest.approx(old["se"][0, 0], rel=RTOL)


def test_the_one_pass_sums_are_no_less_exact_than_the_previous_ones() -> None:
    """On 200,000 rows the two algorithms differ by up to ~1e-12 relative: the rounding of
    the previous algorithm's one long sequential sum. Against exactly rounded sums
    (math.fsum), the one-pass estimate (sums of PSU-group sums) is at least as close."""
    import math

    rng = np.random.default_rng(11)
    n = 200_000
    region = np.array([f"64{k:02d}" for k in np.sort(rng.integers(1, 11, n))])
    psu = np.arange(n) // 10
    y = np.clip(np.rint(60 + 15 * rng.standard_normal(n)), 0, 100)
    y[rng.random(n) < 0.03] = np.nan
    w = rng.uniform(200, 2000, n)
    table = estimate_domains(y[:, None], w, region, psu, region, dimension_codes=["Y"]).table
    new = table.loc[table["region"] == ALL_REGION, "estimate"].item()
    old = _previous(y[:, None], w, region, psu, region, sorted(set(region)), "certainty")
    valid = ~np.isnan(y)
    exact = math.fsum((w[valid] * y[valid]).tolist()) / math.fsum(w[valid].tolist())
    previous = old["estimate"].to_numpy()[-1]
    assert abs(new - exact) <= max(abs(previous - exact), 4e-16 * exact)
