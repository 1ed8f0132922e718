"""Index runs: read the stored inputs, call `analysis`, store every result table.

One named home for recomputation (`compute_indices`), used by the `compute_indices` command, the
Celery task and, through `queue_recompute`, by imports and wave closing.

A run, step by step (METHODS.md sections 2-8):

1. an IndexRun row is created (status ``running``, parameters, analysis version);
2. per wave: read (selector; the next wave is read in a background thread while this one is
   analysed, see `_read_waves`) -> score -> rake to region x sex and region x age_group margins ->
   domain estimates for every region and ALL x S1..S5 + INDEX -> reliability and item
   statistics per dimension -> correlated-factors CFA;
3. per instrument, across all its waves (stored estimates of waves not recomputed are read
   back): trends and year-over-year changes from non-suppressed estimates, per series: across
   an instrument version boundary on the linked items (bridge estimates, computed per wave
   while its arrays are in memory), never across a break (`surveys.services.bridges`);
4. globally, for the index instrument (see `index_instrument`): proxy validation and
   achievements;
5. one transaction deletes the computed waves' rows and the cross-wave tables and bulk-inserts
   the new rows; the run is marked ``succeeded`` in the same transaction.

Waves are computed in isolation (docs/DECISIONS.md, "one bad wave"): a wave that cannot be
weighted or estimated yet (no population margins for its year, an empty raking cell, raking
that fails, a design error) is *skipped*: its previous results (estimates, weights,
reliability, CFA) stay as they are, the run's messages name the wave and the reason (level
``error``, ``skipped: true``) and ``parameters["skipped_waves"]`` lists it; every other wave
updates, and the cross-wave tables use the skipped wave's stored (previous) estimates. The run
is ``succeeded`` when at least one selected wave was computed (or cleared because it has no
responses), ``failed`` when every selected wave was skipped.

Everything is computed before the write transaction opens, so a failure of the run as a whole
(every wave skipped, bad indicator inputs, a database error) leaves the previous results in
place; the run is then marked ``failed`` with its error message and `ComputeError` is raised.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
import pandas as pd
from django.db import connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as _noop
from tqdm import tqdm

import analysis
from analysis import achievement, proxies, reliability, scoring, validity, weighting
from analysis.estimation import DesignError, estimate_domains
from surveys import models as m
from surveys.language import both
from surveys.pg import raw_cursor
from surveys.publish.catalogue import TABLES
from surveys.selectors import responses as sel
from surveys.selectors.weights import pack as packed_weights
from surveys.services import bridges, evaluation, longitudinal
from surveys.services._rows import db_value, frame_rows
from surveys.services.bulk import insert_objects, insert_rows
from surveys.services.recompute import queue_recompute  # noqa: F401 - re-exported

logger = logging.getLogger(__name__)

ALPHA_WARN = 0.70
ITEM_REST_WARN = 0.30
#: Per wave: read, score, weights, estimates, reliability, cfa.
WAVE_STAGES = ("read", "score", "weights", "estimates", "reliability", "cfa")
_LOCK_KEY = 0x4E494C4149  # "NILAI": one index run writes at a time on PostgreSQL


class ComputeError(Exception):
    """A run failed for a reason the user can fix (inputs); the run row holds the message."""


class WaveSkipped(ComputeError):
    """One wave cannot be computed yet (its inputs); the run goes on without it."""


@dataclass
class _WaveOutput:
    wave: m.Wave
    response_ids: np.ndarray
    weights: np.ndarray
    estimates: pd.DataFrame
    reliability: list[dict[str, Any]]
    items: list[dict[str, Any]]
    cfa: dict[str, Any] | None
    #: longitudinal stage (issue 12): the wave's panel data (dropped once paired) and moments
    panel: longitudinal.PanelWave | None = None
    moments: longitudinal.Moments | None = None
    #: a parallel run's wave stage: (previous wave, its panel tables) computed already
    pair: tuple[m.Wave | None, tuple[pd.DataFrame, pd.DataFrame] | None] | None = None
    #: ... and its weights, left on its `RunWave` row: (pk, responses); then
    #: ``response_ids`` and ``weights`` are empty
    stored_weights: tuple[int, int] | None = None


@dataclass
class _RunState:
    run: m.IndexRun
    timings: dict[str, float] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    digest: Any = field(default_factory=hashlib.sha256)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = round(self.timings.get(stage, 0.0)
                                        + time.perf_counter() - start, 4)

    def note(self, level: str, message: str, **where: Any) -> None:
        self.messages.append({"level": level, **where, "message": message})

    def skip(self, wave: m.Wave, reason: WaveSkipped) -> None:
        label = f"{wave.instrument.code} {wave.year}"
        if m.EstimateResult.objects.filter(wave=wave).exists():
            # Translators: id: gelombang dilewati, hasil sebelumnya dipertahankan
            text = both(_noop("wave skipped, previous results kept"))
        else:
            # Translators: id: gelombang dilewati, belum ada hasil
            text = both(_noop("wave skipped, no results yet"))
        self.note("error", f"{label}: {text}: {reason}", wave=wave.year,
                  instrument=wave.instrument.code, skipped=True)


# ---------------------------------------------------------------------------------------------
# selection


def select_waves(*, instrument: str | None = None, years: Sequence[int] | None = None,
                 wave_ids: Sequence[int] | None = None) -> list[m.Wave]:
    """Waves a run covers: every wave (of the instrument) unless years or ids narrow it."""
    qs = m.Wave.objects.select_related("instrument", "version")
    if instrument:
        if not m.Instrument.objects.filter(code=instrument).exists():
            # Translators: id: instrumen {instrument} tidak ada
            raise ComputeError(both(_noop("unknown instrument {instrument}"),
                                    instrument=instrument))
        qs = qs.filter(instrument__code=instrument)
    if years:
        qs = qs.filter(year__in=list(years))
    if wave_ids:
        qs = qs.filter(pk__in=list(wave_ids))
    waves = list(qs.order_by("instrument__code", "year"))
    if (years or wave_ids) and not waves:
        what = f"tahun/year {', '.join(map(str, years))}" if years else f"id {list(wave_ids)}"
        # Translators: id: tidak ada gelombang untuk {what}
        raise ComputeError(both(_noop("no wave for {what}"), what=what))
    return waves


def index_instrument(instrument_codes: Sequence[str] | None = None) -> str | None:
    """The instrument whose INDEX feeds proxy validation and achievements.

    The only instrument with waves; with several, the one whose latest wave is most recent
    (ties: the first code). Proxy validation and targets speak of "the index" without naming an
    instrument, so one must be chosen; the run records the choice in its parameters.
    """
    qs = m.Wave.objects.all()
    if instrument_codes:
        qs = qs.filter(instrument__code__in=list(instrument_codes))
    latest = list(qs.values_list("instrument__code", "year").order_by("-year",
                                                                      "instrument__code"))
    return latest[0][0] if latest else None


# ---------------------------------------------------------------------------------------------
# per-wave computation


def _read_wave(wave_id: int, *, in_thread: bool = False) -> sel.WaveData:
    try:
        return sel.wave_data(wave_id=wave_id, with_respondent=False)
    finally:
        if in_thread:
            connections.close_all()  # this thread's own connections only


def _read_waves(state: _RunState, waves: list[m.Wave], *, prefetch: bool = True,
                needs_rows: Callable[[m.Wave], bool] | None = None
                ) -> Iterator[sel.WaveData | None]:
    """The waves' data in order, each read while the one before it is analysed; None for a
    wave that ``needs_rows`` says is not to be read (a parallel run's body, whose parts
    brought everything).

    The next wave is read by a background thread on its own database connection (the read is
    mostly database work and numpy, which release the GIL): at a million responses this hid
    most of the 3-9 s of reading behind the analysis. ``{year}/read`` records the time the
    analysis waited for its data. Inside a transaction (a test, a caller's atomic block)
    another connection would not see the caller's uncommitted rows, so waves are then read
    in line, one after the other (as with ``prefetch=False``). At most two waves' arrays are in
    memory at once.
    """
    wanted = [needs_rows is None or needs_rows(wave) for wave in waves]
    todo = [wave for wave, want in zip(waves, wanted, strict=True) if want]
    prefetch = prefetch and len(todo) > 1 and not connection.in_atomic_block
    if not prefetch:
        for wave, want in zip(waves, wanted, strict=True):
            if not want:
                yield None
                continue
            with state.timed(f"{wave.year}/read"):
                data = _read_wave(wave.pk)
            yield data
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nilai-read") as pool:
        pending = pool.submit(_read_wave, todo[0].pk, in_thread=True)
        done = 0
        try:
            for wave, want in zip(waves, wanted, strict=True):
                if not want:
                    yield None
                    continue
                with state.timed(f"{wave.year}/read"):
                    data = pending.result()
                done += 1
                if done < len(todo):
                    pending = pool.submit(_read_wave, todo[done].pk, in_thread=True)
                yield data
        finally:
            pending.cancel()


def _compute_wave(state: _RunState, wave: m.Wave, data: sel.WaveData, population: pd.DataFrame,
                  *, lonely_psu: str, trim: bool, tick: Any) -> _WaveOutput | None:
    year = wave.year
    label = f"{wave.instrument.code} {year}"
    state.digest.update(data.checksum.encode())
    tick()
    if data.n == 0:
        # Translators: id: tidak ada respons terkirim
        empty = both(_noop("no submitted responses"))
        # Translators: id: hasil gelombang ini dihapus
        removed = both(_noop("this wave's results are removed"))
        state.note("warning", f"{label}: {empty}; {removed}", wave=year)
        for _ in WAVE_STAGES[1:]:
            tick()
        return None
    spec = data.spec
    with state.timed(f"{year}/score"):
        scores = scoring.score(data.answers, spec)
    tick()
    with state.timed(f"{year}/weights"):
        pop = population[population["year"] == year]
        if pop.empty:
            # Translators: id: tidak ada marginal penduduk tahun {year} (load_population)
            raise WaveSkipped(both(_noop("no population margins for {year} (load_population)"),
                                   year=year))
        try:
            raked = weighting.rake_wave(region=data.region, sex=data.sex,
                                        age_group=data.age_group, base_weight=data.base_weight,
                                        population=pop, year=year, trim=trim)
        except ValueError as exc:  # RakingError: an empty cell, margins that disagree...
            # Translators: id: pembobotan gagal
            raise WaveSkipped(both(_noop("raking failed")) + f": {exc}") from exc
    tick()
    with state.timed(f"{year}/estimates"):
        try:
            domains = estimate_domains(scores, raked.weights, data.stratum, data.psu,
                                       data.region, lonely_psu=lonely_psu,  # type: ignore[arg-type]
                                       categories=True)
        except DesignError as exc:
            # Translators: id: desain sampel
            raise WaveSkipped(both(_noop("sample design")) + f": {exc}") from exc
        if domains.singleton_strata:
            # Translators: id: strata dengan satu PSU
            single = both(_noop("strata with a single PSU"))
            state.note("warning", f"{label}: {single} ({lonely_psu}): "
                                  f"{', '.join(domains.singleton_strata)}", wave=year)
        est = domains.table.copy()
        small = est.loc[est["suppressed"] & (est["dimension"] == scoring.INDEX_CODE), "region"]
        if len(small):
            # Translators: id: estimasi ditekan (n < 30)
            text = both(_noop("suppressed estimates (n < 30)"))
            state.note("info", f"{label}: {text}: {', '.join(map(str, small))}", wave=year)
    tick()
    with state.timed(f"{year}/reliability"):
        keyed = scoring.reverse_key(data.answers, spec)
        rel_rows, item_rows = _reliability(state, keyed, spec, year, label)
    tick()
    with state.timed(f"{year}/cfa"):
        cfa_row = _cfa(state, keyed, spec, year, label)
    with state.timed(f"{year}/moments"):  # the invariance stage fits on these
        n_c, mean_c, cov_c = longitudinal.wave_moments(keyed)
        moments = longitudinal.Moments(year, wave.version_id, tuple(spec.item_codes), n_c,
                                       mean_c, cov_c)
    with state.timed(f"{year}/panel"):
        panel = longitudinal.panel_wave(wave, data, scores, raked.weights)
    tick()
    return _WaveOutput(wave=wave, response_ids=data.response_id, weights=raked.weights,
                       estimates=est, reliability=rel_rows, items=item_rows, cfa=cfa_row,
                       panel=panel, moments=moments)


def _reliability(state: _RunState, keyed: np.ndarray | None, spec: scoring.InstrumentSpec,
                 year: int, label: str, *, fit: Any = None
                 ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``fit(dimension_index, omega)`` replaces ``reliability.reliability`` on the rows of
    ``keyed`` (the parallel run fits on combined moments, `compute_parallel`)."""
    rel_rows: list[dict[str, Any]] = []
    item_rows: list[dict[str, Any]] = []
    start = 0
    for d, dim in enumerate(spec.dimensions):
        k = len(dim.item_codes)
        block = keyed[:, start:start + k] if keyed is not None else None
        start += k

        def run(omega: bool, d: int = d, block: Any = block,
                codes: Any = dim.item_codes) -> reliability.ReliabilityResult:
            if fit is not None:
                return fit(d, omega)  # type: ignore[no-any-return]
            return reliability.reliability(block, codes, omega=omega)
        try:
            res = run(True)
        except validity.CfaConvergenceError as exc:
            # Translators: id: omega tidak konvergen
            text = both(_noop("omega did not converge"))
            state.note("warning", f"{label} {dim.code}: {text}: {exc}", wave=year,
                       dimension=dim.code)
            res = run(False)
        except ValueError as exc:
            # Translators: id: reliabilitas tidak dihitung
            text = both(_noop("reliability not computed"))
            state.note("warning", f"{label} {dim.code}: {text}: {exc}",
                       wave=year, dimension=dim.code)
            continue
        status = getattr(res, "omega_status", "ok")
        if status not in ("ok", "skipped"):
            # Translators: id: omega tidak tersedia
            text = both(_noop("omega not available"))
            state.note("warning", f"{label} {dim.code}: {text} ({status})", wave=year,
                       dimension=dim.code)
        for name, value in (("alpha", res.alpha), ("omega", res.omega_total)):
            if np.isfinite(value) and value < ALPHA_WARN:
                # Translators: id: terbitkan dengan peringatan
                text = both(_noop("publish with a warning"))
                state.note("warning", f"{label} {dim.code}: {name} = {value:.3f} < 0.70 "
                                      f"({text})", wave=year, dimension=dim.code)
        rel_rows.append({"dimension": dim.code, "n": res.n, "k": res.k, "alpha": res.alpha,
                         "alpha_std": res.alpha_std, "alpha_ci_low": res.alpha_ci_low,
                         "alpha_ci_high": res.alpha_ci_high, "omega_total": res.omega_total})
        for it in res.items:
            if np.isfinite(it.item_rest_r) and it.item_rest_r < ITEM_REST_WARN:
                state.note("warning", f"{label} {it.item}: item-rest r = {it.item_rest_r:.3f} "
                                      "< 0.30", wave=year, dimension=dim.code, item=it.item)
            item_rows.append({"dimension": dim.code, "item": it.item,
                              "item_rest_r": it.item_rest_r,
                              "alpha_if_deleted": it.alpha_if_deleted, "mean": it.mean,
                              "sd": it.sd})
    return rel_rows, item_rows


def _cfa(state: _RunState, keyed: np.ndarray | None, spec: scoring.InstrumentSpec, year: int,
         label: str, *, moments: tuple[int, np.ndarray] | None = None) -> dict[str, Any] | None:
    """``moments``: (n, covariance with divisor n) of the complete cases, instead of the rows
    of ``keyed`` (the parallel run, `compute_parallel`)."""
    factor_of_item = [k for k, dim in enumerate(spec.dimensions) for _ in dim.item_codes]
    if len(spec.dimensions) < 2 and len(spec.item_codes) < 3:
        return None
    if moments is None:
        assert keyed is not None
        n_complete = int((~np.isnan(keyed).any(axis=1)).sum())
    else:
        n_complete = moments[0]
    try:
        if moments is None:
            res = validity.cfa(keyed, factor_of_item)
        else:
            if n_complete <= len(factor_of_item):
                raise ValueError(f"need more complete cases than items: {n_complete} complete "
                                 f"cases, {len(factor_of_item)} items")
            res = validity.cfa_from_cov(moments[1], n_complete, factor_of_item)
    except validity.CfaConvergenceError as exc:
        # Translators: id: CFA tidak konvergen
        text = both(_noop("CFA did not converge"))
        state.note("warning", f"{label}: {text}: {exc}", wave=year)
        return {"n": n_complete, "chisq": None, "df": None, "cfi": None, "tli": None,
                "rmsea": None, "srmr": None, "converged": False}
    except ValueError as exc:
        # Translators: id: CFA tidak dihitung
        text = both(_noop("CFA not computed"))
        state.note("warning", f"{label}: {text}: {exc}", wave=year)
        return None
    for name, value, ok in (("CFI", res.cfi, res.cfi >= .95), ("TLI", res.tli, res.tli >= .95),
                            ("RMSEA", res.rmsea, res.rmsea <= .06),
                            ("SRMR", res.srmr, res.srmr <= .08)):
        if not ok:
            # Translators: id: di luar batas
            text = both(_noop("outside the cut-off"))
            state.note("warning", f"{label}: {name} = {value:.3f} {text} (Hu & Bentler 1999)",
                       wave=year)
    return {"n": res.n, "chisq": res.chisq, "df": res.df, "cfi": res.cfi, "tli": res.tli,
            "rmsea": res.rmsea, "srmr": res.srmr, "converged": bool(res.converged)}


# ---------------------------------------------------------------------------------------------
# cross-wave tables


def _stored_estimates(instrument_id: int, exclude_wave_ids: set[int]) -> pd.DataFrame:
    rows = list(
        m.EstimateResult.objects.filter(wave__instrument_id=instrument_id)
        .exclude(wave_id__in=exclude_wave_ids)
        .values_list("wave__year", "region_code", "dimension", "n", "estimate", "se",
                     "ci_low", "suppressed")
    )
    return pd.DataFrame(rows, columns=["wave", "region", "dimension", "n", "estimate", "se",
                                       "ci_low", "suppressed"])


def _all_estimates(instrument: m.Instrument, outputs: list[_WaveOutput],
                   covered: set[int]) -> pd.DataFrame:
    """Fresh estimates of the computed waves plus the stored ones of every other wave.

    ``covered``: the waves this run replaces (computed, or cleared for having no responses);
    a skipped wave is not covered, so its previous, still published estimates take part.
    """
    fresh = [o.estimates.assign(wave=o.wave.year)
             for o in outputs if o.wave.instrument_id == instrument.pk]
    stored = _stored_estimates(instrument.pk, covered)
    frames = [f[["wave", "region", "dimension", "n", "estimate", "se", "ci_low", "suppressed"]]
              for f in [*fresh, stored] if len(f)]
    if not frames:
        return pd.DataFrame(columns=["wave", "region", "dimension", "n", "estimate", "se",
                                     "ci_low", "suppressed"])
    out = pd.concat(frames, ignore_index=True)
    return out.astype({"wave": "int64", "suppressed": "bool", "estimate": "float64",
                       "se": "float64", "ci_low": "float64"})


# ---------------------------------------------------------------------------------------------
# writing


def _lock() -> None:
    """One index run writes at a time (PostgreSQL: a transaction-level advisory lock, held
    to the commit; taking it again in the same transaction is harmless)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def _check_constraints(when: str) -> None:
    """PostgreSQL: check the foreign keys (deferred to the commit by Django) of the rows
    written from here on at the end of each statement ("IMMEDIATE") or at the commit
    ("DEFERRED"). A parallel run's body writes each wave as it is in (while a last stage may
    still run on another worker): checked then, its rows (~31,000 of 5M responses: estimates
    and retention) are not all left to the COMMIT at the run's serial end
    (docs/DECISIONS.md 85)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET CONSTRAINTS ALL {when}")


