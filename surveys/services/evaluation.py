"""The index run's evaluation stage: programme effects and small-area estimates.

Called by `compute_indices` after proxy validation, inside the same run (same inputs, same
atomic replace): the programme registry is evaluated against the published estimates
(`analysis.programmes`, METHODS section 11) and the overall index is filled in where the survey
is thin with Fay-Herriot estimates from the best accepted proxy (`analysis.sae`, section 12).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis import programmes as prog
from analysis import sae
from surveys import models as m
from surveys.services._rows import db_value, frame_rows
from surveys.services.bulk import insert_objects, insert_rows


@dataclass
class Evaluation:
    effects: pd.DataFrame
    types: pd.DataFrame
    small_areas: pd.DataFrame


def programmes_frame() -> tuple[pd.DataFrame, set[str]]:
    """The registry as ``code, region, type, dimension, start_year, end_year`` and the codes
    of province-level regions (whose series is ALL)."""
    rows = list(m.Programme.objects.order_by("code").values_list(
        "code", "region__code", "type", "dimension_code", "start_year", "end_year"))
    frame = pd.DataFrame(rows, columns=["code", "region", "type", "dimension", "start_year",
                                        "end_year"])
    provinces = set(m.Region.objects.filter(level=m.RegionLevel.PROVINCE)
                    .values_list("code", flat=True))
    return frame, provinces


def area_codes() -> list[str]:
    """Regencies and cities: the areas a small-area estimate may be made for."""
    return list(m.Region.objects.filter(level__in=[m.RegionLevel.REGENCY, m.RegionLevel.CITY])
                .order_by("code").values_list("code", flat=True))


def evaluate(estimates: pd.DataFrame, indicator_values: pd.DataFrame,
             proxy_validation: pd.DataFrame | None) -> Evaluation:
    """Both analyses over the index instrument's estimates (every wave, published rule
    applied inside the analysis functions)."""
    registry, provinces = programmes_frame()
    effects = prog.evaluate_programmes(registry, estimates, provinces)
    types = prog.pool_by_type(effects, types=set(registry["type"]))
    small = sae.sae_table(estimates, indicator_values, proxy_validation, regions=area_codes())
    return Evaluation(effects=effects, types=types, small_areas=small)


def write(run: m.IndexRun, result: Evaluation, instrument: m.Instrument) -> dict[str, int]:
    """Replace the stored evaluation (call inside the run's write transaction)."""
    m.ProgrammeEffectResult.objects.all().delete()
    m.ProgrammeTypeResult.objects.all().delete()
    m.SmallAreaResult.objects.filter(wave__instrument=instrument).delete()
    ids = dict(m.Programme.objects.values_list("code", "id"))
    effects = []
    for row in result.effects.to_dict("records"):
        code = row.pop("programme")
        region = row.pop("region")
        effects.append(m.ProgrammeEffectResult(
            run=run, programme_id=ids[code], region_code=str(region),
            **{k: db_value(v) for k, v in row.items()}))
    types = [m.ProgrammeTypeResult(run=run, **{k: db_value(v) for k, v in row.items()})
             for row in result.types.to_dict("records")]
    waves = dict(m.Wave.objects.filter(instrument=instrument).values_list("year", "id"))
    small = result.small_areas
    other = [c for c in small.columns if c not in ("wave", "region", "covariate")]
    # rows as tuples, column-wise: no model instance and no dict a row (issue 15)
    rows = ((run, waves[int(wave)], str(region),
             covariate if isinstance(covariate, str) else "", *rest)
            for wave, region, covariate, *rest
            in frame_rows(small, ["wave", "region", "covariate", *other])
            if int(wave) in waves)
    return {
        "programme_effects": insert_objects(m.ProgrammeEffectResult, effects),
        "programme_types": insert_objects(m.ProgrammeTypeResult, types),
        "sae": insert_rows(m.SmallAreaResult,
                           ["run", "wave_id", "region_code", "covariate", *other], rows)
                if len(small) else 0,
    }
