"""The seam between the database and `analysis/`: a wave's responses as numpy arrays.

`wave_data(wave_id=...)` reads every *submitted* response of one wave with ONE query: on
PostgreSQL and SQLite aggregated by the database into a few rows of concatenated columns
(`_read_pg`, `_read_sqlite`), elsewhere (or where SQLite lacks what that needs) a values_list
fetched in chunks (`_read_cursor`); all paths give the same arrays bit for bit. It decodes the
packed answers and returns a `WaveData` whose columns follow the contract below. The other
selectors return the population margins, indicator definitions, indicator values and targets as
DataFrames in the column layout of INTERFACE.md section 1, which is what the `analysis`
functions take.

Column contract of `WaveData` (n = submitted responses of the wave, ordered by response id):

===============  ==============  ==========================================================
attribute        dtype           meaning
===============  ==============  ==========================================================
response_id      int64 (n,)      Response.pk
respondent       object (n,)     the stored pseudonymous panel key (never exported as is)
region           object (n,)     BPS region code (str)
sex              object (n,)     ``L`` / ``P``
age_group        object (n,)     ``17-24`` ... ``55+``
stratum, psu     object (n,)     design labels (str)
base_weight      float64 (n,)    design weight (> 0)
answers          float64 (n, p)  raw answers 1..K, NaN = missing; columns in
                                 ``spec.item_codes`` order (dimension by dimension, items by
                                 position), which is the order `analysis.scoring` expects
spec             InstrumentSpec  scale, min_valid_share, dimensions (codes, weights, items,
                                 reverse flags) of the wave's instrument version
checksum         str             SHA-256 of everything read (design columns, weights, answer
                                 bytes, the version's checksum): the input fingerprint of a run;
                                 built from a digest per region (`wave_checksum`), so province
                                 tasks' digests combine to it
===============  ==============  ==========================================================
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from django.db import connections, router, transaction
from django.db.models import QuerySet

from analysis.scoring import DimensionSpec, InstrumentSpec
from datafiles.answers import answers_matrix
from surveys.models import (
    INDEX_CODE,
    Indicator,
    IndicatorLevel,
    IndicatorValue,
    InstrumentVersion,
    Item,
    PopulationMargin,
    Region,
    Respondent,
    Response,
    ResponseStatus,
    Target,
    Wave,
)
from surveys.pg import raw_cursor

#: Rows fetched per round trip; large enough to amortise, small enough to stay flat.
FETCH_CHUNK = 20_000


@dataclass(frozen=True)
class ItemInfo:
    """One item of an instrument version with what the codebook and analysis need."""

    code: str
    dimension: str
    position: int
    reverse: bool
    facet: str
    text_id: str
    text_en: str


@dataclass(frozen=True)
class VersionLayout:
    """How an instrument version maps onto `analysis`: the spec plus the byte order.

    ``byte_of_column[j]`` is the byte offset (Item.position) of ``spec.item_codes[j]`` in the
    packed answers, so ``answers_matrix(packed.reshape(n, n_bytes)[:, byte_of_column], n,
    len(byte_of_column))`` (from `datafiles.answers`) is in spec order.
    """

    version_id: int
    spec: InstrumentSpec
    byte_of_column: np.ndarray
    n_bytes: int
    items: tuple[ItemInfo, ...]
    dimension_names: dict[str, tuple[str, str]]
    labels_id: tuple[str, ...]
    labels_en: tuple[str, ...]
    checksum: str


def version_layout(version: InstrumentVersion | int) -> VersionLayout:
    """Spec and byte layout of one instrument version (2 queries)."""
    if not isinstance(version, InstrumentVersion):
        version = InstrumentVersion.objects.get(pk=version)
    items = list(
        Item.objects.filter(version=version)
        .select_related("dimension")
        .order_by("dimension__position", "position")
    )
    n_bytes = Item.objects.filter(version=version).count()
    dims: dict[str, list[Item]] = {}
    weights: dict[str, float] = {}
    names: dict[str, tuple[str, str]] = {}
    for item in items:
        dims.setdefault(item.dimension.code, []).append(item)
        weights[item.dimension.code] = item.dimension.weight
        names[item.dimension.code] = (item.dimension.name_id, item.dimension.name_en)
    spec = InstrumentSpec(
        scale_min=version.scale_min,
        scale_max=version.scale_max,
        min_valid_share=version.min_valid_share,
        dimensions=tuple(
            DimensionSpec(
                code=code,
                weight=weights[code],
                item_codes=tuple(i.code for i in its),
                reverse=tuple(bool(i.reverse) for i in its),
            )
            for code, its in dims.items()
        ),
    )
    return VersionLayout(
        version_id=version.pk,
        spec=spec,
        byte_of_column=np.array([i.position for i in items], dtype=np.intp),
        n_bytes=n_bytes,
        items=tuple(
            ItemInfo(code=i.code, dimension=i.dimension.code, position=i.position,
                     reverse=i.reverse, facet=i.facet, text_id=i.text_id, text_en=i.text_en)
            for i in items
        ),
        dimension_names=names,
        labels_id=tuple(version.labels_id or ()),
        labels_en=tuple(version.labels_en or ()),
        checksum=version.checksum,
    )


def fetch_chunks(queryset: QuerySet, fields: Sequence[str], *,
                 chunk: int = FETCH_CHUNK) -> Iterator[list[tuple]]:
    """Run ``queryset.values_list(*fields)`` as ONE query and yield lists of row tuples.

    Uses the connection's chunked cursor (server-side on PostgreSQL), so memory stays bounded by
    ``chunk`` rows however large the result.
    """
    qs = queryset.values_list(*fields)
    db = qs.db or router.db_for_read(queryset.model)
    sql, params = qs.query.sql_with_params()
    connection = connections[db]
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(chunk):
            yield rows


@dataclass(frozen=True)
class WaveData:
    """A wave's submitted responses as arrays; see the module docstring for the contract."""

    wave_id: int
    year: int
    instrument: str
    layout: VersionLayout
    response_id: np.ndarray
    respondent: np.ndarray
    region: np.ndarray
    sex: np.ndarray
    age_group: np.ndarray
    stratum: np.ndarray
    psu: np.ndarray
    base_weight: np.ndarray
    answers: np.ndarray
    checksum: str
    #: region pk -> digest of its rows; `wave_checksum` combines them into ``checksum``
    region_digests: dict[int, str] = field(default_factory=dict)
    #: the Respondent row id (panel member) of each response, int64: pairs waves without keys
    respondent_id: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    @property
    def spec(self) -> InstrumentSpec:
        return self.layout.spec

    @property
    def n(self) -> int:
        return int(self.response_id.size)

    def frame(self) -> pd.DataFrame:
        """One row per response: the design columns then one column per item (spec order)."""
        design = pd.DataFrame({
            "response_id": self.response_id, "respondent": self.respondent,
            "region": self.region, "sex": self.sex, "age_group": self.age_group,
            "stratum": self.stratum, "psu": self.psu, "base_weight": self.base_weight,
        })
        items = pd.DataFrame(self.answers, columns=list(self.spec.item_codes))
        return pd.concat([design, items], axis=1)