def _write_waves(state: _RunState, wave_ids: list[int],
                 outputs: list[_WaveOutput]) -> dict[str, int]:
    """Replace the per-wave rows (weights, estimates, reliability, items, CFA) of the waves in
    ``wave_ids`` (computed or cleared; never a skipped wave) by those of ``outputs``. Inside
    the run's write transaction: all waves at once after the analysis, or, in a parallel
    run's body on PostgreSQL, each wave as its stage is in (`compute_indices`)."""
    _lock()
    with state.timed("write:delete"):
        for model in (m.WaveWeights, m.EstimateResult, m.ReliabilityResult, m.ItemResult,
                      m.CfaResult):
            model.objects.filter(wave_id__in=wave_ids).delete()
    with state.timed("write:weights"):
        counts = {"weights": _write_weights(state, outputs)}
    counts.update(_write_wave_tables(state, outputs))
    return counts


def _write_weights(state: _RunState, outputs: list[_WaveOutput]) -> int:
    """One packed `WaveWeights` row per wave (see the model for why not a row per response).
    No existence check of the responses: readers join from the responses, so one deleted
    while the run computed is never asked about, and the next run of its wave drops it."""
    run = state.run
    rows = []
    stored = [o for o in outputs if o.stored_weights is not None]
    for o in outputs:
        if o.stored_weights is not None:
            continue
        ids, weights = packed_weights(o.response_ids, o.weights)
        rows.append(m.WaveWeights(run=run, wave=o.wave, n=int(o.response_ids.size),
                                  response_ids=ids, final_weights=weights))
    if connection.vendor == "postgresql":
        # bytea as binary parameters: Django's client-side binding would send each array as
        # hex text in the SQL (0.8 s against 0.2 s for a million responses)
        table = m.WaveWeights._meta.db_table
        with raw_cursor() as cursor:
            for row in rows:
                cursor.execute(f"INSERT INTO {table} (run_id, wave_id, n, response_ids, "
                               "final_weights) VALUES (%s, %s, %s, %b, %b)",
                               [row.run_id, row.wave_id, row.n, row.response_ids,
                                row.final_weights])
    else:
        m.WaveWeights.objects.bulk_create(rows)
    # a parallel run's stages left their waves' weights packed on RunWave rows: copied in
    # SQL (the body neither fetches nor sends them: 16 MB each way per wave of 1M)
    pks = [o.stored_weights[0] for o in stored if o.stored_weights is not None]
    if pks and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {m.WaveWeights._meta.db_table} (run_id, wave_id, n, "
                           "response_ids, final_weights) SELECT %s, wave_id, n, response_ids, "
                           f"final_weights FROM {m.RunWave._meta.db_table} WHERE id = ANY(%s) "
                           "AND n IS NOT NULL", [run.pk, pks])
            if cursor.rowcount != len(pks):
                raise ComputeError(f"weights of {len(pks) - cursor.rowcount} wave(s) missing")
    elif pks:
        copied = m.WaveWeights.objects.bulk_create(
            m.WaveWeights(run=run, wave_id=w.wave_id, n=w.n, response_ids=w.response_ids,
                          final_weights=w.final_weights)
            for w in m.RunWave.objects.filter(pk__in=pks, n__isnull=False))
        if len(copied) != len(pks):
            raise ComputeError(f"weights of {len(pks) - len(copied)} wave(s) missing")
    return sum(row.n for row in rows) + sum(o.stored_weights[1] for o in stored
                                            if o.stored_weights is not None)


