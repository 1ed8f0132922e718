"""Structural validity: confirmatory factor analysis by maximum likelihood.

The engine fits the covariance structure

    Sigma(theta) = Lambda Phi Lambda' + Theta

with one factor per item (simple structure), factor variances fixed to 1 (lavaan's
``std.lv = TRUE``), factor covariances, loadings and residual variances free, by minimising
lavaan's default maximum-likelihood discrepancy

    F = log|Sigma| + tr(S Sigma^-1) - log|S| - p,        S with divisor N,

so that ``chisq = N F`` is lavaan 0.6's standard test statistic. The same engine fits the
one-factor model used for McDonald's omega in :mod:`analysis.reliability`.
:func:`measurement_invariance` extends it to several groups with a mean structure
(configural, metric and scalar models, as lavaan's ``group.equal``). They are checked against
lavaan 0.6.14 on the reference waves (tests/reference/kaltim/expected/invariance.csv), by
internal identities (configural = sum of single-group fits; exact invariance gives equal
chi-squares) and by simulation.

Sources: METHODS.md section 5; lavaan 0.6 (Rosseel 2012), ``lav_fit_cfi.R``,
``lav_fit_rmsea.R``, ``lav_fit_srmr.R``; Bentler (1990) for CFI; Tucker & Lewis (1973);
Steiger (1990, 1998) for RMSEA; Hu & Bentler (1999) for cut-offs; Chen (2007) for the
invariance decision; Joreskog (1969) for the ML discrepancy and the Fisher (expected)
information used as the Hessian.
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
    "InvarianceError",
    "InvarianceResult",
    "InvarianceStep",
    "cfa",
    "cfa_from_cov",
    "fit_indices",
    "invariance_step_rejected",
    "measurement_invariance",
    "measurement_invariance_from_moments",
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
    chisq: float, df: int, baseline_chisq: float, baseline_df: int, n: int, n_groups: int = 1
) -> FitIndices:
    """CFI, TLI and RMSEA from the model and baseline chi-square statistics.

    Parameters
    ----------
    chisq, df : float, int
        Model statistic ``T_M`` and degrees of freedom ``df_M``.
    baseline_chisq, baseline_df : float, int
        Baseline (independence) statistic ``T_B`` and degrees of freedom ``df_B``.
    n : int
        Number of cases ``N`` (lavaan's ML uses ``N``, not ``N - 1``), all groups together.
    n_groups : int, default 1
        Number of groups ``G`` of a multi-group model (RMSEA is multiplied by ``sqrt(G)``,
        Steiger 1998, as lavaan does).

    Returns
    -------
    FitIndices

    Notes
    -----
    As lavaan 0.6 (``lav_fit_cfi.R``, ``lav_fit_rmsea.R``)::

        CFI   = 1 - max(T_M - df_M, 0) / max(T_M - df_M, T_B - df_B, 0)   (1 if both are 0)
        TLI   = 1 - ((T_M - df_M) df_B) / ((T_B - df_B) df_M)             (not truncated;
                                                                           1 if df_M = 0)
        RMSEA = sqrt(max(0, T_M - df_M) / (df_M N)) sqrt(G)               (0 if df_M = 0)

    Test vector (METHODS test_vectors.md item 6, R statpsych ``fitindices``):
    ``T_M 14.21, df_M 10, T_B 258.43, df_B 20, N 300`` gives CFI 0.9823428,
    TLI 0.9646857, RMSEA 0.03746109.
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    if n_groups < 1:
        raise ValueError(f"n_groups must be positive, got {n_groups}")
    if df < 0 or baseline_df < 0:
        raise ValueError(f"degrees of freedom must be >= 0, got df={df}, baseline_df={baseline_df}")
    t1 = max(chisq - df, 0.0)
    t2 = max(chisq - df, baseline_chisq - baseline_df, 0.0)
    cfi = 1.0 if t2 == 0.0 else 1.0 - t1 / t2
    num = (chisq - df) * baseline_df
    den = (baseline_chisq - baseline_df) * df
    tli = 1.0 - num / den if (df > 0 and den != 0.0) else 1.0
    rmsea = float(np.sqrt(max(0.0, chisq - df) / (df * n) * n_groups)) if df > 0 else 0.0
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

    def hess(self, x: np.ndarray) -> np.ndarray:
        """Expected (Fisher) information of F: H_ab = tr(Sigma^-1 D_a Sigma^-1 D_b)."""
        _, inv, _ = self._eval(x)
        mdl = self.model
        if inv is None:
            return np.eye(mdl.q)
        p = mdl.p
        lam, _, phi = mdl.unpack(x)
        eye = np.eye(p)
        # dSigma/dx_a = u_a v_a' + v_a u_a' for every parameter (see _rank2_information).
        u = np.vstack([eye, eye, lam[:, mdl.phi_a].T])
        v = np.vstack([(lam @ phi)[:, mdl.f].T, eye / 2.0, lam[:, mdl.phi_b].T])
        return _rank2_information(inv, u, v)


def _rank2_information(inv: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """H_ab = tr(inv D_a inv D_b) for D_a = u_a v_a' + v_a u_a' (rows of u and v).

    Expanding the four trace terms gives H = 2 (UU o VV + UV o UV') with UU = U inv U',
    VV = V inv V', UV = U inv V' (o: elementwise product): O(q p^2 + q^2 p) instead of the
    O(q^2 p^2) of forming every D_a.
    """
    ui = u @ inv
    vi = v @ inv
    uv = ui @ v.T
    return 2.0 * ((ui @ u.T) * (vi @ v.T) + uv * uv.T)


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
                f"{res.nit} iterations ({res.message}){_heywood_hint(x, s, model.p)}"
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


def _heywood_hint(x: np.ndarray, s: np.ndarray, p: int) -> str:
    """Name the item whose residual variance runs away, the usual cause of non-convergence."""
    theta = x[p : 2 * p]
    j = int(np.argmin(theta / np.diag(s)))
    if theta[j] < -np.diag(s)[j]:
        return (
            f"; improper solution: the residual variance of item {j} diverges "
            f"({theta[j]:.3g}), a Heywood case with no ML estimate (small sample, or an item "
            f"nearly unrelated to the other items of its factor)"
        )
    return ""


def _check_factor_of_item(factor_of_item: Sequence[int] | np.ndarray,
                          p: int) -> tuple[np.ndarray, int]:
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


def _item_matrix(values: np.ndarray) -> np.ndarray:
    """``values`` as a 2-D float array (n x p), NaN for missing; no infinite entries."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"values must be a 2-D array (n x p), got shape {x.shape}")
    if np.isinf(x).any():
        raise ValueError("values contain infinite entries (use NaN for missing)")
    return x


def _complete_case_cov(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Mean and covariance (divisor N) of the rows of ``values`` without NaN.

    Returns ``(mean, cov_n, n)``. Centred before the cross-product so that sums of squares
    keep full precision on Likert data with large N.
    """
    x = _item_matrix(values)
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


# --------------------------------------------------------------------------------------------
# Measurement invariance: multi-group CFA with mean structure (configural, metric, scalar)
# --------------------------------------------------------------------------------------------

INVARIANCE_LEVELS: tuple[str, ...] = ("configural", "metric", "scalar")

# Chen (2007), as METHODS.md section 5: a step is rejected when CFI drops by .010 or more
# and RMSEA rises by .015 or more.
DELTA_CFI_LIMIT = -0.010
DELTA_RMSEA_LIMIT = 0.015
#: Chen (2007) SRMR supplement, per step (METHODS.md section 5): loadings, then intercepts.
DELTA_SRMR_LIMIT = {"metric": 0.030, "scalar": 0.010}


class InvarianceError(ValueError):
    """A group is unusable for the multi-group model (too few complete cases, singular S)."""


@dataclass(frozen=True)
class InvarianceStep:
    """Fit of one invariance level and its comparison with the previous level.

    Attributes
    ----------
    level : str
        ``"configural"``, ``"metric"`` or ``"scalar"``.
    chisq, df, cfi, tli, rmsea, srmr : float, int, float, float, float, float
        Multi-group fit as lavaan 0.6 reports it (``meanstructure = TRUE``).
    delta_cfi, delta_rmsea, delta_srmr : float
        Change against the previous level (NaN for configural).
    rejected : bool
        Chen (2007) as METHODS.md section 5 states it: ``delta_cfi <= -0.010`` and
        (``delta_rmsea >= 0.015`` or ``delta_srmr >= 0.030`` for metric, ``>= 0.010`` for
        scalar). Never for configural.
    """

    level: str
    chisq: float
    df: int
    cfi: float
    tli: float
    rmsea: float
    srmr: float
    delta_cfi: float
    delta_rmsea: float
    rejected: bool
    delta_srmr: float = float("nan")


@dataclass(frozen=True)
class InvarianceResult:
    """Sequential measurement-invariance test across groups.

    Attributes
    ----------
    groups : tuple of str
        Group labels (sorted), in the order of ``group_sizes``.
    group_sizes : tuple of int
        Complete cases per group.
    baseline_chisq, baseline_df : float, int
        Multi-group independence model (free means and variances in every group).
    steps : tuple of InvarianceStep
        Configural, metric and scalar, in that order.
    level : str
        Highest level reached before the first rejected step (``"configural"`` if metric is
        rejected, ``"scalar"`` if nothing is).
    """

    groups: tuple[str, ...]
    group_sizes: tuple[int, ...]
    baseline_chisq: float
    baseline_df: int
    steps: tuple[InvarianceStep, ...]
    level: str


class _MultiGroupModel:
    """Free-parameter layout of a multi-group CFA with mean structure.

    Per group g: ``Sigma_g = Lambda_g Phi_g Lambda_g' + Theta_g`` and
    ``mu_g = nu_g + Lambda_g alpha_g``. Index arrays map each matrix slot to a position in the
    parameter vector; -1 marks a fixed slot (factor variance 1, latent mean 0). As lavaan
    (>= 0.6-4) with ``std.lv = TRUE``: once loadings are equal across groups the factor
    variances are fixed in the first group only, and once intercepts are equal the latent
    means are fixed to 0 in the first group only.
    """

    def __init__(self, level: str, f: np.ndarray, m: int, n_groups: int) -> None:
        self.level = level
        self.f = f
        self.p = p = f.size
        self.m = m
        self.g = n_groups
        self.rows = np.arange(p)
        self.ph_a, self.ph_b = np.tril_indices(m)
        self.ph_diag = self.ph_a == self.ph_b
        counter = 0

        def new(k: int) -> np.ndarray:
            nonlocal counter
            idx = np.arange(counter, counter + k)
            counter += k
            return idx

        shared_lam = new(p) if level != "configural" else None
        shared_nu = new(p) if level == "scalar" else None
        self.lam: list[np.ndarray] = []
        self.theta: list[np.ndarray] = []
        self.nu: list[np.ndarray] = []
        self.phi: list[np.ndarray] = []
        self.alpha: list[np.ndarray] = []
        for g in range(n_groups):
            self.lam.append(shared_lam if shared_lam is not None else new(p))
            self.theta.append(new(p))
            self.nu.append(shared_nu if shared_nu is not None else new(p))
            ph = np.full(self.ph_a.size, -1)
            free = ~self.ph_diag if (level == "configural" or g == 0) else np.ones_like(ph, bool)
            ph[free] = new(int(free.sum()))
            self.phi.append(ph)
            al = np.full(m, -1)
            if level == "scalar" and g > 0:
                al[:] = new(m)
            self.alpha.append(al)
        self.q = counter

    def matrices(
        self, x: np.ndarray, g: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        lam = np.zeros((self.p, self.m))
        lam[self.rows, self.f] = x[self.lam[g]]
        ph = self.phi[g]
        vals = np.where(ph >= 0, x[np.maximum(ph, 0)], self.ph_diag.astype(float))
        phi = np.zeros((self.m, self.m))
        phi[self.ph_a, self.ph_b] = vals
        phi[self.ph_b, self.ph_a] = vals
        al = self.alpha[g]
        alpha = np.where(al >= 0, x[np.maximum(al, 0)], 0.0)
        return lam, x[self.theta[g]], phi, x[self.nu[g]], alpha

    def moments(self, x: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
        lam, theta, phi, nu, alpha = self.matrices(x, g)
        sig = lam @ phi @ lam.T
        sig[np.diag_indices(self.p)] += theta
        return sig, nu + lam @ alpha

    def local_params(self, g: int) -> np.ndarray:
        ph, al = self.phi[g], self.alpha[g]
        return np.concatenate([self.lam[g], self.theta[g], ph[ph >= 0], self.nu[g], al[al >= 0]])


class _MultiGroupObjective:
    """F = sum_g (N_g/N) [log|Sigma_g| + tr(S_g Sigma_g^-1) + d_g' Sigma_g^-1 d_g
    - log|S_g| - p], d_g = m_g - mu_g; chisq = N F (lavaan's multi-group ML)."""

    def __init__(
        self, model: _MultiGroupModel, covs: list[np.ndarray], means: list[np.ndarray],
        sizes: np.ndarray,
    ) -> None:
        self.model = model
        self.covs = covs
        self.means = means
        self.w = sizes / sizes.sum()
        self.logdet_s = [float(np.linalg.slogdet(s)[1]) for s in covs]
        self._x: np.ndarray | None = None
        self._cache: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
        self._f = np.inf

    def _eval(self, x: np.ndarray) -> tuple[float, list[tuple[np.ndarray, np.ndarray,
                                                             np.ndarray]] | None]:
        if self._x is not None and np.array_equal(x, self._x):
            return self._f, self._cache
        mdl = self.model
        total = 0.0
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = []
        for g in range(mdl.g):
            sig, mu = mdl.moments(x, g)
            ch = _chol_inv_logdet(sig)
            if ch is None or not np.all(np.isfinite(sig)):
                total, parts = np.inf, None
                break
            inv, logdet = ch
            d = self.means[g] - mu
            fg = (logdet + float(np.sum(self.covs[g] * inv)) + float(d @ inv @ d)
                  - self.logdet_s[g] - mdl.p)
            total += self.w[g] * fg
            assert parts is not None
            parts.append((inv, d, sig))
        self._x = x.copy()
        self._f, self._cache = total, parts
        return total, parts

    def fun(self, x: np.ndarray) -> float:
        return self._eval(x)[0]

    def grad(self, x: np.ndarray) -> np.ndarray:
        _, parts = self._eval(x)
        mdl = self.model
        out = np.zeros(mdl.q)
        if parts is None:
            return np.full(mdl.q, np.nan)
        for g, (inv, d, _) in enumerate(parts):
            lam, _, phi, _, alpha = mdl.matrices(x, g)
            inv_d = inv @ d
            gs = inv - inv @ self.covs[g] @ inv - np.outer(inv_d, inv_d)
            gmu = -2.0 * inv_d
            glam = 2.0 * gs @ lam @ phi + np.outer(gmu, alpha)
            gphi_full = lam.T @ gs @ lam
            gphi = np.where(mdl.ph_diag, 1.0, 2.0) * gphi_full[mdl.ph_a, mdl.ph_b]
            galpha = lam.T @ gmu
            w = self.w[g]
            np.add.at(out, mdl.lam[g], w * glam[mdl.rows, mdl.f])
            np.add.at(out, mdl.theta[g], w * np.diag(gs))
            ph = mdl.phi[g]
            np.add.at(out, ph[ph >= 0], w * gphi[ph >= 0])
            np.add.at(out, mdl.nu[g], w * gmu)
            al = mdl.alpha[g]
            np.add.at(out, al[al >= 0], w * galpha[al >= 0])
        return out

    def hess(self, x: np.ndarray) -> np.ndarray:
        """Expected information: sum_g w_g [tr(S^-1 D_a S^-1 D_b) + 2 d_a' S^-1 d_b]."""
        _, parts = self._eval(x)
        mdl = self.model
        h = np.zeros((mdl.q, mdl.q))
        if parts is None:
            return np.eye(mdl.q)
        p = mdl.p
        eye = np.eye(p)
        for g, (inv, _, _) in enumerate(parts):
            lam, _, phi, _, alpha = mdl.matrices(x, g)
            ph, al = mdl.phi[g], mdl.alpha[g]
            free_ph = np.flatnonzero(ph >= 0)
            free_al = np.flatnonzero(al >= 0)
            pa, pb = mdl.ph_a[free_ph], mdl.ph_b[free_ph]
            half = np.where(pa == pb, 0.5, 1.0)  # l_a l_a' = l_a (l_a/2)' + (l_a/2) l_a'
            zeros_m = np.zeros((p + free_al.size, p))
            # Covariance part, parameter order of local_params: lam, theta, phi, nu, alpha.
            u = np.vstack([eye, eye, lam[:, pa].T, zeros_m])
            v = np.vstack([(lam @ phi)[:, mdl.f].T, eye / 2.0, (lam[:, pb] * half).T, zeros_m])
            # Mean part: dmu/dlambda_i = e_i alpha_f(i), dmu/dnu = I, dmu/dalpha_k = l_k.
            dm = np.vstack([
                eye * alpha[mdl.f][:, None],
                np.zeros((p + free_ph.size, p)),
                eye,
                lam[:, free_al].T,
            ])
            hg = _rank2_information(inv, u, v) + 2.0 * (dm @ inv) @ dm.T
            idx = mdl.local_params(g)
            np.add.at(h, (idx[:, None], idx[None, :]), self.w[g] * hg)
        return h


def _mg_minimize(obj: _MultiGroupObjective, x0: np.ndarray, level: str) -> np.ndarray:
    res = scipy.optimize.minimize(
        obj.fun, x0, jac=obj.grad, hess=obj.hess, method="trust-exact",
        options={"gtol": _GRAD_TOL, "maxiter": 300},
    )
    x = res.x
    gmax = float(np.max(np.abs(obj.grad(x)))) if np.isfinite(res.fun) else np.inf
    if gmax > 10 * _GRAD_TOL:
        raise CfaConvergenceError(
            f"{level} multi-group ML fit did not converge: max |gradient| = {gmax:.3g} after "
            f"{res.nit} iterations ({res.message})"
        )
    return x


def _mg_srmr(model: _MultiGroupModel, obj: _MultiGroupObjective, x: np.ndarray) -> float:
    """lavaan's SRMR with mean structure: per group sqrt((sum r_mean^2 + sum vech(r_cov)^2)
    / (p + p(p+1)/2)) with residuals scaled by sqrt(diag S_g), averaged with weights N_g/N."""
    total = 0.0
    low = np.tril_indices(model.p)
    for g in range(model.g):
        sig, mu = model.moments(x, g)
        s = obj.covs[g]
        sd = np.sqrt(np.diag(s))
        r_cov = ((s - sig) / np.outer(sd, sd))[low]
        r_mean = (obj.means[g] - mu) / sd
        stats = np.concatenate([r_mean, r_cov])
        total += float(obj.w[g]) * float(np.sqrt(np.mean(stats**2)))
    return float(total)


def invariance_step_rejected(level: str, delta_cfi: float, delta_rmsea: float,
                             delta_srmr: float) -> bool:
    """Chen's (2007) rule for one step (METHODS.md section 5).

    Reject when CFI falls by .010 or more and either RMSEA rises by .015 or more or SRMR rises
    by .030 or more (metric step) / .010 or more (scalar step).
    """
    if level not in DELTA_SRMR_LIMIT:
        raise ValueError(f"no invariance step named {level!r}")
    return bool(delta_cfi <= DELTA_CFI_LIMIT
                and (delta_rmsea >= DELTA_RMSEA_LIMIT or delta_srmr >= DELTA_SRMR_LIMIT[level]))


def measurement_invariance(
    values: np.ndarray, factor_of_item: Sequence[int], groups: Sequence[object]
) -> InvarianceResult:
    """Configural, metric and scalar invariance of the correlated-factors CFA across groups.

    Parameters
    ----------
    values : ndarray, shape (n, p)
        Reverse-keyed raw item values, NaN for missing.
    factor_of_item : sequence of int, length p
        Factor of each column.
    groups : sequence, length n
        Group label of each row (e.g. wave or region); compared as strings.

    Returns
    -------
    InvarianceResult

    Raises
    ------
    InvarianceError
        Fewer than 2 groups, or a group with no more complete cases than items or a
        singular covariance matrix.
    CfaConvergenceError
        If a level's ML fit does not converge.

    Notes
    -----
    Missing data: rows complete on every item (listwise, lavaan's default) with a group label.
    Unweighted. Per group ``S_g`` (divisor ``N_g``) and mean ``m_g``; the multi-group ML
    discrepancy is ``F = sum_g (N_g/N) [log|Sigma_g| + tr(S_g Sigma_g^-1) +
    (m_g - mu_g)' Sigma_g^-1 (m_g - mu_g) - log|S_g| - p]`` and ``chisq = N F``.

    - configural: every parameter group-specific (factor variances 1, latent means 0);
    - metric: loadings equal; factor variances 1 in the first group only, free elsewhere;
    - scalar: loadings and intercepts equal; latent means 0 in the first group, free elsewhere.

    Baseline: independence model with free means and variances per group,
    ``T_B = sum_g N_g (sum_j log s_gjj - log|S_g|)``, ``df_B = G p(p-1)/2``. CFI, TLI and
    RMSEA (times ``sqrt(G)``) from :func:`fit_indices`; SRMR is lavaan's with mean residuals,
    averaged over groups with weights ``N_g / N``. A step is rejected by
    :func:`invariance_step_rejected` (Chen 2007 with the SRMR supplement; METHODS.md section
    5); ``level`` is the last level before the first rejection.

    Sources: METHODS.md section 5; lavaan 0.6 ``cfa(group=, group.equal=, std.lv=TRUE)``;
    Chen (2007); Steiger (1998) for the multi-group RMSEA.
    """
    x = _item_matrix(values)
    n_rows, p = x.shape
    labels = np.asarray(groups, dtype=object)
    if labels.shape != (n_rows,):
        raise ValueError(f"groups must have one label per row ({n_rows}), got {labels.shape}")
    f, m = _check_factor_of_item(factor_of_item, p)
    keep = ~np.isnan(x).any(axis=1) & ~np.array([lab is None or lab != lab for lab in labels])
    x = x[keep]
    str_labels = np.array([str(lab) for lab in labels[keep]])
    names = tuple(sorted(set(str_labels.tolist())))
    n_groups = len(names)
    if n_groups < 2:
        raise InvarianceError(f"need at least 2 groups with complete cases, got {n_groups}")
    covs, means, sizes = [], [], []
    for name in names:
        xg = x[str_labels == name]
        if xg.shape[0] <= p:
            raise InvarianceError(
                f"group {name!r} has {xg.shape[0]} complete cases, needs more than {p}"
            )
        mean_g, s_g, n_g = _complete_case_cov(xg)
        covs.append(s_g)
        means.append(mean_g)
        sizes.append(n_g)
    return measurement_invariance_from_moments(names, covs, means, sizes, f)


def measurement_invariance_from_moments(
    groups: Sequence[object], covs: Sequence[np.ndarray], means: Sequence[np.ndarray],
    sizes: Sequence[int], factor_of_item: Sequence[int] | np.ndarray,
) -> InvarianceResult:
    """`measurement_invariance` on each group's complete-case moments.

    ``covs[g]`` is the covariance matrix with divisor ``N_g`` and ``means[g]`` the mean vector
    of group ``groups[g]``'s ``sizes[g]`` complete cases (rows without a missing item). The
    index run keeps these per wave and fits the models on them, never on the raw rows: the fit
    then costs the same at any sample size. Groups are taken in the order given.

    Raises
    ------
    InvarianceError
        Fewer than 2 groups, a group with no more cases than items, a singular covariance.
    CfaConvergenceError
        If a level's ML fit does not converge.
    """
    names = tuple(str(g) for g in groups)
    n_groups = len(names)
    if n_groups < 2:
        raise InvarianceError(f"need at least 2 groups with complete cases, got {n_groups}")
    if not (len(covs) == len(means) == len(sizes) == n_groups):
        raise ValueError("groups, covs, means and sizes must have the same length")
    covs = [np.asarray(s, dtype=float) for s in covs]
    means = [np.asarray(v, dtype=float) for v in means]
    p = covs[0].shape[0]
    f, m = _check_factor_of_item(factor_of_item, p)
    for name, s_g, mean_g, n_g in zip(names, covs, means, sizes, strict=True):
        if s_g.shape != (p, p) or mean_g.shape != (p,):
            raise ValueError(f"group {name!r}: moments of {s_g.shape} / {mean_g.shape}, "
                             f"expected ({p}, {p}) / ({p},)")
        if n_g <= p:
            raise InvarianceError(
                f"group {name!r} has {n_g} complete cases, needs more than {p}"
            )
        if np.linalg.eigvalsh(s_g)[0] <= 1e-12 * float(np.trace(s_g)):
            raise InvarianceError(f"group {name!r} has a singular covariance matrix")
    sizes = [int(v) for v in sizes]
    size_arr = np.asarray(sizes, dtype=float)
    n_total = int(size_arr.sum())
    pstar = p * (p + 1) // 2 + p
    baseline_chisq = float(sum(
        n_g * (np.sum(np.log(np.diag(s))) - np.linalg.slogdet(s)[1])
        for n_g, s in zip(sizes, covs, strict=True)
    ))
    baseline_df = n_groups * p * (p - 1) // 2

    # Configural start: separate single-group fits (configural = their sum, means saturated).
    single = [_fit_ml(s, f, m) for s in covs]
    steps: list[InvarianceStep] = []
    x_prev: np.ndarray | None = None
    prev_model: _MultiGroupModel | None = None
    for level in INVARIANCE_LEVELS:
        model = _MultiGroupModel(level, f, m, n_groups)
        obj = _MultiGroupObjective(model, covs, means, size_arr)
        x0 = _mg_start(level, model, single, means, x_prev, prev_model)
        xl = _mg_minimize(obj, x0, level)
        chisq = n_total * obj.fun(xl)
        df = n_groups * pstar - model.q
        idx = fit_indices(chisq, df, baseline_chisq, baseline_df, n_total, n_groups)
        srmr = _mg_srmr(model, obj, xl)
        if steps:
            d_cfi = idx.cfi - steps[-1].cfi
            d_rmsea = idx.rmsea - steps[-1].rmsea
            d_srmr = srmr - steps[-1].srmr
            rejected = invariance_step_rejected(level, d_cfi, d_rmsea, d_srmr)
        else:
            d_cfi = d_rmsea = d_srmr = float("nan")
            rejected = False
        steps.append(InvarianceStep(
            level=level, chisq=float(chisq), df=int(df), cfi=idx.cfi, tli=idx.tli,
            rmsea=idx.rmsea, srmr=srmr, delta_cfi=float(d_cfi),
            delta_rmsea=float(d_rmsea), rejected=bool(rejected), delta_srmr=float(d_srmr),
        ))
        x_prev, prev_model = xl, model
    reached = "configural"
    for step in steps[1:]:
        if step.rejected:
            break
        reached = step.level
    return InvarianceResult(
        groups=names, group_sizes=tuple(int(v) for v in sizes),
        baseline_chisq=baseline_chisq, baseline_df=int(baseline_df), steps=tuple(steps),
        level=reached,
    )


def _mg_start(
    level: str,
    model: _MultiGroupModel,
    single: list[_Fit],
    means: list[np.ndarray],
    x_prev: np.ndarray | None,
    prev_model: _MultiGroupModel | None,
) -> np.ndarray:
    p, m = model.p, model.m
    x0 = np.zeros(model.q)
    if level == "configural":
        for g, fit in enumerate(single):
            x0[model.lam[g]] = fit.x[:p]
            x0[model.theta[g]] = fit.x[p : 2 * p]
            phi = np.eye(m)
            tri_a, tri_b = np.tril_indices(m, k=-1)
            phi[tri_a, tri_b] = fit.x[2 * p :]
            phi[tri_b, tri_a] = fit.x[2 * p :]
            ph = model.phi[g]
            x0[ph[ph >= 0]] = phi[model.ph_a, model.ph_b][ph >= 0]
            x0[model.nu[g]] = means[g]
        return x0
    assert x_prev is not None and prev_model is not None
    if level == "metric":
        # Loadings of group 1; each other group's factor (co)variances rescaled so that its
        # configural loadings are reproduced on average.
        lam1 = x_prev[prev_model.lam[0]]
        x0[model.lam[0]] = lam1
        for g in range(model.g):
            lam_g, theta_g, phi_g, nu_g, _ = prev_model.matrices(x_prev, g)
            ratio = lam_g[model.rows, model.f] / lam1
            scale = np.array([np.median(ratio[model.f == k]) for k in range(m)])
            if g > 0:
                phi_g = phi_g * np.outer(scale, scale)
            ph = model.phi[g]
            x0[ph[ph >= 0]] = phi_g[model.ph_a, model.ph_b][ph >= 0]
            x0[model.theta[g]] = theta_g
            x0[model.nu[g]] = nu_g
        return x0
    # scalar: metric solution; intercepts of group 1; latent means by least squares.
    x0[model.lam[0]] = x_prev[prev_model.lam[0]]
    lam, _, _, nu1, _ = prev_model.matrices(x_prev, 0)
    x0[model.nu[0]] = nu1
    for g in range(model.g):
        x0[model.theta[g]] = x_prev[prev_model.theta[g]]
        ph_prev, ph = prev_model.phi[g], model.phi[g]
        x0[ph[ph >= 0]] = x_prev[ph_prev[ph_prev >= 0]]
        al = model.alpha[g]
        if g > 0:
            alpha_g = np.linalg.lstsq(lam, means[g] - nu1, rcond=None)[0]
            x0[al] = alpha_g
    return x0
