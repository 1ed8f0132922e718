"""Programme evaluation: difference-in-differences per programme and pooling by type
(METHODS.md section 11).

A programme has a region (a regency/city, or the province, whose series is ``ALL``), a type, a
target dimension (blank = ``INDEX``) and years ``start..end``. Its series is the region's
published (not suppressed) estimates of that dimension:

    pre  t0 = latest published wave with year < start;  post t1 = earliest published wave > end
    dT = y(t1) - y(t0),  SE_T = sqrt(se(t1)^2 + se(t0)^2)
    C  = the other surveyed regions published at t0 and t1, except those that ran a programme
         active in t0+1..t1 on the same dimension, on INDEX, or on anything when evaluating
         INDEX (province programmes exclude nobody)
    dC = mean_C (y_c(t1) - y_c(t0)),  SE_C = sqrt(sum_C (se_c(t1)^2 + se_c(t0)^2)) / |C|
    DiD = dT - dC,  SE = sqrt(SE_T^2 + SE_C^2),  p = 2(1 - Phi(|DiD/SE|)),
    CI95 = DiD +- 1.959964 SE,  MDE = 2.80 SE

Statuses: ``no_pre`` / ``no_post`` (every number blank), ``no_comparison`` (province programme, or
C empty: the treated change is still given), ``ok``.

Pooling by type over the ``ok`` programmes (k >= 2): fixed effect (inverse variance) and random
effects with tau^2 by REML (truncated at 0), I^2 and Cochran's Q, as metafor's
``rma(yi, sei, method="FE")`` and ``rma(yi, sei, method="REML")`` report them. Comparison groups
of one province overlap, so the pooled SE is approximate. Programmes are not placed at random: a
DiD is evidence, not proof, and an effect below the MDE cannot be seen.

Sources: Angrist & Pischke (2009) ch. 5; Bloom (1995) for the MDE (2.80 = z_.975 + z_.80);
Viechtbauer (2010), J. Stat. Softw. 36(3) (metafor) for the pooled estimates.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis._validation import published_index, require_columns
from analysis.sae import fit_reml

__all__ = [
    "EFFECT_COLUMNS",
    "TYPE_COLUMNS",
    "evaluate_programmes",
    "pool_by_type",
]

INDEX_CODE = "INDEX"
ALL_REGION = "ALL"
#: the normal 97.5 % quantile (METHODS prints 1.959964; the exact value is what metafor uses)
Z975 = float(stats.norm.ppf(0.975))
MDE_FACTOR = 2.80
EFFECT_COLUMNS: tuple[str, ...] = (
    "programme", "region", "type", "dimension", "start_year", "end_year", "pre_wave",
    "post_wave", "treated_change", "treated_se", "comparison_change", "comparison_se",
    "n_comparison", "did", "did_se", "did_ci_low", "did_ci_high", "p", "mde", "significant",
    "status",
)
TYPE_COLUMNS: tuple[str, ...] = (
    "type", "k", "fe_estimate", "fe_se", "re_estimate", "re_se", "re_ci_low", "re_ci_high",
    "re_p", "tau2", "i2", "q", "q_p",
)
_NAN = float("nan")


def _dimension(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or str(value) == "":
        return INDEX_CODE
    return str(value)


@dataclass(frozen=True)
class _Programme:
    code: str
    region: str
    type: str
    dimension: str
    start: int
    end: int


def _series_table(estimates: pd.DataFrame) -> dict[tuple[str, str], dict[int, tuple[float, float]]]:
    """(region, dimension) -> {wave: (estimate, se)} over the published rows."""
    pub = published_index(estimates)
    table: dict[tuple[str, str], dict[int, tuple[float, float]]] = {}
    for region, dim, wave, est, se in zip(pub["region"].astype(str), pub["dimension"].astype(str),
                                          pub["wave"].astype(int), pub["estimate"].astype(float),
                                          pub["se"].astype(float), strict=True):
        table.setdefault((region, dim), {})[wave] = (est, se)
    return table


def evaluate_programmes(programmes: pd.DataFrame, estimates: pd.DataFrame,
                        province_codes: Collection[str] = ()) -> pd.DataFrame:
    """The ``programme_effects`` table, one row per programme in input order.

    ``programmes``: ``code, region, type, dimension, start_year, end_year``; ``estimates``:
    ``wave, region, dimension, estimate, se, suppressed`` (wave = year); ``province_codes``:
    region codes that denote the whole province (their series is ``ALL``).
    """
    require_columns(programmes, "programmes", ("code", "region", "type", "dimension",
                                               "start_year", "end_year"))
    require_columns(estimates, "estimates", ("wave", "region", "dimension", "estimate", "se",
                                             "suppressed"))
    provinces = {str(c) for c in province_codes}
    series = _series_table(estimates)
    surveyed = sorted({str(r) for r in estimates["region"].astype(str)} - {ALL_REGION})
    regs = [_Programme(code=str(code), region=str(region), type=str(kind),
                       dimension=_dimension(dim), start=int(start), end=int(end))
            for code, region, kind, dim, start, end in zip(
                programmes["code"], programmes["region"], programmes["type"],
                programmes["dimension"], programmes["start_year"], programmes["end_year"],
                strict=True)]
    rows = []
    for prog in regs:
        row: dict[str, object] = {c: _NAN for c in EFFECT_COLUMNS}
        row.update(programme=prog.code, region=prog.region, type=prog.type,
                   dimension=prog.dimension, start_year=prog.start,
                   end_year=prog.end, significant=None)
        is_province = prog.region in provinces
        own = series.get((ALL_REGION if is_province else prog.region, prog.dimension), {})
        pre = [w for w in own if w < prog.start]
        post = [w for w in own if w > prog.end]
        if not pre or not post:
            row["status"] = "no_pre" if not pre else "no_post"
            rows.append(row)
            continue
        t0, t1 = max(pre), min(post)
        d_t = own[t1][0] - own[t0][0]
        se_t = float(np.hypot(own[t1][1], own[t0][1]))
        row.update(pre_wave=t0, post_wave=t1, treated_change=d_t, treated_se=se_t)
        comparison: list[str] = []
        if not is_province:
            excluded = {
                other.region for other in regs
                if other.region not in provinces
                and other.start <= t1 and other.end >= t0 + 1
                and (other.dimension in (prog.dimension, INDEX_CODE)
                     or prog.dimension == INDEX_CODE)
            }
            for region in surveyed:
                if region == prog.region or region in excluded:
                    continue
                s = series.get((region, prog.dimension), {})
                if t0 in s and t1 in s:
                    comparison.append(region)
        row["n_comparison"] = len(comparison)
        if not comparison:
            row["status"] = "no_comparison"
            rows.append(row)
            continue
        diffs = [series[(c, prog.dimension)][t1][0] - series[(c, prog.dimension)][t0][0]
                 for c in comparison]
        var_c = [series[(c, prog.dimension)][t1][1] ** 2
                 + series[(c, prog.dimension)][t0][1] ** 2 for c in comparison]
        d_c = float(np.mean(diffs))
        se_c = float(np.sqrt(np.sum(var_c)) / len(comparison))
        did = d_t - d_c
        se = float(np.hypot(se_t, se_c))
        p = float(2.0 * stats.norm.sf(abs(did / se)))
        row.update(comparison_change=d_c, comparison_se=se_c, did=did, did_se=se,
                   did_ci_low=did - Z975 * se, did_ci_high=did + Z975 * se, p=p,
                   mde=MDE_FACTOR * se, significant=bool(p < 0.05), status="ok")
        rows.append(row)
    out = pd.DataFrame(rows, columns=list(EFFECT_COLUMNS))
    for col in ("pre_wave", "post_wave", "n_comparison"):
        out[col] = out[col].astype("Int64")
    return out


def pool_by_type(effects: pd.DataFrame, types: Collection[str] | None = None) -> pd.DataFrame:
    """The ``programme_types`` table: one row per type (``types``, default those in
    ``effects``), sorted by type; pooled numbers only where k >= 2 ``ok`` programmes."""
    require_columns(effects, "programme effects", ("type", "did", "did_se", "status"))
    names = sorted(set(types) if types is not None else set(effects["type"].astype(str)))
    rows = []
    for name in names:
        ok = effects.loc[(effects["type"].astype(str) == name) & (effects["status"] == "ok")]
        row: dict[str, object] = {c: _NAN for c in TYPE_COLUMNS}
        row.update(type=name, k=len(ok))
        if len(ok) >= 2:
            row.update(_pool(ok["did"].to_numpy(float), ok["did_se"].to_numpy(float)))
        rows.append(row)
    out = pd.DataFrame(rows, columns=list(TYPE_COLUMNS))
    out["k"] = out["k"].astype(int)
    return out


def _pool(y: np.ndarray, se: np.ndarray) -> dict[str, float]:
    k = len(y)
    v = se**2
    w = 1.0 / v
    fe = float(np.sum(w * y) / np.sum(w))
    q = float(np.sum(w * (y - fe) ** 2))
    # random effects: the intercept-only area-level model (the same REML as Fay-Herriot)
    fit = fit_reml(y, v, np.ones((k, 1)))
    tau2 = fit.sigma2_u
    re, re_se = float(fit.beta[0]), float(np.sqrt(fit.cov_beta[0, 0]))
    # metafor's I^2: tau^2 over tau^2 plus the "typical" within-study variance
    typical = (k - 1) * np.sum(w) / (np.sum(w) ** 2 - np.sum(w**2))
    return dict(
        fe_estimate=fe, fe_se=float(1.0 / np.sqrt(np.sum(w))), re_estimate=re, re_se=re_se,
        re_ci_low=re - Z975 * re_se, re_ci_high=re + Z975 * re_se,
        re_p=float(2.0 * stats.norm.sf(abs(re / re_se))), tau2=tau2,
        i2=float(100.0 * tau2 / (tau2 + typical)), q=q, q_p=float(stats.chi2.sf(q, k - 1)),
    )