def _write_wave_tables(state: _RunState, outputs: list[_WaveOutput]) -> dict[str, int]:
    run = state.run
    counts: dict[str, int] = {}
    # the estimates table's column list is the catalogue's (surveys.publish.catalogue)
    est_fields = TABLES["estimates"].stored_fields()
    text = {f.name for f in m.EstimateResult._meta.concrete_fields
            if f.get_internal_type() == "CharField"}
    est_columns = [field for _, field in est_fields]
    text_columns = {c for c, field in est_fields if field in text}
    est_rows = [(run, o.wave, *r) for o in outputs
                for r in frame_rows(o.estimates, [c for c, _ in est_fields], text=text_columns)]
    counts["estimates"] = insert_rows(m.EstimateResult, ["run", "wave", *est_columns], est_rows)
    rel = [m.ReliabilityResult(run=run, wave=o.wave, **{k: db_value(v) for k, v in row.items()})
           for o in outputs for row in o.reliability]
    counts["reliability"] = insert_objects(m.ReliabilityResult, rel)
    items = [m.ItemResult(run=run, wave=o.wave, **{k: db_value(v) for k, v in row.items()})
             for o in outputs for row in o.items]
    counts["items"] = insert_objects(m.ItemResult, items)
    cfas = [m.CfaResult(run=run, wave=o.wave, **{k: db_value(v) for k, v in o.cfa.items()})
            for o in outputs if o.cfa is not None]
    counts["cfa"] = insert_objects(m.CfaResult, cfas)
    return counts