def submitted_responses(wave_id: int) -> QuerySet[Response]:
    return Response.objects.filter(wave_id=wave_id, status=ResponseStatus.SUBMITTED)


@dataclass
class _Columns:
    ids: np.ndarray
    keys: np.ndarray | None
    region_id: np.ndarray
    sex: np.ndarray
    age: np.ndarray
    stratum: np.ndarray
    psu: np.ndarray
    weight: np.ndarray
    raw: np.ndarray  # (n, n_bytes) uint8 in byte (Item.position) order
    respondent_id: np.ndarray | None = None

    def in_id_order(self) -> _Columns:
        """The same rows sorted by response id (the aggregated reads return groups' rows in
        whatever order the database visited them)."""
        order = np.argsort(self.ids, kind="stable")
        return _Columns(
            ids=self.ids[order], keys=self.keys[order] if self.keys is not None else None,
            region_id=self.region_id[order], sex=self.sex[order], age=self.age[order],
            stratum=self.stratum[order], psu=self.psu[order], weight=self.weight[order],
            raw=self.raw[order],
            respondent_id=self.respondent_id[order] if self.respondent_id is not None else None,
        )


def _read_cursor(wave_id: int, layout: VersionLayout, with_respondent: bool,
                 only_regions: Sequence[int] | None = None) -> _Columns:
    """Portable path: one values_list query fetched in chunks."""
    fields = ["id", "respondent__panel_key" if with_respondent else "respondent_id",
              "region_id", "sex", "age_group", "stratum", "psu", "base_weight", "answers",
              "respondent_id"]
    ids: list[np.ndarray] = []
    respondent_ids: list[np.ndarray] = []
    keys: list = []
    region_ids: list[np.ndarray] = []
    texts: list[list] = [[], [], [], []]
    weights: list[np.ndarray] = []
    blocks: list[np.ndarray] = []
    qs = submitted_responses(wave_id)
    if only_regions is not None:
        qs = qs.filter(region_id__in=list(only_regions))
    for rows in fetch_chunks(qs.order_by("id"), fields):
        rid, key, region, sex, age, stratum, psu, weight, blobs, person = zip(*rows,
                                                                               strict=True)
        ids.append(np.fromiter(rid, dtype=np.int64, count=len(rid)))
        respondent_ids.append(np.fromiter(person, dtype=np.int64, count=len(rid)))
        region_ids.append(np.fromiter(region, dtype=np.int64, count=len(rid)))
        weights.append(np.fromiter(weight, dtype=np.float64, count=len(rid)))
        if with_respondent:
            keys.extend(key)
        for acc, values in zip(texts, (sex, age, stratum, psu), strict=True):
            acc.extend(values)
        raw = np.frombuffer(b"".join(blobs), dtype=np.uint8)  # bytes or memoryview
        if raw.size != len(rid) * layout.n_bytes:
            raise ValueError("packed answers do not match the instrument's item count")
        blocks.append(raw.reshape(len(rid), layout.n_bytes))
    sex, age, stratum, psu = (np.asarray(t, dtype=object) for t in texts)
    return _Columns(
        ids=np.concatenate(ids) if ids else np.empty(0, dtype=np.int64),
        keys=np.asarray(keys, dtype=object) if with_respondent else None,
        region_id=np.concatenate(region_ids) if region_ids else np.empty(0, dtype=np.int64),
        sex=sex, age=age, stratum=stratum, psu=psu,
        weight=np.concatenate(weights) if weights else np.empty(0),
        raw=np.vstack(blocks) if blocks else np.empty((0, layout.n_bytes), dtype=np.uint8),
        respondent_id=(np.concatenate(respondent_ids) if respondent_ids
                       else np.empty(0, dtype=np.int64)),
    )


