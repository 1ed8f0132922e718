"""Exports of the stored results (INTERFACE.md section 3) as CSV, XLSX, Parquet, SPSS and Stata.

Public contract (used by the `export` command and by `GET exports/{TABLE}.{fmt}`):

- ``EXPORT_TABLES``: table name -> `ExportTable` (columns, labels, ``kind``, ``region_column``).
- ``FORMATS = ("csv", "xlsx", "parquet", "sav", "dta")``.
- ``export_table(*, table, fmt, output, region_codes=None, lang="id") -> ExportSummary`` writes
  to a path or a binary file object.
- ``iter_export(*, table, fmt, region_codes=None, lang="id") -> Iterator[bytes]`` yields the
  file in chunks of many rows (a streaming HTTP response can relay it directly).

Tables by kind:

- aggregate: ``estimates``, ``trends``, ``changes``, ``achievements`` (region column
  ``region``, filtered by ``region_codes``; ``ALL`` is kept only if it is in the set) and
  ``reliability``, ``items``, ``cfa``, ``proxy_validation``, ``codebook`` (wave- or
  province-level: no region column, never filtered - they describe the instrument and the whole
  design, not a region);
- microdata (respondent level): ``weights`` and ``microdata``, filtered by the response's region.
  Who may download which kind is the caller's decision (the API gives offices aggregate tables
  only).

Publication rules applied in EVERY format: the aggregate tables are read through
`surveys.publish.rows` (their columns are the catalogue's, `surveys.publish.catalogue`), so
suppressed estimates (n < 30) have blank ``estimate, se, ci_low, ci_high, category`` and the
region scope is applied in the query. CSV: text cells that a spreadsheet would evaluate (first
character ``= + - @``, TAB or CR) get a leading ``'`` (`datafiles.csvsafe`); booleans
``true``/``false``, nulls empty, floats in shortest round-trip form (no rounding), integers
plain. SPSS/Stata: variable labels in ``lang`` (Indonesian by default) and value labels for
booleans (0 tidak / 1 ya), category, sex, age group and item answers;
those variables are stored as integer codes.

Reads: from the read replica when ``DATABASE_REPLICA_URL`` is set (`surveys.routers`: the source is
built under `replica_reads` and every chunk produced under it), else from the default database.

Streaming: rows are read with one query through a chunked (server-side on PostgreSQL) cursor and
written in batches of `CHUNK_ROWS`; CSV, Parquet and XLSX memory stays flat as rows grow. XLSX,
SPSS and Stata are written to a temporary file that is then streamed in `FILE_CHUNK` pieces.
.sav/.dta are written batch by batch by our own streaming writers (`datafiles.statfiles`:
bytecode-compressed UTF-8 SPSS system file; Stata format 118), so their memory stays flat as
rows grow too; the row count is patched into the header at the end. Their strings have a fixed
width: every string `Column` of a streamed table declares ``width`` (bytes of UTF-8, from the
model's max_length or the pseudonym/mask length) and a longer value fails the export with a
`ValueError` naming the column; only the codebook's free-text columns (labels, values) leave it
open - that small table is read first and sized from its longest value (at most 32767 bytes in
.sav, as very long strings above 255 bytes; 2045 in .dta).

Microdata (`microdata` table): one row per submitted response of the index instrument that has
a final weight from the last run: pseudonymous ``respondent`` (keyed BLAKE2b of the
respondent's row id with a fresh random salt per export, so ids link the panel within one file
and never across files or to the stored key), wave, region, sex, age group, final weight,
dimension scores and the index, masked design codes (stratum, psu) and the raw item answers
(no free text exists). k-anonymity (k = 5 by default) on wave x region x sex x age_group: per
wave x region, when any cell has fewer than k records, age groups are merged into 17-34 /
35-54 / 55+; if a cell still breaks k, sex is blanked as well; records of cells that still
have fewer than k are suppressed (the planner is `datafiles.kanon`). In a generalised wave x
region the final weight is replaced by the mean weight of its generalised cell (raked weights
otherwise reveal the original sex x age cell); the summary lists every step taken.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _noop

from analysis import scoring
from datafiles import kanon
from datafiles.answers import answers_matrix
from datafiles.csvsafe import neutralise_batch
from datafiles.formats import CONTENT_TYPES as CONTENT_TYPES  # re-exported
from datafiles.formats import FORMATS
from datafiles.kanon import WIDE_AGE as WIDE_AGE  # re-exported
from surveys import models as m
from surveys import publish
from surveys.language import both, in_language, normalise, words
from surveys.publish.catalogue import INSTRUMENT, NAME_COLUMNS, WAVE, Column, Kind
from surveys.routers import replica_iter, replica_reads
from surveys.selectors.responses import (
    fetch_chunks,
    pg_bytes_agg,
    pg_text_agg,
    send_numbers,
    split_units,
    version_layout,
)
from surveys.selectors.weights import PackedWeights, wave_weights, waves_weights
from surveys.services.compute import index_instrument

CHUNK_ROWS = 50_000
FILE_CHUNK = 1 << 20
DEFAULT_K = 5
XLSX_MAX_ROWS = 1_048_576

#: Names of coded values, as msgids: a file names them in its language (`in_language`).
YES_NO = {
    # Translators: id: tidak
    0: _noop("no"),
    # Translators: id: ya
    1: _noop("yes"),
}
#: The stored category values (Indonesian, scoring.CATEGORY_BANDS) ...
CATEGORIES = [band[2] for band in scoring.CATEGORY_BANDS]
#: ... and their msgids, in the same order (the catalogue's Indonesian of each is the stored
#: value; tests/test_exports.py checks it).
CATEGORY_MSGIDS = [
    # Translators: id: sangat rendah
    _noop("very low"),
    # Translators: id: rendah
    _noop("low"),
    # Translators: id: sedang
    _noop("medium"),
    # Translators: id: tinggi
    _noop("high"),
    # Translators: id: sangat tinggi
    _noop("very high"),
]
_SEX_NAMES = {
    # Translators: id: Laki-laki
    "L": _noop("Male"),
    # Translators: id: Perempuan
    "P": _noop("Female"),
}
#: (code, msgid of its name)
SEXES = list(_SEX_NAMES.items())
#: Age groups, then the wider bands used by k-anonymity generalisation.
AGE_GROUPS = ["17-24", "25-34", "35-44", "45-54", "55+", "17-34", "35-54"]


class ExportError(ValueError):
    """Unknown table or format, or nothing to export (no run yet)."""


@dataclass
class ExportSummary:
    """What an export wrote: rows, columns and, for microdata, the disclosure control applied."""

    table: str
    fmt: str
    rows: int = 0
    columns: list[str] = field(default_factory=list)
    bytes: int = 0
    messages: list[str] = field(default_factory=list)
    suppressed_records: int = 0


@dataclass
class _Source:
    columns: list[Column]
    batches: Iterator[dict[str, Any]]
    value_labels: dict[str, dict[int, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class ExportTable:
    name: str
    kind: Literal["aggregate", "microdata"]
    region_column: str | None
    #: what the table holds: a gettext msgid, shown in both languages (`description`)
    description_msgid: str
    build: Callable[..., _Source]

    @property
    def description(self) -> str:
        """``"<Indonesian> / <English>"`` (the file label of .sav/.dta, the API schema)."""
        return both(self.description_msgid)


# ---------------------------------------------------------------------------------------------
# sources: one query each, chunked, columnar batches


def _read_connection() -> Any:
    """The connection the export reads from (the replica inside `replica_reads`)."""
    return connections[router.db_for_read(m.Response)]


def _c(name: str, kind: Kind, label_id: str, label_en: str, width: int | None = None) -> Column:
    return Column(name, kind, label_id, label_en, width)


def _query_batches(qs: QuerySet, fields: list[str], names: list[str]) -> Iterator[dict[str, Any]]:
    try:
        qs.values_list(*fields).query.sql_with_params()
    except EmptyResultSet:  # a scope of no region (`region__in=[]`): nothing to read
        return
    for rows in fetch_chunks(qs, fields, chunk=CHUNK_ROWS):
        cols = list(zip(*rows, strict=True))
        yield dict(zip(names, cols, strict=True))


def _region_filter(qs: QuerySet, lookup: str, region_codes: set[str] | None) -> QuerySet:
    if region_codes is None:
        return qs
    return qs.filter(**{f"{lookup}__in": sorted(region_codes)})


def _published(table: str) -> Callable[..., _Source]:
    """The source of one published result table: its catalogue columns, read through
    `publish.rows` (region scope and suppression applied in the query), in chunks."""
    spec = publish.TABLES[table]
    columns = spec.exported_columns

    def build(*, region_codes: set[str] | None, instrument: str | None = None,
              **_: Any) -> _Source:
        # `instrument` cuts the tables that carry one (the dashboard's download buttons)
        given = {"instrument": instrument} if instrument and "instrument" in spec.filters else {}
        qs = publish.rows(spec, regions=region_codes, exported_only=True, **given)
        batches = _query_batches(qs, [c.lookup for c in columns], [c.name for c in columns])
        return _Source(columns=columns, batches=batches)
    return build


def _source_weights(*, region_codes: set[str] | None, **_: Any) -> _Source:
    """Final weights: per wave (instrument, year), the wave's responses in id order that carry
    a weight of the last run, read in chunks and matched against the wave's packed weights
    (memory: the packed arrays of one wave, 16 bytes per response, plus one chunk)."""
    waves = list(m.Wave.objects.filter(final_weights__isnull=False)
                 .select_related("instrument").order_by("instrument__code", "year"))

    def batches() -> Iterator[dict[str, Any]]:
        for wave in waves:
            packed = wave_weights(wave.pk)
            if packed is None:  # recomputed away since the wave list was read
                continue
            if region_codes is not None and not region_codes:
                return  # a scope of no region
            qs = _region_filter(m.Response.objects.filter(wave_id=wave.pk).order_by("id"),
                                "region__code", region_codes)
            for rows in fetch_chunks(qs, ["id", "respondent__panel_key"], chunk=CHUNK_ROWS):
                ids, keys = zip(*rows, strict=True)
                found, weight = packed.lookup(np.fromiter(ids, dtype=np.int64,
                                                          count=len(ids)))
                if not found.any():
                    continue
                idx = np.flatnonzero(found)
                yield {"respondent": np.asarray(keys, dtype=object)[idx],
                       "wave": np.full(idx.size, wave.year, dtype=np.int64),
                       "final_weight": weight[idx],
                       "instrument": np.full(idx.size, wave.instrument.code, dtype=object)}

    return _Source(columns=WEIGHT_COLUMNS, batches=batches())


WEIGHT_COLUMNS = [
    _c("respondent", "str", "Kunci panel responden", "Respondent panel key", width=64), WAVE,
    _c("final_weight", "float", "Bobot akhir (raking)", "Final (raked) weight"), INSTRUMENT,
]
# ---------------------------------------------------------------------------------------------
# microdata and codebook


@dataclass(frozen=True)
class _MicroContext:
    instrument: m.Instrument
    waves: list[m.Wave]
    layouts: dict[int, Any]
    item_codes: list[str]
    dimensions: list[str]
    scale_labels: dict[str, dict[int, str]]


def _micro_context(instrument: str | None) -> _MicroContext:
    code = instrument or index_instrument()
    if code is None:
        # Translators: id: belum ada gelombang
        raise ExportError(both(_noop("there are no waves yet")))
    inst = m.Instrument.objects.filter(code=code).first()
    if inst is None:
        # Translators: id: instrumen {instrument} tidak ada
        raise ExportError(both(_noop("unknown instrument {instrument}"), instrument=code))
    waves = list(m.Wave.objects.filter(instrument=inst).select_related("version")
                 .order_by("year"))
    layouts = {v: version_layout(v) for v in sorted({w.version_id for w in waves})}
    if not layouts:
        latest = inst.versions.order_by("-version").first()
        if latest is None:
            # Translators: id: belum punya versi
            raise ExportError(f"instrumen {code} " + both(_noop("has no version")))
        layouts = {latest.pk: version_layout(latest)}
    ordered = sorted(layouts.values(), key=lambda lay: -lay.version_id)
    item_codes: list[str] = []
    dimensions: list[str] = []
    for lay in ordered:
        item_codes += [c for c in lay.spec.item_codes if c not in item_codes]
        dimensions += [d for d in lay.spec.dimension_codes if d not in dimensions]
    newest = ordered[0]
    lo = newest.spec.scale_min
    labels = {
        "id": {lo + i: t for i, t in enumerate(newest.labels_id)},
        "en": {lo + i: t for i, t in enumerate(newest.labels_en or newest.labels_id)},
    }
    return _MicroContext(instrument=inst, waves=waves, layouts=layouts, item_codes=item_codes,
                         dimensions=dimensions, scale_labels=labels)


def _micro_columns(ctx: _MicroContext) -> list[Column]:
    items = {i.code: i for lay in ctx.layouts.values() for i in lay.items}
    names = {d: n for lay in ctx.layouts.values() for d, n in lay.dimension_names.items()}
    cols = [
        _c("respondent", "str", "ID responden pseudonim (berlaku dalam berkas ini saja)",
           "Pseudonymous respondent id (valid within this file only)", width=16),  # _mask 16
        WAVE,
        _c("region", "str", "Kode wilayah BPS", "BPS region code", width=20),
        _c("sex", "sex", "Jenis kelamin (kosong = disamarkan)", "Sex (blank = masked)"),
        _c("age_group", "age_group", "Kelompok umur (dapat digabung)",
           "Age group (may be merged)"),
        _c("final_weight", "float", "Bobot akhir (raking)", "Final (raked) weight"),
    ]
    for d in ctx.dimensions:
        nid, nen = names.get(d, (d, d))
        cols.append(_c(d, "float", f"Skor dimensi {d} {nid} (0-100)",
                       f"Dimension score {d} {nen} (0-100)"))
    cols.append(_c("INDEX", "float", "Indeks keseluruhan (0-100)", "Overall index (0-100)"))
    cols.append(_c("stratum", "str", "Kode strata (disamarkan)", "Stratum code (masked)",
                   width=10))  # _mask(..., 10)
    cols.append(_c("psu", "str", "Kode PSU/klaster (disamarkan)", "PSU/cluster code (masked)",
                   width=12))  # _mask(..., 12)
    for code in ctx.item_codes:
        it = items[code]
        cols.append(_c(code, "item", it.text_id, it.text_en))
    return cols


def _weighted_cells(waves: list[m.Wave], region_ids: list[int] | None,
                    packed: dict[int, PackedWeights]) -> list[tuple[int, str, str, str, int,
                                                                    float]]:
    """(year, region, sex, age group, n, sum of final weights) of the submitted responses
    that carry a weight, per wave x region x sex x age group: one GROUP BY query that lists
    each cell's response ids, matched against the packed weights."""
    wave_ids = [w.pk for w in waves if w.pk in packed]
    if not wave_ids:
        return []
    connection = _read_connection()
    vendor = connection.vendor
    ids_sql = "string_agg(r.id::text, ',')" if vendor == "postgresql" else \
        "group_concat(r.id, ',')"
    params: list[Any] = [*wave_ids, str(m.ResponseStatus.SUBMITTED)]
    region_sql = ""
    if region_ids is not None:
        if not region_ids:
            return []
        region_sql = f" AND r.region_id IN ({', '.join(['%s'] * len(region_ids))})"
        params += region_ids
    sql = (f"SELECT r.wave_id, r.region_id, r.sex, r.age_group, {ids_sql} "
           f"FROM {m.Response._meta.db_table} r "
           f"WHERE r.wave_id IN ({', '.join(['%s'] * len(wave_ids))}) AND r.status = %s"
           f"{region_sql} GROUP BY r.wave_id, r.region_id, r.sex, r.age_group")
    year = {w.pk: w.year for w in waves}
    region_code = dict(m.Region.objects.values_list("id", "code"))
    cells = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for wave_id, region_id, sex, age, id_text in cursor.fetchall():
            found, weight = packed[wave_id].lookup(np.array(id_text.split(","),
                                                            dtype=np.int64))
            n = int(found.sum())
            if n:
                cells.append((year[wave_id], region_code[region_id], sex, age, n,
                              float(weight[found].sum())))
    return cells