def _write_tables(state: _RunState, instruments: list[m.Instrument],
                  cross: dict[int, tuple[pd.DataFrame, pd.DataFrame]],
                  proxy: pd.DataFrame | None, achieve: pd.DataFrame | None,
                  counts: dict[str, int]) -> dict[str, int]:
    """Replace the cross-wave tables: trends, changes, proxy validation, achievements
    (``counts`` gets their rows)."""
    run = state.run
    with state.timed("write:delete"):
        m.TrendResult.objects.filter(instrument__in=instruments).delete()
        m.ChangeResult.objects.filter(instrument__in=instruments).delete()
        if proxy is not None:
            m.ProxyValidationResult.objects.all().delete()
        if achieve is not None:
            m.AchievementResult.objects.all().delete()
    n_trends = n_changes = 0
    for instrument in instruments:
        trend_df, change_df = cross[instrument.pk]
        if len(trend_df):  # rows as tuples, like the changes (issue 15)
            other = [c for c in trend_df.columns if c not in ("region", "direction")]
            # no direction (a series too short): blank, which the publish path shows as
            # empty; a NaN here was stored as the text "nan"
            n_trends += insert_rows(
                m.TrendResult, ["run", "instrument", "region_code", "direction", *other],
                ((run, instrument, str(region), direction if isinstance(direction, str)
                  else "", *rest)
                 for region, direction, *rest in frame_rows(
                     trend_df, ["region", "direction", *other])))
        if len(change_df):  # rows as tuples: no model instance per row (issue 15)
            other = [c for c in change_df.columns if c != "region"]
            n_changes += insert_rows(
                m.ChangeResult, ["run", "instrument", "region_code", *other],
                ((run, instrument, str(region), *rest) for region, *rest
                 in frame_rows(change_df, ["region", *other])))
    counts["trends"] = n_trends
    counts["changes"] = n_changes
    indicators = {i.code: i for i in m.Indicator.objects.all()}
    if proxy is not None:
        objs = [m.ProxyValidationResult(run=run, indicator=indicators[r.pop("indicator")],
                                        **{k: db_value(v) for k, v in r.items()})
                for r in proxy.to_dict("records")]
        counts["proxy_validation"] = insert_objects(m.ProxyValidationResult, objs)
    if achieve is not None:
        if (achieve["indicator"] == m.INDEX_CODE).any() and m.INDEX_CODE not in indicators:
            indicators[m.INDEX_CODE] = m.Indicator.objects.index()
        objs = [m.AchievementResult(run=run, indicator=indicators[r.pop("indicator")],
                                    region_code=str(r.pop("region")),
                                    **{k: db_value(v) for k, v in r.items()})
                for r in achieve.to_dict("records")]
        counts["achievements"] = insert_objects(m.AchievementResult, objs)
    return counts


