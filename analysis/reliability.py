"""Internal-consistency reliability of one dimension: alpha, standardised alpha, Feldt CI,
item statistics and McDonald's omega from a one-factor ML CFA.

Everything is derived from one pass over the data: the complete cases within the dimension
are centred and ``X'X`` gives the covariance matrix; alpha, alpha-if-deleted, item-rest
correlations and the one-factor fit for omega are then functions of that k x k matrix only,
so the cost is O(n k^2) once and O(k^3) afterwards.

Policy (METHODS.md section 5): complete cases within the dimension, unweighted, on
reverse-keyed raw item values (``x' = min + max - x``, done by the caller).

Sources: Cronbach (1951); psych 2.2.9 ``alpha`` (Revelle) for the item statistics;
Feldt, Woodruff & Salih (1987) for the CI; McDonald (1999) for omega; lavaan 0.6.14 for the
one-factor ML CFA (via :mod:`analysis.validity`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.stats

from analysis.validity import CfaConvergenceError, cfa_from_cov

__all__ = [
    "ItemStats",
    "ReliabilityResult",
    "alpha_from_cov",
    "cronbach_alpha",
    "feldt_ci",
    "omega_total",
    "reliability",
    "reliability_from_moments",
]


@dataclass(frozen=True)
class ItemStats:
    """Statistics of one item within its dimension (psych ``alpha`` item table).

    Attributes
    ----------
    item : str
        Item code.
    item_rest_r : float
        Correlation of the item with the sum of the other items (psych ``r.drop``).
    alpha_if_deleted : float
        Cronbach's alpha of the other ``k - 1`` items (psych ``alpha.drop$raw_alpha``);
        NaN when ``k = 2``.
    mean, sd : float
        Item mean and standard deviation (ddof = 1) on the complete cases.
    """

    item: str
    item_rest_r: float
    alpha_if_deleted: float
    mean: float
    sd: float


@dataclass(frozen=True)
class ReliabilityResult:
    """Reliability of one dimension on its complete cases.

    Attributes
    ----------
    n : int
        Complete cases within the dimension.
    k : int
        Number of items.
    alpha, alpha_std : float
        Cronbach's alpha (covariances, ddof = 1) and standardised alpha (correlations).
    alpha_ci_low, alpha_ci_high : float
        Feldt 95 % confidence interval of alpha.
    omega_total : float
        McDonald's omega from a one-factor ML CFA; NaN unless ``omega_status == "ok"``.
    omega_status : str
        ``"ok"``; ``"not_identified"`` (k < 3); ``"singular"`` (the covariance matrix is
        singular, e.g. duplicated items); ``"not_converged"`` (no proper ML solution, e.g. a
        Heywood case in a small sample); ``"skipped"`` (``omega=False``).
    items : tuple of ItemStats
        One entry per item, in column order.
    """

    n: int
    k: int
    alpha: float
    alpha_std: float
    alpha_ci_low: float
    alpha_ci_high: float
    omega_total: float
    omega_status: str
    items: tuple[ItemStats, ...]


def _as_2d(values: np.ndarray) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"values must be a 2-D array (n respondents x k items), got {x.shape}")
    if x.shape[1] < 2:
        raise ValueError(f"need at least 2 items, got {x.shape[1]}")
    if np.isinf(x).any():
        raise ValueError("values contain infinite entries (use NaN for missing)")
    return x


def _complete_moments(x: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """(n, mean, covariance with ddof = 1) over the rows without NaN."""
    complete = ~np.isnan(x).any(axis=1)
    xc = x[complete] if not complete.all() else x.copy()
    n = xc.shape[0]
    if n < 2:
        raise ValueError(f"need at least 2 complete cases, got {n}")
    mean = xc.mean(axis=0)
    # Centring first keeps the cross-products small, so the covariance is accurate to ~1e-15
    # even with 10^6 rows.
    xc -= mean
    cov = (xc.T @ xc) / (n - 1)
    return n, mean, cov


def alpha_from_cov(cov: np.ndarray) -> float:
    """Cronbach's alpha from a k x k item covariance (or correlation) matrix.

    Parameters
    ----------
    cov : ndarray, shape (k, k)
        Item covariance matrix. Passing a correlation matrix gives standardised alpha.

    Returns
    -------
    float
        ``alpha = k/(k-1) (1 - tr(C) / sum(C))``; NaN if ``sum(C) = 0``.

    Notes
    -----
    ``sum(C)`` is the variance of the total score, ``tr(C)`` the sum of item variances.
    Source: Cronbach (1951); METHODS.md section 5.
    """
    c = np.asarray(cov, dtype=float)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] < 2:
        raise ValueError(f"cov must be a k x k matrix with k >= 2, got shape {c.shape}")
    k = c.shape[0]
    total = float(c.sum())
    if total == 0.0:
        return float("nan")
    return k / (k - 1) * (1.0 - float(np.trace(c)) / total)


def cronbach_alpha(values: np.ndarray) -> float:
    """Cronbach's alpha of the complete cases of an n x k item matrix.

    Parameters
    ----------
    values : ndarray, shape (n, k)
        Reverse-keyed item values, NaN for missing.

    Returns
    -------
    float
        ``alpha = k/(k-1) (1 - sum_j var_j / var_total)`` with variances of ddof = 1.

    Notes
    -----
    Missing data: rows with any NaN are dropped (complete cases). Unweighted.
    Source: Cronbach (1951); psych 2.2.9 ``alpha`` ``raw_alpha``; METHODS.md section 5.
    Test vector (test_vectors.md item 1): rows [4,5,4,5], [3,3,4,3], [5,5,5,4], [2,3,2,2],
    [4,4,3,4], [3,2,3,3] give 0.9197397.
    """
    _, _, cov = _complete_moments(_as_2d(values))
    return alpha_from_cov(cov)


def feldt_ci(alpha: float, n: int, k: int, level: float = 0.95) -> tuple[float, float]:
    """Feldt confidence interval for Cronbach's alpha.

    Parameters
    ----------
    alpha : float
        Sample alpha.
    n : int
        Number of respondents (>= 2).
    k : int
        Number of items (>= 2).
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    (low, high) : tuple of float
        ``[1 - (1 - alpha) F(1 - a/2; n-1, (n-1)(k-1)), 1 - (1 - alpha) F(a/2; n-1, (n-1)(k-1))]``
        with ``a = 1 - level`` and ``F(q; d1, d2)`` the F quantile.

    Notes
    -----
    Source: Feldt, Woodruff & Salih (1987); METHODS.md section 5. Test vector
    (test_vectors.md item 2, R ``qf``): alpha .80, n 400, k 5 -> [0.767249, 0.8293979].
    """
    if n < 2 or k < 2:
        raise ValueError(f"Feldt CI needs n >= 2 and k >= 2, got n={n}, k={k}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    a = 1.0 - level
    d1 = n - 1
    d2 = (n - 1) * (k - 1)
    f_hi, f_lo = scipy.stats.f.ppf([1.0 - a / 2.0, a / 2.0], d1, d2)
    return float(1.0 - (1.0 - alpha) * f_hi), float(1.0 - (1.0 - alpha) * f_lo)


def omega_total(loadings: Sequence[float], residual_variances: Sequence[float]) -> float:
    """McDonald's omega total of a one-factor (congeneric) model.

    Parameters
    ----------
    loadings : sequence of float
        Factor loadings ``lambda_j`` (factor variance 1).
    residual_variances : sequence of float
        Residual variances ``theta_j`` (same scale as the loadings).

    Returns
    -------
    float
        ``omega = (sum lambda)^2 / ((sum lambda)^2 + sum theta)``.

    Notes
    -----
    With ML estimates this equals the model-implied share of the total-score variance that
    is common (lavaan / semTools convention). Source: McDonald (1999); METHODS.md section 5.
    Test vector (test_vectors.md item 7): loadings .70, .80, .60, .75 with residuals
    ``1 - lambda^2`` -> 0.806604.
    """
    lam = np.asarray(loadings, dtype=float)
    theta = np.asarray(residual_variances, dtype=float)
    if lam.ndim != 1 or lam.shape != theta.shape or lam.size == 0:
        raise ValueError(
            f"loadings and residual_variances must be 1-D of equal length, got "
            f"{lam.shape} and {theta.shape}"
        )
    common = float(lam.sum()) ** 2
    return common / (common + float(theta.sum()))


def _omega_from_cov(cov: np.ndarray, n: int) -> tuple[float, str]:
    k = cov.shape[0]
    if k < 3:
        return float("nan"), "not_identified"
    # A singular S (e.g. duplicated items) has no ML solution.
    if np.linalg.eigvalsh(cov)[0] <= 1e-12 * float(np.trace(cov)):
        return float("nan"), "singular"
    # ML uses divisor N; the loadings scale with sqrt, theta with the ratio and omega is
    # unchanged, but using lavaan's S keeps the fitted parameters equal to lavaan's.
    try:
        fit = cfa_from_cov(cov * ((n - 1) / n), n, [0] * k)
    except CfaConvergenceError:
        # Typically an improper (Heywood) solution whose ML estimate does not exist: one
        # residual variance runs to minus infinity. lavaan warns and reports nonsense here.
        return float("nan"), "not_converged"
    return omega_total(fit.loadings, fit.residual_variances), "ok"


def reliability(
    values: np.ndarray, item_codes: Sequence[str], *, omega: bool = True
) -> ReliabilityResult:
    """Reliability and item statistics of one dimension.

    Parameters
    ----------
    values : ndarray, shape (n, k)
        Item responses of the dimension, already reverse-keyed (``x' = min + max - x``),
        NaN for missing.
    item_codes : sequence of str, length k
        Item code of each column.
    omega : bool, default True
        Fit the one-factor ML CFA for omega; ``False`` reports NaN with status ``"skipped"``.

    Returns
    -------
    ReliabilityResult

    Raises
    ------
    ValueError
        If ``values`` is not n x k with k >= 2, the codes do not match, or fewer than 2
        complete cases remain.

    Notes
    -----
    Missing data: complete cases within the dimension (rows with any NaN are dropped);
    unweighted. With ``C`` the item covariance (ddof = 1), ``R`` the correlation matrix,
    ``V = sum(C)`` and ``c_j = sum_i C_ij``::

        alpha            = k/(k-1) (1 - tr(C)/V)
        alpha_std        = k rbar / (1 + (k-1) rbar),   rbar = mean off-diagonal R
        Feldt CI         = see :func:`feldt_ci`
        item-rest r_j    = (c_j - C_jj) / sqrt(C_jj (V - 2 c_j + C_jj))
        alpha-if-del_j   = (k-1)/(k-2) (1 - (tr(C) - C_jj) / (V - 2 c_j + C_jj))
        omega_total      = (sum lambda)^2 / ((sum lambda)^2 + sum theta),
                           one-factor ML CFA (std.lv) on S = C (n-1)/n

    Sources: METHODS.md section 5; psych 2.2.9 ``alpha`` (``r.drop``, ``alpha.drop``,
    ``std.alpha``); Feldt et al. (1987); lavaan 0.6.14 ``cfa(std.lv = TRUE)``.
    """
    x = _as_2d(values)
    codes = tuple(str(c) for c in item_codes)
    k = x.shape[1]
    if len(codes) != k:
        raise ValueError(f"got {len(codes)} item codes for {k} columns")
    if len(set(codes)) != k:
        raise ValueError(f"item_codes contain duplicates: {codes}")
    n, mean, cov = _complete_moments(x)
    return reliability_from_moments(n, mean, cov, codes, omega=omega)


def reliability_from_moments(n: int, mean: np.ndarray, cov: np.ndarray,
                             item_codes: Sequence[str], *, omega: bool = True
                             ) -> ReliabilityResult:
    """:func:`reliability` from the complete cases' count, item means and covariance
    (ddof = 1) instead of their rows: what a parallel index run combines from its parts."""
    codes = tuple(str(c) for c in item_codes)
    mean = np.asarray(mean, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    k = cov.shape[0]
    if k < 2 or cov.shape != (k, k) or mean.shape != (k,) or len(codes) != k:
        raise ValueError(f"need k >= 2 items with k means and a k x k covariance, got "
                         f"{len(codes)} codes, means {mean.shape}, covariance {cov.shape}")
    if n < 2:
        raise ValueError(f"need at least 2 complete cases, got {n}")

    var = np.diag(cov)
    total = float(cov.sum())
    trace = float(var.sum())
    alpha = alpha_from_cov(cov)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(var)
        corr = cov / np.outer(sd, sd)
        rbar = (float(corr.sum()) - float(np.trace(corr))) / (k * (k - 1))
        alpha_std = k * rbar / (1.0 + (k - 1) * rbar)
        col = cov.sum(axis=1)
        rest_var = total - 2.0 * col + var
        item_rest = (col - var) / np.sqrt(var * rest_var)
        if k > 2:
            alpha_del = (k - 1) / (k - 2) * (1.0 - (trace - var) / rest_var)
        else:
            alpha_del = np.full(k, np.nan)
    ci_low, ci_high = feldt_ci(alpha, n, k)
    omega_value, omega_status = _omega_from_cov(cov, n) if omega else (float("nan"), "skipped")
    items = tuple(
        ItemStats(
            item=codes[j],
            item_rest_r=float(item_rest[j]),
            alpha_if_deleted=float(alpha_del[j]),
            mean=float(mean[j]),
            sd=float(sd[j]),
        )
        for j in range(k)
    )
    return ReliabilityResult(
        n=int(n),
        k=int(k),
        alpha=float(alpha),
        alpha_std=float(alpha_std),
        alpha_ci_low=ci_low,
        alpha_ci_high=ci_high,
        omega_total=float(omega_value),
        omega_status=omega_status,
        items=items,
    )
