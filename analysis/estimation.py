"""Weighted domain means with Taylor-linearised standard errors (METHODS.md section 4).

Design: stratified cluster sample, strata = ``stratum``, first-stage clusters = ``psu``, sampled
with replacement, final (raked) weights treated as fixed. For a domain ``d`` and a score ``y``::

    y_d  = sum_{i in d} w_i y_i / sum_{i in d} w_i
    z_i  = w_i 1[i in d] (y_i - y_d) / sum_{j in d} w_j       (zero outside the domain)
    z_hk = sum of z_i over PSU k of stratum h                 (every PSU of the design counts)
    V    = sum_h n_h / (n_h - 1) sum_k (z_hk - mean_k z_hk)^2,   SE = sqrt(V)
    CI   = y_d +- t(0.975, df) SE,   df = #PSUs - #strata of the wave's design

A respondent belongs to the domain of a dimension only when that score is valid (not NaN);
respondents outside the domain keep their PSU in the design (``z = 0``). This is what R
``survey::svyby(~y, ~region, design, svymean, na.rm = TRUE)`` computes on
``svydesign(ids = ~psu, strata = ~stratum, weights = ~w)`` with ``nest = TRUE`` (PSU labels are
taken within stratum).

Singleton-PSU strata (``n_h = 1``) have no within-stratum variance estimate. R's default,
``options(survey.lonely.psu = "fail")``, stops with an error; here the default is
``"certainty"`` (R's option of the same name: the stratum contributes zero variance, as if its PSU
were taken with certainty), so that a region with a single PSU cannot halt a whole recompute.
``"fail"`` (R's default), ``"remove"`` (zero contribution, as R) and ``"average"`` (R: the
variance is multiplied by #strata / #strata-with-2+-PSUs) are available. The singleton strata are
listed in the result so callers can report them.

Publication rule: estimates with ``n < MIN_PUBLISH_N`` (30) are flagged ``suppressed``; their
numbers are still returned (blanking is the job of the publishing layer).

Sources: METHODS.md section 4; Lumley (2010) *Complex Surveys*, ch. 2-3 and R ``survey``
(``svyrecvar``, ``onestage``, ``survey.lonely.psu``); Wolter (2007) on Taylor linearisation.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from analysis._validation import (
    as_float_1d,
    as_float_2d,
    check_length,
    check_positive_finite,
    check_unique,
    factorize,
    factorize_str,
)
from analysis.scoring import ScoreResult, categorize

__all__ = [
    "ALL_REGION",
    "ESTIMATE_COLUMNS",
    "MIN_PUBLISH_N",
    "DesignError",
    "DomainEstimate",
    "DomainEstimates",
    "DomainTotals",
    "LonelyPSU",
    "combine_totals",
    "domain_totals",
    "estimate_domains",
    "estimate_from_totals",
    "survey_mean",
]

MIN_PUBLISH_N = 30
"""Publication rule: a domain estimate with fewer valid respondents is suppressed."""

ALL_REGION = "ALL"
"""Region label of the whole-design (province) domain."""

ESTIMATE_COLUMNS = ("region", "dimension", "n", "n_eff", "estimate", "se", "ci_low", "ci_high",
                    "df", "suppressed", "category")
"""Column contract of :attr:`DomainEstimates.table`."""

LonelyPSU = Literal["certainty", "remove", "average", "fail"]
_LONELY_CHOICES = ("certainty", "remove", "average", "fail")


class DesignError(ValueError):
    """The design gives no variance: a singleton-PSU stratum with ``lonely_psu='fail'``."""


@dataclass(frozen=True)
class DomainEstimate:
    """One domain mean: ``n`` valid respondents, Kish ``n_eff``, the estimate, its SE and CI."""

    n: int
    n_eff: float
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    df: int
    suppressed: bool


@dataclass(frozen=True)
class DomainEstimates:
    """All domain estimates of one wave.

    Attributes
    ----------
    table : DataFrame
        One row per dimension x region, dimensions in input order, regions sorted as strings
        (or in the order of ``regions=``) followed by ``"ALL"``. Columns
        (:data:`ESTIMATE_COLUMNS`):

        - ``region`` (str): region label, ``"ALL"`` for the whole design;
        - ``dimension`` (str): dimension code, e.g. ``"S1"`` or ``"INDEX"``;
        - ``n`` (int64): respondents with a valid score in the domain;
        - ``n_eff`` (float): Kish ``(sum w)^2 / sum w^2`` over those respondents (0 if n = 0);
        - ``estimate``, ``se``, ``ci_low``, ``ci_high`` (float): NaN when n = 0; the CI is NaN
          when ``df <= 0``;
        - ``df`` (int64): #PSUs - #strata of the wave's design, the same on every row;
        - ``suppressed`` (bool): ``n < 30``; numbers are kept;
        - ``category`` (object dtype): with ``categories=True``, the band label of
          ``estimate`` (:func:`analysis.scoring.categorize`, 0-100 scores only), ``None`` when
          the estimate is NaN, kept for suppressed rows too; ``None`` on every row otherwise.
    df : int
        Design degrees of freedom.
    n_psu, n_strata : int
        PSUs and strata of the wave's design.
    singleton_strata : tuple of str
        Strata with a single PSU (handled as ``lonely_psu`` says).
    lonely_psu : str
    """

    table: pd.DataFrame
    df: int
    n_psu: int
    n_strata: int
    singleton_strata: tuple[str, ...]
    lonely_psu: str


@dataclass(frozen=True)
class _Design:
    weights: np.ndarray
    psu: np.ndarray            # PSU code 0..n_psu-1 per respondent (PSUs taken within stratum)
    n_psu: int
    psu_stratum: np.ndarray    # stratum code of each PSU
    n_strata: int
    n_h: np.ndarray            # PSUs per stratum
    stratum_labels: np.ndarray
    lonely_psu: str

    @property
    def df(self) -> int:
        return self.n_psu - self.n_strata

    @property
    def singletons(self) -> tuple[str, ...]:
        return tuple(str(s) for s in self.stratum_labels[self.n_h == 1])


def _design(weights: object, stratum: Sequence[Hashable] | np.ndarray,
            psu: Sequence[Hashable] | np.ndarray, lonely_psu: str) -> _Design:
    if lonely_psu not in _LONELY_CHOICES:
        raise ValueError(f"lonely_psu must be one of {_LONELY_CHOICES}, got {lonely_psu!r}")
    w = as_float_1d(weights, "weights")
    check_positive_finite(w, "weights")
    if w.size == 0:
        raise ValueError("the design has no respondents")
    check_length(stratum, w.size, "stratum", "weights")
    check_length(psu, w.size, "psu", "weights")
    s_codes, s_labels = factorize(stratum, "stratum")
    p_codes, p_labels = factorize(psu, "psu")
    # PSUs are identified within their stratum (R's nest = TRUE).
    pair = s_codes.astype(np.int64) * len(p_labels) + p_codes
    psu_codes, uniq = pd.factorize(pair, sort=True)
    psu_stratum = (np.asarray(uniq) // len(p_labels)).astype(np.intp)
    n_h = np.bincount(psu_stratum, minlength=len(s_labels))
    design = _Design(weights=w, psu=psu_codes.astype(np.intp), n_psu=len(uniq),
                     psu_stratum=psu_stratum, n_strata=len(s_labels), n_h=n_h,
                     stratum_labels=s_labels, lonely_psu=lonely_psu)
    if lonely_psu == "fail" and design.singletons:
        raise DesignError(f"stratum {design.singletons[0]} has only one PSU "
                          f"({len(design.singletons)} such strata); choose lonely_psu="
                          f"'certainty', 'remove' or 'average' (R: survey.lonely.psu)")
    return design


def _group_sums(y_t: np.ndarray, grp: np.ndarray, n_grp: int,
                weights: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per score column and group, over the rows whose score is valid (not NaN): the count,
    ``sum w``, ``sum w^2`` and ``sum w y``; four arrays of shape (D, n_grp).

    ``y_t`` is (D, n) with contiguous rows; ``grp`` gives each respondent's group 0..n_grp-1.
    This is the only pass over the respondents (one ``np.bincount`` per column and sum)."""
    n_col = y_t.shape[0]
    out = np.empty((4, n_col, n_grp))
    for j in range(n_col):
        y = y_t[j]
        valid = ~np.isnan(y)
        if valid.all():
            wv, wy = weights, weights * y
        else:
            wv = np.where(valid, weights, 0.0)            # w_i 1[y_ij valid]
            wy = wv * np.where(valid, y, 0.0)
        out[0, j] = np.bincount(grp, weights=valid, minlength=n_grp)
        out[1, j] = np.bincount(grp, weights=wv, minlength=n_grp)
        out[2, j] = np.bincount(grp, weights=wv * wv, minlength=n_grp)
        out[3, j] = np.bincount(grp, weights=wy, minlength=n_grp)
    return out[0], out[1], out[2], out[3]