def _k_plan(cells: list[tuple[int, str, str, str, int, float]], k: int,
            summary: ExportSummary) -> kanon.KPlan:
    """`datafiles.kanon.plan`, its steps added to the export summary."""
    plan = kanon.plan(cells, k)
    summary.messages.extend(plan.messages)
    summary.suppressed_records += plan.suppressed_records
    return plan


def _mask(salt: bytes, values: np.ndarray, length: int) -> np.ndarray:
    """Keyed BLAKE2b (a MAC) of each value, ``length`` hex digits; computed once per distinct
    value."""
    values = np.asarray(values)
    if values.dtype.kind not in "iu":
        values = values.astype(str)
    uniq, inverse = np.unique(values, return_inverse=True)
    keyed = hashlib.blake2b(key=salt[:64], digest_size=length // 2 + 1)
    masked = []
    for text in map(str, uniq.tolist()):
        h = keyed.copy()  # the key block is hashed once, not per value
        h.update(text.encode())
        masked.append(h.hexdigest()[:length])
    return np.array(masked, dtype=object)[inverse]


def _micro_pieces_pg(wave_ids: list[int], region_ids: list[int] | None) -> Iterator[tuple]:
    """PostgreSQL: the microdata rows aggregated server-side, `CHUNK_ROWS` responses of one
    wave per row (integers as their concatenated binary send form, text unit-separated,
    answers as one bytea; fetched in binary), read one aggregated row at a time through a
    server-side cursor: memory stays flat and no Python object is made per number (the
    per-row fetch cost ~20 s per million rows, text for every column ~3 s more than this)."""
    r_table = m.Response._meta.db_table
    if not wave_ids:
        return
    region_sql = ""
    params: list[Any] = [wave_ids, str(m.ResponseStatus.SUBMITTED)]
    if region_ids is not None:
        region_sql = " AND r.region_id = ANY(%s)"
        params.append(region_ids)

    agg = pg_text_agg

    def ints(column: str) -> str:
        return pg_bytes_agg(f"int8send({column})")

    sql = (f"SELECT r.wave_id, {ints('r.respondent_id')}, {ints('r.region_id')}, "
           f"{agg('r.sex')}, {agg('r.age_group')}, {ints('r.id')}, "
           f"{agg('r.stratum')}, {agg('r.psu')}, {pg_bytes_agg('r.answers')} "
           f"FROM {r_table} r "
           f"WHERE r.wave_id = ANY(%s) AND r.status = %s{region_sql} "
           f"GROUP BY r.wave_id, r.id / {CHUNK_ROWS} ORDER BY r.wave_id, r.id / {CHUNK_ROWS}")

    def split(text: str) -> np.ndarray:
        return split_units([text])

    def numbers(blob: bytes) -> np.ndarray:
        return send_numbers([blob])

    with _read_connection().chunked_cursor() as cursor:
        cursor.cursor.execute(sql, params, binary=True)  # the psycopg server-side cursor
        while rows := cursor.fetchmany(1):
            wid, rid, region_id, sex, age, response_id, stratum, psu, blob = rows[0]
            yield (int(wid), numbers(rid), numbers(region_id), split(sex), split(age),
                   numbers(response_id), split(stratum), split(psu), bytes(blob))


def _source_microdata(*, region_codes: set[str] | None, summary: ExportSummary,
                      instrument: str | None = None, k: int = DEFAULT_K,
                      salt: bytes | None = None, lang: str = "id", **_: Any) -> _Source:
    if k < 1:
        # Translators: id: k harus >= 1
        raise ExportError(both(_noop("k must be >= 1")))
    ctx = _micro_context(instrument)
    columns = _micro_columns(ctx)
    salt = salt if salt is not None else secrets.token_bytes(32)
    weights_of = waves_weights(w.pk for w in ctx.waves)
    waves = [w for w in ctx.waves if w.pk in weights_of]  # computed at least once
    wave_ids = [w.pk for w in waves]
    region_ids = None if region_codes is None else list(
        m.Region.objects.filter(code__in=sorted(region_codes)).values_list("id", flat=True))
    qs = m.Response.objects.filter(wave_id__in=wave_ids, status=m.ResponseStatus.SUBMITTED)
    if region_ids is not None:
        qs = qs.filter(region_id__in=region_ids)
    plan = _k_plan(_weighted_cells(waves, region_ids, weights_of), k, summary)
    fields = ["respondent_id", "wave_id", "region_id", "sex", "age_group", "id", "stratum",
              "psu", "answers"]
    wave_year = {w.pk: w.year for w in ctx.waves}
    wave_version = {w.pk: w.version_id for w in ctx.waves}
    region_code = dict(m.Region.objects.values_list("id", "code"))
    item_pos = {c: j for j, c in enumerate(ctx.item_codes)}

    def region_code_of(ids: np.ndarray) -> list[str]:
        return [region_code[r] for r in ids.tolist()]
    dim_pos = {d: j for j, d in enumerate(ctx.dimensions)}

    def pieces() -> Iterator[tuple]:
        """(wave id, then per response: respondent id, region id, sex, age group, response
        id, stratum, psu, and the packed answers joined) - one wave per piece."""
        if not wave_ids or region_ids == []:
            return  # no weighted wave, or a scope of no region: nothing to read
        if _read_connection().vendor == "postgresql":
            yield from _micro_pieces_pg(wave_ids, region_ids)
            return
        for rows in fetch_chunks(qs.order_by("wave_id", "id"), fields, chunk=CHUNK_ROWS):
            cols = list(zip(*rows, strict=True))
            wave_col = np.fromiter(cols[1], dtype=np.int64, count=len(rows))
            for wid in np.unique(wave_col):
                sel = np.flatnonzero(wave_col == wid)
                lo, hi = int(sel[0]), int(sel[-1]) + 1  # rows are ordered by wave
                yield (int(wid), np.asarray(cols[0][lo:hi], dtype=np.int64),
                       np.asarray(cols[2][lo:hi], dtype=np.int64),
                       np.array(cols[3][lo:hi], dtype=object),
                       np.array(cols[4][lo:hi], dtype=object),
                       np.asarray(cols[5][lo:hi], dtype=np.float64),
                       np.array(cols[6][lo:hi], dtype=object),
                       np.array(cols[7][lo:hi], dtype=object), b"".join(cols[8][lo:hi]))

    def batches() -> Iterator[dict[str, Any]]:
        for wid, rid, region_id, sex, age, response_id, stratum, psu, blob in pieces():
            n = rid.size
            year = np.full(n, wave_year[wid], dtype=np.int64)
            uniq_region, region_at = np.unique(region_id, return_inverse=True)
            region = np.array([region_code[r] for r in uniq_region.tolist()],
                              dtype=object)[region_at]
            # only responses weighted by the last run (one submitted since has no weight)
            keep, weight = weights_of[wid].lookup(response_id)
            answers = np.full((n, len(ctx.item_codes)), np.nan)
            dims = np.full((n, len(ctx.dimensions)), np.nan)
            lay = ctx.layouts[wave_version[wid]]
            raw = answers_matrix(np.frombuffer(blob, dtype=np.uint8), n,
                                 lay.n_bytes)[:, lay.byte_of_column]
            sc = scoring.score(raw, lay.spec)
            answers[:, [item_pos[c] for c in lay.spec.item_codes]] = raw
            dims[:, [dim_pos[d] for d in lay.spec.dimension_codes]] = sc.dimensions
            index = sc.index
            # disclosure control, decided per wave x region by _k_plan
            level = np.array([plan.level.get((wave_year[wid], code), 0)
                              for code in region_code_of(uniq_region)],
                             dtype=np.int8)[region_at] if n else np.zeros(0, dtype=np.int8)
            general = np.flatnonzero((level > 0) & keep)
            if general.size:
                age[general] = [WIDE_AGE[a] for a in age[general]]
                sex[level == 2] = ""
                cells = list(zip(year[general].tolist(), region[general], sex[general],
                                 age[general], strict=True))
                weight[general] = [plan.mean_weight[c] for c in cells]
                if plan.suppress:
                    keep[general] = [c not in plan.suppress for c in cells]
            idx = np.flatnonzero(keep)
            batch: dict[str, Any] = {
                "respondent": _mask(salt, rid[idx], 16),
                "wave": year[idx], "region": region[idx],
                "sex": [s or None for s in sex[idx]], "age_group": age[idx],
                "final_weight": weight[idx],
            }
            for d, j in dim_pos.items():
                batch[d] = dims[idx, j]
            batch["INDEX"] = index[idx]
            batch["stratum"] = _mask(salt, stratum[idx], 10)
            batch["psu"] = _mask(salt, psu[idx], 12)
            for c, j in item_pos.items():
                batch[c] = answers[idx, j]
            yield batch

    if not plan.level:
        # Translators: id: tidak ada rekaman berbobot (jalankan compute_indices)
        summary.messages.append(both(_noop("no weighted records (run compute_indices)")))
    # Translators: id: k-anonimitas k = {k} pada gelombang x wilayah x jenis kelamin x kelompok
    # umur
    summary.messages.insert(0, both(_noop("k-anonymity k = {k} on wave x region x sex x age "
                                          "group"), k=k))
    labels = {c.name: ctx.scale_labels.get(lang, ctx.scale_labels["id"])
              for c in columns if c.kind == "item"}
    return _Source(columns=columns, batches=batches(), value_labels=labels)


def _source_codebook(*, lang: str = "id", instrument: str | None = None, **_: Any) -> _Source:
    ctx = _micro_context(instrument)
    items = {i.code: i for lay in ctx.layouts.values() for i in lay.items}
    rows: list[tuple] = []
    for col in _micro_columns(ctx):
        values_ = ""
        dimension = facet = None
        reverse = None
        if col.kind == "item":
            it = items[col.name]
            values_ = "; ".join(f"{v}={t}" for v, t in ctx.scale_labels["id"].items())
            dimension, facet, reverse = it.dimension, it.facet, it.reverse
        elif col.kind == "sex":
            with in_language("id"):
                names = "; ".join(f"{c}={gettext(name)}" for c, name in SEXES)
            values_ = names + "; kosong/blank=disamarkan"
        elif col.kind == "age_group":
            values_ = ", ".join(AGE_GROUPS)
        if col.kind in _CODED:
            # CSV/XLSX/Parquet carry the values above; .sav/.dta store these integer codes
            values_ += "; SPSS/Stata: " + ", ".join(
                f"{code}={text}" for code, text in _stat_codes(col).items())
        elif col.kind == "float" and col.name != "final_weight":
            values_ = "0-100"
        rows.append((col.name, col.label_id, col.label_en, values_ or None, dimension, facet,
                     reverse, col.kind))
    names = ["variable", "label_id", "label_en", "values", "dimension", "facet", "reverse",
             "type"]
    columns = [
        _c("variable", "str", "Nama variabel", "Variable name", width=40),  # item code max
        _c("label_id", "str", "Label (Indonesia)", "Label (Indonesian)"),
        _c("label_en", "str", "Label (Inggris)", "Label (English)"),
        _c("values", "str", "Nilai", "Values"),
        _c("dimension", "str", "Dimensi butir", "Item dimension", width=20),
        _c("facet", "str", "Aspek butir", "Item facet", width=16),
        _c("reverse", "bool", "Butir dibalik", "Reverse-keyed item"),
        _c("type", "str", "Jenis variabel", "Variable type", width=16),
    ]
    batch = dict(zip(names, (list(c) for c in zip(*rows, strict=True)), strict=True))
    return _Source(columns=columns, batches=iter([batch]))


EXPORT_TABLES: dict[str, ExportTable] = {
    t.name: t for t in [
        ExportTable("estimates", "aggregate", "region",
                    # Translators: id: Estimasi per gelombang x wilayah x dimensi
                    _noop("estimates"), _published("estimates")),
        ExportTable("weights", "microdata", None,
                    # Translators: id: Bobot akhir per responden
                    _noop("final weights"), _source_weights),
        ExportTable("reliability", "aggregate", None,
                    # Translators: id: Reliabilitas
                    _noop("reliability"), _published("reliability")),
        ExportTable("items", "aggregate", None,
                    # Translators: id: Statistik butir
                    _noop("item statistics"), _published("items")),
        ExportTable("cfa", "aggregate", None,
                    # Translators: id: CFA per gelombang
                    _noop("CFA per wave"), _published("cfa")),
        ExportTable("trends", "aggregate", "region",
                    # Translators: id: Tren
                    _noop("trends"), _published("trends")),
        ExportTable("changes", "aggregate", "region",
                    # Translators: id: Perubahan antar-tahun
                    _noop("year-over-year changes"), _published("changes")),
        ExportTable("proxy_validation", "aggregate", None,
                    # Translators: id: Validasi indikator proksi
                    _noop("proxy validation"), _published("proxy_validation")),
        ExportTable("achievements", "aggregate", "region",
                    # Translators: id: Capaian target
                    _noop("achievements"), _published("achievements")),
        ExportTable("programme_effects", "aggregate", None,
                    # Translators: id: Evaluasi program (DiD)
                    _noop("programme effects"), _published("programme_effects")),
        ExportTable("programme_types", "aggregate", None,
                    # Translators: id: Efek gabungan per jenis program
                    _noop("pooled by programme type"), _published("programme_types")),
        ExportTable("sae", "aggregate", "region",
                    # Translators: id: Estimasi area kecil (model)
                    _noop("small-area estimates (model-based)"), _published("sae")),
        ExportTable("invariance", "aggregate", None,
                    # Translators: id: Invariansi pengukuran antar-gelombang
                    _noop("measurement invariance across waves"), _published("invariance")),
        ExportTable("retention", "aggregate", "region",
                    # Translators: id: Retensi dan atrisi panel
                    _noop("panel retention and attrition"), _published("retention")),
        ExportTable("panel_changes", "aggregate", "region",
                    # Translators: id: Perubahan dalam-individu (panel)
                    _noop("within-person change (panel)"), _published("panel_changes")),
        ExportTable("bridges", "aggregate", "region",
                    # Translators: id: Estimasi jembatan antar-versi instrumen (butir tertaut)
                    _noop("bridge estimates across instrument versions (linked items)"),
                    _published("bridges")),
        ExportTable("microdata", "microdata", "region",
                    # Translators: id: Mikrodata anonim
                    _noop("anonymised microdata"), _source_microdata),
        ExportTable("codebook", "aggregate", None,
                    # Translators: id: Buku kode mikrodata
                    _noop("microdata codebook"), _source_codebook),
    ]
}


# ---------------------------------------------------------------------------------------------
# writers


_ARROW = {"int": pa.int64(), "float": pa.float64(), "str": pa.string(), "bool": pa.bool_(),
          "category": pa.string(), "sex": pa.string(), "age_group": pa.string(),
          "item": pa.int16()}


def _schema(columns: list[Column]) -> pa.Schema:
    return pa.schema([pa.field(c.name, _ARROW[c.kind]) for c in columns])


def _to_arrow(batch: dict[str, Any], columns: list[Column]) -> pa.RecordBatch:
    arrays = []
    for c in columns:
        values = batch[c.name]
        if isinstance(values, np.ndarray) and values.dtype.kind == "f":
            arr = pa.array(values, from_pandas=True)
            arrays.append(arr.cast(_ARROW[c.kind]) if c.kind != "float" else arr)
        else:
            arrays.append(pa.array(list(values), type=_ARROW[c.kind]))
    return pa.RecordBatch.from_arrays(arrays, schema=_schema(columns))


class _Drain(io.RawIOBase):
    """A write-only sink that hands back what was written since the last `take`."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self._parts.append(data)
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def _count(summary: ExportSummary, batch: pa.RecordBatch) -> pa.RecordBatch:
    summary.rows += batch.num_rows
    return batch


def _write_csv(src: _Source, summary: ExportSummary) -> Iterator[bytes]:
    drain = _Drain()
    schema = _schema(src.columns)
    with pacsv.CSVWriter(drain, schema,
                         write_options=pacsv.WriteOptions(quoting_style="needed")) as writer:
        for batch in src.batches:
            arrow = _count(summary, _to_arrow(batch, src.columns))
            writer.write_batch(neutralise_batch(arrow))  # no live formulas in a spreadsheet
            if chunk := drain.take():
                yield chunk
    if chunk := drain.take():
        yield chunk


def _write_parquet(src: _Source, summary: ExportSummary) -> Iterator[bytes]:
    drain = _Drain()
    labels = {c.name: c.label_id for c in src.columns}
    schema = _schema(src.columns).with_metadata({"nilai:labels_id": repr(labels)})
    with pq.ParquetWriter(drain, schema, compression="zstd") as writer:
        for batch in src.batches:
            writer.write_batch(_count(summary, _to_arrow(batch, src.columns)))
            if chunk := drain.take():
                yield chunk
    if chunk := drain.take():
        yield chunk


def _stream_file(path: Path) -> Iterator[bytes]:
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(FILE_CHUNK):
                yield chunk
    finally:
        path.unlink(missing_ok=True)


def _temp_path(suffix: str) -> Path:
    fd, name = tempfile.mkstemp(prefix="nilai-export-", suffix=suffix)
    os.close(fd)
    return Path(name)


#: Texts of a person's spreadsheet (msgids, `words` in the file's language): the indicator
#: polarities, the name of ``ALL`` without one province, the index's "sila" name.
_SHEET_WORDS = {
    # Translators: id: positif (semakin besar semakin baik)
    "positive": _noop("positive (higher is better)"),
    # Translators: id: negatif (semakin kecil semakin baik)
    "negative": _noop("negative (lower is better)"),
    # Translators: id: Seluruh wilayah survei
    "whole_area": _noop("Whole survey area"),
    # Translators: id: Nilai indeks (keseluruhan)
    "index": _noop("Index value (overall)"),
}


class _Names:
    """The names a person's spreadsheet shows beside the codes of a result table
    (`catalogue.NAME_COLUMNS`), read once per export: regions (name, Kemendagri code; ``ALL``
    is the province when there is one), sila names, indicators (name, unit, polarity) and
    programmes. A code without a stored name leaves its names blank."""

    def __init__(self, columns: list[Column], lang: str) -> None:
        en = normalise(lang) == "en"  # the stored names: name_en when there is one
        text = words(_SHEET_WORDS, lang)

        def pick(name_id: str, name_en: str) -> str:
            return name_en if en and name_en else name_id

        present = {c.name for c in columns} & set(NAME_COLUMNS)
        self.maps: dict[str, dict[str, tuple[str | None, ...]]] = {}
        if "region" in present:
            regions = {code: (name, kemendagri or None) for code, name, kemendagri in
                       m.Region.objects.values_list("code", "name", "code_kemendagri")}
            provinces = list(m.Region.objects.filter(level=m.RegionLevel.PROVINCE)
                             .values_list("name", flat=True)[:2])
            whole = provinces[0] if len(provinces) == 1 else text["whole_area"]
            regions.setdefault(m.ALL_REGIONS, (whole, None))
            self.maps["region"] = regions
        if "dimension" in present:
            dims: dict[str, tuple[str | None, ...]] = {"INDEX": (text["index"],)}
            for code, name_id, name_en in m.Dimension.objects.order_by(
                    "version__instrument__code", "version__version").values_list(
                    "code", "name_id", "name_en"):
                dims[code] = (f"{code} {pick(name_id, name_en)}",)
            self.maps["dimension"] = dims
        if "indicator" in present:
            self.maps["indicator"] = {
                code: (pick(name_id, name_en), unit or None,
                       text[polarity] if polarity in ("positive", "negative") else None)
                for code, name_id, name_en, unit, polarity in m.Indicator.objects.values_list(
                    "code", "name_id", "name_en", "unit", "polarity")}
        if "programme" in present:
            self.maps["programme"] = {
                code: (pick(name_id, name_en),) for code, name_id, name_en in
                m.Programme.objects.values_list("code", "name_id", "name_en")}

    def columns(self, columns: list[Column]) -> list[Column]:
        """``columns`` with the name columns after each code column that has names."""
        out: list[Column] = []
        for c in columns:
            out.append(c)
            if c.name in self.maps:
                out.extend(NAME_COLUMNS[c.name])
        return out

    def arrays(self, column: str, codes: Any) -> list[pa.Array]:
        names = self.maps[column]
        width = len(NAME_COLUMNS[column])
        looked = [names.get(code, (None,) * width) if code is not None else (None,) * width
                  for code in codes]
        return [pa.array([row[k] for row in looked], pa.string()) for k in range(width)]


def _display(columns: list[Column], header: list[str]) -> dict[str, Any]:
    """Number formats (the catalogue's) and widths of a sheet's columns."""
    return {"formats": [c.number_format for c in columns],
            "widths": [min(max(len(str(h)) + 2, 10), 40) for h in header]}


def _people_sheet(wb: Any, batches: list[pa.RecordBatch], src: _Source, lang: str) -> list[Column]:
    """A result table as a person reads it: header labels in ``lang``, names beside the codes,
    categories in ``lang``, numbers shown rounded by the catalogue's display format (each
    cell keeps its full value). The sheet Excel opens on."""
    names = _Names(src.columns, lang)
    shown = names.columns(src.columns)
    header = [c.label(lang) for c in shown]
    with in_language(lang):
        # Translators: id: Tabel (untuk dibaca)
        title = gettext("Table (to read)")
        # the stored (Indonesian) categories named in `lang`
        category = {c: gettext(msgid) for c, msgid in zip(CATEGORIES, CATEGORY_MSGIDS,
                                                          strict=True)}
    named = any(k != v for k, v in category.items())
    sheet = wb.add_sheet(title, header=header, active=True, **_display(shown, header))
    for batch in batches:
        arrays: list[pa.Array] = []
        for c in src.columns:
            values = batch.column(c.name)
            if c.kind == "category" and named:
                values = pa.array([category.get(v, v) if v else v
                                   for v in values.to_pylist()], pa.string())
            arrays.append(values)
            if c.name in names.maps:
                arrays.extend(names.arrays(c.name, batch.column(c.name).to_pylist()))
        sheet.write_batch(arrays)
    return shown



def _write_xlsx(src: _Source, summary: ExportSummary, table: str, lang: str) -> Iterator[bytes]:
    """Sheet ``table``: the export table of INTERFACE section 3 (header row of column names,
    its columns in order; continuation sheets ``table_2``... past `XLSX_MAX_ROWS` rows
    including the header), then ``variabel`` (variable, label_id, label_en). A published
    result table also gets, between them, the sheet for people (`_people_sheet`), which
    Excel opens on, and its first sheet shows numbers in the catalogue's display formats.
    Written by the streaming `datafiles.xlsx` writer: nulls, NaN and empty strings are blank
    cells, +-inf (not storable in XLSX) blank too."""
    from datafiles.xlsx import XlsxWriter

    path = _temp_path(".xlsx")
    people = table in publish.TABLES  # aggregate: small enough to be written twice
    try:
        with open(path, "wb") as fh, XlsxWriter(fh, max_rows=XLSX_MAX_ROWS,
                                                 nonfinite="empty") as wb:
            header = [c.name for c in src.columns]
            sheet = wb.add_sheet(table, header=header,
                                 **(_display(src.columns, header) if people else {}))
            kept: list[pa.RecordBatch] = []
            for batch in src.batches:
                arrow = _count(summary, _to_arrow(batch, src.columns))
                sheet.write_batch(arrow)
                if people:
                    kept.append(arrow)
            shown = _people_sheet(wb, kept, src, lang) if people else src.columns
            labels = wb.add_sheet("variabel", header=["variable", "label_id", "label_en"])
            labels.write_rows([c.name, c.label_id, c.label_en] for c in shown)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    yield from _stream_file(path)


def _stat_name(name: str) -> str:
    clean = re.sub(r"\W", "_", name)
    return ("v_" + clean if not re.match(r"[A-Za-z_]", clean) else clean)[:32]


def _value_labels(col: Column, lang: str, extra: dict[str, dict[int, str]]) -> dict | None:
    with in_language(lang):
        if col.kind == "bool":
            return {code: gettext(msgid) for code, msgid in YES_NO.items()}
        if col.kind == "category":
            return {i + 1: gettext(msgid) for i, msgid in enumerate(CATEGORY_MSGIDS)}
        if col.kind == "sex":
            return {i + 1: gettext(msgid) for i, (_, msgid) in enumerate(SEXES)}
    if col.kind == "age_group":
        return {i + 1: a for i, a in enumerate(AGE_GROUPS)}
    if col.kind == "item":
        return extra.get(col.name) or None
    return None


def _stat_codes(col: Column) -> dict[int, str]:
    """The integer codes of a coded column in .sav/.dta, with the value each stands for (the
    codebook lists them: its CSV says L/P while the .sav stores 1/2)."""
    if col.kind == "bool":
        return {0: "false (tidak)", 1: "true (ya)"}
    if col.kind == "category":
        return {i + 1: c for i, c in enumerate(CATEGORIES)}
    if col.kind == "sex":
        with in_language("id"):
            return {i + 1: f"{code} {gettext(name)}" for i, (code, name) in enumerate(SEXES)}
    return {i + 1: a for i, a in enumerate(AGE_GROUPS)}


def _codes(col: Column, values: list) -> list:
    if col.kind == "bool":
        return [None if v is None else int(v) for v in values]
    if col.kind == "category":
        pos = {c: i + 1 for i, c in enumerate(CATEGORIES)}
        return [pos.get(v) if v else None for v in values]
    if col.kind == "sex":
        pos = {s[0]: i + 1 for i, s in enumerate(SEXES)}
        return [pos.get(v) if v else None for v in values]
    if col.kind == "age_group":
        pos = {a: i + 1 for i, a in enumerate(AGE_GROUPS)}
        return [pos.get(v) if v else None for v in values]
    return values


#: .sav/.dta storage per column kind: labelled kinds are integer codes (see `_codes`).
_STAT_TYPES = {"int": "int", "item": "int", "bool": "int", "category": "int", "sex": "int",
               "age_group": "int", "float": "float", "str": "str"}
_CODED = ("bool", "category", "sex", "age_group")


def _write_stat(src: _Source, summary: ExportSummary, fmt: str, lang: str) -> Iterator[bytes]:
    """Stream the batches through `statfiles.SavWriter` / `DtaWriter` into a temporary file
    (memory flat in the row count), then stream the file. Strings use the column's declared
    width; a column without one (the codebook's free text) is sized from the data, which reads
    that small table first."""
    from datafiles import statfiles

    batches: Iterator[dict[str, Any]] | list[dict[str, Any]] = src.batches
    widths = {c.name: c.width for c in src.columns if c.kind == "str"}
    if any(w is None for w in widths.values()):
        batches = list(batches)
        for name in [n for n, w in widths.items() if w is None]:
            widths[name] = max(1, max((len(v.encode("utf-8")) for b in batches
                                       for v in b[name] if v), default=1))
    variables = [
        statfiles.Variable(_stat_name(c.name), c.label(lang), _STAT_TYPES[c.kind],
                           width=widths.get(c.name),
                           value_labels=_value_labels(c, lang, src.value_labels))
        for c in src.columns]
    spec = EXPORT_TABLES.get(summary.table)
    writer_cls = statfiles.SavWriter if fmt == "sav" else statfiles.DtaWriter
    path = _temp_path(f".{fmt}")
    try:
        with open(path, "w+b") as fh:
            writer = writer_cls(fh, variables,
                                file_label=spec.description if spec else summary.table)
            for batch in batches:
                columns = [_codes(c, list(batch[c.name])) if c.kind in _CODED else batch[c.name]
                           for c in src.columns]
                writer.write_batch(columns)
                summary.rows += len(columns[0]) if columns else 0
            writer.close()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    yield from _stream_file(path)


# ---------------------------------------------------------------------------------------------
# public API


def _check(table: str, fmt: str) -> ExportTable:
    if table not in EXPORT_TABLES:
        # Translators: id: tabel tidak dikenal
        unknown = both(_noop("unknown table"))
        # Translators: id: pilih
        choose = both(_noop("choose one of"))
        raise ExportError(f"{unknown} {table!r}; {choose} {', '.join(EXPORT_TABLES)}")
    if fmt not in FORMATS:
        # Translators: id: format tidak dikenal
        unknown = both(_noop("unknown format"))
        # Translators: id: pilih
        choose = both(_noop("choose one of"))
        raise ExportError(f"{unknown} {fmt!r}; {choose} {', '.join(FORMATS)}")
    return EXPORT_TABLES[table]


def _chunks(fmt: str, table: str, src: _Source, lang: str,
            summary: ExportSummary) -> Iterator[bytes]:
    if fmt == "csv":
        chunks = _write_csv(src, summary)
    elif fmt == "parquet":
        chunks = _write_parquet(src, summary)
    elif fmt == "xlsx":
        chunks = _write_xlsx(src, summary, table, lang)
    else:
        chunks = _write_stat(src, summary, fmt, lang)
    for chunk in chunks:
        summary.bytes += len(chunk)
        yield chunk


def iter_export(*, table: str, fmt: str, region_codes: set[str] | None = None,
                lang: str = "id", summary: ExportSummary | None = None,
                **options: Any) -> Iterator[bytes]:
    """Yield the export file in chunks. ``options``: for microdata/codebook ``instrument``,
    ``k`` and ``salt`` (bytes; default a fresh random salt). Bad arguments (unknown table or
    format, no instrument for microdata) raise `ExportError` at the call, before any byte is
    produced; the rows are read lazily, as the chunks are consumed."""
    spec = _check(table, fmt)
    summary = summary if summary is not None else ExportSummary(table=table, fmt=fmt)
    with replica_reads():  # the read replica when configured (surveys.routers)
        src = spec.build(region_codes=region_codes, summary=summary, lang=lang, **options)
    summary.columns = [c.name for c in src.columns]
    return replica_iter(_chunks(fmt, table, src, lang, summary))


def export_table(*, table: str, fmt: str, output: str | Path | BinaryIO,
                 region_codes: set[str] | None = None, lang: str = "id",
                 **options: Any) -> ExportSummary:
    """Write one table to ``output`` (a path or a binary file object); see the module doc."""
    summary = ExportSummary(table=table, fmt=fmt)
    chunks = iter_export(table=table, fmt=fmt, region_codes=region_codes, lang=lang,
                         summary=summary, **options)
    if isinstance(output, str | Path):
        path = Path(output)
        tmp = path.with_name(f".{path.name}.part")
        try:
            with open(tmp, "wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
    else:
        for chunk in chunks:
            output.write(chunk)
    return summary


def format_for(path: str | Path, fmt: str | None = None) -> str:
    """The format given, or the one named by the file's extension."""
    if fmt:
        return fmt.lower()
    ext = Path(path).suffix.lower().lstrip(".")
    if ext not in FORMATS:
        # Translators: id: format {path} tidak dapat ditebak dari ekstensinya; gunakan --format
        # ({formats})
        text = both(_noop("cannot tell the format of {path} from the extension; use --format "
                          "({formats})"), path=path, formats=", ".join(FORMATS))
        raise ExportError(text)
    return ext
