"""The index run's bridge stage (issue 12 part 2): linked items across instrument versions.

Called by `surveys.services.compute.compute_indices` (one `BridgeStage` per run):

- before the waves are read, the stage plans every instrument's series from its waves and the
  item links of its versions (`analysis.bridges.plan_segments`): where a dimension keeps at
  least 3 linked items a series spans the version boundary on the *linked* basis, else it
  breaks (the INDEX breaks where any dimension does);
- `add` scores each computed wave of a linked series again on its linked items (METHODS 2,
  ``min_valid_share`` of the linked count) and estimates every region and ALL with the wave's
  final weights and design (`analysis.estimation.estimate_domains`, the estimator and the
  n < 30 rule of the estimates) while its arrays are in memory;
- `complete` does the same for the waves of a linked series that the run did not compute (or
  skipped): read again, weighted with their stored final weights;
- `cross_tables` gives the trends and changes of an instrument (`analysis.bridges.
  segmented_tables`): per series, never across a break; across a version boundary the bridge
  change; `write` stores the bridge estimates (`BridgeResult`, rewritten whole per run).

docs/DECISIONS.md 53-59 state the rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from django.utils.translation import gettext_noop as _noop

from analysis import bridges, scoring
from analysis.estimation import DesignError, estimate_domains
from surveys import models as m
from surveys.language import both
from surveys.selectors import responses as sel
from surveys.selectors import weights as wsel
from surveys.services._rows import db_value
from surveys.services.bulk import insert_objects

Note = Callable[..., None]

BRIDGE_FIELDS = ("wave", "region", "dimension", "series", "version", "from_version",
                 "to_version", "linked_items", "items", "n", "n_eff", "estimate", "se",
                 "ci_low", "ci_high", "df", "suppressed", "category")


def version_items(instrument_id: int) -> dict[int, bridges.VersionItems]:
    """Every loaded version of an instrument with its items (scoring order) and links."""
    versions = list(m.InstrumentVersion.objects.filter(instrument_id=instrument_id))
    items = (m.Item.objects.filter(version__in=versions).select_related("dimension")
             .order_by("dimension__position", "position"))
    by_version: dict[int, dict[str, list[str]]] = {v.pk: {} for v in versions}
    for it in items:
        by_version[it.version_id].setdefault(it.dimension.code, []).append(it.code)
    preds: dict[int, dict[str, str | None]] = {v.pk: {} for v in versions}
    for version_id, item, pred in (m.ItemLink.objects.filter(version__in=versions)
                                   .exclude(item=None)
                                   .values_list("version_id", "item__code",
                                                "predecessor__code")):
        preds[version_id][item] = pred
    return {v.version: bridges.VersionItems(
        v.version, {d: tuple(c) for d, c in by_version[v.pk].items()}, preds[v.pk])
        for v in versions}


@dataclass
class _Plan:
    instrument: m.Instrument
    waves: dict[int, m.Wave]  # year -> wave
    segments: dict[str, list[bridges.Segment]]

    def version_of(self, year: int) -> int:
        return self.waves[year].version.version

    @property
    def wave_version(self) -> dict[int, int]:
        return {y: w.version.version for y, w in self.waves.items()}


def _plan(instrument: m.Instrument) -> _Plan:
    waves = {w.year: w for w in m.Wave.objects.select_related("version", "instrument")
             .filter(instrument=instrument)}
    segments = bridges.plan_segments([(y, w.version.version) for y, w in waves.items()],
                                     version_items(instrument.pk)) if waves else {}
    return _Plan(instrument, waves, segments)


def bridge_estimates(wave: m.Wave, spec: scoring.InstrumentSpec, answers: np.ndarray,
                     weights: np.ndarray, stratum: np.ndarray, psu: np.ndarray,
                     region: np.ndarray, segments: dict[str, list[bridges.Segment]], *,
                     lonely_psu: str = "certainty") -> pd.DataFrame:
    """The bridge estimates of one wave (`BRIDGE_FIELDS`; empty when no series of the wave is
    on the linked basis)."""
    version = wave.version.version
    frames = []
    tasks = bridges.scoring_tasks(segments, wave.year, version)
    if tasks:
        # the design as integer codes, factorised once: estimate_domains' own factorisation
        # of the string arrays is most of its cost at 200k rows (bench/README.md)
        region_codes, region_labels = pd.factorize(np.asarray(region, dtype=object))
        stratum = pd.factorize(np.asarray(stratum, dtype=object))[0]
        psu = pd.factorize(np.asarray(psu, dtype=object))[0]
        names = {str(i): str(label) for i, label in enumerate(region_labels)}
        region = region_codes
    for task in tasks:
        sub, cols = bridges.linked_spec(spec, task.items)
        scores = scoring.score(answers[:, cols], sub)
        codes = [c for c in task.publish if c != scoring.INDEX_CODE]
        columns = [scores.dimension_codes.index(c) for c in codes]
        y = scores.dimensions[:, columns]
        if scoring.INDEX_CODE in task.publish:
            y = np.column_stack([y, scores.index])
            codes.append(scoring.INDEX_CODE)
        table = estimate_domains(y, weights, stratum, psu, region, dimension_codes=codes,
                                 lonely_psu=lonely_psu,  # type: ignore[arg-type]
                                 categories=True).table
        table["region"] = table["region"].astype(str).map(lambda r: names.get(r, r))
        for code in codes:
            seg = next(s for s in segments[code] if s.series == task.publish[code])
            used = (sub.item_codes if code == scoring.INDEX_CODE
                    else task.items[code])
            part = table[table["dimension"] == code].assign(
                wave=wave.year, series=seg.series, version=version,
                from_version=seg.from_version, to_version=seg.to_version,
                linked_items=len(used), items=",".join(used))
            frames.append(part)
    if not frames:
        return pd.DataFrame(columns=list(BRIDGE_FIELDS))
    return pd.concat(frames, ignore_index=True)[list(BRIDGE_FIELDS)]


@dataclass
class BridgeStage:
    instruments: list[m.Instrument]
    note: Note
    lonely_psu: str = "certainty"
    plans: dict[int, _Plan] = field(default_factory=dict)
    #: wave id -> its bridge estimates
    tables: dict[int, pd.DataFrame] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for inst in self.instruments:
            self.plans[inst.pk] = _plan(inst)

    def needs(self, wave: m.Wave) -> bool:
        """Whether the wave has bridge estimates to compute (they score its rows)."""
        return self._needs(wave)

    def _needs(self, wave: m.Wave) -> bool:
        plan = self.plans.get(wave.instrument_id)
        if plan is None or wave.year not in plan.waves:
            return False
        return bool(bridges.scoring_tasks(plan.segments, wave.year, wave.version.version))

    def add(self, wave: m.Wave, data: sel.WaveData, weights: np.ndarray) -> None:
        """Bridge estimates of a wave the run computed (its arrays still in memory)."""
        if not self._needs(wave):
            return
        plan = self.plans[wave.instrument_id]
        try:
            self.tables[wave.pk] = bridge_estimates(
                plan.waves[wave.year], data.spec, data.answers, weights, data.stratum,
                data.psu, data.region, plan.segments, lonely_psu=self.lonely_psu)
        except (DesignError, ValueError) as exc:
            self._failed(wave, exc)

    def _failed(self, wave: m.Wave, exc: Exception) -> None:
        # Translators: id: estimasi jembatan tidak dihitung
        text = both(_noop("bridge estimates not computed"))
        self.note("warning", f"{wave.instrument.code} {wave.year}: {text}: {exc}",
                  wave=wave.year, instrument=wave.instrument.code)

    def complete(self) -> None:
        """Bridge estimates of the linked waves the run did not compute: read again and
        weighted with their stored final weights (none stored: no bridge for that wave)."""
        todo = [w for plan in self.plans.values() for w in plan.waves.values()
                if w.pk not in self.tables and self._needs(w)]
        stored = wsel.waves_weights([w.pk for w in todo])
        for wave in todo:
            packed = stored.get(wave.pk)
            if packed is None:
                continue
            data = sel.wave_data(wave_id=wave.pk, with_respondent=False)
            found, weight = packed.lookup(data.response_id)
            if not found.any():
                continue
            plan = self.plans[wave.instrument_id]
            try:
                self.tables[wave.pk] = bridge_estimates(
                    wave, data.spec, data.answers[found], weight[found], data.stratum[found],
                    data.psu[found], data.region[found], plan.segments,
                    lonely_psu=self.lonely_psu)
            except (DesignError, ValueError) as exc:
                self._failed(wave, exc)

    def bridge_frame(self, instrument: m.Instrument) -> pd.DataFrame:
        plan = self.plans[instrument.pk]
        frames = [self.tables[w.pk] for w in plan.waves.values() if w.pk in self.tables]
        frames = [f for f in frames if len(f)]
        if not frames:
            return pd.DataFrame(columns=list(BRIDGE_FIELDS))
        return pd.concat(frames, ignore_index=True)

    def cross_tables(self, instrument: m.Instrument, estimates: pd.DataFrame
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Trends and changes of the instrument (`analysis.bridges.segmented_tables`), from the
        full estimates of every wave and the bridge estimates; notes every series break."""
        plan = self.plans[instrument.pk]
        for code, segments in plan.segments.items():
            for seg in segments[1:]:
                # Translators: id: deret baru mulai {wave} (versi {version}: kurang dari
                # {minimum} butir tertaut)
                text = both(_noop("new series from {wave} (version {version}: fewer than "
                                  "{minimum} linked items)"), wave=seg.waves[0],
                            version=seg.from_version, minimum=bridges.MIN_LINKED_ITEMS)
                self.note("info", f"{instrument.code} {code}: {text}",
                          instrument=instrument.code, dimension=code)
        return bridges.segmented_tables(estimates, self.bridge_frame(instrument),
                                        plan.segments, plan.wave_version)


