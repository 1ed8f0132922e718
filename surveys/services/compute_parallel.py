"""Index runs split by province over Celery workers (issue 15, docs/DECISIONS.md 61).

Raking is per region (region x sex and region x age_group margins, trimming within region,
METHODS 3) and scoring is per respondent, so a wave's weights and scores can be computed one
province at a time. The run is a Celery chord:

1. **header**, one task per (wave, shard): a shard is a set of whole provinces (a province
   never straddles two tasks), balanced by response count (`plan`); the task reads only its
   regions' responses (`wave_data(region_ids=...)`), scores, rakes, and returns sufficient
   statistics, not rows: per (region, stratum, PSU) the valid counts and weighted totals of
   every score (`analysis.estimation.domain_totals`), per dimension and for all items the
   complete cases' count, means and centred cross-products; the final weights (response id,
   weight: stored by the run) go into a `RunPart` row of the chord's token, and the
   per-response arrays of the panel stage with the part's totals into a file of the chord in
   `NILAI_STAGE_DIR` (or into that row with `NILAI_PART_FILES` off, or when the file system is
   nearly full), not into the result (they would cross the result backend three times and
   sit in the body's memory). A worker that does not see a part's file (another host, the
   directory not shared) computes that wave from its rows, as one process does
   (docs/DECISIONS.md 84);
2. **body** (`finish`): `compute_indices(parts=...)`, the ordinary run, in which each wave's
   output is combined from its parts (`WaveParts.output`) instead of being computed from rows:
   estimates of every region and ALL from the combined totals
   (`analysis.estimation.estimate_from_totals`, equal to `estimate_domains` up to rounding),
   reliability/items from the pooled block moments, CFA and the invariance moments from the
   pooled all-item moments, the panel stage's `PanelWave` from the parts' `RunPart` arrays,
   the wave checksum from the parts' region digests (`sel.wave_checksum`: the run's input
   fingerprint is the same as a single-process run's). The body reads a wave's rows only
   when no part has any (cleared or skipped as in one process) or when the wave has version
   bridges to score (docs/DECISIONS.md 76). While it works on one wave a thread loads the
   next wave's parts (`WaveParts`), and the parts' rows are deleted by a task queued after
   it (`drop_run_parts_task`), so the run's result does not wait for either.

Each part reads on one core (`sel.wave_data(one_core=True)`: no PostgreSQL parallel workers;
the Celery workers are the parallelism), and the plan sizes the shards from a sample of the
table's pages when it is large (docs/DECISIONS.md 81).

**Wave stages** (docs/DECISIONS.md 82): the body's per-wave work runs in the parallel phase.
Each wave has a `RunWave` row (the number of its parts, its previous wave, the parts' results,
its stage's state); a finished part adds its result there under a row lock (`finish_part`).
A wave's stage is runnable once its parts and its previous wave's (when that wave is in the
run) are in; the part that makes it so queues it as a task of its own (`run_stage`, behind the
parts still queued: the stages fill the workers' last gaps; queued ahead of the parts, they
made two-worker runs 0.6-1.4 s slower, docs/DECISIONS.md 85). The stage computes the wave's
output (`WaveParts.output` itself, with a state that only keeps notes and timings) and its
panel pair with the previous wave (`longitudinal.pair_tables`), stored as `encode_stage`
blobs (JSON and arrays, no pickles), and leaves the wave's weights on the row (compressed
with lz4 by PostgreSQL, migration 0015). The body waits for a queued stage, takes the blobs
(`_staged_output`) and replays their notes where it would have made them, so the run is the
same; on PostgreSQL it writes each wave's rows as the wave is in, in its one transaction,
while the last stages still run (`compute.compute_indices`, docs/DECISIONS.md 85). A stage
that fails leaves no blob and the body computes that wave from the parts as before; bridged
waves (read by the body) always are.

A stage marks its row ``running`` while it works. Its panel data (what the next wave's pair
needs of it) stays in the worker's memory (`_RECENT`) and is left as a file on the host
(`_share_panel`, in `_stage_dir`): the next wave's stage, which on two workers usually runs on
the other one, reads that file (waiting while the stage that writes it runs) instead of
rebuilding the wave from its parts; a stage on another host, or one that finds no file, still
rebuilds it (docs/DECISIONS.md 83).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_noop as _noop

from analysis import reliability, scoring, weighting
from analysis.estimation import DomainTotals, combine_totals, domain_totals, estimate_from_totals
from surveys import models as m
from surveys.language import both
from surveys.pg import raw_cursor
from surveys.selectors import responses as sel
from surveys.selectors.weights import pack as pack_weights
from surveys.services import compute, longitudinal

DEFAULT_SHARDS = 2
DEFAULT_MIN_RESPONSES = 500_000
#: `plan` counts responses in a sample of the table's pages from this many rows on ...
PLAN_SAMPLE_FROM = 1_000_000
#: ... about this many
PLAN_SAMPLE_ROWS = 100_000
#: `RunPart` rows older than this belong to a chord that never reached its body
STALE_PARTS = timedelta(days=1)

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# moments of complete cases (Chan, Golub & LeVeque 1979: pairwise combination)


@dataclass
class _Moments:
    n: int
    mean: np.ndarray
    m2: np.ndarray  # sum of centred cross-products

    @classmethod
    def of(cls, x: np.ndarray) -> _Moments:
        x = x[~np.isnan(x).any(axis=1)]
        p = x.shape[1]
        if x.shape[0] == 0:
            return cls(0, np.zeros(p), np.zeros((p, p)))
        mean = x.mean(axis=0)
        xc = x - mean
        return cls(int(x.shape[0]), mean, xc.T @ xc)

    def __add__(self, other: _Moments) -> _Moments:
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.n / n)
        m2 = self.m2 + other.m2 + np.outer(delta, delta) * (self.n * other.n / n)
        return _Moments(n, mean, m2)

    def dump(self) -> dict[str, Any]:
        return {"n": self.n, "mean": self.mean.tolist(), "m2": self.m2.tolist()}

    @classmethod
    def load(cls, d: dict[str, Any]) -> _Moments:
        return cls(int(d["n"]), np.asarray(d["mean"], float), np.asarray(d["m2"], float))


# ---------------------------------------------------------------------------------------------
# planning


def parallel_wanted(waves: list[m.Wave]) -> bool:
    """Whether `compute_indices_parallel` should be used for these waves (the setting)."""
    mode = getattr(settings, "NILAI_COMPUTE_PARALLEL", False)
    if mode is True or mode == "true":
        return True
    if mode != "auto" or settings.CELERY_TASK_ALWAYS_EAGER \
            or not getattr(settings, "CELERY_RESULT_BACKEND", None):
        return False
    counts, _ = _province_counts([w.pk for w in waves])
    total = sum(n for per in counts.values() for n in per.values())
    provinces = {p for per in counts.values() for p in per}
    minimum = getattr(settings, "NILAI_COMPUTE_PARALLEL_MIN", DEFAULT_MIN_RESPONSES)
    return len(provinces) > 1 and total >= minimum


def _province_of() -> dict[int, int]:
    """Region pk -> pk of its top ancestor (the province; a region without parent is its own)."""
    parent = dict(m.Region.objects.values_list("pk", "parent_id"))
    out: dict[int, int] = {}
    for pk in parent:
        top, seen = pk, 0
        while parent.get(top) is not None and seen < 16:
            top, seen = parent[top], seen + 1  # type: ignore[assignment]
        out[pk] = top
    return out


def _province_counts(wave_ids: list[int], *, sample: bool = False
                     ) -> tuple[dict[int, dict[int, int]], bool]:
    """(wave pk -> {province pk: submitted responses}, whether sampled). ``sample``
    (PostgreSQL): counted in a sample of the table's pages (`PLAN_SAMPLE_ROWS` rows or so)
    when the table holds at least `PLAN_SAMPLE_FROM` rows (the planner's estimate): counts in
    proportion, for balancing only (`plan`)."""
    province = _province_of()
    rows: Any = None
    sampled = False
    if sample and connection.vendor == "postgresql":
        table = m.Response._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
            found = cursor.fetchone()
            total = float(found[0]) if found else 0.0
            if total > 0 and total >= PLAN_SAMPLE_FROM:
                percent = min(100.0, 100.0 * PLAN_SAMPLE_ROWS / total)
                # REPEATABLE: the same pages for the same table, so the same plan
                cursor.execute(f"SELECT wave_id, region_id, count(*) FROM {table} "
                               f"TABLESAMPLE SYSTEM (%s) REPEATABLE (0) WHERE wave_id = "
                               f"ANY(%s::bigint[]) AND status = %s GROUP BY 1, 2",
                               [percent, wave_ids, str(m.ResponseStatus.SUBMITTED)])
                rows, sampled = cursor.fetchall(), True
    if rows is None:
        rows = (m.Response.objects.filter(wave_id__in=wave_ids,
                                          status=m.ResponseStatus.SUBMITTED)
                .values_list("wave_id", "region_id").annotate(n=Count("id")))
    out: dict[int, dict[int, int]] = {w: {} for w in wave_ids}
    for wave_id, region_id, n in rows:
        p = province[region_id]
        out[wave_id][p] = out[wave_id].get(p, 0) + n
    return out, sampled


def plan(wave_ids: list[int], shards: int) -> list[tuple[int, list[int]]]:
    """The header's tasks: (wave pk, region pks of whole provinces), provinces assigned
    greedily (largest first) to the lightest of ``shards`` bins per wave; empty bins dropped.

    On a large PostgreSQL table the sizes come from a sample of its pages
    (`_province_counts`: counting every row of 5M took 1.2 s of the run's serial part,
    docs/DECISIONS.md 81). A province the sample missed may still have responses, so then
    every province goes to some task: those without sampled rows join the wave's lightest
    kept bin (a wave without any sampled row is one task). Every response of a wave is read
    by exactly one of its tasks either way."""
    if shards < 1:
        raise ValueError(f"shards must be >= 1, got {shards}")
    province = _province_of()
    regions_of: dict[int, list[int]] = {}
    for region, top in province.items():
        regions_of.setdefault(top, []).append(region)
    counts, sampled = _province_counts(wave_ids, sample=True)
    tasks: list[tuple[int, list[int]]] = []
    for wave_id, per in counts.items():
        bins: list[tuple[int, list[int]]] = [(0, []) for _ in range(shards)]
        for p, n in sorted(per.items(), key=lambda kv: (-kv[1], kv[0])):
            k = min(range(shards), key=lambda i: bins[i][0])
            bins[k] = (bins[k][0] + n, bins[k][1] + sorted(regions_of[p]))
        kept = sorted((b for b in bins if b[0] > 0), key=lambda b: -b[0])
        regions = [r for _, r in kept]
        if sampled:
            unseen = sorted(r for p in regions_of if p not in per for r in regions_of[p])
            if unseen:
                regions = regions[:-1] + [(regions[-1] if regions else []) + unseen]
        tasks += [(wave_id, r) for r in regions]
    return tasks


# ---------------------------------------------------------------------------------------------
# header: one part


#: the design columns a part stores for the panel stage, as codes + labels
_PANEL_LABELS = ("region", "sex", "age_group", "stratum", "psu")
#: the label and number columns of its sufficient statistics (`DomainTotals`)
_TOTALS_LABELS = ("region", "stratum", "psu")
_TOTALS_NUMBERS = ("n", "sw", "sw2", "swy")


def _labelled(arrays: dict[str, np.ndarray], name: str, values: np.ndarray) -> None:
    codes, labels = pd.factorize(values)
    arrays[f"{name}_code"] = codes.astype("<i4")
    arrays[f"{name}_label"] = np.asarray(labels, dtype=str)


def _pack_arrays(data: sel.WaveData, scores: scoring.ScoreResult,
                 totals: DomainTotals) -> bytes:
    """What the body needs of a part beyond its small statistics, as bytes (no
    pickle, no Python object per row): the arrays `longitudinal.panel_wave` takes from a
    wave's rows (respondent ids, scores - dimensions then INDEX -, the design columns) and the
    part's `DomainTotals`; text columns as int32 codes plus their labels (`_arrays_bytes`)."""
    arrays: dict[str, np.ndarray] = {
        "respondent": data.respondent_id.astype("<i8"),
        "scores": np.column_stack([scores.dimensions, scores.index]).astype("<f8"),
        "codes": np.array(scores.all_codes, dtype=str),
        "totals_codes": np.array(totals.codes, dtype=str),
    }
    for name in _PANEL_LABELS:
        _labelled(arrays, name, getattr(data, name))
    for name in _TOTALS_LABELS:
        _labelled(arrays, f"totals_{name}", getattr(totals, name))
    for name in _TOTALS_NUMBERS:
        arrays[f"totals_{name}"] = getattr(totals, name).astype("<f8")
    return _arrays_bytes(arrays)


def _arrays_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """Named arrays as ``.npy`` records one after another, the names first (no pickle).
    Unlike an ``.npz`` no zip and no CRC over every byte on both sides (~0.1 s a part of
    500,000 responses, docs/DECISIONS.md 83)."""
    buffer = io.BytesIO()
    np.save(buffer, np.array(list(arrays), dtype=str), allow_pickle=False)
    for value in arrays.values():
        np.save(buffer, value, allow_pickle=False)
    return buffer.getvalue()


def _bytes_arrays(blob: bytes) -> dict[str, np.ndarray]:
    """`_arrays_bytes` back."""
    buffer = io.BytesIO(blob)
    names = np.load(buffer, allow_pickle=False).tolist()
    return {name: np.load(buffer, allow_pickle=False) for name in names}


def _unpack_arrays(blob: bytes) -> dict[str, Any]:
    """`_pack_arrays`' arrays (the panel's design columns as (codes, labels), the totals' as
    object arrays of shared label strings) and the part's `DomainTotals` under ``"totals"``."""
    def labels(z: Any, name: str) -> np.ndarray:
        return np.array(z[f"{name}_label"].tolist(), dtype=object)[z[f"{name}_code"]]

    z = _bytes_arrays(blob)
    out: dict[str, Any] = {"respondent": z["respondent"].astype(np.int64),
                           "scores": z["scores"], "codes": z["codes"]}
    for name in _PANEL_LABELS:  # (codes, labels): `_panel_wave` joins the parts'
        out[name] = (z[f"{name}_code"], z[f"{name}_label"].tolist())
    out["totals"] = DomainTotals(
        codes=tuple(str(c) for c in z["totals_codes"]),
        **{name: labels(z, f"totals_{name}") for name in _TOTALS_LABELS},
        **{name: z[f"totals_{name}"].astype(np.float64) for name in _TOTALS_NUMBERS})
    return out


def _panel_wave(wave: m.Wave, parts: list[dict[str, Any]], order: np.ndarray,
                weights: np.ndarray) -> longitudinal.PanelWave:
    """`longitudinal.panel_wave` of the whole wave from its parts' `_unpack_arrays` arrays;
    ``order`` puts the parts' rows, concatenated, in response id order (as a read would). The
    design columns are categoricals over the parts' labels: the panel stage factorizes them
    from their codes, not by hashing a million strings (issue 15)."""
    def column(name: str) -> np.ndarray:
        return np.concatenate([a[name] for a in parts])[order]

    def categorical(name: str) -> Any:
        labels = sorted({label for a in parts for label in a[name][1]})
        position = {label: k for k, label in enumerate(labels)}
        codes = np.concatenate([
            np.array([position[label] for label in a[name][1]], dtype=np.intp)[a[name][0]]
            for a in parts])[order]
        return pd.Categorical.from_codes(codes, categories=labels)
    return longitudinal.PanelWave(
        wave=wave, respondent=column("respondent"), region=categorical("region"),
        sex=categorical("sex"), age_group=categorical("age_group"),
        stratum=categorical("stratum"), psu=categorical("psu"),
        codes=tuple(str(c) for c in parts[0]["codes"]), scores=column("scores"),
        weights=weights)


def _store_part(token: str, wave_id: int, response_ids: np.ndarray, weights: np.ndarray,
                arrays: bytes) -> int:
    """One `RunPart` row (weights packed like `WaveWeights`, `_pack_arrays`); its pk."""
    ids, packed = pack_weights(response_ids, weights)
    n = int(response_ids.size)
    if connection.vendor == "postgresql":
        # bytea as binary parameters (Django would send hex text in the SQL)
        with raw_cursor() as cursor:
            cursor.execute(f"INSERT INTO {m.RunPart._meta.db_table} (token, wave_id, n, "
                           "response_ids, final_weights, arrays, created_at) "
                           "VALUES (%s, %s, %s, %b, %b, %b, now()) RETURNING id",
                           [uuid.UUID(token), wave_id, n, ids, packed, arrays])
            row = cursor.fetchone()
            assert row is not None
            return int(row[0])
    return m.RunPart.objects.create(token=token, wave_id=wave_id, n=n, response_ids=ids,
                                    final_weights=packed, arrays=arrays).pk


def _load_parts(parts: list[dict[str, Any]]) -> list[tuple[bytes, bytes, bytes]]:
    """(response ids, final weights, arrays) of the ``parts``' `RunPart` rows, in their
    order; the arrays from the part's file when it left one (`_part_file`:
    FileNotFoundError when this host does not see it). PostgreSQL: fetched in binary (the
    ORM's text format sends bytea as hex: 0.75 s against 0.27 s for the two parts of a 1M
    wave)."""
    pks = [int(p["row"]) for p in parts]
    if connection.vendor == "postgresql":
        with raw_cursor() as cursor:
            cursor.execute(f"SELECT id, response_ids, final_weights, arrays FROM "
                           f"{m.RunPart._meta.db_table} WHERE id = ANY(%s)", [pks], binary=True)
            rows = cursor.fetchall()
    else:
        rows = list(m.RunPart.objects.filter(pk__in=pks).values_list(
            "pk", "response_ids", "final_weights", "arrays"))
    by_pk = {int(pk): (bytes(i), bytes(w), bytes(a)) for pk, i, w, a in rows}
    out = []
    for part in parts:
        stored = by_pk.get(int(part["row"]))
        if stored is None:
            continue
        ids, weights, arrays = stored
        path = _part_file(part)
        out.append((ids, weights, arrays if path is None else path.read_bytes()))
    return out


def province_part(wave_id: int, region_ids: list[int], *, lonely_psu: str = "certainty",
                  trim: bool = False, token: str, queue: str | None = None) -> dict[str, Any]:
    """Score and rake the responses of ``region_ids`` in one wave; their sufficient statistics
    (JSON-ready: the chord's result backend carries them) and its regions' digests (the wave's
    checksum, `sel.wave_checksum`). The final weights and the panel stage's arrays are stored
    as a `RunPart` row of the chord's ``token``; the result names it. The part that makes a
    wave's stage runnable queues it (`finish_part`, on ``queue``)."""
    out = _province_part(wave_id, region_ids, lonely_psu=lonely_psu, trim=trim, token=token)
    try:
        ready = finish_part(token, out)
    except Exception:  # noqa: BLE001 - the stages save the body work; the part stands
        logger.warning("stages after the part of wave %s failed", wave_id, exc_info=True)
        ready = []
    for stage_wave in ready:
        _queue_stage(token, stage_wave, lonely_psu=lonely_psu, trim=trim, queue=queue)
    return out


def _province_part(wave_id: int, region_ids: list[int], *, lonely_psu: str,
                   trim: bool, token: str) -> dict[str, Any]:
    start = time.perf_counter()
    data = sel.wave_data(wave_id=wave_id, with_respondent=False, region_ids=region_ids,
                         one_core=True)
    # the part's identity within its wave (its regions): a task run again (a worker lost
    # with the task unacknowledged) replaces its first result on the `RunWave` row
    key = hashlib.sha1(",".join(map(str, sorted(region_ids))).encode()).hexdigest()[:16]
    out: dict[str, Any] = {"wave": wave_id, "part": key, "n": data.n, "skip": None,
                           "digests": {str(k): v for k, v in data.region_digests.items()}}
    if data.n == 0:
        return out
    spec = data.spec
    pop = sel.population_frame(year=data.year)
    if pop.empty:
        out["skip"] = (f"tidak ada marginal penduduk tahun {data.year} (load_population) / "
                       f"no population margins for {data.year} (load_population)")
        return out
    scores = scoring.score(data.answers, spec)
    try:
        raked = weighting.rake_wave(region=data.region, sex=data.sex, age_group=data.age_group,
                                    base_weight=data.base_weight, population=pop,
                                    year=data.year, trim=trim)
    except ValueError as exc:
        # Translators: id: pembobotan gagal
        out["skip"] = both(_noop("raking failed")) + f": {exc}"
        return out
    totals = domain_totals(scores, raked.weights, data.stratum, data.psu, data.region)
    keyed = scoring.reverse_key(data.answers, spec)
    blocks, begin = [], 0
    for dim in spec.dimensions:
        k = len(dim.item_codes)
        blocks.append(_Moments.of(keyed[:, begin:begin + k]).dump())
        begin += k
    # the totals (~10^5 numbers a part) travel with the arrays: as JSON they crossed the
    # result backend twice and the chord's hand-over once (bench/README.md, national)
    arrays = _pack_arrays(data, scores, totals)
    name = f"part-{wave_id}-{key}.npy"
    if _part_files() and _write_stage_file(token, name, arrays):
        # relative to `_stage_dir`, which may be mounted elsewhere on another host
        out["file"], arrays = f"{_chord_dir(token).name}/{name}", b""
    out.update({
        "blocks": blocks, "items": _Moments.of(keyed).dump(),
        "row": _store_part(token, wave_id, data.response_id, raked.weights, arrays),
        "iterations": raked.iterations, "seconds": round(time.perf_counter() - start, 4),
    })
    return out


def _part_files() -> bool:
    """``NILAI_PART_FILES``: whether parts leave their arrays as files in `_stage_dir`
    (docs/DECISIONS.md 84)."""
    return bool(getattr(settings, "NILAI_PART_FILES", True))


def _part_file(part: dict[str, Any]) -> Path | None:
    """Where a part's arrays file is on this host (None: they are in its `RunPart` row)."""
    name = part.get("file")
    if not name:
        return None
    relative = Path(name)
    if len(relative.parts) != 2 or ".." in relative.parts or relative.is_absolute():
        raise ValueError(f"not a part file: {name!r}")
    return _stage_dir() / relative


def _reachable(parts: list[dict[str, Any]]) -> bool:
    """Whether this host sees the arrays of all ``parts``: a part on another host left its
    file there, unless `NILAI_STAGE_DIR` is shared."""
    return all(path is None or path.is_file() for path in map(_part_file, parts))


# ---------------------------------------------------------------------------------------------
# body: combine


@dataclass
class _Gathered:
    """A wave's parts as the body uses them (`_gather`)."""

    count: int  # RunPart rows found
    ids: np.ndarray  # response ids, ascending
    weights: np.ndarray  # aligned
    order: np.ndarray  # the parts' rows, concatenated, -> id order
    panel_arrays: list[dict[str, Any]]
    totals: DomainTotals | None


def _gather(parts: list[dict[str, Any]], *, in_thread: bool = False) -> _Gathered:
    """Load and unpack a wave's `RunPart` rows. ``in_thread``: run by the body's read-ahead
    thread, which closes its own database connection."""
    try:
        stored = _load_parts(parts)
        ids = np.concatenate([np.frombuffer(i, "<i8") for i, _, _ in stored]) if stored \
            else np.empty(0, np.int64)
        weights = np.concatenate([np.frombuffer(w, "<f8") for _, w, _ in stored]) if stored \
            else np.empty(0)
        order = np.argsort(ids, kind="stable")
        panel_arrays = [_unpack_arrays(blob) for _, _, blob in stored]
        count = len(stored)
        del stored
        totals = combine_totals([a.pop("totals") for a in panel_arrays]) if panel_arrays \
            else None
        return _Gathered(count=count, ids=ids[order].astype(np.int64),
                         weights=weights[order].astype(np.float64), order=order,
                         panel_arrays=panel_arrays, totals=totals)
    finally:
        if in_thread:
            connections.close_all()  # this thread's own connection only


@dataclass
class WaveParts:
    """The header's results by wave; `output` stands in for `compute._compute_wave`.

    While the body works on one wave, a thread loads the next wave's parts (`_gather`: the
    database reads them and numpy unpacks them, both mostly outside the GIL, on the core the
    body leaves idle): the waves come in the order of the header, which is the order of
    `compute.select_waves`, the body's order. Inside a transaction (a test) the parts are
    loaded in line: another connection would not see the caller's rows."""

    by_wave: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    #: the chord's token: waves whose stage ran (`run_stage`) are taken from its blobs
    token: str | None = None
    _pool: ThreadPoolExecutor | None = None
    _ahead: dict[int, Future[_Gathered]] = field(default_factory=dict)

    @classmethod
    def of(cls, results: list[dict[str, Any]], token: str | None = None) -> WaveParts:
        parts = cls(token=token)
        for r in results:
            parts.by_wave.setdefault(int(r["wave"]), []).append(r)
        return parts

    def _with_rows(self, wave_id: int) -> list[dict[str, Any]]:
        return [p for p in self.by_wave.get(wave_id, []) if p["n"]]

    def _take(self, wave_id: int) -> _Gathered:
        """This wave's parts (read ahead or now), and the next wave's read started."""
        ahead = self._ahead.pop(wave_id, None)
        gathered = ahead.result() if ahead is not None else _gather(self._with_rows(wave_id))
        waves = list(self.by_wave)
        later = waves[waves.index(wave_id) + 1:] if wave_id in self.by_wave else []
        following = next((w for w in later if self._with_rows(w)
                          and not any(p["skip"] for p in self.by_wave[w])
                          and _reachable(self._with_rows(w))), None)
        if following is not None and following not in self._ahead \
                and not connection.in_atomic_block:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1,
                                                thread_name_prefix="nilai-parts")
            self._ahead[following] = self._pool.submit(_gather, self._with_rows(following),
                                                       in_thread=True)
        return gathered

    def close(self) -> None:
        """Wait for a read-ahead still running (its thread closes its connection)."""
        for ahead in self._ahead.values():
            ahead.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._ahead.clear()

    def needs_rows(self, wave: m.Wave) -> bool:
        """Whether the body must read the wave's rows: only when no part has any (the
        single-process path then clears or skips the wave); everything else comes from the
        parts (the version bridges, which score linked items, read rows of their own)."""
        return not any(p["n"] for p in self.by_wave.get(wave.pk, []))

    def output(self, state: Any, wave: m.Wave, data: sel.WaveData | None,
               population: pd.DataFrame, *, lonely_psu: str, trim: bool, tick: Any) -> Any:
        """The wave's `compute._WaveOutput` from its parts; ``data``: the wave's rows when the
        run read them (`needs_rows`, or the bridges), else None."""
        parts = [p for p in self.by_wave.get(wave.pk, []) if p["n"]]
        if not parts or (data is not None and data.n == 0):
            # nothing to combine: the single-process path clears or skips the wave as usual
            # (`needs_rows` had the wave read)
            assert data is not None
            return compute._compute_wave(state, wave, data, population, lonely_psu=lonely_psu,
                                         trim=trim, tick=tick)
        year, label = wave.year, f"{wave.instrument.code} {wave.year}"
        layout = data.layout if data is not None else sel.version_layout(wave.version)
        digests = {int(k): v for p in parts for k, v in p["digests"].items()}
        checksum = sel.wave_checksum(wave, layout, digests)
        if data is not None and data.checksum != checksum:
            # Translators: id: respons berubah selama perhitungan, jalankan lagi
            raise compute.WaveSkipped(both(_noop(
                "responses changed while the run computed, run it again")))
        blobs = _load_stage(self.token, wave.pk) if data is None and self.token else None
        if blobs is None and not _reachable(parts):
            # arrays left as files on another host (`NILAI_STAGE_DIR` not shared): the wave
            # from its rows, as one process computes it
            logger.warning("the parts of wave %s left their arrays on another host; the wave "
                           "is computed from its rows (share NILAI_STAGE_DIR between the "
                           "workers' hosts, or set NILAI_PART_FILES=false)", wave.pk)
            if data is None:
                data = sel.wave_data(wave_id=wave.pk, with_respondent=False)
            return compute._compute_wave(state, wave, data, population, lonely_psu=lonely_psu,
                                         trim=trim, tick=tick)
        state.digest.update(checksum.encode())
        if population[population["year"] == year].empty:
            raise compute.WaveSkipped(
                f"tidak ada marginal penduduk tahun {year} (load_population) / "
                f"no population margins for {year} (load_population)")
        skip = next((p["skip"] for p in parts if p["skip"]), None)
        if skip:
            raise compute.WaveSkipped(skip)
        if blobs is not None:
            return _staged_output(state, wave, blobs, tick)
        with state.timed(f"{year}/combine"):
            gathered = self._take(wave.pk)
            if gathered.count != len(parts) or gathered.totals is None:
                # Translators: id: bagian provinsi tidak ditemukan, jalankan lagi
                raise compute.WaveSkipped(both(_noop(
                    "the province parts' rows are missing, run it again")))
            ids, weights, order = gathered.ids, gathered.weights, gathered.order
            panel_arrays, totals = gathered.panel_arrays, gathered.totals
            del gathered
        spec = layout.spec
        for _ in range(2):  # score, weights (done by the parts)
            tick()
        with state.timed(f"{year}/estimates"):
            try:
                domains = estimate_from_totals(totals, lonely_psu=lonely_psu,  # type: ignore[arg-type]
                                               categories=True)
            except compute.DesignError as exc:
                # Translators: id: desain sampel
                raise compute.WaveSkipped(both(_noop("sample design")) + f": {exc}") from exc
            if domains.singleton_strata:
                # Translators: id: strata dengan satu PSU
                single = both(_noop("strata with a single PSU"))
                state.note("warning", f"{label}: {single} ({lonely_psu}): "
                                      f"{', '.join(domains.singleton_strata)}", wave=year)
            est = domains.table.copy()
            small = est.loc[est["suppressed"] & (est["dimension"] == scoring.INDEX_CODE),
                            "region"]
            if len(small):
                # Translators: id: estimasi ditekan (n < 30)
                text = both(_noop("suppressed estimates (n < 30)"))
                state.note("info", f"{label}: {text}: {', '.join(map(str, small))}", wave=year)
        tick()
        blocks = [sum((_Moments.load(p["blocks"][d]) for p in parts[1:]),
                      _Moments.load(parts[0]["blocks"][d])) for d in range(len(spec.dimensions))]
        items = sum((_Moments.load(p["items"]) for p in parts[1:]),
                    _Moments.load(parts[0]["items"]))

        def fit(d: int, omega: bool) -> reliability.ReliabilityResult:
            b = blocks[d]
            if b.n < 2:
                raise ValueError(f"need at least 2 complete cases, got {b.n}")
            return reliability.reliability_from_moments(
                b.n, b.mean, b.m2 / (b.n - 1), spec.dimensions[d].item_codes, omega=omega)
        with state.timed(f"{year}/reliability"):
            rel_rows, item_rows = compute._reliability(state, None, spec, year, label, fit=fit)
        tick()
        cov_n = items.m2 / items.n if items.n else np.full_like(items.m2, np.nan)
        with state.timed(f"{year}/cfa"):
            cfa_row = compute._cfa(state, None, spec, year, label, moments=(items.n, cov_n))
        moments = longitudinal.Moments(
            year, wave.version_id, tuple(spec.item_codes), items.n,
            items.mean if items.n else np.full(len(spec.item_codes), np.nan),
            cov_n)
        with state.timed(f"{year}/panel"):
            panel = _panel_wave(wave, panel_arrays, order, weights)
            del panel_arrays
        tick()
        return compute._WaveOutput(wave=wave, response_ids=ids, weights=weights,
                                   estimates=est, reliability=rel_rows, items=item_rows,
                                   cfa=cfa_row, panel=panel, moments=moments)