# ---------------------------------------------------------------------------------------------
# the service


def compute_indices(*, instrument: str | None = None, years: Sequence[int] | None = None,
                    wave_ids: Sequence[int] | None = None, lonely_psu: str = "certainty",
                    trim: bool = False, progress: bool = False,
                    progress_file: IO[str] | None = None, prefetch: bool = True,
                    parts: Any = None) -> m.IndexRun:
    """Run the whole pipeline for the selected waves and store the results.

    ``parts`` (`surveys.services.compute_parallel`, the chord's final step): the per-wave
    analysis was done by province tasks; each wave's output is combined from their sufficient
    statistics (``parts.output``) instead of `_compute_wave`; everything else is this function.

    Parameters
    ----------
    instrument : str, optional
        Instrument code; default every instrument with waves.
    years, wave_ids : optional
        Recompute only these waves (per-wave tables); cross-wave tables (trends, changes, proxy
        validation, achievements) are always recomputed from all stored estimates.
    lonely_psu, trim : see `analysis.estimation.estimate_domains` and
        `analysis.weighting.rake_wave`.
    progress : bool
        Show a tqdm bar on ``progress_file`` (default stderr).
    prefetch : bool
        Read the next wave in a background thread while this one is analysed (see
        `_read_waves`); False reads every wave in line (the benchmark's baseline).

    Returns
    -------
    IndexRun
        Status ``succeeded``; ``messages`` holds warnings (alpha < .70, CFA fit, suppressed
        domains, singleton strata...) and, level ``error`` with ``skipped: true``, each wave
        that could not be computed (it keeps its previous results; also listed in
        ``parameters["skipped_waves"]``); ``timings`` seconds per stage.

    Raises
    ------
    ComputeError
        On bad or missing inputs of the run as a whole, or when every selected wave had to be
        skipped (the run row is marked ``failed`` with the message, previous results stay in
        place). Other exceptions also mark the run failed, then propagate.
    """
    parameters = {"instrument": instrument, "years": list(years) if years else None,
                  "wave_ids": list(wave_ids) if wave_ids else None, "lonely_psu": lonely_psu,
                  "trim": trim}
    run = m.IndexRun.objects.create(status=m.RunStatus.RUNNING, parameters=parameters,
                                    analysis_version=analysis.__version__,
                                    started_at=timezone.now())
    state = _RunState(run=run)
    start = time.perf_counter()
    # a parallel run's body on PostgreSQL opens the write transaction before its first wave
    # and writes each wave as its stage is in, while the last stages still run on the other
    # workers (docs/DECISIONS.md 85); one transaction either way, so readers see the old
    # results or the new ones. Not on SQLite, where an open write transaction blocks every
    # other writer (the API's submissions) for as long as the body waits for its stages.
    early = parts is not None and connection.vendor == "postgresql"
    try:
        write_txn = ExitStack()
        with write_txn:
            return _compute_indices(state, run, start, write_txn if early else None,
                                    instrument=instrument, years=years, wave_ids=wave_ids,
                                    lonely_psu=lonely_psu, trim=trim, progress=progress,
                                    progress_file=progress_file, prefetch=prefetch,
                                    parts=parts)
    except Exception as exc:
        _fail(state, exc, time.perf_counter() - start)
        if isinstance(exc, ComputeError):
            raise
        if isinstance(exc, ValueError):
            raise ComputeError(str(exc)) from exc
        raise