def _by(values: np.ndarray, codes: np.ndarray, size: int) -> np.ndarray:
    """Sums of the columns of ``values`` (D, m) by ``codes`` (m,): shape (D, size)."""
    out = np.empty((values.shape[0], size))
    for j, row in enumerate(values):
        out[j] = np.bincount(codes, weights=row, minlength=size)
    return out


def _partition(sums: tuple[np.ndarray, ...], grp_dom: np.ndarray, grp_psu: np.ndarray,
               n_dom: int, design: _Design) -> dict[str, np.ndarray]:
    """Estimates for every domain of one partition x every score column, from group sums.

    A group is one (domain, PSU) pair that occurs; ``sums`` are its `_group_sums` (count,
    ``sum w``, ``sum w^2``, ``sum w y`` over valid rows, each (D, G)) and ``grp_dom``,
    ``grp_psu`` its domain and PSU. The domain sums are sums of group sums; the linearised
    PSU total of a domain is ``z_hk = (sum_k w y - y_d sum_k w) / sum_d w`` (the sum of ``z_i``
    over the PSU's rows in the domain, summed before dividing); PSUs without a row in the
    domain have ``z_hk = 0``. Returns arrays of shape (n_dom, D).
    """
    n_g, sw_g, sw2_g, swy_g = sums
    n_valid = _by(n_g, grp_dom, n_dom)
    sw = _by(sw_g, grp_dom, n_dom)
    sw2 = _by(sw2_g, grp_dom, n_dom)
    swy = _by(swy_g, grp_dom, n_dom)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = swy / sw
        n_eff = np.where(sw > 0, sw * sw / sw2, 0.0)
    safe_sw = np.where(sw > 0, sw, 1.0)
    totals = (swy_g - np.nan_to_num(mean)[:, grp_dom] * sw_g) / safe_sw[:, grp_dom]  # (D, G)

    # Per (domain, stratum) cell: mean of z_hk over ALL n_h PSUs of the stratum, then a
    # two-pass sum of squares: the PSUs with a group, plus the n_h - #groups PSUs whose domain
    # total is exactly zero.
    n_cell = n_dom * design.n_strata
    cell = grp_dom * design.n_strata + design.psu_stratum[grp_psu]       # (G,)
    n_h_cell = np.tile(design.n_h.astype(np.float64), n_dom)              # (n_cell,)
    n_grp_cell = np.bincount(cell, minlength=n_cell).astype(np.float64)
    cell_mean = _by(totals, cell, n_cell) / n_h_cell
    dev = totals - cell_mean[:, cell]
    ss = _by(dev * dev, cell, n_cell) + (n_h_cell - n_grp_cell) * cell_mean * cell_mean
    lonely = design.n_h == 1
    scale_h = np.where(lonely, 0.0, design.n_h / np.maximum(design.n_h - 1, 1))
    variance = (ss.reshape(-1, n_dom, design.n_strata) * scale_h).sum(axis=2)  # (D, n_dom)
    if design.lonely_psu == "average" and lonely.any():
        n_ok = int((~lonely).sum())
        variance *= design.n_strata / n_ok if n_ok else np.nan

    empty = n_valid == 0
    mean[empty] = np.nan
    se = np.sqrt(variance)
    se[empty] = np.nan
    return {"n": n_valid.T, "n_eff": n_eff.T, "estimate": mean.T, "se": se.T}