#: Responses per aggregated row of the PostgreSQL and SQLite read paths.
PG_GROUP = 20_000
#: ``work_mem`` of `_read_pg`'s query: its hash table holds the wave's rows as they travel
#: (~135 MB for a million responses of 30 items; PostgreSQL's hash tables may use twice it)
READ_WORK_MEM = "256MB"


def pg_text_agg(expr: str) -> str:
    """PostgreSQL aggregate of a text column: the group's values unit-separated (chr 31).

    No ORDER BY per aggregate (PostgreSQL < 16 sorts once per aggregate): the aggregates of
    one group read the same rows in the same order, so the columns of a group stay aligned."""
    return f"string_agg({expr}, chr(31))"


def pg_bytes_agg(expr: str) -> str:
    """PostgreSQL aggregate of a bytea expression (``int8send(x)``, ``float8send(x)``, packed
    answers): the group's values concatenated."""
    return f"string_agg({expr}, ''::bytea)"


def split_units(texts: Sequence[str]) -> np.ndarray:
    """`pg_text_agg` results (one per group) -> one object array of the values."""
    out: list[str] = []
    for text in texts:
        out.extend(text.split("\x1f"))
    return np.array(out, dtype=object)


def send_numbers(blobs: Sequence[bytes], dtype: str = ">i8") -> np.ndarray:
    """`pg_bytes_agg` of ``int8send`` (``">i8"``) or ``float8send`` (``">f8"``) results ->
    one native int64/float64 array."""
    data = np.frombuffer(b"".join(bytes(b) for b in blobs), dtype=dtype)
    return data.astype(np.int64 if dtype[-2] == "i" else np.float64)


