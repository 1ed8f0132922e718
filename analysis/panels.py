"""Panels: retention and attrition between consecutive waves, and within-person change.

A panel member of waves ``t0 < t1`` is a respondent (panel key) who answered both.

Retention (per region of the earlier wave, and ``ALL``)::

    n_previous     respondents of t0 in the region
    reinterviewed  those of them who answered t1 (in any region: people move)
    retention_pct  100 reinterviewed / n_previous
    new_entrants   respondents of t1 in the region who did not answer t0

Attrition by sex and by age group (who drops out): the same counts within each group of t0,
``attrition_pct = 100 (1 - reinterviewed / n_previous)``.

Within-person change (per region of the later wave, and ``ALL``, per dimension and the index)::

    d_i = score_i(t1) - score_i(t0)          for panel members valid at both waves
    change = sum w_i d_i / sum w_i           w = final weight of t1
    SE: Taylor linearisation of that ratio on the design of t1 (its strata and PSUs), the panel
        members of the region being a domain of the whole t1 design (METHODS section 4),
        t-based CI and p with df = #PSUs - #strata of t1

which is R ``survey``'s ``svyby(~d, ~region, subset(design_t1, member), svymean, na.rm = TRUE)``
(reference: tests/reference/panel/, made by ``make_panel_reference.R``). Beside it, the
cross-sectional change of the published estimates tells the same story from all respondents;
both are shown because attrition can make them differ.

Sources: Lumley (2010) *Complex Surveys* sec. 2.4 (domains, ``subset``); Lynn (2009)
*Methodology of Longitudinal Surveys* ch. 1 on attrition.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis._validation import require_columns
from analysis.estimation import MIN_PUBLISH_N, LonelyPSU, survey_mean

__all__ = [
    "ALL_REGION",
    "ATTRITION_COLUMNS",
    "PANEL_CHANGE_COLUMNS",
    "RETENTION_COLUMNS",
    "panel_change",
    "retention",
]

ALL_REGION = "ALL"
RETENTION_COLUMNS: tuple[str, ...] = (
    "region", "wave", "previous_wave", "n_previous", "reinterviewed", "retention_pct",
    "new_entrants",
)
ATTRITION_COLUMNS: tuple[str, ...] = (
    "region", "wave", "previous_wave", "variable", "group", "n_previous", "reinterviewed",
    "attrition_pct",
)
PANEL_CHANGE_COLUMNS: tuple[str, ...] = (
    "region", "dimension", "wave", "previous_wave", "n_pairs", "change", "se", "ci_low",
    "ci_high", "df", "p", "significant", "suppressed",
)


def _pct(num: float, den: float) -> float:
    return float(100.0 * num / den) if den > 0 else float("nan")


def retention(previous: pd.DataFrame, current: pd.DataFrame, *, wave: int,
              previous_wave: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Retention and attrition tables between two waves.

    ``previous``: respondents of ``previous_wave`` (``respondent, region, sex, age_group``);
    ``current``: respondents of ``wave`` (``respondent, region``). One row per respondent each.
    Returns ``(retention, attrition)`` with ``RETENTION_COLUMNS`` / ``ATTRITION_COLUMNS``,
    regions sorted with ``ALL`` last.
    """
    require_columns(previous, "previous wave", ("respondent", "region", "sex", "age_group"))
    require_columns(current, "current wave", ("respondent", "region"))
    for frame, name in ((previous, "previous wave"), (current, "current wave")):
        if frame["respondent"].duplicated().any():
            raise ValueError(f"{name}: a respondent appears twice")
    prev_keys = previous["respondent"].to_numpy()
    cur_keys = current["respondent"].to_numpy()
    # hash-based membership (pd.factorize) rather than sorting: keys may be strings
    key_codes, _ = pd.factorize(np.concatenate([prev_keys, cur_keys]))
    n_keys = int(key_codes.max()) + 1 if key_codes.size else 0
    in_cur = np.zeros(n_keys, dtype=bool)
    in_prev = np.zeros(n_keys, dtype=bool)
    in_prev[key_codes[:prev_keys.size]] = True
    in_cur[key_codes[prev_keys.size:]] = True
    back = in_cur[key_codes[:prev_keys.size]]
    new = ~in_prev[key_codes[prev_keys.size:]]
    # each side factorized on its own (a categorical column from its codes), then both
    # sides' labels ranked as text
    p_raw, p_values = pd.factorize(previous["region"])
    c_raw, c_values = pd.factorize(current["region"])
    p_names, c_names = [str(v) for v in p_values], [str(v) for v in c_values]
    regions = sorted(set(p_names) | set(c_names))
    position = {region: i for i, region in enumerate(regions)}
    k = len(regions)
    # per region (and ALL): counts by one bincount each, no per-region filtering
    p_code = np.array([position[v] for v in p_names], dtype=np.intp)[p_raw]
    c_code = np.array([position[v] for v in c_names], dtype=np.intp)[c_raw]
    n_prev = np.bincount(p_code, minlength=k)
    n_back = np.bincount(p_code, weights=back, minlength=k).astype(np.int64)
    n_new = np.bincount(c_code, weights=new, minlength=k).astype(np.int64)
    ret_rows, att_rows = [], []
    for i, region in [*enumerate(regions), (None, ALL_REGION)]:
        n_p = int(prev_keys.size if i is None else n_prev[i])
        kept = int(back.sum() if i is None else n_back[i])
        ret_rows.append(dict(region=region, wave=wave, previous_wave=previous_wave,
                             n_previous=n_p, reinterviewed=kept, retention_pct=_pct(kept, n_p),
                             new_entrants=int(new.sum() if i is None else n_new[i])))
    for variable in ("sex", "age_group"):
        raw_code, raw_groups = pd.factorize(previous[variable])
        group_names = [str(v) for v in raw_groups]
        groups = sorted(group_names)
        g_code = np.array([groups.index(v) for v in group_names], dtype=np.intp)[raw_code] \
            if raw_code.size else np.empty(0, dtype=np.intp)
        g = len(groups)
        cell = p_code * g + g_code
        n_cell = np.bincount(cell, minlength=k * g).reshape(k, g)
        back_cell = np.bincount(cell, weights=back, minlength=k * g).reshape(k, g)
        for i, region in [*enumerate(regions), (None, ALL_REGION)]:
            counts = n_cell.sum(axis=0) if i is None else n_cell[i]
            kept_counts = back_cell.sum(axis=0) if i is None else back_cell[i]
            for j, group in enumerate(groups):
                n, kept = int(counts[j]), int(kept_counts[j])
                if n == 0:
                    continue
                att_rows.append(dict(region=region, wave=wave, previous_wave=previous_wave,
                                     variable=variable, group=str(group), n_previous=n,
                                     reinterviewed=kept, attrition_pct=100.0 - _pct(kept, n)))
    att = pd.DataFrame(att_rows, columns=list(ATTRITION_COLUMNS))
    order = {r: i for i, r in enumerate([*regions, ALL_REGION])}
    att = att.sort_values(["region", "variable", "group"], key=lambda col: (
        col.map(order) if col.name == "region" else
        col.map({"sex": 0, "age_group": 1}) if col.name == "variable" else col),
        kind="mergesort").reset_index(drop=True)
    return pd.DataFrame(ret_rows, columns=list(RETENTION_COLUMNS)), att


