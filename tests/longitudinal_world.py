"""Longitudinal rows of the stored-results world (tests/results_world.py): retention, panel
changes and invariance. The suppressed panel change (6401 S1 2023, 12 pairs) stores the hidden
numbers of tests/test_publish_path.py's 6401 S1 2023 cell, so that a leak would show there."""

from __future__ import annotations

from surveys import models as m


def add_longitudinal(run: m.IndexRun, waves: dict[int, m.Wave]) -> None:
    version = waves[2021].version
    for year in (2022, 2023):
        wave = waves[year]
        for region in ("ALL", "6401", "6402"):
            m.RetentionResult.objects.create(
                run=run, wave=wave, previous_wave=year - 1, region_code=region, variable="all",
                group="ALL", n_previous=120, reinterviewed=60, retention_pct=50.0,
                attrition_pct=50.0, new_entrants=60)
            m.RetentionResult.objects.create(
                run=run, wave=wave, previous_wave=year - 1, region_code=region, variable="sex",
                group="P", n_previous=60, reinterviewed=33, retention_pct=55.0,
                attrition_pct=45.0)
            for dimension in ("INDEX", "S1"):
                hidden = region == "6401" and dimension == "S1" and year == 2023
                numbers = (dict(change=38.46, se=6.29, ci_low=26.13, ci_high=47.52, p=0.7,
                                significant=None) if hidden else
                           dict(change=1.5, se=0.6, ci_low=0.3, ci_high=2.7, p=0.02,
                                significant=True))
                m.PanelChangeResult.objects.create(
                    run=run, wave=wave, previous_wave=year - 1, region_code=region,
                    dimension=dimension, n_pairs=12 if hidden else 60, df=40,
                    suppressed=hidden, cross_delta=1.5, cross_se=1.8, cross_significant=False,
                    comparability="partial", **numbers)
    steps = [("configural", 0.990, 0.030, 0.030, False), ("metric", 0.985, 0.032, 0.045, False),
             ("scalar", 0.960, 0.050, 0.060, True)]
    previous = None
    for level, cfi, rmsea, srmr, rejected in steps:
        m.InvarianceResult.objects.create(
            run=run, instrument=version.instrument, version=version, level=level, n=900,
            chisq=400.0, df=380, cfi=cfi, tli=cfi - 0.005, rmsea=rmsea, srmr=srmr,
            delta_cfi=None if previous is None else cfi - previous[0],
            delta_rmsea=None if previous is None else rmsea - previous[1],
            delta_srmr=None if previous is None else srmr - previous[2], rejected=rejected,
            waves="2021,2022,2023", comparability="partial")
        previous = (cfi, rmsea, srmr)
