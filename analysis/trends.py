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

Sources: scipy.stats ``linregress``, ``theilslopes`` (Sen 1968) and ``kendalltau`` with the
exact null distribution (Mann 1945; Kendall 1975); the MDC factor 2.80 = z(0.975) + z(0.80)
rounded as in METHODS.md.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

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
    "series_trend",
    "trend_table",
    "year_change",
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
        fit = _linregress(x, y)
        ols_slope, ols_se, ols_p = float(fit.slope), float(fit.stderr), float(fit.pvalue)
        half = _t975(n - 2) * ols_se
        ols_low, ols_high = ols_slope - half, ols_slope + half

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
        :func:`series_trend`, NaN (direction None) where the series is too short.

    Raises
    ------
    ValueError
        On missing columns, duplicate keys or a non-boolean ``suppressed``.
    """
    pub = _published(estimates)
    rows = []
    for (region, dimension), grp in pub.groupby(["region", "dimension"], sort=True):
        res = series_trend(grp["wave"].to_numpy(), grp["estimate"].to_numpy())
        rows.append({"region": region, "dimension": dimension, **asdict(res)})
    out = pd.DataFrame(rows, columns=list(TREND_COLUMNS))
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
    rows = []
    for (region, dimension), grp in pub.groupby(["region", "dimension"], sort=True):
        for res in series_changes(
            grp["wave"].to_numpy(), grp["estimate"].to_numpy(), grp["se"].to_numpy()
        ):
            rows.append({"region": region, "dimension": dimension, **asdict(res)})
    out = pd.DataFrame(rows, columns=list(CHANGE_COLUMNS))
    return out.astype({"from_wave": "int64", "to_wave": "int64", "significant": "bool"})


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
