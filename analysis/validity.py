"""Structural validity: confirmatory factor analysis by maximum likelihood.

The engine fits the covariance structure

    Sigma(theta) = Lambda Phi Lambda' + Theta

with one factor per item (simple structure), factor variances fixed to 1 (lavaan's
``std.lv = TRUE``), factor covariances, loadings and residual variances free, by minimising
lavaan's default maximum-likelihood discrepancy

    F = log|Sigma| + tr(S Sigma^-1) - log|S| - p,        S with divisor N,

so that ``chisq = N F`` is lavaan 0.6's standard test statistic. The same engine fits the
one-factor model used for McDonald's omega in :mod:`analysis.reliability`.

Sources: METHODS.md section 5; lavaan 0.6 (Rosseel 2012), ``lav_fit_cfi.R``,
``lav_fit_rmsea.R``, ``lav_fit_srmr.R``; Bentler (1990) for CFI; Tucker & Lewis (1973);
Steiger (1990) for RMSEA; Hu & Bentler (1999) for cut-offs; Joreskog (1969) for the ML
discrepancy and the Fisher (expected) information used as the Hessian.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize

__all__ = [
    "CfaConvergenceError",
    "CfaResult",
    "FitIndices",
    "cfa",
    "cfa_from_cov",
    "fit_indices",
]

# Convergence is declared when the largest absolute gradient element of F is below this.
# F is O(1) and chisq = N F, so the chi-square is then accurate far beyond 1e-6.
_GRAD_TOL = 1e-7


class CfaConvergenceError(RuntimeError):
    """The ML fit did not reach a stationary point with a positive definite Sigma."""


@dataclass(frozen=True)
class FitIndices:
    """Incremental and absolute fit indices derived from chi-square statistics.

    Attributes
    ----------
    cfi : float
        Comparative fit index, in [0, 1].
    tli : float
        Tucker-Lewis index (non-normed fit index); not truncated, may exceed 1.
    rmsea : float
        Root mean square error of approximation.
    """

    cfi: float
    tli: float
    rmsea: float


@dataclass(frozen=True)
class CfaResult:
    """Result of a maximum-likelihood CFA with factor variances fixed to 1.

    Attributes
    ----------
    n : int
        Number of cases used (complete on every item).
    chisq, df : float, int
        Model test statistic ``N F`` and its degrees of freedom ``p(p+1)/2 - q``.
    cfi, tli, rmsea, srmr : float
        Fit indices as lavaan 0.6 reports them by default (SRMR: Bentler's).
    baseline_chisq, baseline_df : float, int
        Independence model (``Sigma = diag(S)``) statistic and its degrees of freedom.
    fmin : float
        The minimised discrepancy ``F`` (``chisq / n``).
    loadings : tuple of float
        Unstandardised loading of each item on its factor (column order of the input).
    residual_variances : tuple of float
        Unstandardised residual variance of each item (may be negative: lavaan does not
        bound them; a negative value is a Heywood case).
    factor_correlations : tuple of tuple of float
        Factor correlation matrix ``Phi`` (diagonal 1).
    std_loadings : tuple of float
        Completely standardised loadings ``lambda_j / sqrt(sigma_hat_jj)``.
    factor_of_item : tuple of int
        The factor index of each item, as given.
    converged : bool
        Always ``True`` in a returned result (non-convergence raises).
    iterations : int
        Optimiser iterations.
    max_abs_gradient : float
        Largest absolute element of the gradient of ``F`` at the solution.
    """

    n: int
    chisq: float
    df: int
    cfi: float
    tli: float
    rmsea: float
    srmr: float
    baseline_chisq: float
    baseline_df: int
    fmin: float
    loadings: tuple[float, ...]
    residual_variances: tuple[float, ...]
    factor_correlations: tuple[tuple[float, ...], ...]
    std_loadings: tuple[float, ...]
    factor_of_item: tuple[int, ...]
    converged: bool
    iterations: int
    max_abs_gradient: float


def fit_indices(
    chisq: float, df: int, baseline_chisq: float, baseline_df: int, n: int
) -> FitIndices:
    """CFI, TLI and RMSEA from the model and baseline chi-square statistics.

    Parameters
    ----------
    chisq, df : float, int
        Model statistic ``T_M`` and degrees of freedom ``df_M``.
    baseline_chisq, baseline_df : float, int
        Baseline (independence) statistic ``T_B`` and degrees of freedom ``df_B``.
    n : int
        Number of cases ``N`` (lavaan's ML uses ``N``, not ``N - 1``).

    Returns
    -------
    FitIndices

    Notes
    -----
    As lavaan 0.6 (``lav_fit_cfi.R``, ``lav_fit_rmsea.R``)::

        CFI   = 1 - max(T_M - df_M, 0) / max(T_M - df_M, T_B - df_B, 0)   (1 if both are 0)
        TLI   = 1 - ((T_M - df_M) df_B) / ((T_B - df_B) df_M)             (not truncated;
                                                                           1 if df_M = 0)
        RMSEA = sqrt(max(0, T_M - df_M) / (df_M N))                       (0 if df_M = 0)

    Test vector (METHODS test_vectors.md item 6, R statpsych ``fitindices``):
    ``T_M 14.21, df_M 10, T_B 258.43, df_B 20, N 300`` gives CFI 0.9823428,
    TLI 0.9646857, RMSEA 0.03746109.
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    if df < 0 or baseline_df < 0:
        raise ValueError(f"degrees of freedom must be >= 0, got df={df}, baseline_df={baseline_df}")
    t1 = max(chisq - df, 0.0)
    t2 = max(chisq - df, baseline_chisq - baseline_df, 0.0)
    cfi = 1.0 if t2 == 0.0 else 1.0 - t1 / t2
    num = (chisq - df) * baseline_df
    den = (baseline_chisq - baseline_df) * df
    tli = 1.0 - num / den if (df > 0 and den != 0.0) else 1.0
    rmsea = float(np.sqrt(max(0.0, chisq - df) / (df * n))) if df > 0 else 0.0
    return FitIndices(cfi=float(min(max(cfi, 0.0), 1.0)), tli=float(tli), rmsea=rmsea)


# --------------------------------------------------------------------------------------------
# The ML engine (works on a covariance matrix; shared with reliability's omega)
# --------------------------------------------------------------------------------------------


class _Model:
    """Parameter layout: [lambda_1..lambda_p, theta_1..theta_p, phi_ab (a > b)]."""

    def __init__(self, factor_of_item: np.ndarray, n_factors: int) -> None:
        self.f = factor_of_item
        self.p = factor_of_item.size
        self.m = n_factors
        self.rows = np.arange(self.p)
        self.phi_a, self.phi_b = np.tril_indices(n_factors, k=-1)
        self.q = 2 * self.p + self.phi_a.size

    def unpack(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p, m = self.p, self.m
        lam = np.zeros((p, m))
        lam[self.rows, self.f] = x[:p]
        theta = x[p : 2 * p]
        phi = np.eye(m)
        phi[self.phi_a, self.phi_b] = x[2 * p :]
        phi[self.phi_b, self.phi_a] = x[2 * p :]
        return lam, theta, phi

    def sigma(self, x: np.ndarray) -> np.ndarray:
        lam, theta, phi = self.unpack(x)
        sig = lam @ phi @ lam.T
        sig[np.diag_indices(self.p)] += theta
        return sig


def _chol_inv_logdet(a: np.ndarray) -> tuple[np.ndarray, float] | None:
    try:
        c = scipy.linalg.cho_factor(a, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return None
    logdet = 2.0 * float(np.sum(np.log(np.diag(c[0]))))
    inv = scipy.linalg.cho_solve(c, np.eye(a.shape[0]), check_finite=False)
    return inv, logdet


class _Objective:
    """F, its analytic gradient and the expected-information Hessian, with a one-point cache."""

    def __init__(self, model: _Model, s: np.ndarray) -> None:
        self.model = model
        self.s = s
        ch = _chol_inv_logdet(s)
        if ch is None:
            raise ValueError("the sample covariance matrix is not positive definite")
        self.logdet_s = ch[1]
        self._x: np.ndarray | None = None
        self._cache: tuple[float, np.ndarray | None, np.ndarray | None] = (np.inf, None, None)

    def _eval(self, x: np.ndarray) -> tuple[float, np.ndarray | None, np.ndarray | None]:
        if self._x is not None and np.array_equal(x, self._x):
            return self._cache
        sig = self.model.sigma(x)
        ch = _chol_inv_logdet(sig)
        if ch is None or not np.all(np.isfinite(sig)):
            out: tuple[float, np.ndarray | None, np.ndarray | None] = (np.inf, None, None)
        else:
            inv, logdet = ch
            f = logdet + float(np.sum(self.s * inv)) - self.logdet_s - self.model.p
            out = (f, inv, sig)
        self._x = x.copy()
        self._cache = out
        return out

    def fun(self, x: np.ndarray) -> float:
        return self._eval(x)[0]

    def grad(self, x: np.ndarray) -> np.ndarray:
        f, inv, _ = self._eval(x)
        mdl = self.model
        if inv is None:
            return np.full(mdl.q, np.nan)
        # dF/dSigma = Sigma^-1 - Sigma^-1 S Sigma^-1 (symmetric)
        g = inv - inv @ self.s @ inv
        lam, _, phi = mdl.unpack(x)
        glp = g @ lam @ phi
        d_lam = 2.0 * glp[mdl.rows, mdl.f]
        d_theta = np.diag(g).copy()
        lgl = lam.T @ g @ lam
        d_phi = 2.0 * lgl[mdl.phi_a, mdl.phi_b]
        return np.concatenate([d_lam, d_theta, d_phi])

    def delta(self, x: np.ndarray) -> np.ndarray:
        """Stack of dSigma/dx_a, shape (q, p, p)."""
        mdl = self.model
        p = mdl.p
        lam, _, phi = mdl.unpack(x)
        lp = lam @ phi  # column f of lp is d(Sigma row)/d lambda
        d = np.zeros((mdl.q, p, p))
        for i in range(p):
            v = lp[:, mdl.f[i]]
            d[i, i, :] += v
            d[i, :, i] += v
            d[p + i, i, i] = 1.0
        for k, (a, b) in enumerate(zip(mdl.phi_a, mdl.phi_b, strict=True)):
            outer = np.outer(lam[:, a], lam[:, b])
            d[2 * p + k] = outer + outer.T
        return d

    def hess(self, x: np.ndarray) -> np.ndarray:
        """Expected (Fisher) information of F: H_ab = tr(Sigma^-1 D_a Sigma^-1 D_b)."""
        _, inv, _ = self._eval(x)
        mdl = self.model
        if inv is None:
            return np.eye(mdl.q)
        a = np.einsum("ij,qjk->qik", inv, self.delta(x))
        return np.einsum("aij,bji->ab", a, a)


@dataclass(frozen=True)
class _Fit:
    x: np.ndarray
    sigma: np.ndarray
    fmin: float
    iterations: int
    max_abs_gradient: float


def _start_values(s: np.ndarray, model: _Model) -> np.ndarray:
    """Heuristic start: communality = largest |r| with a same-factor item; Phi from sum scores.

    lavaan starts loadings with FABIN3 and residual variances at half the observed variance;
    any start inside the basin of the ML solution gives the same optimum, which is what the
    reference comparison checks.
    """
    p, m, f = model.p, model.m, model.f
    sd = np.sqrt(np.diag(s))
    r = s / np.outer(sd, sd)
    h = np.empty(p)
    for i in range(p):
        same = (f == f[i]) & (np.arange(p) != i)
        h[i] = np.max(np.abs(r[i, same])) if same.any() else 0.5
    h = np.clip(h, 0.05, 0.95)
    lam = np.sqrt(h) * sd
    theta = (1.0 - h) * sd**2
    w = np.zeros((p, m))
    w[np.arange(p), f] = 1.0
    cs = w.T @ s @ w
    csd = np.sqrt(np.diag(cs))
    phi = cs / np.outer(csd, csd)
    return np.concatenate([lam, theta, phi[model.phi_a, model.phi_b]])


def _fit_ml(s: np.ndarray, factor_of_item: np.ndarray, n_factors: int) -> _Fit:
    model = _Model(factor_of_item, n_factors)
    obj = _Objective(model, s)
    x0 = _start_values(s, model)
    # A trust-region Newton method with the Fisher information as Hessian (Fisher scoring
    # with a trust region): it rejects steps that leave the positive-definite cone (F = inf)
    # by shrinking the radius, and converges in a handful of iterations near the optimum.
    res = scipy.optimize.minimize(
        obj.fun,
        x0,
        jac=obj.grad,
        hess=obj.hess,
        method="trust-exact",
        options={"gtol": _GRAD_TOL, "maxiter": 200},
    )
    x = res.x
    if not np.isfinite(res.fun):
        raise CfaConvergenceError("ML fit left the region where Sigma is positive definite")
    gmax = float(np.max(np.abs(obj.grad(x))))
    if gmax > 10 * _GRAD_TOL:
        # Polish with L-BFGS-B from the trust-region end point before giving up.
        res2 = scipy.optimize.minimize(
            obj.fun,
            x,
            jac=obj.grad,
            method="L-BFGS-B",
            options={"gtol": _GRAD_TOL, "ftol": 1e-15, "maxiter": 1000, "maxcor": 30},
        )
        if np.isfinite(res2.fun) and res2.fun <= res.fun:
            x = res2.x
        gmax = float(np.max(np.abs(obj.grad(x))))
        if gmax > 10 * _GRAD_TOL:
            raise CfaConvergenceError(
                f"ML fit did not converge: max |gradient| = {gmax:.3g} after "
                f"{res.nit} iterations ({res.message})"
            )
    # Orient each factor so that its loadings sum to a positive value (sign is arbitrary).
    x = x.copy()
    p = model.p
    sign = np.ones(n_factors)
    for k in range(n_factors):
        if np.sum(x[:p][factor_of_item == k]) < 0:
            sign[k] = -1.0
    x[:p] *= sign[factor_of_item]
    x[2 * p :] *= sign[model.phi_a] * sign[model.phi_b]
    return _Fit(
        x=x,
        sigma=model.sigma(x),
        fmin=float(obj.fun(x)),
        iterations=int(res.nit),
        max_abs_gradient=gmax,
    )


def _check_factor_of_item(factor_of_item: Sequence[int], p: int) -> tuple[np.ndarray, int]:
    f = np.asarray(factor_of_item)
    if f.ndim != 1 or f.size != p:
        raise ValueError(f"factor_of_item must have one entry per column ({p}), got {f.size}")
    if not np.issubdtype(f.dtype, np.integer):
        raise ValueError("factor_of_item must hold integer factor indices")
    labels, f = np.unique(f, return_inverse=True)
    m = labels.size
    counts = np.bincount(f, minlength=m)
    if m == 1 and p < 3:
        raise ValueError(f"a one-factor model needs at least 3 items, got {p}")
    if m > 1 and counts.min() < 2:
        raise ValueError(
            f"every factor needs at least 2 items; factor {labels[counts.argmin()]} has "
            f"{counts.min()}"
        )
    return f.astype(np.intp), m


def _srmr_bentler(s: np.ndarray, sigma: np.ndarray) -> float:
    sd = np.sqrt(np.diag(s))
    resid = (s - sigma) / np.outer(sd, sd)
    low = resid[np.tril_indices(s.shape[0])]
    return float(np.sqrt(np.mean(low**2)))


def cfa_from_cov(cov: np.ndarray, n: int, factor_of_item: Sequence[int]) -> CfaResult:
    """Correlated-factors ML CFA from a covariance matrix with divisor ``N``.

    Parameters
    ----------
    cov : ndarray, shape (p, p)
        Sample covariance matrix ``S`` computed with divisor ``N`` (not ``N - 1``), as lavaan
        uses for ML. Must be positive definite.
    n : int
        Number of cases ``N`` behind ``cov``.
    factor_of_item : sequence of int, length p
        Factor of each item; factors are numbered by their sorted distinct labels.

    Returns
    -------
    CfaResult

    Raises
    ------
    ValueError
        On malformed input, a non-positive-definite ``S``, or an unidentified model (a factor
        with fewer than 2 items, or a one-factor model with fewer than 3 items).
    CfaConvergenceError
        If the optimiser does not reach ``max |dF/dx| <= 1e-6``.

    Notes
    -----
    Model ``Sigma = Lambda Phi Lambda' + Theta`` (diag Phi = 1; lavaan ``std.lv = TRUE``),
    fitted by minimising ``F = log|Sigma| + tr(S Sigma^-1) - log|S| - p`` with analytic
    gradient (``dF/dSigma = Sigma^-1 - Sigma^-1 S Sigma^-1``) and the expected information
    ``H_ab = tr(Sigma^-1 D_a Sigma^-1 D_b)`` as Hessian in scipy's trust-region Newton
    (``trust-exact``). ``chisq = N F``, ``df = p(p+1)/2 - (2p + m(m-1)/2)``. Baseline:
    ``T_B = N (sum_j log s_jj - log|S|)``, ``df_B = p(p-1)/2``. Fit indices by
    :func:`fit_indices`; SRMR (Bentler) is the root mean square of
    ``(s_ij - sigma_ij) / sqrt(s_ii s_jj)`` over ``i >= j``. Residual variances are not
    bounded (as lavaan). Sources: METHODS.md section 5, lavaan 0.6.
    """
    s = np.asarray(cov, dtype=float)
    if s.ndim != 2 or s.shape[0] != s.shape[1]:
        raise ValueError(f"cov must be a square matrix, got shape {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("cov contains non-finite values")
    p = s.shape[0]
    f, m = _check_factor_of_item(factor_of_item, p)
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    s = (s + s.T) / 2.0
    fit = _fit_ml(s, f, m)
    q = 2 * p + m * (m - 1) // 2
    df = p * (p + 1) // 2 - q
    chisq = n * fit.fmin
    logdet_s = np.linalg.slogdet(s)[1]
    baseline_chisq = float(n * (np.sum(np.log(np.diag(s))) - logdet_s))
    baseline_df = p * (p - 1) // 2
    idx = fit_indices(chisq, df, baseline_chisq, baseline_df, n)
    lam = fit.x[:p]
    theta = fit.x[p : 2 * p]
    model = _Model(f, m)
    _, _, phi = model.unpack(fit.x)
    std = lam / np.sqrt(np.diag(fit.sigma))
    return CfaResult(
        n=int(n),
        chisq=float(chisq),
        df=int(df),
        cfi=idx.cfi,
        tli=idx.tli,
        rmsea=idx.rmsea,
        srmr=_srmr_bentler(s, fit.sigma),
        baseline_chisq=baseline_chisq,
        baseline_df=int(baseline_df),
        fmin=fit.fmin,
        loadings=tuple(float(v) for v in lam),
        residual_variances=tuple(float(v) for v in theta),
        factor_correlations=tuple(tuple(float(v) for v in row) for row in phi),
        std_loadings=tuple(float(v) for v in std),
        factor_of_item=tuple(int(v) for v in f),
        converged=True,
        iterations=fit.iterations,
        max_abs_gradient=fit.max_abs_gradient,
    )


def _complete_case_cov(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Mean and covariance (divisor N) of the rows of ``values`` without NaN.

    Returns ``(mean, cov_n, n)``. Centred before the cross-product so that sums of squares
    keep full precision on Likert data with large N.
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"values must be a 2-D array (n x p), got shape {x.shape}")
    if np.isinf(x).any():
        raise ValueError("values contain infinite entries (use NaN for missing)")
    x = x[~np.isnan(x).any(axis=1)]
    n = x.shape[0]
    if n == 0:
        return np.full(x.shape[1], np.nan), np.full((x.shape[1],) * 2, np.nan), 0
    mean = x.mean(axis=0)
    xc = x - mean
    return mean, (xc.T @ xc) / n, n


def cfa(values: np.ndarray, factor_of_item: Sequence[int]) -> CfaResult:
    """Correlated-factors ML CFA (lavaan ``cfa(..., std.lv = TRUE)`` defaults) on raw items.

    Parameters
    ----------
    values : ndarray, shape (n, p)
        Item responses, reverse-keyed raw values (``x' = min + max - x``), NaN for missing.
    factor_of_item : sequence of int, length p
        Factor (dimension) index of each column.

    Returns
    -------
    CfaResult

    Notes
    -----
    Missing data: listwise deletion - only rows complete on every column are used (lavaan's
    default ``missing = "listwise"``); ``S`` has divisor ``N``. Unweighted. See
    :func:`cfa_from_cov` for the model, the discrepancy ``F``, ``chisq = N F``, the
    baseline model and the fit indices. Source: METHODS.md section 5; lavaan 0.6.14.
    """
    _, s, n = _complete_case_cov(values)
    p = np.asarray(values).shape[1]
    if n <= p:
        raise ValueError(f"need more complete cases than items: {n} complete cases, {p} items")
    return cfa_from_cov(s, n, factor_of_item)
