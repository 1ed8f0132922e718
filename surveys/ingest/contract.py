"""The response contract: which fields a response has, who may set them, and the rules every
value must meet. The API (`surveys.services.submissions`, `surveys.api`) and the file import
(`surveys.services.imports.responses`) are both built from these definitions; where the import
checks whole columns at once it applies the same functions to arrays.

Fields: respondent (see `surveys.ingest.keys`), region (a known BPS code), sex, age_group
(choices), answers (`datafiles.answers.validate_answers`), and the design fields stratum, psu
(non-empty, at most STRATUM_MAX / PSU_MAX characters, no control character: `label_problem`)
and base_weight.

Design fields come from the design, never from the respondent: a respondent-only account that
sends stratum, psu or base_weight is refused (403, naming each field; `design_field_errors`).

A base weight must be finite, greater than 0 and plausible: no larger than the adult population
of its region (the sum of the region's PopulationMargin cells for the wave's year, or for the
nearest year that has them), or WEIGHT_HARD_CAP where the region has no population figures
(docs/DECISIONS.md).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
from django.db.models import Sum

from surveys.exceptions import Msg
from surveys.models import AgeGroup, PopulationMargin, Response, Sex

SEX_VALUES = frozenset(Sex.values)
AGE_GROUP_VALUES = frozenset(AgeGroup.values)
STRATUM_MAX = Response._meta.get_field("stratum").max_length
PSU_MAX = Response._meta.get_field("psu").max_length
#: Longest respondent id the API accepts before it is turned into a panel key.
RESPONDENT_MAX = 200
#: Fields only the design may set (enumerators, imports, admins), never a respondent.
DESIGN_FIELDS = ("stratum", "psu", "base_weight")
#: Largest base weight where a region has no population figures: more people than live in
#: Indonesia (about 280 million in 2024), so only an impossible weight is refused.
WEIGHT_HARD_CAP = 300_000_000.0


#: What a stratum or PSU label may not hold: a C0 control character or DEL (a tab, a line
#: break; the unit separator chr(31) is also what the aggregated reads of a wave split texts
#: on, surveys.selectors.responses). For whole columns: `pyarrow.compute` regex.
CONTROL_PATTERN = r"[\x00-\x1f\x7f]"
_CONTROL = re.compile(CONTROL_PATTERN)


def label_problem(value: str) -> Msg | None:
    """The rule on a stratum or PSU label beyond its length: no control character."""
    found = _CONTROL.search(value)
    if found is None:
        return None
    return Msg("control_character", {"char": f"U+{ord(found.group()):04X}"})


def design_field_errors(given: Mapping[str, Any]) -> dict[str, list[Msg]]:
    """Per-field errors for the design fields a respondent-only account sent (null = not
    sent)."""
    return {
        name: [Msg("design_field_forbidden", {"field": name})]
        for name in DESIGN_FIELDS
        if given.get(name) is not None
    }


# --------------------------------------------------------------------------- base weights

WEIGHT_OK, WEIGHT_NOT_FINITE, WEIGHT_NOT_POSITIVE, WEIGHT_ABOVE_CAP = range(4)


def weight_problems(weights: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """The rule on many weights at once: per weight WEIGHT_OK or the first problem found."""
    weights = np.asarray(weights, dtype=np.float64)
    out = np.full(weights.shape, WEIGHT_OK, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(weights)
        out[~finite] = WEIGHT_NOT_FINITE
        out[finite & (weights <= 0)] = WEIGHT_NOT_POSITIVE
        out[finite & (weights > 0) & (weights > caps)] = WEIGHT_ABOVE_CAP
    return out


def weight_message(problem: int, *, value: str, cap: float, region: str, year: int | None
                   ) -> Msg:
    """The message of one weight problem (`value` as the writer gave it)."""
    if problem == WEIGHT_NOT_FINITE:
        return Msg("weight_not_finite", {"value": value})
    if problem == WEIGHT_NOT_POSITIVE:
        return Msg("weight_not_positive", {"value": value})
    if year is None:
        return Msg("weight_above_cap", {"value": value, "cap": f"{cap:,.0f}"})
    return Msg("weight_above_population",
               {"value": value, "cap": f"{cap:,.0f}", "region": region, "year": year})


POPULATION_TTL_SECONDS = 300.0
_POPULATION: list[Any] = [-1e9, {}]  # [loaded_at, {region_id: {year: adults}}]


def population_totals() -> dict[int, dict[int, int]]:
    """Adults per region and year: the sum of the region's PopulationMargin cells (one query)."""
    totals: dict[int, dict[int, int]] = {}
    rows = PopulationMargin.objects.values_list("region_id", "year").annotate(
        total=Sum("population")).order_by()
    for region_id, year, total in rows:
        totals.setdefault(region_id, {})[year] = int(total)
    return totals