def _read_pg(wave_id: int, layout: VersionLayout, with_respondent: bool,
             connection: Any, region_ids: Sequence[int] | None = None,
             one_core: bool = False) -> _Columns | None:
    """PostgreSQL path: the same SELECT aggregated server-side into one row per `PG_GROUP`
    responses and split in C on the client: no Python object per number. Numbers travel as
    their binary send form concatenated into one bytea per column (``int8send``,
    ``float8send``: big-endian), read with ``np.frombuffer``; text columns as unit-separated
    text; the answers as one bytea. The result is fetched in binary, so no bytea goes through
    hex text. Fetching a million rows one by one (cursor or COPY TO) cost ~5 s of Python
    overhead on this machine kind, unit-separated text for every column ~1.3 s per 200,000
    responses, this ~0.5 s. Returns None (the caller uses the portable cursor path) when a
    text value holds the separator (a label stored before the contract refused control
    characters, docs/DECISIONS.md 80).

    The groups are hashed in memory (``work_mem`` raised for the query: sorting a million rows
    by group spilled ~60 MB to disk with the default 4 MB; sorting is turned off for it, as
    the planner, which expects a group per row, chose an 84 MB in-memory sort of a
    500,000-row part: 0.6 s of the server's CPU and 55,000 page faults against 0.47 s and
    18,000-30,000 hashed, docs/DECISIONS.md 84), and ``region_ids`` go as a bigint
    array (a smallint array, psycopg's choice for small ints, compares across types, which
    PostgreSQL cannot hash: every row was checked against every region, +0.2 s per million
    rows). ``one_core``: no parallel workers for the query (a parallel index run's part: the
    Celery workers are the parallelism, and a part whose query took two more cores slowed
    the other worker's part, docs/DECISIONS.md 81)."""
    table = Response._meta.db_table
    key_sql = pg_text_agg("p.panel_key") if with_respondent else "NULL::text"
    join = (f"JOIN {Respondent._meta.db_table} p ON p.id = r.respondent_id"
            if with_respondent else "")
    text, binary = pg_text_agg, pg_bytes_agg
    # rows within a group come in any order: they are put in id order on the client
    sql = (f"SELECT {binary('int8send(r.id)')}, {key_sql}, {binary('int8send(r.region_id)')}, "
           f"{text('r.sex')}, {text('r.age_group')}, {text('r.stratum')}, {text('r.psu')}, "
           f"{binary('float8send(r.base_weight)')}, {binary('r.answers')}, "
           f"{binary('int8send(r.respondent_id)')} "
           f"FROM {table} r {join} WHERE r.wave_id = %s AND r.status = %s "
           f"{'AND r.region_id = ANY(%s::bigint[]) ' if region_ids is not None else ''}"
           f"GROUP BY r.id / {PG_GROUP}")
    params: list[Any] = [wave_id, str(ResponseStatus.SUBMITTED)]
    if region_ids is not None:
        params.append([int(i) for i in region_ids])
    settings = "SELECT set_config('work_mem', %s, true), " \
               "set_config('max_parallel_workers_per_gather', %s, true), " \
               "set_config('enable_sort', %s, true)"
    with transaction.atomic(using=connection.alias), raw_cursor(connection) as cursor:
        # for this query only, also inside a caller's transaction (which a SET LOCAL in a
        # savepoint would outlive)
        before = cursor.execute("SELECT current_setting('work_mem'), "
                                "current_setting('max_parallel_workers_per_gather'), "
                                "current_setting('enable_sort')").fetchone()
        cursor.execute(settings, [READ_WORK_MEM, "0" if one_core else before[1], "off"])
        cursor.execute(sql, params, binary=True)
        rows = cursor.fetchall()
        cursor.execute(settings, list(before))

    def split(k: int) -> np.ndarray:
        return split_units([row[k] for row in rows])

    ids = send_numbers([row[0] for row in rows])
    raw = np.frombuffer(b"".join(bytes(row[8]) for row in rows), dtype=np.uint8)
    if raw.size != ids.size * layout.n_bytes:
        raise ValueError("packed answers do not match the instrument's item count")
    texts = {k: split(k) for k in ((1, 3, 4, 5, 6) if with_respondent else (3, 4, 5, 6))}
    if any(t.size != ids.size for t in texts.values()):
        return None
    return _Columns(
        ids=ids, keys=texts[1] if with_respondent else None,
        region_id=send_numbers([row[2] for row in rows]), sex=texts[3], age=texts[4],
        stratum=texts[5], psu=texts[6], weight=send_numbers([row[7] for row in rows], ">f8"),
        raw=raw.reshape(ids.size, layout.n_bytes),
        respondent_id=send_numbers([row[9] for row in rows]),
    ).in_id_order()