def _compute_indices(state: _RunState, run: m.IndexRun, start: float,
                     write_txn: ExitStack | None, *, instrument: str | None,
                     years: Sequence[int] | None, wave_ids: Sequence[int] | None,
                     lonely_psu: str, trim: bool, progress: bool,
                     progress_file: IO[str] | None, prefetch: bool,
                     parts: Any) -> m.IndexRun:
    """`compute_indices` once its run row exists. ``write_txn``: an exit stack that holds
    the run's write transaction from the first wave on (a parallel run's body on
    PostgreSQL): each wave's rows are written as the wave is in, and the stack is closed
    (committed) at the end of the write; None writes everything in one transaction after
    the analysis."""
    waves = select_waves(instrument=instrument, years=years, wave_ids=wave_ids)
    instruments = list({w.instrument_id: w.instrument for w in waves}.values())
    run.parameters["waves"] = [f"{w.instrument.code} {w.year}" for w in waves]
    with state.timed("inputs"):
        population = sel.population_frame()
        indicators = sel.indicators_frame()
        values = sel.indicator_values_frame()
        targets = sel.targets_frame()
        state.digest.update(sel.frame_checksum(population, indicators, values,
                                               targets).encode())
    total = len(waves) * len(WAVE_STAGES) + 2
    bar = tqdm(total=total, disable=not progress, file=progress_file or sys.stderr,
               desc="compute_indices", unit="step", leave=False)
    try:
        outputs: list[_WaveOutput] = []
        covered: list[int] = []  # computed or cleared; never a skipped wave
        skipped: list[m.Wave] = []
        panel_stage = longitudinal.PanelStage(note=state.note, lonely_psu=lonely_psu)
        with state.timed("bridges"):
            bridge_stage = bridges.BridgeStage(instruments, note=state.note,
                                               lonely_psu=lonely_psu)
        # a parallel run's body reads only the waves its parts cannot stand in for
        needs_rows = None if parts is None else \
            (lambda w: parts.needs_rows(w) or bridge_stage.needs(w))
        written: Counter[str] = Counter()  # rows the waves' early writes wrote
        if write_txn is not None:
            write_txn.enter_context(transaction.atomic())
            _lock()
            _check_constraints("IMMEDIATE")
        for wave, data in zip(waves, _read_waves(state, waves, prefetch=prefetch,
                                                 needs_rows=needs_rows), strict=True):
            bar.set_postfix_str(f"{wave.instrument.code} {wave.year}")
            try:
                compute_wave = _compute_wave if parts is None else parts.output
                out = compute_wave(state, wave, data, population, lonely_psu=lonely_psu,
                                   trim=trim, tick=bar.update)
            except WaveSkipped as exc:
                state.skip(wave, exc)
                skipped.append(wave)
                continue
            covered.append(wave.pk)
            if out is not None:
                outputs.append(out)
                if data is not None:
                    with state.timed("bridges"):  # linked-item estimates (issue 12 pt 2)
                        bridge_stage.add(out.wave, data, out.weights)
                if out.panel is not None:
                    with state.timed("panels"):
                        panel_stage.add(out.panel)
                    out.panel = None
                elif out.pair is not None:
                    panel_stage.put(out.wave, *out.pair)
            if write_txn is not None:
                with state.timed("write"), state.timed("write:waves"):
                    written.update(_write_waves(state, [wave.pk], [] if out is None else [out]))
                    written["retention"] += longitudinal.write_retention(run, wave, panel_stage)
        run.parameters["skipped_waves"] = [f"{w.instrument.code} {w.year}" for w in skipped]
        if skipped and not covered:
            reasons = "; ".join(msg["message"] for msg in state.messages
                                if msg.get("skipped"))
            # Translators: id: tidak ada gelombang yang dapat dihitung
            text = both(_noop("no wave could be computed"))
            raise ComputeError(f"{text}: {reasons}")
        bar.set_postfix_str("trends")
        cross: dict[int, tuple[pd.DataFrame, pd.DataFrame]] = {}
        with state.timed("bridges"):
            bridge_stage.complete()
        with state.timed("trends"):
            for inst in instruments:
                est = _all_estimates(inst, outputs, set(covered))
                # per series, never across a version break (analysis.bridges)
                cross[inst.pk] = bridge_stage.cross_tables(inst, est)
        with state.timed("invariance"):
            invariance = longitudinal.invariance_tables(
                instruments, [o.moments for o in outputs if o.moments is not None],
                set(covered), state.note)
        bar.update()
        proxy_df = achieve_df = None
        evaluated: tuple[evaluation.Evaluation, m.Instrument] | None = None
        index_code = index_instrument()
        run.parameters["index_instrument"] = index_code
        if index_code is not None:
            with state.timed("proxies"):
                inst = next((i for i in instruments if i.code == index_code), None) \
                    or m.Instrument.objects.get(code=index_code)
                est = _all_estimates(inst, outputs, set(covered))
                try:
                    proxy_df = proxies.validate_proxies(indicators, values, est)
                    achieve_df = achievement.achievement_table(targets, indicators,
                                                               values, est)
                except ValueError as exc:
                    raise ComputeError(f"indikator/target: {exc}") from exc
            with state.timed("evaluation"):
                try:
                    evaluated = (evaluation.evaluate(est, values, proxy_df), inst)
                except ValueError as exc:
                    # Translators: id: program/area kecil
                    text = both(_noop("programmes/small areas"))
                    raise ComputeError(f"{text}: {exc}") from exc
        bar.update()
    finally:
        bar.close()
    state.run.input_checksum = state.digest.hexdigest()
    with state.timed("write"), (transaction.atomic() if write_txn is None else nullcontext()):
        if write_txn is None:
            counts = _write_waves(state, covered, outputs)
        else:  # the waves are written (`written`): the cross-wave tables are left
            _check_constraints("DEFERRED")
            counts = {}
        counts = _write_tables(state, instruments, cross, proxy_df, achieve_df, counts)
        if evaluated is not None:
            with state.timed("write:evaluation"):
                counts.update(evaluation.write(run, *evaluated))
        with state.timed("write:bridges"):
            counts.update(bridges.write(run, bridge_stage))
        with state.timed("write:longitudinal"):
            counts.update(longitudinal.write(
                run, covered=covered, instruments=instruments, panel=panel_stage,
                moments={o.wave.pk: o.moments for o in outputs if o.moments is not None},
                invariance=invariance, cross={k: v[1] for k, v in cross.items()},
                retention_written=covered if write_txn is not None else ()))
        state.timings["total"] = round(time.perf_counter() - start, 4)
        run.status = m.RunStatus.SUCCEEDED
        # the rows the waves' early writes wrote (a parallel body on PostgreSQL)
        counts.update({k: counts.get(k, 0) + n for k, n in written.items()})
        run.parameters["rows"] = counts
        run.timings = state.timings
        run.messages = state.messages
        run.finished_at = timezone.now()
        run.save()
        if write_txn is not None:
            write_txn.close()  # commit, inside the write's time
    state.timings["total"] = round(time.perf_counter() - start, 4)
    run.timings = state.timings
    m.IndexRun.objects.filter(pk=run.pk).update(timings=state.timings)
    return run


