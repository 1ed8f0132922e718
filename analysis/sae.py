"""Fay-Herriot small-area estimates of the overall index (METHODS.md section 12).

Per wave, the areas are regencies/cities with a value of the covariate that year; those with a
published direct estimate (``INDEX``, not suppressed) fit the area-level model

    y_i = x_i' beta + u_i + e_i,   u_i ~ N(0, s2u),   e_i ~ N(0, psi_i),   psi_i = se_i^2

with s2u by REML (truncated at 0) and beta by GLS with V_i = s2u + psi_i, which is the
random-effects meta-regression of metafor's ``rma(method="REML")``. Areas with a direct estimate
get the EBLUP ``gamma_i y_i + (1 - gamma_i) x_i' beta``; the others (suppressed, or surveyed but
not published) get the synthetic ``x_i' beta``. MSE: Prasad-Rao with the Datta-Lahiri g3 for REML
(Datta & Lahiri 2000; Rao & Molina 2015, section 6.2.1). With m areas holding a direct estimate
and p columns of X, the model is fitted only when m >= p + 2; otherwise every area of that wave
gets status ``too_few_areas`` and no model numbers. A covariate constant over those m areas gets
status ``singular_covariate`` (not in METHODS 12, which does not foresee it), likewise unfitted.

The covariate is the accepted outcome proxy (METHODS section 7) with the largest |spearman_rho|,
ties to the lowest code; with none accepted the model has an intercept only.

Every number here is model-based and must be labelled so wherever it is shown.

Sources: Fay & Herriot (1979), JASA 74:269-277; Prasad & Rao (1990), JASA 85:163-171; Datta &
Lahiri (2000), Statistica Sinica 10:613-627; reference values: metafor 3.8 ``rma(method="REML")``
and ``blup()`` (tests/reference/kaltim/expected/sae.csv).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from analysis._validation import published_index, require_columns

__all__ = [
    "INDEX_CODE",
    "SAE_COLUMNS",
    "FayHerriotFit",
    "choose_covariate",
    "fit_fay_herriot",
    "fit_reml",
    "sae_table",
    "sae_wave",
]

INDEX_CODE = "INDEX"
ALL_REGION = "ALL"
SAE_COLUMNS: tuple[str, ...] = (
    "wave", "region", "dimension", "covariate", "direct", "direct_se", "model_estimate",
    "model_se", "gamma", "sigma2_u", "method", "n_areas", "status",
    # diagnostics beside the INTERFACE columns: the wave's coefficients, and model SE over
    # direct SE per area (near 1 or below where the survey is strong: the model does not distort)
    "beta_intercept", "beta_covariate", "se_ratio",
)
_NAN = float("nan")


@dataclass(frozen=True)
class FayHerriotFit:
    """REML fit of the Fay-Herriot model on the areas with a direct estimate."""

    beta: np.ndarray          # (p,) GLS coefficients
    cov_beta: np.ndarray      # (p, p) (X' V^-1 X)^-1
    sigma2_u: float           # REML variance of the area effect, truncated at 0
    psi: np.ndarray           # (m,) sampling variances used in the fit

    def eblup(self, y: np.ndarray, psi: np.ndarray, X: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """EBLUP, MSE and gamma of areas with direct ``y`` and variance ``psi`` (rows of X)."""
        s2u = self.sigma2_u
        gamma = s2u / (s2u + psi)
        synthetic = X @ self.beta
        theta = gamma * y + (1.0 - gamma) * synthetic
        lev = np.einsum("ij,jk,ik->i", X, self.cov_beta, X)
        g1 = gamma * psi
        g2 = (1.0 - gamma) ** 2 * lev
        g3 = psi**2 / (s2u + psi) ** 3 * 2.0 / np.sum((s2u + self.psi) ** -2.0)
        return theta, g1 + g2 + 2.0 * g3, gamma

    def synthetic(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Synthetic estimate ``x' beta`` and its MSE ``s2u + x' cov_beta x``."""
        lev = np.einsum("ij,jk,ik->i", X, self.cov_beta, X)
        return X @ self.beta, self.sigma2_u + lev


