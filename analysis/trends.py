"""Trends and year-over-year changes of published estimates (METHODS.md section 6).

A *series* is one (region, dimension) pair -- region ``ALL`` (the province) and dimension
``INDEX`` (the overall index) included -- and holds the **published** yearly estimates in wave
order: rows flagged ``suppressed`` (n < 30, METHODS.md section 4) or without an estimate take no
part in it.

Suppressed-point rule (reproduces ``reference/kaltim/expected/changes.csv``): a change is
computed between *consecutive published points* of a series, so a suppressed wave is bridged, not
skipped. Mahakam Ulu (6411) is suppressed in 2023, hence its changes are 2021->2022,
2022->2024 and 2024->2025, and its trend has 4 points (first wave 2021, last wave 2025). The
same holds for a wave that is absent altogether. ``from_wave``/``to_wave`` always show the span.

Series breaks (an instrument methodology change) are not detected here: pass only waves that
are comparable (METHODS.md section 1, "never fit one trend across a break").
`analysis.bridges.segmented_tables` splits an instrument's waves into series at version breaks
and calls these functions per series (bridge estimates across a linked version boundary).

`series_trend` / `year_change` are the definitions of one series / one change;
`trend_table`, `change_table`, `series_trends` and `year_changes` compute many series at once
with numpy (series sharing the same years form one matrix) and give the same results (see
"vectorised tables" below; tests/analysis/test_trends_vectorised.py).

Sources: scipy.stats ``linregress``, ``theilslopes`` (Sen 1968) and ``kendalltau`` with the
exact null distribution (Mann 1945; Kendall 1975); the MDC factor 2.80 = z(0.975) + z(0.80)
rounded as in METHODS.md.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from analysis._validation import require_columns

# scipy wraps linregress, theilslopes and kendalltau in its axis/nan-policy decorator, which
# inspects signatures on every call (~0.8 ms of the ~2.5 ms a 5-point series took). The series
# here are 1-D, finite and validated before the calls, so the undecorated functions return the
# same bits at a fraction of the cost (tests/analysis/test_trends.py compares them with the
# public functions); a scipy without ``__wrapped__`` falls back to the public ones. A national
# run has ~3,000 series per instrument (514 regencies x 6 codes).
_linregress = getattr(stats.linregress, "__wrapped__", stats.linregress)
_theilslopes = getattr(stats.theilslopes, "__wrapped__", stats.theilslopes)
_kendalltau = getattr(stats.kendalltau, "__wrapped__", stats.kendalltau)


@functools.lru_cache(maxsize=64)
def _t975(df: int) -> float:
    """``t(0.975, df)``: the same few degrees of freedom recur in every series."""
    return float(stats.t.ppf(0.975, df))

__all__ = [
    "ALPHA",
    "CHANGE_COLUMNS",
    "MDC_FACTOR",
    "MIN_POINTS_MONOTONE",
    "MIN_POINTS_OLS",
    "TREND_COLUMNS",
    "ChangeResult",
    "OfficeVerdict",
    "TrendResult",
    "change_table",
    "mann_kendall_can_reject",
    "office_verdict",
    "series_changes",
    "series_order",
    "series_trend",
    "series_trends",
    "trend_table",
    "year_change",
    "year_changes",
]

#: Significance level for changes and for the Mann-Kendall direction.
ALPHA = 0.05
#: Minimum detectable change at 80 % power, two-sided 5 %: MDC = 2.80 SE(delta).
MDC_FACTOR = 2.80
#: Points needed for the OLS slope.
MIN_POINTS_OLS = 4
#: Points needed for Theil-Sen and Mann-Kendall.
MIN_POINTS_MONOTONE = 3

TREND_COLUMNS: tuple[str, ...] = (
    "region",
    "dimension",
    "n_points",
    "first_wave",
    "last_wave",
    "ols_slope",
    "ols_slope_se",
    "ols_ci_low",
    "ols_ci_high",
    "ols_p",
    "sen_slope",
    "sen_ci_low",
    "sen_ci_high",
    "kendall_tau",
    "kendall_p",
    "direction",
)
CHANGE_COLUMNS: tuple[str, ...] = (
    "region",
    "dimension",
    "from_wave",
    "to_wave",
    "delta",
    "se",
    "z",
    "p",
    "significant",
    "mdc",
)

_ESTIMATE_COLUMNS = ("wave", "region", "dimension", "estimate", "se", "suppressed")
_NAN = float("nan")


@dataclass(frozen=True)
class TrendResult:
    """Trend statistics of one series; fields are NaN (direction ``None``) when too few points.

    ``direction`` is ``"up"``/``"down"`` (sign of the Theil-Sen slope) when the exact
    Mann-Kendall p < ``ALPHA``, ``"none"`` otherwise, and ``None`` with fewer than
    ``MIN_POINTS_MONOTONE`` points.
    """

    n_points: int
    first_wave: int
    last_wave: int
    ols_slope: float
    ols_slope_se: float
    ols_ci_low: float
    ols_ci_high: float
    ols_p: float
    sen_slope: float
    sen_ci_low: float
    sen_ci_high: float
    kendall_tau: float
    kendall_p: float
    direction: str | None


@dataclass(frozen=True)
class ChangeResult:
    """Change between two consecutive published points of a series."""

    from_wave: int
    to_wave: int
    delta: float
    se: float
    z: float
    p: float
    significant: bool
    mdc: float


def _as_series_arrays(
    years: Sequence[int] | np.ndarray, *columns: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, ...]:
    """Validate a series and return (years, *columns) sorted by year."""
    year_arr = np.asarray(years)
    if year_arr.ndim != 1 or year_arr.size == 0:
        raise ValueError("a series needs at least one point (years must be a non-empty 1-D array)")
    if not np.issubdtype(year_arr.dtype, np.number):
        raise ValueError(f"years must be numeric, got dtype {year_arr.dtype}")
    if not np.all(np.isfinite(year_arr)) or np.any(year_arr != np.round(year_arr)):
        raise ValueError("years must be finite whole numbers")
    year_arr = year_arr.astype(np.int64)
    if np.unique(year_arr).size != year_arr.size:
        raise ValueError(f"years must be unique within a series, got {year_arr.tolist()}")
    arrays = []
    for col in columns:
        arr = np.asarray(col, dtype=float)
        if arr.shape != year_arr.shape:
            raise ValueError(
                f"every column must have one value per year: {arr.shape} vs {year_arr.shape}"
            )
        arrays.append(arr)
    order = np.argsort(year_arr, kind="stable")
    return (year_arr[order], *(arr[order] for arr in arrays))


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float, float]:
    """OLS slope, its SE, 95 % CI and two-sided p of one series (``linregress``, n >= 4)."""
    fit = _linregress(x, y)
    slope, se, p = float(fit.slope), float(fit.stderr), float(fit.pvalue)
    half = _t975(x.size - 2) * se
    return slope, se, slope - half, slope + half, p


def series_trend(
    years: Sequence[int] | np.ndarray, values: Sequence[float] | np.ndarray
) -> TrendResult:
    """Trend of one series of published yearly estimates.

    Parameters
    ----------
    years : array_like of int
        Wave years, unique (any order; the series is sorted by year).
    values : array_like of float
        Published estimates, one per year, all finite (drop suppressed points before calling).

    Returns
    -------
    TrendResult
        With n the number of points:

        - OLS (n >= 4): ``scipy.stats.linregress(year, y)``; slope, its standard error,
          ``CI = slope +- t(0.975, n - 2) stderr`` and the two-sided p of slope = 0;
        - Theil-Sen (n >= 3): ``scipy.stats.theilslopes(y, year, alpha=0.95,
          method="separate")``: median pairwise slope with its 95 % CI;
        - Mann-Kendall (n >= 3): Kendall tau-b of (year, y) with the exact two-sided p,
          ``scipy.stats.kendalltau(year, y, method="exact")``; if y has tied values the
          exact distribution does not apply and the tie-corrected normal approximation
          (``method="asymptotic"``) is used; a constant series gives NaN tau and p;
        - direction: ``"up"``/``"down"`` by the sign of the Theil-Sen slope if the Kendall
          p < 0.05, else ``"none"`` (also when p is undefined, e.g. a constant series);
          ``None`` below 3 points.

        Statistics that need more points are NaN.

    Raises
    ------
    ValueError
        If the series is empty, years are not unique whole numbers, or a value is not finite.

    Notes
    -----
    With 3 or 4 points no monotone trend can be significant (minimum exact two-sided p is
    1/3 and 1/12). Source: METHODS.md section 6; scipy 1.17 documentation of the three
    functions.
    """
    year_arr, y = _as_series_arrays(years, values)
    if not np.all(np.isfinite(y)):
        raise ValueError("series values must be finite; drop suppressed or missing points first")
    n = int(y.size)
    x = year_arr.astype(float)

    ols_slope = ols_se = ols_low = ols_high = ols_p = _NAN
    if n >= MIN_POINTS_OLS:
        ols_slope, ols_se, ols_low, ols_high, ols_p = _ols(x, y)

    sen_slope = sen_low = sen_high = tau = tau_p = _NAN
    direction: str | None = None
    if n >= MIN_POINTS_MONOTONE:
        sen = _theilslopes(y, x, alpha=0.95, method="separate")
        sen_slope = float(sen.slope)
        sen_low, sen_high = float(sen.low_slope), float(sen.high_slope)
        if np.ptp(y) == 0.0:
            # kendalltau is undefined (all ties) and would warn; no trend is evidenced.
            tau = tau_p = _NAN
        else:
            # The exact null distribution assumes no ties; with tied estimates (rare: they
            # are continuous) scipy's tie-corrected normal approximation is used instead.
            method = "exact" if np.unique(y).size == n else "asymptotic"
            kt = _kendalltau(x, y, method=method)
            tau, tau_p = float(kt.statistic), float(kt.pvalue)
        direction = "none"
        if tau_p < ALPHA:  # False for NaN
            if sen_slope > 0:
                direction = "up"
            elif sen_slope < 0:
                direction = "down"

    return TrendResult(
        n_points=n,
        first_wave=int(year_arr[0]),
        last_wave=int(year_arr[-1]),
        ols_slope=ols_slope,
        ols_slope_se=ols_se,
        ols_ci_low=ols_low,
        ols_ci_high=ols_high,
        ols_p=ols_p,
        sen_slope=sen_slope,
        sen_ci_low=sen_low,
        sen_ci_high=sen_high,
        kendall_tau=tau,
        kendall_p=tau_p,
        direction=direction,
    )


def year_change(
    from_wave: int,
    to_wave: int,
    estimate_from: float,
    se_from: float,
    estimate_to: float,
    se_to: float,
) -> ChangeResult:
    """Change between two published estimates of the same series.

    Parameters
    ----------
    from_wave, to_wave : int
        Years of the earlier and the later point (``from_wave < to_wave``).
    estimate_from, se_from, estimate_to, se_to : float
        Estimates and their standard errors.

    Returns
    -------
    ChangeResult
        ::

            delta = y_t - y_prev
            SE    = sqrt(SE_t^2 + SE_prev^2)        (computed as hypot; samples independent)
            z     = delta / SE
            p     = 2 (1 - Phi(|z|))               (computed as 2 sf(|z|), exact in the tail)
            significant = p < 0.05
            MDC   = 2.80 SE                        (minimum detectable change, 80 % power)

        If SE is not a positive finite number (missing or degenerate), ``z`` and ``p`` are NaN
        and ``significant`` is False: a change is never called by its sign alone.

    Raises
    ------
    ValueError
        If ``from_wave >= to_wave``, an estimate is not finite or an SE is negative.

    Notes
    -----
    Treats the two waves as independent samples (the covariance from a rotating panel is
    ignored), as the reference does. Source: METHODS.md section 6.
    """
    if int(from_wave) >= int(to_wave):
        raise ValueError(f"from_wave ({from_wave}) must precede to_wave ({to_wave})")
    if not (np.isfinite(estimate_from) and np.isfinite(estimate_to)):
        raise ValueError(
            f"estimates must be finite for a change {from_wave}->{to_wave}: "
            f"{estimate_from!r}, {estimate_to!r}"
        )
    if se_from < 0 or se_to < 0:
        raise ValueError(f"standard errors must be >= 0, got {se_from!r} and {se_to!r}")
    delta = float(estimate_to) - float(estimate_from)
    se = float(np.hypot(se_to, se_from))
    if np.isfinite(se) and se > 0:
        z = delta / se
        p = float(2.0 * stats.norm.sf(abs(z)))
    else:
        z = p = _NAN
    return ChangeResult(
        from_wave=int(from_wave),
        to_wave=int(to_wave),
        delta=delta,
        se=se,
        z=float(z),
        p=p,
        significant=bool(p < ALPHA),
        mdc=MDC_FACTOR * se,
    )


def series_changes(
    years: Sequence[int] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    ses: Sequence[float] | np.ndarray,
) -> tuple[ChangeResult, ...]:
    """Changes between consecutive points of one published series.

    Parameters
    ----------
    years : array_like of int
        Wave years of the published points, unique (sorted internally).
    values, ses : array_like of float
        Estimates and standard errors, one per year.

    Returns
    -------
    tuple of ChangeResult
        One change per pair of consecutive published points (``n - 1`` results), formulas as in
        :func:`year_change`. A wave missing from the series (suppressed or not surveyed) is
        bridged: points 2022 and 2024 around a suppressed 2023 give the change 2022->2024.

    Raises
    ------
    ValueError
        As :func:`year_change`, or if years are not unique.
    """
    year_arr, y, s = _as_series_arrays(years, values, ses)
    return tuple(
        year_change(year_arr[i - 1], year_arr[i], y[i - 1], s[i - 1], y[i], s[i])
        for i in range(1, y.size)
    )


# ---------------------------------------------------------------- vectorised tables
# `trend_table` and `change_table` compute every series at once (issue 15: the trends stage of
# a national run, 3,090 series, took ~10 s with ~3 SciPy calls per series). Series that share the
# same years (after suppressed / missing points are dropped) form one (series x points) matrix
# and every statistic is the same floating-point formula scipy 1.17 applies to one series:
#
# - Theil-Sen: the pairwise slopes ``(y_j - y_i) / (x_j - x_i)``, sorted, their median and the
#   Sen (1968) eq. 2.6 CI indices exactly as ``scipy.stats.theilslopes(method="separate")``
#   computes them (ties in y enter the variance) -- the same bits;
# - Kendall: the number of discordant pairs D and the tie counts of y are integers; without
#   ties, tau and the exact p depend on (n, D) only and are computed once per (n, D) by
#   calling ``kendalltau(method="exact")`` on a permutation with D inversions (the same bits);
#   with ties, scipy's tie-corrected normal approximation formula (the same bits);
# - OLS: ``linregress``'s formulas on the same centred values (``np.cov`` centres with the
#   same pairwise means, bit-identical), but the three sums of products are BLAS dot products
#   in scipy and numpy sums here, so they agree to a few ulps, not always bit for bit. Where a
#   figure is ill-conditioned -- a slope near 0 relative to its terms (cancellation in
#   Sum dx dy), |r| near 1 (1 - r^2 in the SE and t), a CI bound near 0 -- a few ulps could
#   become more than 1e-12 relative, so those series (and constant series, whose OLS is 0/0
#   rounding noise) have their OLS figures recomputed by `series_trend`'s own scalar code
#   (`_ols`): rare and awkward cases go the scalar route (`_ILL_CONDITIONED`).
#   tests/analysis/test_trends_vectorised.py checks every column against a loop of
#   `series_trend` at 1e-12 relative.

#: A series' OLS goes the scalar route when the error bound ``n eps k_sum (1 + k_r)
#: max(df + 1, k_ci)`` exceeds this (k_sum = Sum|dx dy| / |Sum dx dy|, k_r = 1 / (1 - |r|),
#: k_ci = (|slope| + |half|) / min |slope -+ half|; df + 1 bounds d log p / d log t). On 45,000
#: random series (continuous and rounded) the bound overstated the actual difference from
#: linregress at least 6-fold; at 1e-12 the largest difference kept was 1.4e-13, and ~2 % of
#: continuous 5-point series (3 % of rounded ones) went the scalar route.
_ILL_CONDITIONED = 1e-12
_EPS = float(np.finfo(float).eps)
# scipy.stats.theilslopes(alpha=0.95): alpha = 1 - 0.95, z = norm.ppf(alpha / 2), as it does.
_SEN_Z = float(stats.norm.ppf((1.0 - 0.95) / 2.0))


@functools.cache
def _kendall_exact(n: int, d: int) -> tuple[float, float]:
    """Kendall tau and exact two-sided p for ``n`` untied points with ``d`` discordant pairs.

    ``kendalltau(x, y, method="exact")`` of a permutation with ``d`` inversions: without ties,
    scipy's tau is ``(tot - 2d) / sqrt(tot) / sqrt(tot)`` and its p the exact null
    distribution of S at ``min(d, tot - d)`` (Kendall 1970), functions of (n, d) only; so each
    (n, d) is computed once and reused by every series (a national run needs ~11 pairs).
    """
    rest = list(range(n))
    perm: list[int] = []
    left = d
    for _ in range(n):  # Lehmer code: take the (c+1)-th smallest left, c more inversions
        c = min(left, len(rest) - 1)
        perm.append(rest.pop(c))
        left -= c
    kt = _kendalltau(np.arange(n, dtype=float), np.asarray(perm, dtype=float), method="exact")
    return float(kt.statistic), float(kt.pvalue)


def _trend_block(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Trend statistics of m series on the same ``n >= 3`` sorted, unique years ``x`` (float);
    ``y`` is (m, n), finite. Returns the float columns of :class:`TrendResult` and ``fallback``
    (rows whose OLS figures must come from `series_trend`'s `_ols`, see the comment above)."""
    m, n = y.shape
    nan = np.full(m, _NAN)
    out: dict[str, np.ndarray] = {}
    fallback = np.zeros(m, dtype=bool)

    # -- OLS (linregress): np.cov(x, y, bias=1) then its formulas, in its order
    out.update(ols_slope=nan, ols_slope_se=nan.copy(), ols_ci_low=nan.copy(),
               ols_ci_high=nan.copy(), ols_p=nan.copy())
    if n >= MIN_POINTS_OLS:
        df = n - 2
        dx = x - x.mean()
        dy = y - y.mean(axis=1)[:, None]
        inv_n = np.true_divide(1, n)
        ssxm = float(np.dot(dx, dx)) * inv_n
        prod = dy * dx
        ssxym = prod.sum(axis=1) * inv_n
        ssym = (dy * dy).sum(axis=1) * inv_n
        with np.errstate(divide="ignore", invalid="ignore"):
            r = ssxym / np.sqrt(ssxm * ssym)
            r = np.clip(r, -1.0, 1.0)
            slope = ssxym / ssxm
            tiny = 1.0e-20
            t = r * np.sqrt(df / ((1.0 - r + tiny) * (1.0 + r + tiny)))
            prob = 2 * special.stdtr(df, -np.abs(t))
            se = np.sqrt((1 - r**2) * ssym / ssxm / df)
            half = _t975(df) * se
            low, high = slope - half, slope + half
            # condition numbers: Sum dx dy, 1 - |r| (t, SE), slope -+ half (CI bounds)
            k_sum = np.abs(prod).sum(axis=1) * inv_n / np.abs(ssxym)
            k_r = 1.0 / (1.0 - np.abs(r))
            k_ci = (np.abs(slope) + np.abs(half)) / np.minimum(np.abs(low), np.abs(high))
            err = n * _EPS * k_sum * (1.0 + k_r) * np.maximum(df + 1, k_ci)
        fallback = ~(err <= _ILL_CONDITIONED)  # NaN (0/0) included
        out.update(ols_slope=slope, ols_slope_se=se, ols_ci_low=low, ols_ci_high=high,
                   ols_p=prob)

    # -- Theil-Sen (theilslopes, method="separate"): sorted pairwise slopes
    i, j = np.triu_indices(n, 1)
    slopes = (y[:, j] - y[:, i]) / (x[j] - x[i])
    slopes.sort(axis=1)
    nt = slopes.shape[1]
    if nt % 2:
        sen = slopes[:, nt // 2]
    else:
        sen = (slopes[:, nt // 2 - 1] + slopes[:, nt // 2]) / 2
    # ties in y: c_k = size of the tie group of point k; a sum over groups of f(c) is the sum
    # over points of f(c)/c (scipy's count_rank_tie / _find_repeats sums). Kendall's third
    # tie sum (y0) enters its variance only times x0 = 0 (years never tie), so it is left out.
    cnt = (y[:, :, None] == y[:, None, :]).sum(axis=2).astype(np.int64)
    ytie = (cnt - 1).sum(axis=1) // 2
    y1 = ((cnt - 1) * (2 * cnt + 5)).sum(axis=1)
    sigsq = 1 / 18.0 * (n * (n - 1) * (2 * n + 5) - y1)
    sigma = np.sqrt(sigsq)
    ru = np.minimum(np.round((nt - _SEN_Z * sigma) / 2.0).astype(np.int64), nt - 1)
    rl = np.maximum(np.round((nt + _SEN_Z * sigma) / 2.0).astype(np.int64) - 1, 0)
    rows = np.arange(m)
    out.update(sen_slope=sen, sen_ci_low=slopes[rows, rl], sen_ci_high=slopes[rows, ru])

    # -- Kendall tau-b (kendalltau): x has no ties, so xtie = x0 = x1 = joint ties = 0
    tot = n * (n - 1) // 2
    dis = (y[:, i] > y[:, j]).sum(axis=1)
    exact_d, exact_at = np.unique(np.where(ytie == 0, dis, 0), return_inverse=True)
    table = np.array([_kendall_exact(n, int(d)) for d in exact_d]).reshape(-1, 2)
    tau = table[exact_at.reshape(-1), 0]
    p = table[exact_at.reshape(-1), 1]
    tied = (ytie > 0) & (ytie < tot)
    if tied.any():  # tie-corrected normal approximation, scipy's formula and order
        cmd = (tot - ytie[tied] - 2 * dis[tied]).astype(float)
        tau_t = cmd / np.sqrt(float(tot)) / np.sqrt((tot - ytie[tied]).astype(float))
        tau[tied] = np.minimum(1.0, np.maximum(-1.0, tau_t))
        m_pairs = n * (n - 1.0)
        var = (m_pairs * (2 * n + 5) - 0 - y1[tied].astype(float)) / 18
        z = cmd / np.sqrt(var)
        p[tied] = 2 * special.ndtr(-np.abs(z))
    const = ytie >= tot  # a constant series: tau undefined; its OLS is 0/0 rounding noise
    tau[const] = p[const] = _NAN
    if n >= MIN_POINTS_OLS:
        fallback |= const
    out.update(kendall_tau=tau, kendall_p=p)
    out["fallback"] = fallback
    return out


def _trend_columns(sid: np.ndarray, years: np.ndarray, values: np.ndarray,
                   n_series: int) -> dict[str, np.ndarray]:
    """Columns of :class:`TrendResult` for ``n_series`` series given as long arrays sorted by
    (series id, year): series id 0 .. n_series - 1 each with >= 1 point, unique years."""
    waves, col = np.unique(years, return_inverse=True)
    mask = np.zeros((n_series, waves.size), dtype=bool)
    mask[sid, col] = True
    wide = np.zeros((n_series, waves.size))
    wide[sid, col] = values
    counts = mask.sum(axis=1)
    cols: dict[str, np.ndarray] = {
        "n_points": counts.astype(np.int64),
        "first_wave": years[np.r_[0, np.cumsum(counts)[:-1]]].astype(np.int64),
        "last_wave": years[np.cumsum(counts) - 1].astype(np.int64),
    }
    float_cols = TREND_COLUMNS[5:15]
    for name in float_cols:
        cols[name] = np.full(n_series, _NAN)
    direction = np.full(n_series, None, dtype=object)
    fallback = np.zeros(n_series, dtype=bool)
    patterns, group = np.unique(mask, axis=0, return_inverse=True)
    group = group.reshape(-1)
    for g, pattern in enumerate(patterns):
        n = int(pattern.sum())
        if n < MIN_POINTS_MONOTONE:
            continue
        members = np.flatnonzero(group == g)
        block = _trend_block(waves[pattern].astype(float), wide[np.ix_(members, pattern)])
        for name in float_cols:
            cols[name][members] = block[name]
        fallback[members] = block["fallback"]
        sen, tau_p = block["sen_slope"], block["kendall_p"]
        up = (tau_p < ALPHA) & (sen > 0)  # False for NaN p
        down = (tau_p < ALPHA) & (sen < 0)
        labels = np.full(members.size, "none", dtype=object)
        labels[up] = "up"
        labels[down] = "down"
        direction[members] = labels
    # rare ill-conditioned OLS figures and constant series: series_trend's own OLS (_ols)
    starts = np.r_[0, np.cumsum(counts)]
    ols_cols = ("ols_slope", "ols_slope_se", "ols_ci_low", "ols_ci_high", "ols_p")
    for s in np.flatnonzero(fallback):
        part = slice(starts[s], starts[s + 1])
        for name, value in zip(ols_cols, _ols(years[part].astype(float), values[part]),
                               strict=True):
            cols[name][s] = value
    cols["direction"] = direction
    return cols


def series_trends(
    years: Sequence[Sequence[int] | np.ndarray], values: Sequence[Sequence[float] | np.ndarray]
) -> list[TrendResult]:
    """:func:`series_trend` of many series at once: ``years[k]``, ``values[k]`` is series k.

    The same results as ``[series_trend(y, v) for y, v in zip(years, values)]`` (the same
    validation and errors; numbers to 1e-12 relative, see the vectorised tables above), for
    callers that hold their series as arrays, e.g. segmented trends (`analysis.bridges`).
    """
    if len(years) != len(values):
        raise ValueError(f"one values array per years array: {len(years)} vs {len(values)}")
    if len(years) == 0:
        return []
    ys, vs = [], []
    for yrs, vals in zip(years, values, strict=True):
        year_arr, y = _as_series_arrays(yrs, vals)
        if not np.all(np.isfinite(y)):
            series_trend(year_arr, y)  # raises its ValueError
        ys.append(year_arr)
        vs.append(y)
    counts = np.fromiter((a.size for a in ys), dtype=np.int64, count=len(ys))
    sid = np.repeat(np.arange(len(ys)), counts)
    cols = _trend_columns(sid, np.concatenate(ys), np.concatenate(vs), len(ys))
    names = [f for f in TREND_COLUMNS if f not in ("region", "dimension")]
    lists = {name: cols[name].tolist() for name in names}
    return [TrendResult(**{name: lists[name][k] for name in names}) for k in range(len(ys))]


def _published(estimates: pd.DataFrame) -> pd.DataFrame:
    """Published rows (not suppressed, estimate present), sorted by region, dimension, wave."""
    require_columns(estimates, "estimates", _ESTIMATE_COLUMNS)
    supp = estimates["suppressed"]
    if supp.isna().any():
        raise ValueError("estimates.suppressed has missing values; it must be true/false")
    if not supp.isin([True, False]).all():
        raise ValueError("estimates.suppressed must hold booleans only")
    keys = ["region", "dimension", "wave"]
    dup = estimates.duplicated(keys, keep=False)
    if dup.any():
        first = estimates.loc[dup, keys].iloc[0].tolist()
        raise ValueError(f"estimates have duplicate (region, dimension, wave) rows, e.g. {first}")
    pub = estimates.loc[~supp.astype(bool) & estimates["estimate"].notna(), list(_ESTIMATE_COLUMNS)]
    pub = pub.astype({"wave": "int64", "estimate": "float64", "se": "float64"})
    return pub.sort_values(keys, kind="stable")


def series_order(pub: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    """Row order of ``pub`` (columns region, dimension, wave) by (series, wave), the series id
    of each ordered row and the number of series; series are numbered in
    ``groupby(["region", "dimension"], sort=True)`` order (rows with a missing key drop out, as
    in a groupby). The trend and change tables and `analysis.bridges.segmented_tables` walk
    their series in this order."""
    gid_all = pub.groupby(["region", "dimension"], sort=True).ngroup().to_numpy(np.int64)
    keep = np.flatnonzero(gid_all >= 0)
    order = keep[np.lexsort((pub["wave"].to_numpy(np.int64)[keep], gid_all[keep]))]
    n_series = int(gid_all.max()) + 1 if gid_all.size else 0
    return order, gid_all[order], n_series


def trend_table(estimates: pd.DataFrame) -> pd.DataFrame:
    """Trend table of every series with at least one published point.

    Parameters
    ----------
    estimates : pandas.DataFrame
        Columns ``wave, region, dimension, estimate, se, suppressed`` (more are ignored), one row
        per (region, dimension, wave); ``suppressed`` boolean (n < 30 rule, METHODS.md section 4).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TREND_COLUMNS` in INTERFACE.md section 3 order, one row per
        (region, dimension) series sorted by region then dimension; statistics as in
        :func:`series_trend`, NaN (direction None) where the series is too short. Computed for
        all series at once (Theil-Sen and Kendall the same bits as `series_trend`, OLS to
        1e-12 relative; see "vectorised tables").

    Raises
    ------
    ValueError
        On missing columns, duplicate keys or a non-boolean ``suppressed``.
    """
    pub = _published(estimates)
    order, gid, n_series = series_order(pub)
    years = pub["wave"].to_numpy(np.int64)[order]
    values = pub["estimate"].to_numpy(float)[order]
    if not np.all(np.isfinite(values)):
        # series_trend's own message for the first offending series
        s = int(gid[np.flatnonzero(~np.isfinite(values))[0]])
        series_trend(years[gid == s], values[gid == s])
    if n_series == 0:
        empty = pd.DataFrame([], columns=list(TREND_COLUMNS))
        return empty.astype({"n_points": "int64", "first_wave": "int64", "last_wave": "int64"})
    first = np.r_[0, np.flatnonzero(np.diff(gid)) + 1]
    cols = _trend_columns(gid, years, values, n_series)
    keys = {name: pub[name].to_numpy()[order][first] for name in ("region", "dimension")}
    out = pd.DataFrame({**keys, **cols}, columns=list(TREND_COLUMNS))
    return out.astype({"n_points": "int64", "first_wave": "int64", "last_wave": "int64"})


def change_table(estimates: pd.DataFrame) -> pd.DataFrame:
    """Year-over-year changes between consecutive published points of every series.

    Parameters
    ----------
    estimates : pandas.DataFrame
        As for :func:`trend_table`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CHANGE_COLUMNS` (INTERFACE.md ``changes`` order plus ``mdc``), sorted by
        region, dimension, from_wave; formulas as in :func:`year_change`. Suppressed waves are
        bridged (see the module docstring); a series with one point has no row.

    Raises
    ------
    ValueError
        On missing columns, duplicate keys or a non-boolean ``suppressed``.
    """
    pub = _published(estimates)
    order, gid, _ = series_order(pub)
    years = pub["wave"].to_numpy(np.int64)[order]
    est = pub["estimate"].to_numpy(float)[order]
    ses = pub["se"].to_numpy(float)[order]
    later = np.flatnonzero(gid[1:] == gid[:-1]) + 1  # every point after a series' first
    prev = later - 1
    changes = year_changes(years[prev], years[later], est[prev], ses[prev], est[later],
                           ses[later])
    out = pd.concat(
        [pd.DataFrame({"region": pub["region"].to_numpy()[order][later],
                       "dimension": pub["dimension"].to_numpy()[order][later]}), changes],
        axis=1,
    )
    return out.astype({"from_wave": "int64", "to_wave": "int64", "significant": "bool"})


def year_changes(
    from_wave: np.ndarray,
    to_wave: np.ndarray,
    estimate_from: np.ndarray,
    se_from: np.ndarray,
    estimate_to: np.ndarray,
    se_to: np.ndarray,
) -> pd.DataFrame:
    """:func:`year_change` of many pairs at once (arrays of equal length).

    Returns
    -------
    pandas.DataFrame
        One row per pair, columns the fields of :class:`ChangeResult` in order; the same
        operations as :func:`year_change` element by element (the same bits: ``hypot``,
        ``delta / se``, ``2 norm.sf(|z|)``).

    Raises
    ------
    ValueError
        :func:`year_change`'s error for the first offending pair.
    """
    a = np.asarray(from_wave, dtype=np.int64)
    b = np.asarray(to_wave, dtype=np.int64)
    e0 = np.asarray(estimate_from, dtype=float)
    s0 = np.asarray(se_from, dtype=float)
    e1 = np.asarray(estimate_to, dtype=float)
    s1 = np.asarray(se_to, dtype=float)
    bad = (a >= b) | ~(np.isfinite(e0) & np.isfinite(e1)) | (s0 < 0) | (s1 < 0)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        year_change(int(a[k]), int(b[k]), float(e0[k]), float(s0[k]), float(e1[k]), float(s1[k]))
    delta = e1 - e0
    se = np.hypot(s1, s0)
    ok = np.isfinite(se) & (se > 0)
    z = np.full(delta.size, _NAN)
    p = np.full(delta.size, _NAN)
    z[ok] = delta[ok] / se[ok]
    p[ok] = 2.0 * stats.norm.sf(np.abs(z[ok]))
    return pd.DataFrame(
        {"from_wave": a, "to_wave": b, "delta": delta, "se": se, "z": z, "p": p,
         "significant": p < ALPHA, "mdc": MDC_FACTOR * se},
        columns=list(CHANGE_COLUMNS[2:]),
    )


def mann_kendall_can_reject(n_points: int, alpha: float = ALPHA) -> bool:
    """Whether the exact two-sided Mann-Kendall test can reach p < ``alpha`` with ``n_points``
    distinct years (its smallest p is 2 / n!: .333 for 3 points, .083 for 4, .017 for 5)."""
    return n_points >= MIN_POINTS_MONOTONE and 2.0 / float(np.prod(np.arange(1, n_points + 1))) \
        < alpha


@dataclass(frozen=True)
class OfficeVerdict:
    """The verdict an office reads (METHODS.md section 6): first-to-latest change.

    ``direction`` is ``"up"``/``"down"`` only when the first-to-latest change is significant
    (p < .05), else ``"none"`` ("belum berubah secara signifikan"); ``change`` holds its numbers
    (``None`` with fewer than 2 published points). ``sen_slope`` is the average change per year
    (Theil-Sen, NaN with fewer than 3 points), a description beside the verdict, never a test.
    ``trend_testable`` says whether Mann-Kendall could reach significance with this many points
    (if not, say "terlalu sedikit tahun untuk uji tren", never "tidak ada tren").
    """

    n_points: int
    change: ChangeResult | None
    direction: str
    sen_slope: float
    trend_testable: bool


def office_verdict(years: Sequence[int] | np.ndarray, values: Sequence[float] | np.ndarray,
                   ses: Sequence[float] | np.ndarray) -> OfficeVerdict:
    """The verdict of one published series (suppressed points already left out)."""
    yrs, vals, errs = _as_series_arrays(years, values, ses)
    n = int(yrs.size)
    change = None
    direction = "none"
    if n >= 2:
        change = year_change(int(yrs[0]), int(yrs[-1]), float(vals[0]), float(errs[0]),
                             float(vals[-1]), float(errs[-1]))
        if change.significant:
            direction = "up" if change.delta > 0 else "down"
    sen = _NAN
    if n >= MIN_POINTS_MONOTONE:
        sen = float(stats.theilslopes(vals, yrs, alpha=0.95, method="separate")[0])
    return OfficeVerdict(n_points=n, change=change, direction=direction, sen_slope=sen,
                         trend_testable=mann_kendall_can_reject(n))