def panel_change(previous: pd.DataFrame, current: pd.DataFrame, dimensions: Sequence[str], *,
                 wave: int, previous_wave: int, lonely_psu: LonelyPSU = "certainty",
                 confidence: float = 0.95) -> pd.DataFrame:
    """Within-person change of each score in ``dimensions`` (columns of both frames).

    ``previous``: ``respondent`` and the scores at ``previous_wave``; ``current``: every
    respondent of ``wave`` with ``respondent, region, stratum, psu, weight`` (final weights)
    and the scores. Non-members stay in the design with no contribution. NaN scores leave the
    pair out of that dimension. Returns ``PANEL_CHANGE_COLUMNS``, regions sorted, ``ALL`` last.
    """
    require_columns(previous, "previous wave", ("respondent", *dimensions))
    require_columns(current, "current wave", ("respondent", "region", "stratum", "psu",
                                              "weight", *dimensions))
    if previous["respondent"].duplicated().any() or current["respondent"].duplicated().any():
        raise ValueError("a respondent appears twice in one wave")
    before = current[["respondent"]].merge(previous[["respondent", *dimensions]],
                                           on="respondent", how="left")
    member = current["respondent"].isin(set(previous["respondent"])).to_numpy()
    region = current["region"].astype(str).to_numpy()
    weights = current["weight"].to_numpy(float)
    stratum, psu = current["stratum"].to_numpy(), current["psu"].to_numpy()
    rows = []
    for code in sorted(set(region)) + [ALL_REGION]:
        dom = member if code == ALL_REGION else member & (region == code)
        for dim in dimensions:
            d = current[dim].to_numpy(float) - before[dim].to_numpy(float)
            n_pairs = int(np.sum(dom & ~np.isnan(d)))
            row = dict(region=code, dimension=dim, wave=wave, previous_wave=previous_wave,
                       n_pairs=n_pairs, change=np.nan, se=np.nan, ci_low=np.nan,
                       ci_high=np.nan, df=np.nan, p=np.nan, significant=None,
                       suppressed=n_pairs < MIN_PUBLISH_N)
            if n_pairs > 0:
                est = survey_mean(d, weights, stratum, psu, domain=dom, lonely_psu=lonely_psu,
                                  confidence=confidence)
                p = (float(2.0 * stats.t.sf(abs(est.estimate / est.se), est.df))
                     if est.se > 0 and est.df > 0 else np.nan)
                row.update(change=est.estimate, se=est.se, ci_low=est.ci_low,
                           ci_high=est.ci_high, df=est.df, p=p,
                           significant=None if np.isnan(p) else bool(p < 1.0 - confidence))
            rows.append(row)
    return pd.DataFrame(rows, columns=list(PANEL_CHANGE_COLUMNS))