def _gls(y: np.ndarray, psi: np.ndarray, X: np.ndarray, s2u: float
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    w = 1.0 / (s2u + psi)
    cov_beta = np.linalg.inv(X.T @ (X * w[:, None]))
    beta = cov_beta @ (X.T @ (w * y))
    return beta, cov_beta, w


def _reml_score(y: np.ndarray, psi: np.ndarray, X: np.ndarray, s2u: float) -> float:
    """d/d s2u of the restricted log-likelihood: (y'P P y - tr P) / 2."""
    _, cov_beta, w = _gls(y, psi, X, s2u)
    wx = X * w[:, None]
    P = np.diag(w) - wx @ cov_beta @ wx.T
    py = P @ y
    return 0.5 * (float(py @ py) - float(np.trace(P)))


def fit_fay_herriot(y: object, psi: object, X: object) -> FayHerriotFit:
    """Fit the Fay-Herriot model by REML on ``m`` areas.

    Parameters
    ----------
    y : (m,) direct estimates; psi : (m,) their sampling variances (> 0);
    X : (m, p) covariates including the intercept column.

    Raises ``ValueError`` when m < p + 2 (METHODS 12: too few areas), for non-finite input,
    non-positive variances, or a rank-deficient X.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim == 2 and X.shape[0] < X.shape[1] + 2:
        raise ValueError(f"too few areas: m = {X.shape[0]} < p + 2 = {X.shape[1] + 2}")
    return fit_reml(y, psi, X)


def fit_reml(y: object, psi: object, X: object) -> FayHerriotFit:
    """REML fit of ``y = X beta + u + e``, ``u ~ N(0, s2u)``, ``e ~ N(0, psi)`` (known psi).

    The model of both Fay-Herriot and a random-effects meta-(regression) analysis (metafor
    ``rma(method="REML")``); needs m > p. s2u solves the REML score equation and is truncated
    at 0 when the restricted likelihood falls from 0 on.
    """
    y = np.asarray(y, dtype=float)
    psi = np.asarray(psi, dtype=float)
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or y.ndim != 1 or psi.shape != y.shape or X.shape[0] != y.shape[0]:
        raise ValueError("y and psi must be (m,) and X (m, p)")
    m, p = X.shape
    if m <= p:
        raise ValueError(f"REML needs more observations than coefficients: m = {m}, p = {p}")
    if not (np.isfinite(y).all() and np.isfinite(psi).all() and np.isfinite(X).all()):
        raise ValueError("y, psi and X must be finite")
    if (psi <= 0).any():
        raise ValueError("sampling variances psi must be positive")
    if np.linalg.matrix_rank(X) < p:
        raise ValueError("X is rank deficient (a covariate is constant across the areas?)")
    s2u = 0.0
    if _reml_score(y, psi, X, 0.0) > 0.0:
        # the restricted likelihood still rises at 0: bracket its root and solve it
        upper = max(float(np.var(y)), float(psi.max()), 1e-8)
        while _reml_score(y, psi, X, upper) > 0.0:
            upper *= 2.0
            if upper > 1e12:
                raise ValueError("REML did not find a finite area-effect variance")
        s2u = optimize.brentq(lambda s: _reml_score(y, psi, X, s), 0.0, upper,
                              xtol=1e-14, rtol=1e-14, maxiter=500)
    beta, cov_beta, _ = _gls(y, psi, X, s2u)
    return FayHerriotFit(beta=beta, cov_beta=cov_beta, sigma2_u=float(s2u), psi=psi)


def choose_covariate(proxy_validation: pd.DataFrame) -> str | None:
    """The accepted outcome proxy with the largest |spearman_rho| (ties: lowest code), or None."""
    if proxy_validation is None or proxy_validation.empty:
        return None
    require_columns(proxy_validation, "proxy_validation", ("indicator", "spearman_rho",
                                                            "accepted"))
    ok = proxy_validation.loc[proxy_validation["accepted"].astype(bool)
                              & proxy_validation["spearman_rho"].notna()]
    if ok.empty:
        return None
    ranked = ok.assign(_abs=ok["spearman_rho"].abs()).sort_values(
        ["_abs", "indicator"], ascending=[False, True], kind="mergesort")
    return str(ranked["indicator"].iloc[0])


def sae_wave(wave: int, areas: pd.DataFrame, covariate: str | None) -> pd.DataFrame:
    """SAE rows of one wave.

    ``areas``: one row per area with ``region``, ``direct`` and ``direct_se`` (NaN where no
    published direct estimate) and, with a covariate, ``x`` (its value that year; areas without
    one must already be left out). Rows come back in region order with ``SAE_COLUMNS``.
    """
    areas = areas.sort_values("region", kind="mergesort").reset_index(drop=True)
    k = len(areas)
    X = np.ones((k, 1)) if covariate is None else np.column_stack(
        [np.ones(k), areas["x"].to_numpy(dtype=float)])
    direct = areas["direct"].to_numpy(dtype=float)
    direct_se = areas["direct_se"].to_numpy(dtype=float)
    has = np.isfinite(direct) & np.isfinite(direct_se) & (direct_se > 0)
    m, p = int(has.sum()), X.shape[1]
    out = pd.DataFrame({
        "wave": int(wave), "region": areas["region"].astype(str).to_numpy(),
        "dimension": INDEX_CODE, "covariate": covariate,
        "direct": np.where(has, direct, _NAN), "direct_se": np.where(has, direct_se, _NAN),
        "model_estimate": _NAN, "model_se": _NAN, "gamma": _NAN, "sigma2_u": _NAN,
        "method": np.where(has, "eblup", "synthetic"), "n_areas": m, "status": "ok",
        "beta_intercept": _NAN, "beta_covariate": _NAN, "se_ratio": _NAN,
    })
    if m < p + 2:
        out["status"] = "too_few_areas"
        return out.loc[:, list(SAE_COLUMNS)]
    if np.linalg.matrix_rank(X[has]) < p:
        # the covariate takes one value over the areas with a direct estimate: no slope exists
        out["status"] = "singular_covariate"
        return out.loc[:, list(SAE_COLUMNS)]
    psi = direct_se[has] ** 2
    fit = fit_fay_herriot(direct[has], psi, X[has])
    theta, mse, gamma = fit.eblup(direct[has], psi, X[has])
    out.loc[has, "model_estimate"] = theta
    out.loc[has, "model_se"] = np.sqrt(mse)
    out.loc[has, "gamma"] = gamma
    if (~has).any():
        syn, syn_mse = fit.synthetic(X[~has])
        out.loc[~has, "model_estimate"] = syn
        out.loc[~has, "model_se"] = np.sqrt(syn_mse)
        out.loc[~has, "gamma"] = 0.0
    out["sigma2_u"] = fit.sigma2_u
    out["beta_intercept"] = float(fit.beta[0])
    if covariate is not None:
        out["beta_covariate"] = float(fit.beta[1])
    out.loc[has, "se_ratio"] = out.loc[has, "model_se"] / out.loc[has, "direct_se"]
    return out.loc[:, list(SAE_COLUMNS)]


def sae_table(estimates: pd.DataFrame, indicator_values: pd.DataFrame | None = None,
              proxy_validation: pd.DataFrame | None = None,
              regions: list[str] | None = None) -> pd.DataFrame:
    """The ``sae`` table (INTERFACE section 3) over every wave of ``estimates``.

    ``estimates``: the estimates table (``wave, region, dimension, estimate, se, suppressed``);
    ``indicator_values``: ``indicator, region, year, value``; ``proxy_validation``: the proxy
    table. The areas of a wave are the regions (not ``ALL``) with an ``INDEX`` row that wave (the
    surveyed ones, METHODS 12), plus ``regions`` when given (e.g. unsurveyed regencies), that have
    a covariate value that year (any, without a covariate). Wave = year.
    """
    require_columns(estimates, "estimates", ("wave", "region", "dimension", "estimate", "se",
                                             "suppressed"))
    covariate = choose_covariate(proxy_validation) if proxy_validation is not None else None
    index = estimates.loc[(estimates["dimension"] == INDEX_CODE)
                          & (estimates["region"].astype(str) != ALL_REGION)].copy()
    index["region"] = index["region"].astype(str)
    published = published_index(index)
    frames = []
    for wave in sorted(int(w) for w in index["wave"].unique()):
        surveyed = set(index.loc[index["wave"] == wave, "region"])
        names = sorted(surveyed | set(regions or ()))
        areas = pd.DataFrame({"region": names})
        pub = published.loc[published["wave"] == wave, ["region", "estimate", "se"]]
        areas = areas.merge(pub.rename(columns={"estimate": "direct", "se": "direct_se"}),
                            on="region", how="left")
        if covariate is not None:
            if indicator_values is None:
                raise ValueError(f"covariate {covariate} chosen but no indicator values given")
            vals = indicator_values.loc[(indicator_values["indicator"] == covariate)
                                        & (indicator_values["year"].astype(int) == wave)
                                        & indicator_values["value"].notna()]
            x = vals.assign(region=vals["region"].astype(str)).loc[:, ["region", "value"]]
            areas = areas.merge(x.rename(columns={"value": "x"}), on="region", how="inner")
        if areas.empty:
            continue
        frames.append(sae_wave(wave, areas, covariate))
    if not frames:
        return pd.DataFrame(columns=list(SAE_COLUMNS))
    return pd.concat(frames, ignore_index=True)
