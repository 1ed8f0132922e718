"""Achievement against targets (capaian kinerja, METHODS.md section 8).

Realisation R of a target row (indicator, region, year):

- indicator ``INDEX``: the published estimate of the overall index (dimension ``INDEX``) for
  that region -- ``ALL`` (the province) included -- and wave = year; the index has positive
  polarity and is survey-based, so its row also carries ``met_with_confidence``;
- any other indicator: its value in the indicator values (any level, outcome or output; the
  achievement of an output is what SAKIP reports for it); ``met_with_confidence`` is blank.

No row is produced where R is missing or the estimate is suppressed (n < 30): Mahakam Ulu
(6411) has no INDEX row for 2023 in ``reference/kaltim/expected/achievements.csv``.

The percentage is not capped (a negative-polarity realisation above twice the target gives a
negative percentage). A target must be a positive finite number: the ratio R/T is undefined at
T = 0 and meaningless below it, so such a target raises ``ValueError``.

Sources: PermenPANRB 8/2021 and regional LKjIP reports (capaian formulas).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis._validation import published_index, require_columns
from analysis.proxies import INDEX_CODE, IndicatorDefinitions, resolve_indicators

__all__ = [
    "ACHIEVEMENT_COLUMNS",
    "Achievement",
    "achievement_pct",
    "achievement_table",
    "assess_achievement",
]

ACHIEVEMENT_COLUMNS: tuple[str, ...] = (
    "indicator",
    "region",
    "year",
    "target",
    "realisation",
    "achievement_pct",
    "met",
    "met_with_confidence",
)


@dataclass(frozen=True)
class Achievement:
    """One achievement row; ``met_with_confidence`` is None for non-survey indicators."""

    indicator: str
    region: str
    year: int
    target: float
    realisation: float
    achievement_pct: float
    met: bool
    met_with_confidence: bool | None


def achievement_pct(realisation: float, target: float, polarity: str) -> float:
    """Achievement percentage (capaian) of a realisation against a target.

    Parameters
    ----------
    realisation : float
        Realised value R (finite).
    target : float
        Target T, positive and finite.
    polarity : {"positive", "negative"}
        ``positive``: higher is better; ``negative``: lower is better.

    Returns
    -------
    float
        ::

            positive:  100 R / T
            negative:  100 (2 - R / T)

        e.g. positive 70 vs 80 -> 87.5; negative 6.5 vs 7 -> 107.142857. Not capped.

    Raises
    ------
    ValueError
        If T <= 0 or is not finite (R/T undefined or meaningless), R is not finite, or the
        polarity is unknown.

    Notes
    -----
    Source: METHODS.md section 8; PermenPANRB 8/2021 (capaian kinerja).
    """
    if polarity not in ("positive", "negative"):
        raise ValueError(f"polarity must be 'positive' or 'negative', got {polarity!r}")
    if not np.isfinite(target) or target <= 0:
        raise ValueError(
            f"target must be a positive finite number for the capaian ratio R/T, got {target!r}"
        )
    if not np.isfinite(realisation):
        raise ValueError(f"realisation must be finite, got {realisation!r}")
    ratio = float(realisation) / float(target)
    if polarity == "positive":
        return 100.0 * ratio
    return 100.0 * (2.0 - ratio)


def assess_achievement(
    indicator: str,
    region: str,
    year: int,
    target: float,
    realisation: float,
    polarity: str,
    ci_low: float | None = None,
) -> Achievement:
    """Achievement of one target.

    Parameters
    ----------
    indicator, region : str
        Codes of the row.
    year : int
        Target year.
    target, realisation : float
        T and R (see :func:`achievement_pct`).
    polarity : {"positive", "negative"}
        Indicator polarity.
    ci_low : float or None
        Lower 95 % confidence limit of a survey-based R (``INDEX``); None for administrative
        indicators.

    Returns
    -------
    Achievement
        ``met = achievement_pct >= 100``; ``met_with_confidence = ci_low >= T`` for a survey
        R (None when ``ci_low`` is None or NaN).

    Raises
    ------
    ValueError
        As :func:`achievement_pct`; or ``ci_low`` given with negative polarity (a survey R
        with lower-is-better would need the upper limit, which no indicator has).
    """
    pct = achievement_pct(realisation, target, polarity)
    with_conf: bool | None = None
    if ci_low is not None and not np.isnan(ci_low):
        if polarity != "positive":
            raise ValueError("met_with_confidence is defined for positive-polarity survey R only")
        with_conf = bool(ci_low >= target)
    return Achievement(
        indicator=str(indicator),
        region=str(region),
        year=int(year),
        target=float(target),
        realisation=float(realisation),
        achievement_pct=pct,
        met=bool(pct >= 100.0),
        met_with_confidence=with_conf,
    )


def achievement_table(
    targets: pd.DataFrame,
    indicators: IndicatorDefinitions,
    values: pd.DataFrame,
    estimates: pd.DataFrame,
) -> pd.DataFrame:
    """Achievement table: one row per target whose realisation is available and published.

    Parameters
    ----------
    targets : pandas.DataFrame
        Columns ``indicator, region, year, target``; indicator ``INDEX`` = overall index.
        One row per (indicator, region, year).
    indicators : iterable of mappings, pandas.DataFrame, or dict of IndicatorMeta
        Indicator definitions (polarity); ``INDEX`` is built in (positive, survey-based).
    values : pandas.DataFrame
        Indicator values, columns ``indicator, region, year, value``.
    estimates : pandas.DataFrame
        Columns ``wave, region, dimension, estimate, ci_low, suppressed``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ACHIEVEMENT_COLUMNS` (INTERFACE.md ``achievements`` order), in target
        order; formulas as in :func:`assess_achievement`. Targets whose realisation is missing
        or suppressed have no row. ``met`` is ``bool``; ``met_with_confidence`` has pandas'
        nullable ``boolean`` dtype (blank for non-survey indicators).

    Raises
    ------
    ValueError
        On a target for an undefined indicator, a duplicate target, a target <= 0 or not
        finite (also where no realisation exists: a bad target is an input error), or
        malformed inputs.
    """
    metas = resolve_indicators(indicators)
    require_columns(targets, "targets", ("indicator", "region", "year", "target"))
    require_columns(values, "indicator values", ("indicator", "region", "year", "value"))
    require_columns(
        estimates, "estimates", ("wave", "region", "dimension", "estimate", "ci_low", "suppressed")
    )

    tgt = pd.DataFrame(
        {
            "indicator": targets["indicator"].astype(str),
            "region": targets["region"].astype(str),
            "year": targets["year"].astype("int64"),
            "target": targets["target"].astype(float),
        }
    )
    keys = ["indicator", "region", "year"]
    dup = tgt.duplicated(keys, keep=False)
    if dup.any():
        raise ValueError(f"duplicate target for {tgt.loc[dup, keys].iloc[0].tolist()}")
    unknown = sorted(set(tgt["indicator"]) - set(metas) - {INDEX_CODE})
    if unknown:
        raise ValueError(f"targets name undefined indicator(s) {unknown}")
    bad = ~np.isfinite(tgt["target"]) | (tgt["target"] <= 0)
    if bad.any():
        row = tgt.loc[bad].iloc[0]
        raise ValueError(
            f"target must be a positive finite number (capaian = R/T), got {row['target']!r} "
            f"for {row['indicator']} region {row['region']} year {row['year']}"
        )

    est = published_index(estimates.loc[estimates["dimension"] == INDEX_CODE])
    index_r = pd.DataFrame(
        {
            "indicator": INDEX_CODE,
            "region": est["region"].astype(str),
            "year": est["wave"].astype("int64"),
            "realisation": est["estimate"].astype(float),
            "ci_low": est["ci_low"].astype(float),
        }
    )
    val = values.loc[values["value"].notna()]
    admin_r = pd.DataFrame(
        {
            "indicator": val["indicator"].astype(str),
            "region": val["region"].astype(str),
            "year": val["year"].astype("int64"),
            "realisation": val["value"].astype(float),
            "ci_low": np.nan,
        }
    )
    realised = pd.concat([index_r, admin_r], ignore_index=True)
    dup = realised.duplicated(keys, keep=False)
    if dup.any():
        raise ValueError(
            f"more than one realisation for {realised.loc[dup, keys].iloc[0].tolist()}"
        )

    merged = tgt.merge(realised, on=keys, how="inner", sort=False)
    rows = []
    rec: Any  # a row namedtuple; pandas types its fields as any scalar
    for rec in merged.itertuples(index=False):
        polarity = "positive" if rec.indicator == INDEX_CODE else metas[rec.indicator].polarity
        ci_low = rec.ci_low if rec.indicator == INDEX_CODE else None
        rows.append(
            asdict(
                assess_achievement(
                    rec.indicator,
                    rec.region,
                    rec.year,
                    rec.target,
                    rec.realisation,
                    polarity,
                    ci_low,
                )
            )
        )
    out = pd.DataFrame(rows, columns=list(ACHIEVEMENT_COLUMNS))
    return out.astype({"year": "int64", "met": "bool", "met_with_confidence": "boolean"})