def _regions_and_all(y_t: np.ndarray, r_codes: np.ndarray, n_reg: int,
                     design: _Design) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """`_partition` by region and for the whole design, from ONE pass over the respondents:
    sums per (region, PSU) group, then per PSU as sums of those."""
    key = r_codes.astype(np.int64) * design.n_psu + design.psu
    grp, uniq = pd.factorize(key)
    uniq = np.asarray(uniq, dtype=np.int64)
    grp_dom = (uniq // design.n_psu).astype(np.intp)
    grp_psu = (uniq % design.n_psu).astype(np.intp)
    sums = _group_sums(y_t, grp, len(uniq), design.weights)
    by_region = _partition(sums, grp_dom, grp_psu, n_reg, design)
    psu_sums = tuple(_by(s, grp_psu, design.n_psu) for s in sums)
    every_psu = np.arange(design.n_psu, dtype=np.intp)
    overall = _partition(psu_sums, np.zeros(design.n_psu, dtype=np.intp), every_psu, 1, design)
    return by_region, overall


def _ci(estimate: np.ndarray, se: np.ndarray, df: int,
        confidence: float) -> tuple[np.ndarray, np.ndarray]:
    t = stats.t.ppf(0.5 + confidence / 2, df) if df > 0 else np.nan
    return estimate - t * se, estimate + t * se


def _region_codes(region: Sequence[Hashable] | np.ndarray, regions: Sequence[str] | None,
                  all_label: str) -> tuple[np.ndarray, list[str]]:
    """Each row's region code and the region labels, in ``regions`` order when given (which
    must hold every region present and not ``all_label``), else sorted."""
    r_codes, r_labels = factorize_str(region, "region")
    if regions is None:
        return r_codes, list(r_labels)
    order = [str(x) for x in regions]
    check_unique(order, "regions")
    unknown = sorted(set(r_labels) - set(order))
    if unknown:
        raise ValueError(f"region(s) {unknown} are not in regions=")
    if all_label in order:
        raise ValueError(f"regions= must not contain {all_label!r}")
    position = {label: k for k, label in enumerate(order)}
    return np.array([position[x] for x in r_labels], dtype=np.intp)[r_codes], order


def _domain_table(by_region: dict[str, np.ndarray], overall: dict[str, np.ndarray],
                  r_labels: Sequence[str], codes: Sequence[str], design: _Design, *,
                  confidence: float, all_label: str, categories: bool) -> DomainEstimates:
    """The :data:`ESTIMATE_COLUMNS` table from `_partition`'s arrays (n_dom, D) for the
    regions and the whole design: dimension-major, regions in order, then ``all_label``."""
    n_reg = len(r_labels) + 1
    parts = {k: np.vstack([by_region[k], overall[k]]) for k in by_region}  # (n_reg, D)

    def flat(a: np.ndarray) -> np.ndarray:
        return a.T.reshape(-1)  # dimension-major, region within dimension

    estimate = flat(parts["estimate"])
    se = flat(parts["se"])
    ci_low, ci_high = _ci(estimate, se, design.df, confidence)
    # counts are sums of 0/1 (exact integers); from combined totals they are rounded back
    n = np.rint(flat(parts["n"])).astype(np.int64)
    table = pd.DataFrame({
        "region": np.tile(np.array([*r_labels, all_label], dtype=object), len(codes)),
        "dimension": np.repeat(np.array(codes, dtype=object), n_reg),
        "n": n,
        "n_eff": flat(parts["n_eff"]),
        "estimate": estimate,
        "se": se,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "df": np.full(n.size, design.df, dtype=np.int64),
        "suppressed": n < MIN_PUBLISH_N,
        "category": pd.Series(categorize(estimate) if categories
                              else np.full(estimate.size, None, dtype=object), dtype=object),
    })
    return DomainEstimates(table=table, df=design.df, n_psu=design.n_psu,
                           n_strata=design.n_strata, singleton_strata=design.singletons,
                           lonely_psu=design.lonely_psu)


def estimate_domains(scores: np.ndarray | ScoreResult,
                     weights: Sequence[float] | np.ndarray,
                     stratum: Sequence[Hashable] | np.ndarray,
                     psu: Sequence[Hashable] | np.ndarray,
                     region: Sequence[Hashable] | np.ndarray,
                     *,
                     dimension_codes: Sequence[str] | None = None,
                     regions: Sequence[str] | None = None,
                     lonely_psu: LonelyPSU = "certainty",
                     confidence: float = 0.95,
                     all_label: str = ALL_REGION,
                     categories: bool = False) -> DomainEstimates:
    """Weighted means, Taylor SEs and t CIs for every region and the whole design, per score.

    For every score column ``y`` and every domain ``d`` (each region, and ``"ALL"``)::

        y_d = sum_{i in d} w_i y_i / sum_{i in d} w_i
        V   = sum_h n_h/(n_h - 1) sum_k (z_hk - mean_k z_hk)^2,
              z_i = w_i 1[i in d] (y_i - y_d) / sum_{j in d} w_j
        CI  = y_d +- t(1/2 + confidence/2, df) sqrt(V),  df = #PSUs - #strata
        n_eff = (sum_{i in d} w_i)^2 / sum_{i in d} w_i^2,  suppressed = n < 30

    Computed for all domains and columns in one vectorised pass (group sums with
    ``np.bincount`` over domain, PSU and stratum codes), linear in the number of respondents.
    The scores may be on any numeric scale; only ``categories=True`` assumes the 0-100 index
    scale (METHODS.md section 2 bands).

    Parameters
    ----------
    scores : ndarray (n, D) or ScoreResult
        Score columns (NaN = missing). A :class:`~analysis.scoring.ScoreResult` contributes its
        dimensions and the index (``INDEX``).
    weights : array_like, shape (n,)
        Final weights (finite, > 0), treated as fixed.
    stratum, psu : array_like, shape (n,)
        Design strata and first-stage clusters; PSU labels are taken within stratum.
    region : array_like, shape (n,)
        Domain label of each respondent (compared as strings).
    dimension_codes : sequence of str, optional
        Names of the ``D`` columns; required for an ndarray.
    regions : sequence of str, optional
        Regions to report, in this order; regions without respondents get ``n = 0`` rows.
        Must include every region in ``region``. Default: the sorted regions present.
    lonely_psu : {"certainty", "remove", "average", "fail"}, default "certainty"
        Singleton-PSU strata: zero variance contribution ("certainty", "remove"), the R
        "average" rescaling, or :class:`DesignError` ("fail", R's default).
    confidence : float, default 0.95
    all_label : str, default "ALL"
    categories : bool, default False
        Fill ``category`` with the 0-100 band of each estimate
        (:func:`analysis.scoring.categorize`); the index run asks for it. Off, the column is
        ``None`` and any finite score works.

    Returns
    -------
    DomainEstimates
        ``.table`` follows :data:`ESTIMATE_COLUMNS` (see :class:`DomainEstimates`).

    Raises
    ------
    ValueError
        On length mismatches, non-positive weights, missing design labels, a region not in
        ``regions``, an unknown ``lonely_psu``, or (``categories=True`` only) an estimate
        outside [0, 100].
    DesignError
        A singleton-PSU stratum with ``lonely_psu="fail"``.

    Notes
    -----
    Missing data: a respondent with a NaN score is outside that score's domains (it counts in
    neither ``n`` nor the mean) but its PSU remains in the design, as in R ``svyby`` with
    ``na.rm = TRUE``. An empty domain gives ``n = 0``, ``n_eff = 0``, NaN estimate and SE.

    References
    ----------
    METHODS.md section 4; Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R.
    Wiley, sections 2.2-2.4 (domains keep the full design); R survey ``svyby``/``svymean`` and
    ``options(survey.lonely.psu)``; Wolter, K. (2007). Introduction to Variance Estimation, ch. 6.
    """
    if isinstance(scores, ScoreResult):
        y = scores.all_scores
        codes = list(scores.all_codes if dimension_codes is None else dimension_codes)
    else:
        y = as_float_2d(scores, "scores")
        if dimension_codes is None:
            raise ValueError("dimension_codes is required when scores is an array")
        codes = [str(c) for c in dimension_codes]
    if len(codes) != y.shape[1]:
        raise ValueError(f"{len(codes)} dimension codes for {y.shape[1]} score columns")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    design = _design(weights, stratum, psu, lonely_psu)
    check_length(y, design.weights.size, "scores", "weights")
    check_length(region, design.weights.size, "region", "weights")
    r_codes, r_labels = _region_codes(region, regions, all_label)
    y_t = np.ascontiguousarray(y.T)  # no copy for column-major scores (ScoreResult)
    if np.isinf(y_t).any():
        raise ValueError("scores must be finite or NaN")
    by_region, overall = _regions_and_all(y_t, r_codes, len(r_labels), design)
    return _domain_table(by_region, overall, r_labels, codes, design, confidence=confidence,
                         all_label=all_label, categories=categories)


def survey_mean(y: Sequence[float] | np.ndarray,
                weights: Sequence[float] | np.ndarray,
                stratum: Sequence[Hashable] | np.ndarray,
                psu: Sequence[Hashable] | np.ndarray,
                *,
                domain: Sequence[bool] | np.ndarray | None = None,
                lonely_psu: LonelyPSU = "certainty",
                confidence: float = 0.95) -> DomainEstimate:
    """Weighted mean of one variable over one domain, with its Taylor SE and t CI.

    Same formulas as :func:`estimate_domains` (METHODS.md section 4), for a single domain given
    as a boolean mask (default: every respondent).

    Parameters
    ----------
    y : array_like, shape (n,)
        NaN = missing (outside the domain, PSU kept).
    weights, stratum, psu : array_like, shape (n,)
    domain : array_like of bool, shape (n,), optional
    lonely_psu, confidence : see :func:`estimate_domains`.

    Returns
    -------
    DomainEstimate

    References
    ----------
    METHODS.md section 4; test_vectors.md item 4 (R ``svymean``).

    Examples
    --------
    test_vectors.md item 4 (R ``svymean``: mean 75.96667, SE 2.537628):

    >>> r = survey_mean([70, 80, 60, 65, 75, 85, 90, 72], [10, 10, 12, 12, 20, 20, 18, 18],
    ...                 [1, 1, 1, 1, 2, 2, 2, 2], [1, 1, 2, 2, 3, 3, 4, 4])
    >>> round(r.estimate, 5), round(r.se, 6)
    (75.96667, 2.537628)
    """
    values = as_float_1d(y, "y")
    design = _design(weights, stratum, psu, lonely_psu)
    check_length(values, design.weights.size, "y", "weights")
    valid = ~np.isnan(values)
    if domain is not None:
        mask = np.asarray(domain)
        if mask.dtype != bool:
            raise ValueError("domain must be a boolean mask")
        check_length(mask, values.size, "domain", "y")
        valid &= mask
    sums = _group_sums(np.where(valid, values, np.nan)[None, :], design.psu, design.n_psu,
                       design.weights)
    part = _partition(sums, np.zeros(design.n_psu, dtype=np.intp),
                      np.arange(design.n_psu, dtype=np.intp), 1, design)
    est = part["estimate"][0, 0]
    se = part["se"][0, 0]
    lo, hi = _ci(np.array([est]), np.array([se]), design.df, confidence)
    n = int(part["n"][0, 0])
    return DomainEstimate(n=n, n_eff=float(part["n_eff"][0, 0]), estimate=float(est),
                          se=float(se), ci_low=float(lo[0]), ci_high=float(hi[0]),
                          df=design.df, suppressed=n < MIN_PUBLISH_N)


# ---------------------------------------------------------------------------------------------
# Sufficient statistics: the same estimates from per-PSU totals (parallel index runs)


@dataclass(frozen=True)
class DomainTotals:
    """Per (region, stratum, PSU) group and score column: ``n`` valid respondents and the
    weighted totals ``sw = sum w``, ``sw2 = sum w^2``, ``swy = sum w y`` over the valid ones.

    Everything :func:`estimate_domains` needs (the domain means are ratios of ``swy`` and ``sw``;
    the linearised PSU totals are ``(swy_k - y_d sw_k) / sw_d``; ``n_eff`` uses ``sw2``; the
    design is the set of (stratum, PSU) pairs), so the estimates of a whole design are computed
    from the totals of disjoint parts of it (:func:`combine_totals`) without their rows. Arrays
    ``n, sw, sw2, swy`` have shape (groups, D); labels are strings.
    """

    codes: tuple[str, ...]
    region: np.ndarray   # (g,) object
    stratum: np.ndarray  # (g,) object
    psu: np.ndarray      # (g,) object
    n: np.ndarray
    sw: np.ndarray
    sw2: np.ndarray
    swy: np.ndarray


def domain_totals(scores: np.ndarray | ScoreResult, weights: Sequence[float] | np.ndarray,
                  stratum: Sequence[Hashable] | np.ndarray, psu: Sequence[Hashable] | np.ndarray,
                  region: Sequence[Hashable] | np.ndarray, *,
                  dimension_codes: Sequence[str] | None = None) -> DomainTotals:
    """The :class:`DomainTotals` of some respondents (arguments as :func:`estimate_domains`)."""
    if isinstance(scores, ScoreResult):
        y = scores.all_scores
        codes = list(scores.all_codes if dimension_codes is None else dimension_codes)
    else:
        y = as_float_2d(scores, "scores")
        if dimension_codes is None:
            raise ValueError("dimension_codes is required when scores is an array")
        codes = [str(c) for c in dimension_codes]
    if len(codes) != y.shape[1]:
        raise ValueError(f"{len(codes)} dimension codes for {y.shape[1]} score columns")
    w = as_float_1d(weights, "weights")
    check_positive_finite(w, "weights")
    for arr, name in ((y, "scores"), (stratum, "stratum"), (psu, "psu"), (region, "region")):
        check_length(arr, w.size, name, "weights")
    if np.isinf(y).any():
        raise ValueError("scores must be finite or NaN")
    r_codes, r_labels = factorize_str(region, "region")
    s_codes, s_labels = factorize_str(stratum, "stratum")
    p_codes, p_labels = factorize_str(psu, "psu")
    key = (r_codes.astype(np.int64) * len(s_labels) + s_codes) * len(p_labels) + p_codes
    grp, uniq = pd.factorize(key, sort=True)
    uniq = np.asarray(uniq, dtype=np.int64)
    n_grp = len(uniq)
    valid = ~np.isnan(y)
    wv = valid * w[:, None]
    y0 = np.where(valid, y, 0.0)

    def by_group(values: np.ndarray) -> np.ndarray:
        return np.column_stack([np.bincount(grp, weights=values[:, j], minlength=n_grp)
                                for j in range(values.shape[1])]) if n_grp else \
            np.zeros((0, values.shape[1]))

    p_of = uniq % len(p_labels) if n_grp else uniq
    s_of = (uniq // len(p_labels)) % len(s_labels) if n_grp else uniq
    r_of = uniq // (len(p_labels) * len(s_labels)) if n_grp else uniq
    return DomainTotals(
        codes=tuple(codes),
        region=np.asarray(r_labels, dtype=object)[r_of],
        stratum=np.asarray(s_labels, dtype=object)[s_of],
        psu=np.asarray(p_labels, dtype=object)[p_of],
        n=by_group(valid.astype(np.float64)), sw=by_group(wv), sw2=by_group(wv * wv),
        swy=by_group(wv * y0))


def combine_totals(parts: Sequence[DomainTotals]) -> DomainTotals:
    """The totals of disjoint sets of respondents of one design, as one :class:`DomainTotals`
    (groups that occur in several parts are summed by :func:`estimate_from_totals`)."""
    if not parts:
        raise ValueError("no totals to combine")
    codes = parts[0].codes
    for part in parts[1:]:
        if part.codes != codes:
            raise ValueError(f"totals of different score columns: {codes} and {part.codes}")

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts])
    return DomainTotals(codes=codes, region=cat("region"), stratum=cat("stratum"),
                        psu=cat("psu"), n=cat("n"), sw=cat("sw"), sw2=cat("sw2"),
                        swy=cat("swy"))