def write(run: m.IndexRun, stage: BridgeStage) -> dict[str, int]:
    """Replace the bridge estimates of the stage's instruments (inside the run's write
    transaction)."""
    m.BridgeResult.objects.filter(instrument__in=stage.instruments).delete()
    objs = []
    for plan in stage.plans.values():
        for wave in plan.waves.values():
            table = stage.tables.get(wave.pk)
            if table is None or not len(table):
                continue
            for r in table.to_dict("records"):
                objs.append(m.BridgeResult(
                    run=run, wave=wave, instrument=plan.instrument,
                    region_code=str(r["region"]), dimension=str(r["dimension"]),
                    version=int(r["version"]), from_version=int(r["from_version"]),
                    to_version=int(r["to_version"]), series=int(r["series"]),
                    linked_items=int(r["linked_items"]), items=str(r["items"]),
                    n=int(r["n"]), n_eff=db_value(r["n_eff"]),
                    estimate=db_value(r["estimate"]), se=db_value(r["se"]),
                    ci_low=db_value(r["ci_low"]), ci_high=db_value(r["ci_high"]),
                    df=db_value(r["df"]), suppressed=bool(r["suppressed"]),
                    category=r["category"] or ""))
    return {"bridges": insert_objects(m.BridgeResult, objs)}