# ---------------------------------------------------------------------------------------------
# wave stages: the body's work on one wave, done by the task that finishes the wave's parts


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is pd.NA or value is pd.NaT:
        return None
    raise TypeError(f"{type(value).__name__} is not stored in a wave stage")


def _frame_doc(frame: pd.DataFrame) -> dict[str, Any]:
    """A DataFrame as JSON-ready columns with their dtypes (floats keep every bit: JSON
    numbers are written with repr; NaN as NaN)."""
    return {"columns": [str(c) for c in frame.columns],
            "dtypes": [str(t) for t in frame.dtypes],
            "data": [frame[c].tolist() for c in frame.columns]}


def _frame_of(doc: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(v, dtype=t if t != "object" else object)
                         for c, t, v in zip(doc["columns"], doc["dtypes"], doc["data"],
                                            strict=True)},
                        columns=doc["columns"])


def encode_stage(meta: dict[str, Any], arrays: dict[str, np.ndarray] | None = None) -> bytes:
    """A wave stage's result as one ``.npz`` (no pickles): ``meta`` as JSON bytes (DataFrames
    in it as `_frame_doc`), numeric arrays as they are."""
    buffer = io.BytesIO()
    text = json.dumps(meta, default=_json_default, allow_nan=True).encode()
    np.savez(buffer, meta=np.frombuffer(text, dtype=np.uint8), **(arrays or {}))
    return buffer.getvalue()


