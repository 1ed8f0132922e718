"""Validation of outcome-proxy indicators against the overall index (METHODS.md section 7).

Pairs are the region-years where the indicator has a (non-missing) value and the overall-index
estimate (dimension ``INDEX``) of that region and wave exists and is not suppressed. Only
regions count: the province row ``ALL`` is excluded, being an aggregate of the regions.
Indicator years are matched to survey waves by equality (wave = year).

Output-level indicators (outreach events, Paskibraka stages...) measure what an office
delivers, not the outcome, and are never validated: :func:`validate_proxies` skips them (they
get no row) and :func:`validate_proxy` / :func:`correlate_proxy` raise ``ValueError`` for them.

Sources: scipy.stats ``spearmanr`` and ``pearsonr``; Fisher (1921) z-transformation for the CI
of r; UNDP (2002) on proxy indicators.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis._validation import published_index, require_columns

__all__ = [
    "ALL_REGION",
    "ALPHA",
    "INDEX_CODE",
    "MIN_ABS_RHO",
    "MIN_PAIRS",
    "PROXY_COLUMNS",
    "IndicatorMeta",
    "ProxyValidation",
    "correlate_proxy",
    "indicator_meta",
    "proxy_pairs",
    "validate_proxies",
    "validate_proxy",
]

#: Region code of the whole design (province).
ALL_REGION = "ALL"
#: Dimension / indicator code of the overall index.
INDEX_CODE = "INDEX"
#: Acceptance threshold on |rho|.
MIN_ABS_RHO = 0.40
#: Significance level for rho.
ALPHA = 0.05
#: Fewer pairs than this: correlations are not computed.
MIN_PAIRS = 3

PROXY_COLUMNS: tuple[str, ...] = (
    "indicator",
    "n_pairs",
    "spearman_rho",
    "spearman_p",
    "pearson_r",
    "pearson_p",
    "pearson_ci_low",
    "pearson_ci_high",
    "sign_ok",
    "accepted",
)

_POLARITIES = {"positive": 1, "negative": -1}
_LEVELS = ("outcome", "output")
_NAN = float("nan")


@dataclass(frozen=True)
class IndicatorMeta:
    """Registered properties of a proxy or output indicator (INTERFACE.md indicators JSON)."""

    code: str
    polarity: str
    level: str
    dimension: str | None = None

    def __post_init__(self) -> None:
        if not self.code:
            raise ValueError("indicator code must be non-empty")
        if self.code == INDEX_CODE:
            raise ValueError(f"indicator code {INDEX_CODE!r} is reserved for the overall index")
        if self.polarity not in _POLARITIES:
            raise ValueError(
                f"indicator {self.code}: polarity must be 'positive' or 'negative', "
                f"got {self.polarity!r}"
            )
        if self.level not in _LEVELS:
            raise ValueError(
                f"indicator {self.code}: level must be 'outcome' or 'output', got {self.level!r}"
            )

    @property
    def sign(self) -> int:
        """+1 for positive polarity (higher is better), -1 for negative."""
        return _POLARITIES[self.polarity]


@dataclass(frozen=True)
class ProxyValidation:
    """Validation of one outcome proxy; statistics NaN where undefined.

    ``sign_ok`` is None when rho is undefined (fewer than 3 pairs, or a constant variable);
    ``accepted`` is then False.
    """

    indicator: str
    n_pairs: int
    spearman_rho: float
    spearman_p: float
    pearson_r: float
    pearson_p: float
    pearson_ci_low: float
    pearson_ci_high: float
    sign_ok: bool | None
    accepted: bool


def indicator_meta(
    indicators: Iterable[Mapping[str, Any]] | pd.DataFrame,
) -> dict[str, IndicatorMeta]:
    """Parse indicator definitions into :class:`IndicatorMeta` keyed by code.

    Parameters
    ----------
    indicators : iterable of mappings or pandas.DataFrame
        The indicators JSON records (``code, polarity, level`` required, ``dimension``
        optional; other keys ignored), or a DataFrame with those columns.

    Returns
    -------
    dict of str to IndicatorMeta
        In input order.

    Raises
    ------
    ValueError
        On a missing key, an invalid polarity or level, the reserved code ``INDEX`` or a
        duplicate code.
    """
    if isinstance(indicators, pd.DataFrame):
        records: Iterable[Mapping[Any, Any]] = indicators.to_dict("records")
    else:
        records = indicators
    out: dict[str, IndicatorMeta] = {}
    for i, rec in enumerate(records):
        missing = [k for k in ("code", "polarity", "level") if k not in rec]
        if missing:
            raise ValueError(f"indicator definition #{i + 1} lacks {missing}")
        dim = rec.get("dimension")
        if dim is not None and not isinstance(dim, str):
            dim = None if pd.isna(dim) else str(dim)
        meta = IndicatorMeta(
            code=str(rec["code"]), polarity=rec["polarity"], level=rec["level"], dimension=dim
        )
        if meta.code in out:
            raise ValueError(f"duplicate indicator code {meta.code!r}")
        out[meta.code] = meta
    return out


#: Indicator definitions as :func:`indicator_meta` parses them, or already parsed (by code).
IndicatorDefinitions = Iterable[Mapping[str, Any]] | pd.DataFrame | Mapping[str, IndicatorMeta]


def resolve_indicators(indicators: IndicatorDefinitions) -> dict[str, IndicatorMeta]:
    """A parsed mapping (code -> :class:`IndicatorMeta`) as a dict, else :func:`indicator_meta`."""
    if isinstance(indicators, Mapping):
        return dict(indicators)
    return indicator_meta(indicators)


def _index_estimates(estimates: pd.DataFrame) -> pd.DataFrame:
    """Published regional INDEX estimates as (region:str, year:int, index:float)."""
    require_columns(
        estimates, "estimates", ("wave", "region", "dimension", "estimate", "suppressed")
    )
    est = published_index(estimates.loc[estimates["dimension"] == INDEX_CODE])
    out = pd.DataFrame(
        {
            "region": est["region"].astype(str),
            "year": est["wave"].astype("int64"),
            "index": est["estimate"].astype(float),
        }
    )
    out = out.loc[out["region"] != ALL_REGION]
    if out.duplicated(["region", "year"]).any():
        raise ValueError("estimates have duplicate INDEX rows for a (region, wave)")
    return out


def _indicator_values(values: pd.DataFrame, code: str) -> pd.DataFrame:
    """Non-missing values of one indicator as (region:str, year:int, value:float)."""
    require_columns(values, "indicator values", ("indicator", "region", "year", "value"))
    sel = values.loc[(values["indicator"] == code) & values["value"].notna()]
    out = pd.DataFrame(
        {
            "region": sel["region"].astype(str),
            "year": sel["year"].astype("int64"),
            "value": sel["value"].astype(float),
        }
    )
    dup = out.duplicated(["region", "year"], keep=False)
    if dup.any():
        r, y = out.loc[dup, ["region", "year"]].iloc[0]
        raise ValueError(f"indicator {code}: duplicate value for region {r}, year {y}")
    return out


def proxy_pairs(code: str, values: pd.DataFrame, estimates: pd.DataFrame) -> pd.DataFrame:
    """Region-year pairs (indicator value, overall index) used to validate one indicator.

    Parameters
    ----------
    code : str
        Indicator code.
    values : pandas.DataFrame
        Columns ``indicator, region, year, value``; missing values are ignored.
    estimates : pandas.DataFrame
        Columns ``wave, region, dimension, estimate, suppressed``.

    Returns
    -------
    pandas.DataFrame
        Columns ``region, year, value, index`` sorted by year then region: the region-years
        (region != ``ALL``) with a value and a published (not suppressed) INDEX estimate.
        Regions are matched as strings, years as integers.
    """
    pairs = _indicator_values(values, code).merge(
        _index_estimates(estimates), on=["region", "year"], how="inner"
    )
    return pairs.sort_values(["year", "region"], kind="stable").reset_index(drop=True)


def correlate_proxy(
    indicator: IndicatorMeta,
    proxy_values: np.ndarray | pd.Series | list[float],
    index_values: np.ndarray | pd.Series | list[float],
) -> ProxyValidation:
    """Validate an outcome proxy from paired values.

    Parameters
    ----------
    indicator : IndicatorMeta
        Must have ``level == "outcome"``.
    proxy_values, index_values : array_like of float
        Paired, finite values (one pair per region-year).

    Returns
    -------
    ProxyValidation
        ::

            rho, p(rho)  = scipy.stats.spearmanr(proxy, index)   (p: t approximation, n-2 df)
            r,  p(r)     = scipy.stats.pearsonr(proxy, index)
            95 % CI of r = tanh(atanh(r) -+ z(0.975) / sqrt(n - 3))      (Fisher z; n >= 4)
            sign_ok      = sign(rho) == polarity (+1 positive, -1 negative)
            accepted     = sign_ok and |rho| >= 0.40 and p(rho) < 0.05

        With fewer than 3 pairs, or a constant variable, every statistic is NaN, ``sign_ok``
        is None and ``accepted`` False; with exactly 3 pairs the CI of r is NaN.

    Raises
    ------
    ValueError
        If the indicator is output-level, the arrays differ in length or hold non-finite
        values.

    Notes
    -----
    With 10 regions one year is weak evidence (critical r = .632): pool years.
    Source: METHODS.md section 7.
    """
    if indicator.level != "outcome":
        raise ValueError(
            f"indicator {indicator.code} is an output indicator; outputs are never validated "
            "as outcome proxies"
        )
    x = np.asarray(proxy_values, dtype=float)
    y = np.asarray(index_values, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"paired arrays must be 1-D of equal length, got {x.shape}, {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError(f"indicator {indicator.code}: paired values must be finite")
    n = int(x.size)
    blank = ProxyValidation(indicator.code, n, _NAN, _NAN, _NAN, _NAN, _NAN, _NAN,
                            sign_ok=None, accepted=False)
    if n < MIN_PAIRS or np.ptp(x) == 0.0 or np.ptp(y) == 0.0:
        return blank

    sp = stats.spearmanr(x, y)
    rho, rho_p = float(sp.statistic), float(sp.pvalue)
    pr = stats.pearsonr(x, y)
    r, r_p = float(pr.statistic), float(pr.pvalue)
    ci_low = ci_high = _NAN
    if n > 3:
        half = float(stats.norm.ppf(0.975)) / np.sqrt(n - 3)
        with np.errstate(divide="ignore"):  # |r| = 1 -> atanh = +-inf -> CI [r, r]
            zr = np.arctanh(r)
        ci_low, ci_high = float(np.tanh(zr - half)), float(np.tanh(zr + half))
    sign_ok = bool(np.sign(rho) == indicator.sign)
    accepted = sign_ok and abs(rho) >= MIN_ABS_RHO and rho_p < ALPHA
    return ProxyValidation(
        indicator=indicator.code,
        n_pairs=n,
        spearman_rho=rho,
        spearman_p=rho_p,
        pearson_r=r,
        pearson_p=r_p,
        pearson_ci_low=ci_low,
        pearson_ci_high=ci_high,
        sign_ok=sign_ok,
        accepted=bool(accepted),
    )


def validate_proxy(
    indicator: IndicatorMeta, values: pd.DataFrame, estimates: pd.DataFrame
) -> ProxyValidation:
    """Validate one outcome proxy against the overall index over region-years.

    Parameters
    ----------
    indicator : IndicatorMeta
        Outcome-level indicator.
    values : pandas.DataFrame
        Indicator values, columns ``indicator, region, year, value``.
    estimates : pandas.DataFrame
        Estimates, columns ``wave, region, dimension, estimate, suppressed``.

    Returns
    -------
    ProxyValidation
        :func:`correlate_proxy` on :func:`proxy_pairs`.

    Raises
    ------
    ValueError
        For an output-level indicator, or malformed inputs.
    """
    if indicator.level != "outcome":
        raise ValueError(
            f"indicator {indicator.code} is an output indicator; outputs are never validated "
            "as outcome proxies"
        )
    pairs = proxy_pairs(indicator.code, values, estimates)
    return correlate_proxy(indicator, pairs["value"].to_numpy(), pairs["index"].to_numpy())


def validate_proxies(
    indicators: IndicatorDefinitions,
    values: pd.DataFrame,
    estimates: pd.DataFrame,
) -> pd.DataFrame:
    """Proxy-validation table: one row per outcome-level indicator.

    Parameters
    ----------
    indicators : iterable of mappings, pandas.DataFrame, or dict of IndicatorMeta
        Indicator definitions (see :func:`indicator_meta`).
    values : pandas.DataFrame
        Columns ``indicator, region, year, value``; every indicator must be defined.
    estimates : pandas.DataFrame
        Columns ``wave, region, dimension, estimate, suppressed``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PROXY_COLUMNS` (INTERFACE.md ``proxy_validation`` order), sorted by
        indicator code. Output-level indicators are skipped (no row). An outcome indicator
        without any pair still gets a row (``n_pairs`` 0, statistics blank, not accepted).
        ``sign_ok`` has pandas' nullable ``boolean`` dtype, ``accepted`` is ``bool``.

    Raises
    ------
    ValueError
        If values name an undefined indicator, or on malformed inputs.
    """
    metas = resolve_indicators(indicators)
    if "indicator" not in values.columns:
        raise ValueError("indicator values lack column 'indicator'")
    unknown = sorted(set(values["indicator"].astype(str)) - set(metas))
    if unknown:
        raise ValueError(f"indicator values name undefined indicator(s) {unknown}")
    rows = [
        asdict(validate_proxy(meta, values, estimates))
        for code, meta in sorted(metas.items())
        if meta.level == "outcome"
    ]
    out = pd.DataFrame(rows, columns=list(PROXY_COLUMNS))
    return out.astype({"n_pairs": "int64", "sign_ok": "boolean", "accepted": "bool"})