# --- reading, for the dashboard and the charts ------------------------------------------------


@dataclass(frozen=True)
class SeriesPoint:
    year: int
    estimate: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    suppressed: bool


@dataclass(frozen=True)
class CurrentSeries:
    """The latest series of a region x dimension as published: its waves, basis, versions and
    points (full estimates on the full basis, bridge estimates on the linked basis)."""

    series: int
    basis: str
    from_version: int | None
    to_version: int | None
    first_wave: int | None
    points: tuple[SeriesPoint, ...]
    #: years where an earlier series ended (the break falls before each)
    breaks: tuple[int, ...]


def current_series(*, regions: set[str] | None, region: str, dimension: str,
                   instrument: str) -> CurrentSeries | None:
    """The latest series of one region x dimension, read through `surveys.publish` (scope and
    suppression applied); None when no trend row exists."""
    from surveys import publish

    trend_rows = list(publish.rows("trends", regions=regions, region=region,
                                   dimension=dimension, instrument=instrument))
    if not trend_rows:
        return None
    trend_rows.sort(key=lambda r: r["series"])
    last = trend_rows[-1]
    breaks = tuple(int(r["first_wave"]) for r in trend_rows[1:] if r["first_wave"] is not None)
    if last["basis"] == bridges.BASIS_LINKED:
        rows: Iterable[dict[str, Any]] = publish.rows(
            "bridges", regions=regions, region=region, dimension=dimension,
            instrument=instrument, series=last["series"])
    else:
        rows = [r for r in publish.rows("estimates", regions=regions, region=region,
                                        dimension=dimension, instrument=instrument)
                if last["first_wave"] is None or r["wave__year"] >= last["first_wave"]]
    points = tuple(SeriesPoint(r["wave__year"], r["pub_estimate"], r["pub_se"],
                               r["pub_ci_low"], r["pub_ci_high"], bool(r["suppressed"]))
                   for r in rows)
    return CurrentSeries(series=last["series"], basis=last["basis"],
                         from_version=last["from_version"], to_version=last["to_version"],
                         first_wave=last["first_wave"], points=points, breaks=breaks)


def version_boundaries(instrument: str) -> list[tuple[int, int, int]]:
    """``(year, previous version, version)`` for every wave whose version differs from the
    wave before it (by year)."""
    waves = list(m.Wave.objects.filter(instrument__code=instrument).order_by("year")
                 .values_list("year", "version__version"))
    return [(y, pv, v) for (_, pv), (y, v) in zip(waves, waves[1:], strict=False) if v != pv]