def decode_stage(blob: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        meta = json.loads(z["meta"].tobytes())
        return meta, {k: z[k] for k in z.files if k != "meta"}


def _update_run_wave(pk: int, **values: Any) -> None:
    """Set columns of a `RunWave` row; on PostgreSQL bytes go as binary parameters (see
    `_store_part`: Django would send them as hex text in the SQL)."""
    if connection.vendor == "postgresql":
        names = list(values)
        assignments = ", ".join(f"{name} = %b" if isinstance(values[name], bytes)
                                else f"{name} = %s" for name in names)
        with raw_cursor() as cursor:
            cursor.execute(f"UPDATE {m.RunWave._meta.db_table} SET {assignments} "
                           "WHERE id = %s", [*(values[name] for name in names), pk])
        return
    m.RunWave.objects.filter(pk=pk).update(**values)


#: the `RunWave` columns a stage or a part never reads back (16 MB of weights a staged wave of
#: a million: loading every row of the chord with them cost a stage 0.2 s)
_BLOBS = ("output", "pair", "response_ids", "final_weights")


def _usable(parts: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The parts with rows when every part could be stored (no skip), else None."""
    if any(p["skip"] for p in parts):
        return None
    return [p for p in parts if p["n"]]


#: the panel data of the waves this worker process staged last, by (token, wave id): the
#: next wave's pair takes its previous wave from here instead of loading its parts again
#: (0.5 s a wave of 1M; ~100 MB each)
_RECENT: dict[tuple[str, int], longitudinal.PanelWave] = {}
RECENT_PANELS = 2


def _remember(token: str, wave_id: int, panel: longitudinal.PanelWave | None) -> None:
    if panel is None or RECENT_PANELS < 1:
        return
    _RECENT[(token, wave_id)] = panel
    while len(_RECENT) > RECENT_PANELS:
        del _RECENT[next(iter(_RECENT))]


# the panel data a stage leaves for the next wave's pair on another worker of the host

#: how long a pair waits for the panel file of a previous wave whose stage is running
PANEL_WAIT = timedelta(seconds=30)
#: a stage file is not written when less than this would be left free on its file system
STAGE_FREE_MIN = 512 << 20


def _stage_dir() -> Path:
    """``NILAI_STAGE_DIR``; by default ``/dev/shm/nilai-stages`` where /dev/shm is a memory
    file system of 1 GiB or more (a container's 64 MB one is not), else
    ``<temp>/nilai-stages``. Its size, not its free space, decides: every worker of a host
    picks the same directory."""
    configured = getattr(settings, "NILAI_STAGE_DIR", None)
    if configured:
        return Path(configured)
    try:
        shm = os.statvfs("/dev/shm")
        if shm.f_blocks * shm.f_frsize >= 1 << 30 and os.access("/dev/shm", os.W_OK):
            return Path("/dev/shm/nilai-stages")
    except OSError:
        pass
    return Path(tempfile.gettempdir()) / "nilai-stages"


def _chord_dir(token: str) -> Path:
    """The chord's directory of stage files (`_stage_dir` / token): its parts' arrays and
    its stages' panel data."""
    return _stage_dir() / uuid.UUID(token).hex


def _share_panel(token: str, panel: longitudinal.PanelWave) -> None:
    """Leave ``panel`` as a file of ``.npy`` arrays (no pickle) for the pair of the next
    wave, which another worker of this host may compute (docs/DECISIONS.md 83): loading it costs a
    read of the file, rebuilding it from the wave's parts ~0.5 s a million responses. The
    design columns go as codes and categories. Written under a temporary name and renamed,
    so a reader sees the whole file or none; a failure (no space) only costs the reader the
    parts."""
    arrays: dict[str, np.ndarray] = {
        "respondent": np.asarray(panel.respondent, dtype="<i8"),
        "scores": np.asarray(panel.scores, dtype="<f8"),
        "codes": np.array(panel.codes, dtype=str)}
    if panel.weights is not None:
        arrays["weights"] = np.asarray(panel.weights, dtype="<f8")
    for name in _PANEL_LABELS:
        column = getattr(panel, name)
        if isinstance(column, pd.Categorical):
            codes, labels = column.codes, np.asarray(column.categories, dtype=object)
        else:
            codes, labels = pd.factorize(column)
            labels = np.asarray(labels, dtype=object)
        if not all(isinstance(label, str) for label in labels):
            return  # a label that is not text: the reader rebuilds from the parts
        arrays[f"{name}_code"] = np.asarray(codes, dtype="<i4")
        arrays[f"{name}_label"] = np.array(labels.tolist(), dtype=str)
    if not _write_stage_file(token, f"{panel.wave.pk}.npy", _arrays_bytes(arrays)):
        logger.warning("panel file of wave %s not written", panel.wave.pk)


def _write_stage_file(token: str, name: str, blob: bytes) -> bool:
    """Write ``blob`` as ``name`` in the chord's directory (`_chord_dir`), under a temporary
    name renamed when complete (a reader sees the whole file or none). The files hold
    respondents' scores: readable by this user only (directories 0700, files 0600). False
    when it was not written: no space, or less than `STAGE_FREE_MIN` would be left free
    (/dev/shm is memory, shared with PostgreSQL's parallel queries)."""
    folder = _chord_dir(token)
    temporary = folder / f".{name}.{os.getpid()}.tmp"
    try:
        folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        room = os.statvfs(folder)
        if room.f_bavail * room.f_frsize - len(blob) < STAGE_FREE_MIN:
            return False
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        os.replace(temporary, folder / name)
        return True
    except OSError:
        logger.warning("stage file %s not written", name, exc_info=True)
        temporary.unlink(missing_ok=True)
        return False


def _read_panel(path: Path, wave: m.Wave) -> longitudinal.PanelWave:
    z = _bytes_arrays(path.read_bytes())
    design = {name: pd.Categorical.from_codes(
        z[f"{name}_code"].astype(np.intp), categories=z[f"{name}_label"].tolist())
        for name in _PANEL_LABELS}
    return longitudinal.PanelWave(
        wave=wave, respondent=z["respondent"].astype(np.int64), codes=tuple(
            str(c) for c in z["codes"]), scores=z["scores"].astype(np.float64),
        weights=z["weights"].astype(np.float64) if "weights" in z else None, **design)


def _shared_panel(token: str, wave: m.Wave) -> longitudinal.PanelWave | None:
    """The panel data the stage of ``wave`` left on this host (`_share_panel`), waiting
    while that stage runs on another worker and has not written it yet; None when it is not
    there (a stage on another host, one that failed, one not started: the caller rebuilds
    it from the parts). The file is read once: its only reader is the next wave's pair."""
    path = _chord_dir(token) / f"{wave.pk}.npy"
    deadline = time.monotonic() + PANEL_WAIT.total_seconds()
    pause = 0.01
    while not path.exists():
        running = m.RunWave.objects.filter(token=token, wave_id=wave.pk,
                                           stage="running").exists()
        if path.exists():
            break
        if not running or time.monotonic() > deadline:
            return None
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
    try:
        panel = _read_panel(path, wave)
    except (OSError, ValueError, KeyError):
        logger.warning("panel file of wave %s unreadable", wave.pk, exc_info=True)
        return None
    path.unlink(missing_ok=True)
    return panel


def _drop_stage_files(token: str) -> None:
    """Delete the chord's stage files on this host, and any other chord's older than
    `STALE_PARTS` (a chord that died before its body)."""
    folder = _chord_dir(token)
    shutil.rmtree(folder, ignore_errors=True)
    cutoff = time.time() - STALE_PARTS.total_seconds()
    try:
        stale = [d for d in folder.parent.iterdir() if d.stat().st_mtime < cutoff]
    except OSError:
        return
    for d in stale:
        shutil.rmtree(d, ignore_errors=True)


def finish_part(token: str, out: dict[str, Any]) -> list[int]:
    """Record a finished part on its wave's `RunWave` row; the waves whose stage it makes
    runnable (marked ``queued``; the caller queues them). A wave's stage (`run_stage`: its
    output and its panel pair with its previous wave) is runnable once its parts and, when
    the previous wave is in the run, that wave's parts are all in: the part completing the
    wave, or completing the previous wave, makes it so. The chord's rows are locked while the
    count is taken, so exactly one part queues each stage; a part run again (its worker was
    lost before the ack) replaces its earlier result and queues nothing. Empty when the chord
    has no `RunWave` rows (a benchmark's parts)."""
    wave_id = int(out["wave"])
    with transaction.atomic():
        rows = {r.wave_id: r for r in m.RunWave.objects.select_for_update()
                .filter(token=token).defer(*_BLOBS).order_by("pk")}
        row = rows.get(wave_id)
        if row is None:
            return []
        before = len(row.parts)
        row.parts = [*(p for p in row.parts if p.get("part") != out.get("part")), out]
        row.save(update_fields=["parts"])
        if before >= row.expected or len(row.parts) < row.expected:
            # not complete yet, or completed before (this task ran again): whoever completed
            # the wave queued the stages; a stage lost on the way is the body's to do
            return []
        complete = {w for w, r in rows.items() if len(r.parts) >= r.expected}
        ready = [r for w, r in rows.items()
                 if (w == wave_id and (r.previous_id not in rows or r.previous_id in complete))
                 or (r.previous_id == wave_id and w in complete)]
        for r in ready:
            r.stage = "queued"
            r.save(update_fields=["stage"])
    return [r.wave_id for r in ready]


def _queue_stage(token: str, wave_id: int, *, lonely_psu: str, trim: bool,
                 queue: str | None) -> None:
    """`run_stage` as a task of its own on the chord's queue (behind the parts still queued:
    the stages fill the workers' last gaps), in line with eager Celery or no broker."""
    from surveys.tasks import compute_wave_stage_task

    kwargs = {"lonely_psu": lonely_psu, "trim": trim}
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        try:
            compute_wave_stage_task.apply_async((token, wave_id), kwargs,
                                                **({"queue": queue} if queue else {}))
            return
        except Exception:  # noqa: BLE001 - the broker went away: run it here
            logger.warning("queueing the stage of wave %s failed", wave_id, exc_info=True)
    try:
        run_stage(token, wave_id, **kwargs)
    except Exception:  # noqa: BLE001 - the part stands; the body computes the wave
        logger.warning("the stage of wave %s failed", wave_id, exc_info=True)
        m.RunWave.objects.filter(token=token, wave_id=wave_id).update(stage="done")


def run_stage(token: str, wave_id: int, *, lonely_psu: str, trim: bool) -> None:
    """A wave's stage: its output (`_wave_stage`) and its panel pair with its previous wave
    (`_pair_stage`), what the chord's body would compute for it. The row is marked ``done``
    whatever happens (the body waits for that, then takes the blobs or computes the wave)."""
    start = time.perf_counter()
    rows = {r.wave_id: r for r in m.RunWave.objects.filter(token=token).defer(*_BLOBS)}
    row = rows.get(wave_id)
    if row is None:  # the body gave up waiting and the chord's rows are gone
        return
    m.RunWave.objects.filter(pk=row.pk).update(stage="running")
    try:
        current = _wave_stage(row, lonely_psu=lonely_psu, trim=trim)
        _remember(token, wave_id, current)
        if current is not None and any(r.previous_id == wave_id for r in rows.values()):
            _share_panel(token, current)
        _pair_stage(row, rows, current, token=token, lonely_psu=lonely_psu,
                    seconds=time.perf_counter() - start)
    finally:
        m.RunWave.objects.filter(pk=row.pk).update(stage="done")


def _wave_stage(row: m.RunWave, *, lonely_psu: str,
                trim: bool) -> longitudinal.PanelWave | None:
    """``row``'s wave output, stored as its ``output`` blob; its panel data (for the pair
    this task may compute next), or None."""
    parts = _usable(row.parts)
    if not parts:  # a part skipped, or no responses: the body handles the wave as before
        return None
    wave = m.Wave.objects.select_related("instrument", "version").get(pk=row.wave_id)
    state = compute._RunState(run=None)  # type: ignore[arg-type] - notes and timings only
    wave_parts = WaveParts.of(row.parts)
    try:
        out = wave_parts.output(state, wave, None, sel.population_frame(year=wave.year),
                                lonely_psu=lonely_psu, trim=trim, tick=lambda *a: None)
    except compute.WaveSkipped as exc:
        _update_run_wave(row.pk, output=encode_stage({"skip": str(exc),
                                                      "notes": state.messages}))
        return None
    except Exception:  # noqa: BLE001 - the body computes the wave from the parts instead
        logger.warning("wave stage of wave %s failed", row.wave_id, exc_info=True)
        return None
    finally:
        wave_parts.close()
    mo = out.moments
    meta = {
        "skip": None, "notes": state.messages, "timings": state.timings,
        "estimates": _frame_doc(out.estimates), "reliability": out.reliability,
        "items": out.items, "cfa": out.cfa,
        "moments": None if mo is None else {"year": mo.year, "version_id": mo.version_id,
                                            "items": list(mo.items), "n": mo.n,
                                            "mean": mo.mean, "cov": mo.cov},
    }
    ids, packed = pack_weights(out.response_ids, out.weights)
    meta["n"] = int(out.response_ids.size)
    # weights and blob in one statement: a blob means the weights are in
    _update_run_wave(row.pk, n=meta["n"], response_ids=ids, final_weights=packed,
                     output=encode_stage(meta))
    return out.panel


def _panel_of(wave: m.Wave, parts: list[dict[str, Any]]) -> longitudinal.PanelWave | None:
    """The wave's panel data from its parts' `RunPart` rows (None: no responses)."""
    if not parts:
        return None
    gathered = _gather(parts)
    return _panel_wave(wave, gathered.panel_arrays, gathered.order, gathered.weights)


def _pair_stage(row: m.RunWave, rows: dict[int, m.RunWave],
                current: longitudinal.PanelWave | None, *, token: str,
                lonely_psu: str, seconds: float = 0.0) -> None:
    """The panel pair of ``row``'s wave with its previous wave (`longitudinal.pair_tables`,
    as `PanelStage.add` computes it), stored as its ``pair`` blob with the stage's seconds
    (``seconds``: those of the output before it). ``current``: the wave's panel data from
    its output; None when the output stage skipped the wave (its blob says so) or left no
    blob (the body computes the wave): the pair is then stored without tables, unused."""
    begin = time.perf_counter()
    start = begin - seconds
    state = compute._RunState(run=None)  # type: ignore[arg-type]
    source = "none"
    try:
        tables = None
        if row.previous_id is not None and current is not None:
            before = m.Wave.objects.select_related("instrument", "version").get(
                pk=row.previous_id)
            earlier = rows.get(before.pk)
            stored = _usable(earlier.parts) if earlier is not None else None
            # the previous wave from its parts when they were all stored, else read and
            # scored (a wave outside the run, or one a part skipped), as PanelStage does
            prev, source = _RECENT.get((token, before.pk)), "kept"
            if prev is None and stored is not None:
                prev, source = _shared_panel(token, before), "file"
            if prev is None:
                source = "parts" if stored is not None else "read"
                prev = _panel_of(before, stored) if stored is not None else \
                    longitudinal.load_panel_wave(before)
            tables = longitudinal.pair_tables(before, prev, current, note=state.note,
                                              lonely_psu=lonely_psu)
    except Exception:  # noqa: BLE001 - the body pairs the wave instead
        logger.warning("panel pair of wave %s failed", row.wave_id, exc_info=True)
        return
    meta = {"previous": row.previous_id, "notes": state.messages,
            "seconds": round(time.perf_counter() - start, 4),  # the whole stage
            "pair_seconds": round(time.perf_counter() - begin, 4), "source": source,
            "tables": None if tables is None else [_frame_doc(t) for t in tables]}
    _update_run_wave(row.pk, pair=encode_stage(meta))


#: how long the body waits for a queued stage before it computes the wave itself
STAGE_WAIT = timedelta(minutes=10)


def _wait_stage(token: str, wave_id: int) -> None:
    """Until the wave's stage is no longer ``queued`` (with two workers the body may start
    while the other worker runs the last stages; with one, they ran before it)."""
    deadline = time.monotonic() + STAGE_WAIT.total_seconds()
    pause = 0.01
    while m.RunWave.objects.filter(token=token, wave_id=wave_id,
                                   stage__in=("queued", "running")).exists():
        if time.monotonic() > deadline:
            logger.warning("the stage of wave %s did not finish; the body computes it", wave_id)
            return
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _load_stage(token: str, wave_id: int) -> tuple[int, bytes, bytes] | None:
    """The wave's `RunWave` pk and its ``output`` and ``pair`` blobs when both were stored
    (after waiting for its stage)."""
    _wait_stage(token, wave_id)
    if connection.vendor == "postgresql":
        with raw_cursor() as cursor:
            cursor.execute(f"SELECT id, output, pair FROM {m.RunWave._meta.db_table} WHERE "
                           "token = %s AND wave_id = %s AND output IS NOT NULL AND pair "
                           "IS NOT NULL", [uuid.UUID(token), wave_id], binary=True)
            found = cursor.fetchone()
    else:
        found = m.RunWave.objects.filter(
            token=token, wave_id=wave_id, output__isnull=False, pair__isnull=False
        ).values_list("pk", "output", "pair").first()
    return None if found is None else (int(found[0]), bytes(found[1]), bytes(found[2]))


def _staged_output(state: Any, wave: m.Wave, blobs: tuple[int, bytes, bytes],
                   tick: Any) -> Any:
    """`compute._WaveOutput` of a wave a stage computed: its notes and timings replayed
    into the body's ``state`` in the order the body would have made them; its weights stay
    on the `RunWave` row, which the write copies."""
    pk, output, pair_blob = blobs
    meta, _ = decode_stage(output)
    pair, _ = decode_stage(pair_blob)
    state.messages.extend(meta["notes"])
    if meta["skip"]:
        raise compute.WaveSkipped(meta["skip"])
    for key, seconds in meta["timings"].items():
        state.timings[f"stage:{key}"] = seconds
    for _ in range(5):  # score, weights, estimates, reliability, panel
        tick()
    mo = meta["moments"]
    moments = None if mo is None else longitudinal.Moments(
        mo["year"], mo["version_id"], tuple(mo["items"]), mo["n"],
        np.asarray(mo["mean"], dtype=np.float64), np.asarray(mo["cov"], dtype=np.float64))
    state.messages.extend(pair["notes"])
    state.timings[f"stage:{wave.year}/total"] = pair["seconds"]
    if "pair_seconds" in pair:  # where its previous wave's panel data came from
        state.timings[f"stage:{wave.year}/pair:{pair['source']}"] = pair["pair_seconds"]
    before = m.Wave.objects.get(pk=pair["previous"]) if pair["previous"] else None
    tables = None if pair["tables"] is None else tuple(_frame_of(t) for t in pair["tables"])
    return compute._WaveOutput(
        wave=wave, response_ids=np.empty(0, dtype=np.int64), weights=np.empty(0),
        stored_weights=(pk, int(meta["n"])), estimates=_frame_of(meta["estimates"]),
        reliability=meta["reliability"], items=meta["items"], cfa=meta["cfa"],
        moments=moments, pair=(before, tables))


def _drop_parts(token: str, queue: str | None = None) -> None:
    """Delete a chord's `RunPart` rows: queued as a task of its own when a broker is there,
    so that the run's result does not wait for it (0.4 s at 5M responses); in line with
    eager Celery. A deletion lost on the way is done by a later chord (`STALE_PARTS`)."""
    from surveys.tasks import drop_run_parts_task

    if settings.CELERY_TASK_ALWAYS_EAGER:
        drop_parts(token)
        return
    try:
        drop_run_parts_task.apply_async((token,), **({"queue": queue} if queue else {}))
    except Exception:  # noqa: BLE001 - the broker went away: delete here
        drop_parts(token)


def drop_parts(token: str) -> int:
    """Delete a chord's `RunPart` and `RunWave` rows (and its stage files on this host); the
    number of `RunPart` rows. On PostgreSQL, outside a transaction, the two tables are then
    vacuumed (`_vacuum_scratch`)."""
    _drop_stage_files(token)
    m.RunWave.objects.filter(token=token).delete()
    deleted, _ = m.RunPart.objects.filter(token=token).delete()
    _vacuum_scratch()
    return deleted


def _vacuum_scratch() -> None:
    """VACUUM the chord tables (`RunPart`, `RunWave`): a run leaves ~100 MB of dead weights
    and blobs in their TOAST tables, which the next run reuses only once they are vacuumed.
    Without it, on a server whose autovacuum is off or behind, they grew by ~0.5-1 GB a
    national run (13 GB after a day of benchmarks on this machine, whose PostgreSQL runs
    without autovacuum: docs/DECISIONS.md 84) and every run paid for extending the files.
    VACUUM takes no lock that blocks another chord's reads or writes."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM {m.RunPart._meta.db_table}, {m.RunWave._meta.db_table}")
    except DatabaseError:  # e.g. a role that does not own the tables: autovacuum's job then
        logger.warning("vacuuming the chord tables failed", exc_info=True)


def finish(results: list[dict[str, Any]], **params: Any) -> m.IndexRun:
    """The chord's body: the ordinary run over the parts (see the module); the parts'
    `RunPart` rows are deleted whatever the run's outcome."""
    shards = params.pop("shards", None)
    token = params.pop("token", None)
    parts = WaveParts.of(results, token)
    queue = params.pop("queue", None)
    try:
        run = compute.compute_indices(parts=parts, **params)
    finally:
        parts.close()
        if token:
            _drop_parts(token, queue)
    info = {"tasks": len(results), "shards": shards,
            "stage_seconds_total": round(sum(v for k, v in run.timings.items()
                                             if k.startswith("stage:") and k.endswith("/total")),
                                         4),
            "part_seconds": sorted((p.get("seconds", 0.0) for p in results), reverse=True)[:5],
            "part_seconds_total": round(sum(p.get("seconds", 0.0) for p in results), 4)}
    run.parameters["parallel"] = info
    m.IndexRun.objects.filter(pk=run.pk).update(parameters=run.parameters)
    return run


# ---------------------------------------------------------------------------------------------
# entry point


def compute_indices_parallel(*, instrument: str | None = None, years: list[int] | None = None,
                             wave_ids: list[int] | None = None, lonely_psu: str = "certainty",
                             trim: bool = False, shards: int | None = None,
                             queue: str | None = None) -> Any:
    """Queue the chord and return its AsyncResult (``.get()`` gives ``{"status", "run"}``;
    with eager Celery it has already run). Selection errors raise `compute.ComputeError`
    here, before anything is queued."""
    from celery import chord

    from surveys.tasks import compute_indices_finish_task, compute_province_part_task

    waves = compute.select_waves(instrument=instrument, years=years, wave_ids=wave_ids)
    shards = int(shards or getattr(settings, "NILAI_COMPUTE_SHARDS", DEFAULT_SHARDS))
    tasks = plan([w.pk for w in waves], shards)
    # weights a chord that died before its body left behind (a body deletes its own)
    m.RunPart.objects.filter(created_at__lt=timezone.now() - STALE_PARTS).delete()
    m.RunWave.objects.filter(created_at__lt=timezone.now() - STALE_PARTS).delete()
    token = uuid.uuid4().hex
    # one row per wave with parts: the parts count themselves there and queue its stage
    expected = Counter(wave_id for wave_id, _ in tasks)
    m.RunWave.objects.bulk_create([
        m.RunWave(token=token, wave=w, expected=expected[w.pk],
                  previous=longitudinal.previous_wave(w))
        for w in waves if expected[w.pk]])
    options = {"queue": queue} if queue else {}
    params = {"instrument": instrument, "years": years, "wave_ids": wave_ids,
              "lonely_psu": lonely_psu, "trim": trim, "shards": shards, "token": token,
              "queue": queue}
    header = [compute_province_part_task.s(wave_id, regions, lonely_psu=lonely_psu,
                                           trim=trim, token=token, queue=queue).set(**options)
              for wave_id, regions in tasks]
    body = compute_indices_finish_task.s(**params).set(**options)
    if not header:  # nothing to split (no responses): the body alone
        return body.apply_async(args=([],)) if not settings.CELERY_TASK_ALWAYS_EAGER \
            else body.apply(args=([],))
    return chord(header)(body)