def _fail(state: _RunState, exc: BaseException, elapsed: float) -> None:
    run = state.run
    state.timings["total"] = round(elapsed, 4)
    state.note("error", str(exc) or type(exc).__name__)
    m.IndexRun.objects.filter(pk=run.pk).update(
        status=m.RunStatus.FAILED, timings=state.timings, messages=state.messages,
        parameters=run.parameters, input_checksum=state.digest.hexdigest(),
        finished_at=timezone.now())
    run.refresh_from_db()
    logger.warning("index run %s failed: %s", run.pk, exc)


def run_notices(*, instrument: str | None = None, lookback: int = 50) -> list[dict[str, Any]]:
    """What a dashboard should say about the index runs: waves not up to date, a failed run.

    For every wave, the most recent finished run that tried it decides: when that run skipped
    it (see `compute_indices`), its message is returned (level ``error``, ``skipped: true``,
    with ``wave``, ``instrument``, ``run`` and ``finished_at``): the wave still shows its
    previous results, or none. A later run that computed the wave clears the notice; a run
    that failed for another reason decides nothing about its waves. When the latest finished
    run failed for a reason other than skipped waves, its error comes first. Only the last
    ``lookback`` finished runs are read. ``instrument`` keeps the notices of that instrument
    (and a failure, which names none).
    """
    runs = list(m.IndexRun.objects.filter(
        status__in=[m.RunStatus.SUCCEEDED, m.RunStatus.FAILED]).order_by("-id")[:lookback])
    notices: list[dict[str, Any]] = []
    if runs and runs[0].status == m.RunStatus.FAILED and not any(
            msg.get("skipped") for msg in runs[0].messages):  # else its skips say it all
        error = next((msg for msg in reversed(runs[0].messages) if msg.get("level") == "error"
                      and not msg.get("skipped")), None)
        if error is not None:
            notices.append({**error, "run": runs[0].pk, "finished_at": runs[0].finished_at})
    decided: set[str] = set()
    for run in runs:
        skips = {f"{msg.get('instrument')} {msg.get('wave')}": msg for msg in run.messages
                 if msg.get("skipped")}
        for label in run.parameters.get("waves") or []:
            if label in decided:
                continue
            if label in skips:
                decided.add(label)
                msg = skips[label]
                if instrument is None or msg.get("instrument") == instrument:
                    notices.append({**msg, "run": run.pk, "finished_at": run.finished_at})
            elif run.status == m.RunStatus.SUCCEEDED:
                decided.add(label)
    return notices