def _read_sqlite(wave_id: int, layout: VersionLayout, with_respondent: bool,
                 connection: Any, region_ids: Sequence[int] | None = None) -> _Columns | None:
    """SQLite path: like `_read_pg`, the SELECT aggregated by SQLite itself into one row per
    `PG_GROUP` responses (``group_concat``; answers as hex), so nearly all the work happens
    inside ``sqlite3_step``, which runs without the GIL, and the index run's read-ahead thread
    truly overlaps the analysis. SQLite has no exact text or binary form of a REAL, so each
    base weight w > 0 travels as two integers: e = floor(log2 w) - 53 and m = w / 2^e, which
    is an integer below 2^55 with at most 53 significant bits whatever the rounding of log2
    (off by one either way only shifts m), so ``ldexp(m, e)`` restores w bit for bit.

    Returns None (the caller uses the portable cursor path) when this SQLite lacks the math
    functions (``log2``, ``pow``: SQLITE_ENABLE_MATH_FUNCTIONS, on by default since 3.35), a
    weight is too small for the scheme (below ~2^-1021) or a text value holds the separator.
    """
    import sqlite3

    table = Response._meta.db_table
    key_sql = "group_concat(p.panel_key, char(31))" if with_respondent else "NULL"
    join = (f"JOIN {Respondent._meta.db_table} p ON p.id = r.respondent_id"
            if with_respondent else "")
    exponent = "(CAST(floor(log2(r.base_weight)) AS INTEGER) - 53)"
    sql = (f"SELECT group_concat(r.id, ','), {key_sql}, group_concat(r.region_id, ','), "
           f"group_concat(r.sex, char(31)), group_concat(r.age_group, char(31)), "
           f"group_concat(r.stratum, char(31)), group_concat(r.psu, char(31)), "
           f"group_concat(CAST(r.base_weight / pow(2, {exponent}) AS INTEGER), ','), "
           f"group_concat({exponent}, ','), group_concat(hex(r.answers), ''), count(*), "
           f"group_concat(r.respondent_id, ',') "
           f"FROM {table} r {join} WHERE r.wave_id = %s AND r.status = %s "
           f"{_in_clause(region_ids)}GROUP BY r.id / {PG_GROUP}")
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, [wave_id, str(ResponseStatus.SUBMITTED),
                                 *[int(i) for i in region_ids or ()]])
            rows = cursor.fetchall()
    except Exception as exc:  # django wraps sqlite3 errors; "no such function: log2"
        if isinstance(exc.__cause__ or exc, sqlite3.OperationalError) and \
                "no such function" in str(exc):
            return None
        raise
    n = sum(row[10] for row in rows)

    def numbers(k: int) -> np.ndarray:
        if not rows:
            return np.empty(0, dtype=np.int64)
        return np.fromstring(",".join(row[k] or "" for row in rows), dtype=np.int64, sep=",")

    def split(k: int) -> np.ndarray:
        return np.array("\x1f".join(row[k] for row in rows).split("\x1f") if rows else [],
                        dtype=object)

    ids = numbers(0)
    mantissa, exp = numbers(7), numbers(8)
    texts = [split(k) for k in ((1, 3, 4, 5, 6) if with_respondent else (3, 4, 5, 6))]
    if mantissa.size != n or exp.size != n or any(t.size != n for t in texts):
        return None  # a NULL (weight too small for the scheme) or a separator inside a text
    keys = texts.pop(0) if with_respondent else None
    sex, age, stratum, psu = texts
    weight = np.ldexp(mantissa.astype(np.float64), exp.astype(np.int32))
    raw = np.frombuffer(bytes.fromhex("".join(row[9] for row in rows)), dtype=np.uint8)
    if ids.size != n or raw.size != n * layout.n_bytes:
        raise ValueError("packed answers do not match the instrument's item count")
    return _Columns(
        ids=ids, keys=keys, region_id=numbers(2), sex=sex, age=age, stratum=stratum, psu=psu,
        weight=weight, raw=raw.reshape(n, layout.n_bytes), respondent_id=numbers(11),
    ).in_id_order()