def _partition_totals(t: DomainTotals, dom: np.ndarray, n_dom: int, psu_of: np.ndarray,
                      design: _Design) -> dict[str, np.ndarray]:
    """`_partition` on group totals: ``dom`` and ``psu_of`` give each group's domain and design
    PSU code; groups of several parts that share a (domain, PSU) pair are summed first.
    Returns arrays of shape (n_dom, D)."""
    key = dom.astype(np.int64) * design.n_psu + psu_of
    grp, uniq = pd.factorize(key, sort=True)
    uniq = np.asarray(uniq, dtype=np.int64)
    sums = tuple(_by(np.ascontiguousarray(a.T), grp, len(uniq)) for a in (t.n, t.sw, t.sw2, t.swy))
    return _partition(sums, (uniq // design.n_psu).astype(np.intp),
                      (uniq % design.n_psu).astype(np.intp), n_dom, design)


def estimate_from_totals(totals: DomainTotals, *, regions: Sequence[str] | None = None,
                         lonely_psu: LonelyPSU = "certainty", confidence: float = 0.95,
                         all_label: str = ALL_REGION,
                         categories: bool = False) -> DomainEstimates:
    """:func:`estimate_domains` of the respondents behind ``totals`` (one or several parts,
    :func:`combine_totals`), from their totals alone: the same table, equal up to the
    rounding of the sums (tests: ~1e-13 relative)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    codes = list(totals.codes)
    g = totals.region.size
    design = _design(np.ones(g), totals.stratum, totals.psu, lonely_psu)
    psu_of = design.psu
    r_codes, r_labels = _region_codes(totals.region, regions, all_label)
    by_region = _partition_totals(totals, r_codes, len(r_labels), psu_of, design)
    overall = _partition_totals(totals, np.zeros(g, dtype=np.intp), 1, psu_of, design)
    return _domain_table(by_region, overall, r_labels, codes, design, confidence=confidence,
                         all_label=all_label, categories=categories)