def _population() -> dict[int, dict[int, int]]:
    """population_totals, cached per process for the API (POPULATION_TTL_SECONDS)."""
    loaded_at, totals = _POPULATION
    if time.monotonic() - loaded_at < POPULATION_TTL_SECONDS:
        return totals
    totals = population_totals()
    _POPULATION[:] = [time.monotonic(), totals]
    return totals


def clear_caches() -> None:
    _POPULATION[:] = [-1e9, {}]


def weight_cap(region_id: int, year: int, totals: dict[int, dict[int, int]] | None = None
               ) -> tuple[float, int | None]:
    """The largest plausible base weight in `region_id` for a wave of `year` and the year of
    the population figures it comes from (None: no figures, WEIGHT_HARD_CAP). The wave's own
    year, else the latest earlier year, else the earliest later year."""
    years = (_population() if totals is None else totals).get(region_id)
    if not years:
        return WEIGHT_HARD_CAP, None
    if year in years:
        chosen = year
    else:
        earlier = [y for y in years if y < year]
        chosen = max(earlier) if earlier else min(years)
    return float(years[chosen]), chosen


#: weight_caps: (region, year) codes below this are counted in a table (at most 20 MB) instead of
#: sorted
_DENSE_CODES = 1 << 22


def weight_caps(region_ids: np.ndarray, years: np.ndarray,
                totals: dict[int, dict[int, int]] | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """`weight_cap` for many rows (population read afresh, one query, unless `totals` of
    `population_totals` are given): caps (float64) and their population years (0 = none)."""
    totals = population_totals() if totals is None else totals
    region_ids = np.asarray(region_ids, dtype=np.int64)
    years = np.asarray(years, dtype=np.int64)
    if not len(region_ids):
        return np.empty(0, dtype=np.float64), np.zeros(0, dtype=np.int64)
    # one int64 per (region, year): a 1-D unique is ~20x faster than np.unique(axis=0); when
    # the codes span a small range (regions x years, the usual case) the distinct ones are
    # found with a table of that size instead of a sort
    span = int(years.max()) - int(years.min()) + 1
    codes = (region_ids - int(region_ids.min())) * span + (years - int(years.min()))
    if int(codes.max()) < _DENSE_CODES:
        seen = np.zeros(int(codes.max()) + 1, dtype=bool)
        seen[codes] = True
        distinct = np.flatnonzero(seen)
        position = np.zeros(len(seen), dtype=np.int32)
        position[distinct] = np.arange(len(distinct))
        inverse = position[codes]
    else:
        distinct, inverse = np.unique(codes, return_inverse=True)
        inverse = inverse.ravel()
    cap_table = np.empty(len(distinct), dtype=np.float64)
    year_table = np.zeros(len(distinct), dtype=np.int64)
    for j, code in enumerate(distinct.tolist()):
        region_id = int(region_ids.min()) + code // span
        year = int(years.min()) + code % span
        cap, cap_year = weight_cap(region_id, year, totals)
        cap_table[j], year_table[j] = cap, cap_year or 0
    return cap_table[inverse], year_table[inverse]


def weight_error(weight: float, *, region_id: int | None, region: str, year: int
                 ) -> list[Msg] | None:
    """The rule on one weight (the API's): None when it holds, else its message. With an
    unknown region (reported on its own) only finite and positive are checked."""
    cap, cap_year = (np.inf, None) if region_id is None else weight_cap(region_id, year)
    problem = int(weight_problems(np.array([weight]), np.array([cap]))[0])
    if problem == WEIGHT_OK:
        return None
    return [weight_message(problem, value=repr(weight), cap=cap, region=region,
                           year=cap_year)]