def _in_clause(region_ids: Sequence[int] | None) -> str:
    if region_ids is None:
        return ""
    return f"AND r.region_id IN ({', '.join(['%s'] * len(region_ids)) or 'NULL'}) "


def wave_data(*, wave_id: int, layout: VersionLayout | None = None,
              with_respondent: bool = True,
              region_ids: Sequence[int] | None = None, one_core: bool = False) -> WaveData:
    """Read one wave's submitted responses (ONE query) into a `WaveData`.

    On PostgreSQL and SQLite the SELECT is aggregated by the database into a few rows and split
    column-wise (`_read_pg`, `_read_sqlite`); otherwise, or when SQLite's path cannot hold the
    data, it is a values_list fetched in chunks through the chunked cursor (same result, bit
    for bit). ``with_respondent=False`` skips the join to the respondents table
    (the index run does not need panel keys); ``respondent`` is then an array of None. The
    checksum covers the values read, independent of the path and of chunking.
    ``region_ids`` reads only the responses of these regions (Region pks; a parallel index
    run's province task, `surveys.services.compute_parallel`); ``one_core``: PostgreSQL reads
    without parallel workers (such a task, see `_read_pg`).
    """
    wave = Wave.objects.select_related("instrument", "version").get(pk=wave_id)
    layout = layout or version_layout(wave.version)
    db = router.db_for_read(Response)
    connection = connections[db]
    cols = None
    if connection.vendor == "postgresql":
        cols = _read_pg(wave_id, layout, with_respondent, connection, region_ids, one_core)
    elif connection.vendor == "sqlite":
        cols = _read_sqlite(wave_id, layout, with_respondent, connection, region_ids)
    if cols is None:
        cols = _read_cursor(wave_id, layout, with_respondent, region_ids)
    digests = _region_digests(cols)
    regions = dict(Region.objects.values_list("id", "code"))
    uniq, inverse = np.unique(cols.region_id, return_inverse=True)
    region_code = np.array([regions[i] for i in uniq.tolist()], dtype=object)[inverse] \
        if uniq.size else np.empty(0, dtype=object)
    # the spec's columns picked from the bytes, then widened: no float64 matrix of every byte
    # copied again by the pick (~120 MB less touched a part of 500,000 responses)
    answers = answers_matrix(cols.raw[:, layout.byte_of_column], cols.ids.size,
                             layout.byte_of_column.size)
    n = int(cols.ids.size)
    return WaveData(
        wave_id=wave.pk,
        year=wave.year,
        instrument=wave.instrument.code,
        layout=layout,
        response_id=cols.ids.astype(np.int64, copy=False),
        respondent=cols.keys if cols.keys is not None else np.full(n, None, dtype=object),
        region=region_code,
        sex=cols.sex,
        age_group=cols.age,
        stratum=cols.stratum,
        psu=cols.psu,
        base_weight=cols.weight.astype(np.float64, copy=False),
        answers=answers,
        checksum=wave_checksum(wave, layout, digests),
        region_digests=digests,
        respondent_id=(cols.respondent_id.astype(np.int64, copy=False)
                       if cols.respondent_id is not None else np.full(n, -1, dtype=np.int64)),
    )


def _region_digests(cols: _Columns) -> dict[int, str]:
    """Region pk -> SHA-256 of that region's rows (in response id order): the design columns
    as unit-separated text, then the ids, region ids, base weights and answer bytes."""
    order = np.argsort(cols.region_id, kind="stable")  # id order kept within a region
    regions = cols.region_id[order]
    bounds = np.r_[0, np.flatnonzero(np.diff(regions)) + 1, regions.size] if regions.size \
        else np.zeros(1, dtype=np.intp)
    out: dict[int, str] = {}
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        rows = order[lo:hi]
        digest = hashlib.sha256()
        for values in (cols.sex, cols.age, cols.stratum, cols.psu):
            digest.update("\x1f".join(values[rows].tolist()).encode())
            digest.update(b"\x1e")
        for arr in (cols.ids, cols.region_id, cols.weight, cols.raw):
            digest.update(np.ascontiguousarray(arr[rows]).tobytes())
        out[int(regions[lo])] = digest.hexdigest()
    return out


def wave_checksum(wave: Wave, layout: VersionLayout, region_digests: Mapping[int, str]) -> str:
    """`WaveData.checksum` from its regions' digests (`WaveData.region_digests`), so that
    the digests of disjoint sets of regions - the province tasks of a parallel index run -
    combine to the checksum of the whole wave without its rows."""
    digest = hashlib.sha256()
    digest.update(f"wave {wave.instrument.code} {wave.year} v{wave.version_id} "
                  f"{layout.checksum}\n".encode())
    for region in sorted(region_digests):
        digest.update(f"{region}:{region_digests[region]}\n".encode())
    return digest.hexdigest()


def population_frame(*, year: int | None = None) -> pd.DataFrame:
    """Population margins: columns ``year, region, sex, age_group, population`` (int, str...)."""
    qs = PopulationMargin.objects.all()
    if year is not None:
        qs = qs.filter(year=year)
    rows = list(qs.order_by("year", "region__code", "sex", "age_group")
                .values_list("year", "region__code", "sex", "age_group", "population"))
    return pd.DataFrame(rows, columns=["year", "region", "sex", "age_group", "population"]
                        ).astype({"year": "int64", "population": "int64"})


def indicators_frame() -> pd.DataFrame:
    """Proxy/output indicators (not the built-in INDEX): ``code, polarity, level, dimension,
    name_id, name_en, unit, source``; dimension None when not set."""
    rows = list(
        Indicator.objects.exclude(level=IndicatorLevel.INDEX).order_by("code").values_list(
            "code", "polarity", "level", "dimension_code", "name_id", "name_en", "unit", "source")
    )
    frame = pd.DataFrame(rows, columns=["code", "polarity", "level", "dimension", "name_id",
                                        "name_en", "unit", "source"])
    frame["dimension"] = frame["dimension"].map(lambda d: d or None).astype(object)
    return frame


def indicator_values_frame() -> pd.DataFrame:
    """Indicator values: ``indicator, region, year, value``."""
    rows = list(IndicatorValue.objects.exclude(indicator__code=INDEX_CODE)
                .order_by("indicator__code", "region__code", "year")
                .values_list("indicator__code", "region__code", "year", "value"))
    return pd.DataFrame(rows, columns=["indicator", "region", "year", "value"]).astype(
        {"year": "int64", "value": "float64"})


def targets_frame() -> pd.DataFrame:
    """Targets: ``indicator, region, year, target`` (indicator ``INDEX`` = overall index)."""
    rows = list(Target.objects.order_by("indicator__code", "region__code", "year")
                .values_list("indicator__code", "region__code", "year", "target"))
    return pd.DataFrame(rows, columns=["indicator", "region", "year", "target"]).astype(
        {"year": "int64", "target": "float64"})


def frame_checksum(*frames: pd.DataFrame) -> str:
    """Stable fingerprint of small input frames (population, indicators, targets)."""
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(frame.to_csv(index=False).encode())
        digest.update(b"\x1d")
    return digest.hexdigest()
