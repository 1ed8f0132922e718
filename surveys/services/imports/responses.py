"""Import a wide responses CSV (`respondent,wave,region,sex,age_group,stratum,psu,base_weight,
<item code>...`) into Response rows, all or nothing.

Built on the response contract (surveys.ingest), like the API: the same field definitions
and rules (respondent keys, choices, lengths, the base-weight rule), the same notion of
content (what the fingerprint covers), the same column list for the insert.

Built for files of millions of rows: the CSV is parsed by pyarrow (answer columns straight to
int16), every check runs on whole columns (numpy / arrow compute) and problems are located
with np.nonzero; answers are packed from one uint8 matrix; panel keys are computed
column-wise (surveys.ingest.keys.panel_keys_for, tested equal to the scalar definition).
Existing responses of the file's waves are fetched with one query per wave.

PostgreSQL creates the file's respondents in a thread while the rest of the file is checked
(`_EarlyRespondents`, docs/DECISIONS.md 80). The new rows are written in (panel key, year)
order, block by block, a thread putting each block in order while the server stores the
blocks before (docs/DECISIONS.md 79). PostgreSQL: one binary COPY into the live table.
Nothing of the table is dropped or altered and the waves are held FOR SHARE, so API
submissions go on during a load (`_lock_waves`, `_trusted_load`; docs/DECISIONS.md 46).
SQLite: executemany in batches. Nothing is stored that is a function
of the row's other columns (docs/DECISIONS.md 80): no fingerprint (`content_hash` is empty;
computed from the row when an API replay needs it, surveys.services.submissions) and, for a
row without a given id, no submission id (NULL; `Response.effective_submission_id`).

Idempotence: stored rows are matched by (wave, respondent) and their content compared field by
field with the file's (what the fingerprint covers, so the same verdict as comparing the
contract's fingerprints, without hashing), so importing the same file again writes nothing, and
importing a row identical to a response submitted through the API says "unchanged". A row
whose content differs from the stored response of the same respondent and wave is an error
unless `replace` is set. A new row without a given id (ODK/Kobo instance ids are kept) has
the derived submission id of its (respondent pk, wave pk), a UUID version 8
(surveys.ingest.fingerprint) that the API refuses to take, so it is stored as NULL and enters
no index. Rows stored with derived or uuid5 ids by earlier versions keep them: nothing here
looks rows up by submission id.
"""

from __future__ import annotations

import csv
import functools
import io
import struct
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as _noop

from datafiles.answers import ANSWER_MISSING, ItemLayout
from surveys.exceptions import MESSAGES, Msg
from surveys.ingest import contract
from surveys.ingest import sql as ingest_sql
from surveys.ingest.keys import panel_keys_for
from surveys.ingest.layout import layout_for_version
from surveys.language import both
from surveys.models import (
    InstrumentVersion,
    Region,
    Respondent,
    Response,
    ResponseSource,
    ResponseStatus,
    Wave,
    WaveStatus,
)
from surveys.pg import raw_cursor
from surveys.selectors.responses import (
    PG_GROUP,
    pg_bytes_agg,
    pg_text_agg,
    send_numbers,
    split_units,
)
from surveys.services.recompute import queue_recompute

from ._common import (
    COMMA_DECIMAL_PATTERN,
    DOT_DECIMAL_PATTERN,
    YEAR_MAX,
    YEAR_MIN,
    ErrorLog,
    ImportFailed,
    file_label,
    mixed_decimals,
    note_decimal_commas,
    parse_header,
    read_bytes,
    split_header,
)

META_COLUMNS = ("respondent", "wave", "region", "sex", "age_group", "stratum", "psu",
                "base_weight")
_INSERT_BATCH = 20_000
_LOOKUP_BATCH = 5_000
_SQLITE_CACHE_KIB = -262_144  # negative = KiB


@dataclass(frozen=True)
class ResponsesImportReport:
    label: str
    instrument: str
    version: int
    rows: int
    created: int
    unchanged: int
    replaced: int
    respondents_created: int
    waves_created: tuple[int, ...]
    waves: tuple[int, ...] = field(default=())

    @property
    def is_noop(self) -> bool:
        return self.created == 0 and self.replaced == 0

    def summary(self) -> str:
        if self.is_noop:
            # Translators: id: Tidak ada perubahan
            head = both(_noop("nothing changed"))
        else:
            # Translators: id: Diimpor
            head = both(_noop("imported"))
        # Translators: id: {created} baru, {unchanged} tidak berubah, {replaced} diganti
        counts = both(_noop("{created} new, {unchanged} unchanged, {replaced} replaced"),
                      created=self.created, unchanged=self.unchanged, replaced=self.replaced)
        lines = [f"{head} {self.label} ({self.instrument} v{self.version}, {self.rows} "
                 f"baris/rows): {counts}"]
        if self.waves_created or self.respondents_created:
            waves = ", ".join(map(str, self.waves_created)) or "-"
            # Translators: id: Gelombang baru (ditutup)
            new_waves = both(_noop("new waves (closed)"))
            # Translators: id: responden baru
            new_people = both(_noop("new respondents"))
            lines.append(f"{new_waves}: {waves}; {new_people}: {self.respondents_created}")
        return "\n".join(lines)


# Translators: id: nilai {value} di luar skala {lo}..{hi}
_OUTSIDE_SCALE = _noop("value {value} outside the scale {lo}..{hi}")


def _label_message(text: str) -> tuple[str, dict[str, Any]]:
    """The message of a stratum or PSU cell that holds a control character."""
    problem = contract.label_problem(text)
    assert problem is not None  # the column's regex found one in this very text
    return _msg(problem)


def _msg(msg: Msg) -> tuple[str, dict[str, Any]]:
    """A domain message (`surveys.exceptions.Msg`) as `ErrorLog.add`'s msgid and params."""
    return MESSAGES.get(msg.code, msg.code), dict(msg.params)


class _Problems:
    """Vectorised error collection: keep the first `limit` rows of every check (the first
    `limit` rows with any problem are then complete), count the rows with a problem, merge."""

    def __init__(self, limit: int, columns: Sequence[str], n: int):
        self.limit = limit
        self.order = {name: i for i, name in enumerate(columns)}
        self.entries: list[tuple[int, int, str, str, dict[str, Any]]] = []
        self.total = 0
        self.bad_rows = np.zeros(n, dtype=bool)

    def add(self, mask_or_idx: np.ndarray, column: str, message: Any) -> None:
        """`message(i) -> (msgid, params)` for a row index i (as `ErrorLog.add` takes them);
        called for the kept rows only."""
        idx = np.flatnonzero(mask_or_idx) if mask_or_idx.dtype == bool else mask_or_idx
        if idx.size == 0:
            return
        self.total += int(idx.size)
        self.bad_rows[idx] = True
        for i in idx[: self.limit].tolist():
            msgid, params = message(i)
            self.entries.append((i, self.order.get(column, -1), column, msgid, params))

    def __bool__(self) -> bool:
        return self.total > 0

    def into(self, log: ErrorLog, row_numbers: np.ndarray) -> None:
        """Hand the problems of the first `limit` rows with any to `log` (which lists one line
        per row), and count the others."""
        first = set(np.flatnonzero(self.bad_rows)[: self.limit].tolist())
        self.entries.sort(key=lambda e: (e[0], e[1]))
        kept = [e for e in self.entries if e[0] in first]
        for i, _, column, msgid, params in kept:
            log.add(msgid, row=int(row_numbers[i]), column=column or None, **params)
        log.total += self.total - len(kept)
        log.extra_rows += int(self.bad_rows.sum()) - len(first)


def responses_import(*, path: Path, instrument_code: str, version: int | None = None,
                     replace: bool = False, submission_ids: Sequence[str] | None = None,
                     label: str | None = None) -> ResponsesImportReport:
    """Validate a responses CSV and write it whole, or raise ImportFailed and write nothing.

    ``submission_ids`` (one UUID per data row, e.g. the instance ids of an ODK/Kobo export)
    replace the derived ones for new rows; ``label`` names the file in messages (the original
    export when ``path`` is its converted copy).
    """
    # imported here: services.instruments uses this package's helpers
    from surveys.services.instruments import InstrumentNotFound, instrument_version_get

    log = ErrorLog(label or file_label(path))
    try:
        instrument_version = instrument_version_get(code=instrument_code, version=version)
    except InstrumentNotFound as exc:
        raise ImportFailed([f"{log.label}: {exc}"]) from None
    layout = layout_for_version(instrument_version)
    data = read_bytes(path, log)
    log.raise_if_any()
    assert data is not None
    now = timezone.now()
    try:
        # one transaction from the first check on: PostgreSQL creates the file's respondents
        # while the rest of the file is checked (`_EarlyRespondents`), and a file that fails
        # a check leaves nothing behind
        with transaction.atomic(), _EarlyRespondents(now) as early:
            parsed = _parse(data, layout, log, on_keys=early.start if _postgres() else None)
            log.raise_if_any()
            assert parsed is not None
            given_ids = None
            if submission_ids is not None:
                given_ids = pa.array([uuid.UUID(str(v)).hex for v in submission_ids],
                                     type=pa.string())
                if len(given_ids) != parsed.n:
                    raise ValueError(f"{len(given_ids)} submission ids for {parsed.n} rows")
            report = _write(parsed, instrument_version, log, replace=replace,
                            submission_ids=given_ids, now=now, early=early)
    except IntegrityError as exc:
        # only a concurrent writer can get here: everything else was checked beforehand
        # Translators: id: ditolak basis data (impor lain berjalan bersamaan?), tidak ada yang
        # disimpan; ulangi
        text = both(_noop("rejected by the database (a concurrent import?), nothing was saved; "
                          "run it again"))
        raise ImportFailed([f"{log.label}: {text}: {exc}"]) from exc
    if not report.is_noop:
        # the indices of the touched waves are stale now: recompute after the commit
        queue_recompute()
    return report


# --- parsing -----------------------------------------------------------------------------------

@dataclass
class _Parsed:
    n: int
    row_numbers: np.ndarray
    respondent: pa.Array
    years: np.ndarray
    region: pa.Array
    region_ids: np.ndarray
    sex: pa.Array
    age_group: pa.Array
    stratum: pa.Array
    psu: pa.Array
    base_weight: np.ndarray
    answers: np.ndarray  # (n, n_items) uint8, ANSWER_MISSING = missing
    panel_keys: list[str]
    key_index: np.ndarray  # row -> index into panel_keys


def _body_start(data: bytes) -> int:
    """Where the text starts (after a UTF-8 byte order mark)."""
    return 3 if data.startswith(b"\xef\xbb\xbf") else 0


#: ASCII bytes that are whitespace cells are trimmed of (Unicode White_Space and what Python's
#: str.isspace adds: \t \v \f \r, the separators 0x1c-0x1f, space); the line feed ends rows and
#: is not in a cell. Every non-ASCII byte counts too (NBSP and the other multi-byte spaces).
_TRIMMABLE = b"\t\x0b\x0c\r\x1c\x1d\x1e\x1f "


def _may_need_trimming(data: bytes) -> bool:
    """Whether any cell could have whitespace to trim: False lets the parse skip trimming
    every column (about a second per million rows), which then changes nothing. A find per
    byte (memchr) and one max: ~0.1 s per 100 MB."""
    if any(data.find(bytes([b])) >= 0 for b in _TRIMMABLE):
        return True
    text = np.frombuffer(data, dtype=np.uint8, offset=min(_body_start(data), len(data)))
    return bool(text.size) and int(text.max()) >= 0x80


def _read_header(data: bytes, layout: ItemLayout, log: ErrorLog
                 ) -> tuple[str, list[str]] | None:
    start = _body_start(data)  # no copies of the (possibly huge) file below
    if not data[start: start + 4096].strip() and not data[start:].strip():
        # Translators: id: berkas kosong
        log.add(_noop("empty file"))
        return None
    end = data.find(b"\n", start)
    first = data[start:] if end < 0 else data[start:end]
    try:
        line = first.decode("utf-8")
    except UnicodeDecodeError:
        # Translators: id: bukan teks UTF-8 yang sah
        log.add(_noop("not valid UTF-8 text"), row=1)
        return None
    delimiter, header = split_header(line.rstrip("\r"), META_COLUMNS, log)
    names = parse_header(header, required=META_COLUMNS, optional=layout.codes, log=log)
    if log:
        return None
    return delimiter, names


def _scan_python(data: bytes, n_columns: int, log: ErrorLog, delimiter: str = ","
                 ) -> list[int] | None:
    """Slow exact pass (only when the fast reader needs help): physical row number of every
    non-blank record; reports ragged rows and line breaks inside cells."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # Translators: id: bukan teks UTF-8 yang sah
        log.add(_noop("not valid UTF-8 text"), row=data.count(b"\n", 0, exc.start) + 1)
        return None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[int] = []
    try:
        next(reader)
        start = reader.line_num
        for cells in reader:
            if not cells:
                start = reader.line_num
                continue
            if len(cells) != n_columns:
                # Translators: id: {cells} sel, seharusnya {n_columns}
                log.add(_noop("{cells} cells, expected {n_columns}"), cells=len(cells),
                        n_columns=n_columns, row=reader.line_num)
            elif reader.line_num != start + 1:
                # Translators: id: baris baru di dalam sel tidak didukung
                log.add(_noop("line breaks inside a cell are not supported"), row=start + 1)
            rows.append(reader.line_num)
            start = reader.line_num
    except csv.Error as exc:
        # Translators: id: CSV rusak ({exc})
        log.add(_noop("malformed CSV ({exc})"), exc=exc, row=reader.line_num)
        return None
    return rows


def _to_float(col: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Strings -> float64 (NaN where empty) and a mask of cells that are not numbers (text
    such as "nan" included: an empty cell is the only way to say "missing")."""
    null = col.is_null().to_numpy(zero_copy_only=False)
    try:
        values = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        raw = pd.Series(col.to_numpy(zero_copy_only=False), dtype=object)
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    return values, np.isnan(values) & ~null


def _decimal_commas(col: pa.Array, name: str, row_numbers: np.ndarray, log: ErrorLog
                    ) -> pa.Array:
    """A numeric column of a ``;`` file: decimal commas become points (``1.121,5`` ->
    ``1121.5``) when no cell uses a decimal point; both in one column is reported."""
    comma = pc.match_substring_regex(col, COMMA_DECIMAL_PATTERN).fill_null(False)
    if not pc.any(comma).as_py():
        return col
    dot = pc.match_substring_regex(col, DOT_DECIMAL_PATTERN).fill_null(False)
    if pc.any(dot).as_py():
        first_comma = int(np.flatnonzero(comma.to_numpy(zero_copy_only=False))[0])
        first_dot = int(np.flatnonzero(dot.to_numpy(zero_copy_only=False))[0])
        mixed_decimals(log, name, comma_row=int(row_numbers[first_comma]),
                       dot_row=int(row_numbers[first_dot]))
        return col
    note_decimal_commas(log, name)
    fixed = pc.replace_substring(pc.replace_substring(col, ".", ""), ",", ".")
    return pc.if_else(comma, fixed, col)


def _small_ints(col: pa.Array) -> np.ndarray | None:
    """An answer column whose cells are all empty or integers 0..32767 as int16 (-1 where
    empty), or None when any cell needs the general path (`_to_float`): a decimal point,
    text, a negative or huge number."""
    try:
        ints = pc.cast(col, pa.int16())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if pc.any(pc.less(ints, 0)).as_py():
        return None
    return ints.fill_null(-1).to_numpy(zero_copy_only=False)


def _parse(data: bytes, layout: ItemLayout, log: ErrorLog,
           on_keys: Callable[[list[str]], None] | None = None) -> _Parsed | None:
    """The file's rows, checked; None when `log` holds problems. `on_keys` is called with the
    distinct panel keys as soon as they are known and valid (`_EarlyRespondents.start`): from
    then on the database is another thread's until the caller takes its result, so this
    function reads what it needs from the database before that."""
    header = _read_header(data, layout, log)
    if header is None:
        return None
    regions = dict(Region.objects.values_list("code", "id"))
    population = contract.population_totals()
    delimiter, names = header
    invalid_rows: list[Any] = []

    def on_invalid(row: Any) -> str:
        invalid_rows.append(row)
        return "skip"

    def read(types: dict[str, pa.DataType]) -> pa.Table:
        invalid_rows.clear()
        return pa_csv.read_csv(
            io.BytesIO(data),
            read_options=pa_csv.ReadOptions(use_threads=True, block_size=16 << 20),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter,
                                              invalid_row_handler=on_invalid),
            convert_options=pa_csv.ConvertOptions(
                column_types=types, strings_can_be_null=True, null_values=[""],
                quoted_strings_can_be_null=True,
            ),
        )

    as_text = dict.fromkeys(names, pa.string())
    items = set(layout.codes)
    try:
        try:
            # answers straight to int16 (every cell empty or a plain integer: most files);
            # any other cell (text, a decimal, whitespace) fails the read, and the file is
            # read again as text for the general path below
            table = read({**as_text, **{n: pa.int16() for n in names if n in items}})
        except pa.ArrowInvalid:
            table = read(as_text)
    except pa.ArrowInvalid as exc:
        _scan_python(data, len(names), log, delimiter)
        if not log:
            # Translators: id: CSV tidak dapat dibaca ({exc})
            log.add(_noop("CSV cannot be read ({exc})"), exc=exc)
        return None
    # blank lines shift physical row numbers: then the exact (slow) scan numbers the rows
    start, end = _body_start(data), len(data)
    while end > start and data[end - 1] in b"\r\n":
        end -= 1
    # every row takes at least one line: as many lines as rows and header means no blank
    # line (and no line break inside a cell), without searching for one
    blank_inside = data.count(b"\n", start, end) != table.num_rows and (
        data.find(b"\n\n", start, end) >= 0 or data.find(b"\n\r\n", start, end) >= 0
        or data.startswith((b"\n", b"\r\n"), start))
    if invalid_rows or blank_inside:
        physical = _scan_python(data, len(names), log, delimiter)
        if invalid_rows and not log:
            # Translators: id: CSV rusak
            log.add(_noop("malformed CSV"))
        if log or physical is None:
            return None
        row_numbers = np.asarray(physical, dtype=np.int64)
    else:
        row_numbers = np.arange(2, table.num_rows + 2, dtype=np.int64)
    n = table.num_rows
    if n == 0:
        # Translators: id: berkas tidak berisi baris data
        log.add(_noop("file has no data rows"))
        return None
    if len(row_numbers) != n:  # cannot happen unless the two readers disagree
        # Translators: id: CSV rusak
        log.add(_noop("malformed CSV"))
        return None

    trim = _may_need_trimming(data)
    cols: dict[str, pa.Array] = {}
    for name in names:
        column = table.column(name).combine_chunks()
        text = pa.types.is_string(column.type)
        cols[name] = pc.utf8_trim_whitespace(column) if trim and text else column
    if delimiter != ",":
        cols["base_weight"] = _decimal_commas(cols["base_weight"], "base_weight", row_numbers,
                                              log)
    problems = _Problems(log.row_limit, names, n)

    @functools.cache
    def text_table() -> pa.Table:
        """The file read again as text (once, and only when a message needs it)."""
        return read(as_text)

    def value(col: str, i: int) -> str:
        """The cell as written (trimmed), for messages: an answer column read as numbers is
        looked up in the file read as text."""
        if pa.types.is_string(cols[col].type):
            return str(cols[col][i].as_py())
        return str(text_table().column(col)[i].as_py()).strip()

    # Translators: id: sel kosong
    empty_cell = (_noop("empty cell"), {})
    for name in META_COLUMNS:
        empty = cols[name].is_null().to_numpy(zero_copy_only=False)
        if name != "respondent":
            problems.add(empty, name, lambda i: empty_cell)

    # respondent: a pseudonymous id, turned into a panel key per distinct value
    respondent = cols["respondent"]
    encoded = respondent.dictionary_encode()
    key_index = encoded.indices.to_numpy(zero_copy_only=False)
    key_nulls = encoded.indices.is_null().to_numpy(zero_copy_only=False)
    panel_keys, refused = panel_keys_for(encoded.dictionary, secret=settings.PANEL_KEY_SECRET)
    bad_ids = {j: _msg(exc.msg) for j, exc in refused.items()}
    key_index = np.where(key_nulls, -1, key_index).astype(np.int64)
    problems.add(key_nulls, "respondent", lambda i: empty_cell)
    if bad_ids:
        bad_mask = np.isin(key_index, np.fromiter(bad_ids, dtype=np.int64))
        problems.add(bad_mask, "respondent", lambda i: bad_ids[int(key_index[i])])
    elif on_keys is not None and panel_keys:
        on_keys(panel_keys)  # the respondents are created while the rest is checked

    # wave: a year
    years_f, bad = _to_float(cols["wave"])
    with np.errstate(invalid="ignore"):
        bad |= ~np.isnan(years_f) & (
            (years_f != np.floor(years_f)) | (years_f < YEAR_MIN) | (years_f > YEAR_MAX))
    problems.add(bad, "wave", lambda i: (
        # Translators: id: gelombang '{value}' bukan tahun {first}..{last}
        _noop("wave '{value}' is not a year {first}..{last}"),
        {"value": value("wave", i), "first": YEAR_MIN, "last": YEAR_MAX}))
    years = np.where(np.isnan(years_f) | bad, 0, years_f).astype(np.int64)

    # region: must exist
    region_codes = pa.array(list(regions), type=pa.string())
    region_pos = pc.index_in(cols["region"], value_set=region_codes)
    unknown = (region_pos.is_null().to_numpy(zero_copy_only=False)
               & ~cols["region"].is_null().to_numpy(zero_copy_only=False))
    # Translators: id: wilayah {region} tidak dikenal
    problems.add(unknown, "region", lambda i: (_noop("unknown region {region}"),
                                               {"region": value("region", i)}))
    region_id_table = np.fromiter(regions.values(), dtype=np.int64, count=len(regions))
    region_ids = region_id_table[
        region_pos.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    ] if regions else np.zeros(n, dtype=np.int64)

    for name, allowed in (("sex", contract.SEX_VALUES), ("age_group", contract.AGE_GROUP_VALUES)):
        ok = pc.is_in(cols[name], value_set=pa.array(sorted(allowed))).to_numpy(
            zero_copy_only=False)
        notnull = ~cols[name].is_null().to_numpy(zero_copy_only=False)
        choices = ", ".join(sorted(allowed))
        problems.add(~ok & notnull, name, lambda i, name=name, choices=choices: (
            # Translators: id: '{value}' bukan salah satu dari {choices}
            _noop("'{value}' is not one of {choices}"),
            {"value": value(name, i), "choices": choices}))
    for name, limit in (("stratum", contract.STRATUM_MAX), ("psu", contract.PSU_MAX)):
        lengths = pc.utf8_length(cols[name]).fill_null(0).to_numpy(zero_copy_only=False)
        problems.add(lengths > limit, name, lambda i, limit=limit: (
            # Translators: id: lebih dari {limit} karakter
            _noop("longer than {limit} characters"), {"limit": limit}))
        control = pc.match_substring_regex(cols[name], contract.CONTROL_PATTERN).fill_null(
            False).to_numpy(zero_copy_only=False)
        problems.add(control, name, lambda i, name=name: _label_message(value(name, i)))

    # base weight: the contract's rule on the whole column (text that is not a number, "nan"
    # and "inf" included, is not finite; an empty cell was reported above)
    weight, _ = _to_float(cols["base_weight"])
    weight_null = cols["base_weight"].is_null().to_numpy(zero_copy_only=False)
    region_known = ~unknown & ~cols["region"].is_null().to_numpy(zero_copy_only=False)
    caps, cap_years = contract.weight_caps(region_ids, years, population)
    caps[~region_known | (years == 0)] = np.inf  # no cap for rows already in error
    weight_problem = contract.weight_problems(weight, caps)
    weight_problem[weight_null] = contract.WEIGHT_OK

    def weight_text(i: int) -> tuple[str, dict[str, Any]]:
        return _msg(contract.weight_message(
            int(weight_problem[i]), value=value("base_weight", i), cap=float(caps[i]),
            region=value("region", i), year=int(cap_years[i]) or None))

    problems.add(weight_problem != contract.WEIGHT_OK, "base_weight", weight_text)

    # answers: one uint8 matrix, every item column checked at once
    answers = np.full((n, len(layout.codes)), ANSWER_MISSING, dtype=np.uint8)
    lo, hi = layout.scale_min, layout.scale_max
    for j, code in enumerate(layout.codes):
        if code not in cols:
            continue
        ints = _small_ints(cols[code])
        if ints is not None:  # every cell empty or a plain integer: the common case
            present = ints >= 0
            out = present & ((ints < lo) | (ints > hi))
            problems.add(out, code, lambda i, code=code: (
                _OUTSIDE_SCALE, {"value": value(code, i), "lo": lo, "hi": hi}))
            answers[:, j] = np.where(present & ~out, ints, ANSWER_MISSING).astype(np.uint8)
            continue
        values, bad = _to_float(cols[code])
        present = ~np.isnan(values)
        problems.add(bad, code, lambda i, code=code: (
            # Translators: id: nilai '{value}' bukan angka
            _noop("value '{value}' is not a number"), {"value": value(code, i)}))
        with np.errstate(invalid="ignore"):
            frac = present & (values != np.floor(values))
            out = present & ~frac & ((values < lo) | (values > hi))
        problems.add(frac, code, lambda i, code=code: (
            # Translators: id: nilai '{value}' bukan bilangan bulat
            _noop("value '{value}' is not an integer"), {"value": value(code, i)}))
        problems.add(out, code, lambda i, code=code: (
            _OUTSIDE_SCALE, {"value": value(code, i), "lo": lo, "hi": hi}))
        good = present & ~frac & ~out
        answers[good, j] = values[good].astype(np.uint8)

    # one row per respondent and wave
    valid_key = (key_index >= 0) & (years > 0)
    frame = pd.DataFrame({"w": years, "k": key_index})
    dup = frame.duplicated(keep="first").to_numpy() & valid_key
    if dup.any():
        first_row: dict[tuple[int, int], int] = {}
        for i in np.flatnonzero(frame.duplicated(keep=False).to_numpy() & valid_key).tolist():
            first_row.setdefault((int(years[i]), int(key_index[i])), int(row_numbers[i]))
        problems.add(dup, "respondent", lambda i: (
            # Translators: id: responden {respondent} ganda dalam gelombang {wave} (juga baris
            #   {first})
            _noop("duplicate respondent {respondent} in wave {wave} (also row {first})"),
            {"respondent": value("respondent", i), "wave": years[i],
             "first": first_row[(int(years[i]), int(key_index[i]))]}))

    if problems or log:
        problems.into(log, row_numbers)
        return None
    return _Parsed(
        n=n, row_numbers=row_numbers, respondent=respondent, years=years, region=cols["region"],
        region_ids=region_ids, sex=cols["sex"], age_group=cols["age_group"],
        stratum=cols["stratum"], psu=cols["psu"], base_weight=weight, answers=answers,
        panel_keys=panel_keys, key_index=key_index,
    )


# --- writing -----------------------------------------------------------------------------------

def _write(parsed: _Parsed, version: InstrumentVersion, log: ErrorLog, *, replace: bool,
           submission_ids: pa.Array | None, now: Any,
           early: _EarlyRespondents) -> ResponsesImportReport:
    """Store the parsed file, inside the caller's transaction."""
    code = version.instrument.code
    file_years = sorted(set(np.unique(parsed.years).tolist()))
    distinct_keys = pa.array(parsed.panel_keys, type=pa.string())
    # The order new rows are written in, (panel key, year), computed for every row of the
    # file while the respondents are created (no database needed): the respondents are
    # created in key order, so for new ones it is (respondent id, wave); the primary key is
    # filled front to back, the unique (wave, respondent) index at one point per wave
    # (measured cheaper than writing wave by wave: docs/DECISIONS.md 80).
    key_rank = np.empty(len(distinct_keys), dtype=np.int64)
    key_rank[pc.sort_indices(distinct_keys).to_numpy()] = np.arange(len(distinct_keys))
    file_order = np.lexsort((parsed.years, key_rank[parsed.key_index]))
    # the respondents of every key of the file, if created early (PostgreSQL): the database
    # is this thread's again from here on
    early_ids = early.result()
    waves = _lock_waves(version.instrument, file_years)
    for year, wave in sorted(waves.items()):
        if wave.version_id != version.id:
            hint = f"--instrument-version {wave.version.version}"
            # Translators: id: gelombang {year} memakai versi {used}, bukan {given}; impor
            #   gelombang itu terpisah dengan {hint}
            log.add(_noop("wave {year} uses version {used}, not {given}; import that wave "
                          "separately with {hint}"), year=year, used=wave.version.version,
                    given=version.version, hint=hint, column="wave")
    log.raise_if_any()
    created_waves = []
    for year in file_years:
        if year not in waves:
            waves[year] = Wave.objects.create(
                instrument=version.instrument, version=version, year=year,
                status=WaveStatus.CLOSED,
            )
            created_waves.append(year)
    wave_ids = np.zeros(YEAR_MAX + 1, dtype=np.int64)
    for year, wave in waves.items():
        wave_ids[year] = wave.pk
    row_wave = wave_ids[parsed.years]

    existing = _existing_responses([w.pk for w in waves.values()], parsed.answers.shape[1])
    if existing.n:
        # every file row's stored response of its (wave, respondent), if any, and whether
        # it holds the same content (no fingerprint is hashed on either side)
        row_keys = pc.take(distinct_keys, pa.array(parsed.key_index))
        incoming = pd.DataFrame({"wave_id": row_wave, "panel_key": row_keys.to_pandas()})
        index = pd.DataFrame({"wave_id": existing.wave_id, "panel_key": existing.panel_key,
                              "at": np.arange(existing.n)})
        merged = incoming.merge(index, on=["wave_id", "panel_key"], how="left",
                                sort=False)
        stored = merged["at"].notna().to_numpy()
        rows_stored = np.flatnonzero(stored)
        at = merged["at"].to_numpy()[rows_stored].astype(np.int64)
        same = np.zeros(parsed.n, dtype=bool)
        same[rows_stored] = existing.same_content(at, parsed, rows_stored)
        stored_ids = np.zeros(parsed.n, dtype=np.int64)
        stored_ids[rows_stored] = existing.id[at]
    else:
        stored = same = np.zeros(parsed.n, dtype=bool)
        stored_ids = np.zeros(parsed.n, dtype=np.int64)
    differs = stored & ~same
    if differs.any() and not replace:
        problems = _Problems(log.row_limit, ["respondent"], parsed.n)
        problems.add(differs, "respondent", lambda i: (
            # Translators: id: responden {respondent} gelombang {wave} berbeda dari jawaban
            #   tersimpan; pakai --replace untuk menggantinya
            _noop("respondent {respondent} wave {wave} differs from the stored response; use "
                  "--replace to replace it"),
            {"respondent": parsed.respondent[i].as_py(), "wave": parsed.years[i]}))
        problems.into(log, parsed.row_numbers)
        log.raise_if_any()

    new = np.flatnonzero(~stored)
    respondents_created = 0
    if new.size:
        rows = _NewRows(
            wave=row_wave, respondent=None, submission=submission_ids,
            region=parsed.region_ids, sex=parsed.sex, age_group=parsed.age_group,
            stratum=parsed.stratum, psu=parsed.psu, base_weight=parsed.base_weight,
            answers=parsed.answers,
        )
        order = file_order
        if new.size < parsed.n:  # else every row is new (a first import): no copies
            rows = rows.block(new)
            at_in_new = np.empty(parsed.n, dtype=np.int64)
            at_in_new[new] = np.arange(new.size)
            order = at_in_new[file_order[~stored[file_order]]]
        with ThreadPoolExecutor(max_workers=1) as pool:
            # the blocks are put in order (client CPU, no database) in a thread, from
            # now on: while the server creates the respondents if they were not created
            # early (the main thread waits on the connection, the GIL released) and while
            # it stores the blocks before
            bounds = _block_bounds(len(order))
            blocks: list[Any] = [pool.submit(rows.block, order[lo:hi])
                                 for lo, hi in bounds]

            def ready(row_ids: np.ndarray) -> Iterator[_NewRows]:
                for i, (lo, hi) in enumerate(bounds):
                    block = blocks[i].result()
                    blocks[i] = None  # a written block's memory is freed with it
                    yield block.with_respondents(row_ids[lo:hi])

            try:
                if early_ids is not None:  # every new row's respondent
                    row_ids = early_ids[0][parsed.key_index[new]]
                    respondents_created = early_ids[1]
                else:  # the keys of the new rows, each once, and each row's index into them
                    key_pos, key_rows = np.unique(parsed.key_index[new], return_inverse=True)
                    ids, respondents_created = _respondent_ids(
                        pc.take(distinct_keys, pa.array(key_pos)), now)
                    row_ids = ids[key_rows.ravel()]
                _insert_responses(ready(row_ids[order]),
                                  _Referenced(rows.wave, rows.region), len(order), now)
            except BaseException:
                pool.shutdown(cancel_futures=True)  # no more blocks for a failed import
                raise
    replaced = np.flatnonzero(differs)
    if replaced.size:
        _update_responses(parsed, replaced, stored_ids, now)
    return ResponsesImportReport(
        label=log.label, instrument=code, version=version.version, rows=parsed.n,
        created=int(new.size), unchanged=int(same.sum()), replaced=int(replaced.size),
        respondents_created=respondents_created, waves_created=tuple(created_waves),
        waves=tuple(file_years),
    )


#: pg_advisory_xact_lock(class, instrument id) serialises the imports of one instrument.
_IMPORT_LOCK_CLASS = 0x4E494C49


def _lock_waves(instrument: Any, years: list[int]) -> dict[int, Wave]:
    """The instrument's existing waves of these years, locked until the import commits.

    PostgreSQL: imports of one instrument run one at a time (a transaction-scoped advisory
    lock, so a second import of the same file waits and then finds everything stored), and
    the waves are held FOR SHARE: their status cannot change under the import, while API
    submissions, which take the same FOR SHARE lock on their wave, go on (FOR UPDATE here
    stalled every submission into those waves for the whole load)."""
    queryset = Wave.objects.select_related("version").filter(
        instrument=instrument, year__in=years)
    if not _postgres():
        return {w.year: w for w in queryset.select_for_update()}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)",
                       [_IMPORT_LOCK_CLASS, instrument.pk])
        cursor.execute(
            f"SELECT {_col(Wave, 'id')} FROM {_table(Wave)} WHERE "
            f"{_col(Wave, 'instrument')} = %s AND {_col(Wave, 'year')} = ANY(%s) FOR SHARE",
            [instrument.pk, list(years)])
    return {w.year: w for w in queryset}


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _col(model: Any, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def _postgres() -> bool:
    return connection.vendor == "postgresql"


@dataclass
class _Stored:
    """The stored responses of the file's waves: who they are (wave, panel key, primary key)
    and what the fingerprint covers (the content), one array per column."""

    wave_id: np.ndarray
    panel_key: np.ndarray  # object
    id: np.ndarray
    region_id: np.ndarray
    sex: np.ndarray  # object, like the three text columns below
    age_group: np.ndarray
    stratum: np.ndarray
    psu: np.ndarray
    base_weight: np.ndarray
    probability_sample: np.ndarray  # bool
    status: np.ndarray  # object
    answers: np.ndarray  # (n, n_items) uint8, as stored

    @property
    def n(self) -> int:
        return int(self.id.size)

    def same_content(self, at: np.ndarray, parsed: _Parsed, rows: np.ndarray) -> np.ndarray:
        """Whether stored row `at[j]` holds exactly what file row `rows[j]` states: the fields
        the fingerprint covers (surveys.ingest.fingerprint.FINGERPRINT_FIELDS, the region by
        its row, which has one code) and the answers. Equal content is equal fingerprints,
        compared without hashing either side; a file row is submitted and a probability
        sample."""
        take = pa.array(rows)
        same = (self.status[at] == ResponseStatus.SUBMITTED.value) & self.probability_sample[at]
        same &= self.region_id[at] == parsed.region_ids[rows]
        same &= self.base_weight[at] == parsed.base_weight[rows]
        for name in ("sex", "age_group", "stratum", "psu"):
            given = getattr(parsed, name).take(take).to_numpy(zero_copy_only=False)
            same &= getattr(self, name)[at] == given
        if self.answers.shape[1] != parsed.answers.shape[1]:  # pragma: no cover - one version
            raise RuntimeError("stored answers do not match the instrument's item count")
        same &= (self.answers[at] == parsed.answers[rows]).all(axis=1)
        return same


_STORED_TEXT = ("panel_key", "sex", "age_group", "stratum", "psu", "status")


def _existing_responses(wave_ids: list[int], n_items: int) -> _Stored:
    """Every stored response of these waves (drafts too): its identity and its content.

    PostgreSQL: one query per wave, aggregated server-side into one row per `PG_GROUP`
    responses (numbers as their binary send forms, texts unit-separated, the answers as one
    bytea) and split column-wise on the client, as the index run reads a wave
    (surveys.selectors.responses); a wave with a label holding the separator (stored before
    the contract refused control characters) is read row by row instead, as on SQLite."""
    r, p = _table(Response), _table(Respondent)
    text_cols = {"panel_key": f"p.{_col(Respondent, 'panel_key')}",
                 **{name: f"r.{_col(Response, name)}" for name in _STORED_TEXT[1:]}}
    join = (f"FROM {r} r JOIN {p} p ON p.{_col(Respondent, 'id')} = "
            f"r.{_col(Response, 'respondent')} WHERE r.{_col(Response, 'wave')} ")
    plain = (f"SELECT r.{_col(Response, 'wave')}, r.{_col(Response, 'id')}, "
             f"r.{_col(Response, 'region')}, r.{_col(Response, 'base_weight')}, "
             f"r.{_col(Response, 'probability_sample')}, r.{_col(Response, 'answers')}, "
             f"{', '.join(text_cols.values())} {join}")

    def rows_of(waves: list[int]) -> list[dict[str, Any]]:
        with connection.cursor() as cursor:
            cursor.execute(f"{plain}IN ({', '.join(['%s'] * len(waves))})", waves)
            found = cursor.fetchall()
        if not found:
            return []
        columns = list(zip(*found, strict=True))
        return [{
            "wave_id": np.array(columns[0], dtype=np.int64),
            "id": np.array(columns[1], dtype=np.int64),
            "region_id": np.array(columns[2], dtype=np.int64),
            "base_weight": np.array(columns[3], dtype=np.float64),
            "probability_sample": np.array(columns[4], dtype=bool),
            "answers": np.frombuffer(b"".join(bytes(a) for a in columns[5]),
                                     np.uint8).reshape(len(found), n_items),
            **{name: np.array(columns[k], dtype=object)
               for k, name in enumerate(text_cols, start=6)},
        }]

    parts: list[dict[str, Any]] = []
    if _postgres():
        sample = (f"CASE WHEN r.{_col(Response, 'probability_sample')} THEN '\\x01'::bytea "
                  f"ELSE '\\x00'::bytea END")
        aggregates = [pg_bytes_agg(f"int8send(r.{_col(Response, 'id')})"),
                      pg_bytes_agg(f"int8send(r.{_col(Response, 'region')})"),
                      pg_bytes_agg(f"float8send(r.{_col(Response, 'base_weight')})"),
                      pg_bytes_agg(sample), pg_bytes_agg(f"r.{_col(Response, 'answers')}"),
                      *(pg_text_agg(expr) for expr in text_cols.values())]
        sql = (f"SELECT {', '.join(aggregates)} {join}= %s "
               f"GROUP BY r.{_col(Response, 'id')} / {PG_GROUP}")
        for wave_id in wave_ids:
            with raw_cursor() as cursor:
                cursor.execute(sql, [wave_id], binary=True)
                rows = cursor.fetchall()
            if not rows:
                continue
            ids = send_numbers([row[0] for row in rows])
            texts = {name: split_units([row[k] for row in rows])
                     for k, name in enumerate(text_cols, start=5)}
            if any(t.size != ids.size for t in texts.values()):
                parts += rows_of([wave_id])  # a text holds the separator
                continue
            parts.append({
                "wave_id": np.full(ids.size, wave_id, np.int64), "id": ids,
                "region_id": send_numbers([row[1] for row in rows]),
                "base_weight": send_numbers([row[2] for row in rows], ">f8"),
                "probability_sample": np.frombuffer(
                    b"".join(bytes(row[3]) for row in rows), np.uint8) == 1,
                "answers": np.frombuffer(b"".join(bytes(row[4]) for row in rows),
                                         np.uint8).reshape(ids.size, n_items),
                **texts,
            })
    else:
        parts = rows_of(wave_ids)
    names = [f.name for f in fields(_Stored)]
    if not parts:
        empty = {name: np.empty(0, dtype=object if name in _STORED_TEXT else np.int64)
                 for name in names}
        empty["answers"] = np.empty((0, n_items), dtype=np.uint8)
        return _Stored(**empty)
    return _Stored(**{name: np.concatenate([part[name] for part in parts]) for name in names})


_KEYS_TABLE = "nilai_import_keys"


class _EarlyRespondents:
    """PostgreSQL: the respondents of a file's panel keys, created in a thread while the main
    thread checks the rest of the file (docs/DECISIONS.md 80).

    The respondents depend only on the keys: a key without a respondent has no stored row,
    so every key of the file that is missing is one a new row needs. `start` runs
    `_pg_respondent_ids` on the psycopg connection under Django's, inside the import's
    transaction (so a file that then fails a check leaves none behind); the main thread does
    not touch the database until `result`. Used as a context manager inside that transaction:
    leaving it waits for the thread, so the transaction never ends under it."""

    def __init__(self, now: Any):
        self.now = now
        self._pool: ThreadPoolExecutor | None = None
        self._future: Any = None

    def __enter__(self) -> _EarlyRespondents:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def start(self, keys: list[str]) -> None:
        connection.ensure_connection()
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._future = self._pool.submit(_pg_respondent_ids, connection.connection,
                                         pa.array(keys, type=pa.string()), self.now)

    def result(self) -> tuple[np.ndarray, int] | None:
        """(respondent ids in the order of the keys given, how many were created), or None if
        never started."""
        return None if self._future is None else self._future.result()


def _respondent_ids(keys: pa.Array, now: Any) -> tuple[np.ndarray, int]:
    """Respondent ids for distinct panel keys (same order), creating the missing respondents.

    PostgreSQL: `_pg_respondent_ids`. SQLite: the keys go to a temporary table, the missing
    respondents are created at once with an INSERT ... SELECT and one joined SELECT returns
    every id, so the cost does not grow with round trips."""
    if _postgres():
        connection.ensure_connection()
        return _pg_respondent_ids(connection.connection, keys, now)
    table, key_col, id_col = (
        _table(Respondent), _col(Respondent, "panel_key"), _col(Respondent, "id"))
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {_KEYS_TABLE}")
        cursor.execute(f"CREATE TEMPORARY TABLE {_KEYS_TABLE} (ord bigint PRIMARY KEY, "
                       f"panel_key varchar(64) NOT NULL)")
        cursor.executemany(f"INSERT INTO {_KEYS_TABLE} (ord, panel_key) VALUES (%s, %s)",
                           list(enumerate(keys.to_pylist())))
        cursor.execute(_missing_respondents_insert(), [now])
        created = cursor.rowcount
        cursor.execute(f"SELECT r.{id_col} FROM {_KEYS_TABLE} k JOIN {table} r "
                       f"ON r.{key_col} = k.panel_key ORDER BY k.ord")
        ids = np.fromiter((row[0] for row in cursor.fetchall()), dtype=np.int64)
        cursor.execute(f"DROP TABLE {_KEYS_TABLE}")
    if len(ids) != len(keys):  # pragma: no cover - the join covers every key just inserted
        raise RuntimeError("respondent ids do not match the panel keys")
    return ids, created


def _missing_respondents_insert() -> str:
    """INSERT of the respondents of `_KEYS_TABLE`'s keys not stored yet, in key order (the
    unique index is filled front to back); parameter: created_at."""
    table, key_col = _table(Respondent), _col(Respondent, "panel_key")
    return (f"INSERT INTO {table} ({key_col}, {_col(Respondent, 'created_at')}) "
            f"SELECT k.panel_key, %s FROM {_KEYS_TABLE} k WHERE NOT EXISTS (SELECT 1 FROM "
            f"{table} r WHERE r.{key_col} = k.panel_key) ORDER BY k.panel_key")


def _pg_respondent_ids(raw: Any, keys: pa.Array, now: Any) -> tuple[np.ndarray, int]:
    """PostgreSQL: respondent ids for distinct panel keys (same order) and how many were
    created, on the psycopg connection `raw` alone (no Django state: it may run in a thread,
    `_EarlyRespondents`), in its current transaction.

    The keys are COPYed to a temporary table; one join returns the ids of those stored
    already and locks them FOR KEY SHARE (what the foreign-key check of every inserted
    response would take on its respondent, once per respondent, so no concurrent delete
    removes one the new responses point to). The others get ids from the table's sequence
    (ascending, in key order, so both indexes fill front to back) and are COPYed in one go
    (PostgreSQL's multi-row insert: 1.1 s against 2.4 s for an INSERT ... SELECT of 387k
    keys; no second join for their ids). A respondent created by another session meanwhile
    (an API submission) makes that COPY fail on the unique key; then, after rolling back to a
    savepoint, INSERT ... ON CONFLICT DO NOTHING takes it as it is, never an error (ON
    CONFLICT every time costs ~40 % more than a plain insert: a speculative insertion per
    row), and one join reads every id."""
    from psycopg import Cursor
    from psycopg.errors import UniqueViolation

    table, key_col, id_col = (
        _table(Respondent), _col(Respondent, "panel_key"), _col(Respondent, "id"))
    with Cursor(raw) as cursor:
        # sorts and the joins in memory, not in temporary files (until the import commits)
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(f"DROP TABLE IF EXISTS {_KEYS_TABLE}")
        cursor.execute(f"CREATE TEMPORARY TABLE {_KEYS_TABLE} (ord bigint NOT NULL, "
                       f"panel_key varchar(64) NOT NULL) ON COMMIT DROP")
        _copy_in_binary(cursor, f"{_KEYS_TABLE} (ord, panel_key)", len(keys),
                        [_big_endian(np.arange(len(keys)), ">i8")], [keys])
        pairs = _int8_values(
            cursor, f"SELECT string_agg(int8send(s.ord) || int8send(s.id), ''::bytea) FROM "
            f"(SELECT k.ord, r.{id_col} AS id FROM {_KEYS_TABLE} k JOIN {table} r ON "
            f"r.{key_col} = k.panel_key FOR KEY SHARE OF r) AS s").reshape(-1, 2)
        ids = np.full(len(keys), -1, dtype=np.int64)
        ids[pairs[:, 0]] = pairs[:, 1]
        missing = np.flatnonzero(ids < 0)
        created = 0
        if missing.size:
            missing = missing[pc.sort_indices(keys.take(pa.array(missing))).to_numpy()]
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)",
                           [Respondent._meta.db_table, Respondent._meta.pk.column])
            (sequence,) = cursor.fetchone()
            new_ids = np.sort(_int8_values(
                cursor, "SELECT string_agg(int8send(nextval(%s::regclass)), ''::bytea) FROM "
                "generate_series(1, %s)", [sequence, int(missing.size)]))
            cursor.execute("SAVEPOINT nilai_import_respondents")
            try:
                _copy_in_binary(
                    cursor, f"{table} ({id_col}, {_col(Respondent, 'created_at')}, {key_col})",
                    int(missing.size),
                    [_big_endian(new_ids, ">i8"),
                     _pg_timestamp((now - _PG_EPOCH) // timedelta(microseconds=1))],
                    [keys.take(pa.array(missing))])
            except UniqueViolation:
                cursor.execute("ROLLBACK TO SAVEPOINT nilai_import_respondents")
                cursor.execute(f"{_missing_respondents_insert()} ON CONFLICT ({key_col}) "
                               f"DO NOTHING", [now])
                created = cursor.rowcount
                ids = _int8_values(
                    cursor, f"SELECT string_agg(int8send(r.{id_col}), ''::bytea ORDER BY "
                    f"k.ord) FROM {_KEYS_TABLE} k JOIN {table} r ON r.{key_col} = k.panel_key")
            else:
                cursor.execute("RELEASE SAVEPOINT nilai_import_respondents")
                ids[missing] = new_ids
                created = int(missing.size)
        cursor.execute(f"DROP TABLE {_KEYS_TABLE}")
    if len(ids) != len(keys) or (ids < 0).any():  # pragma: no cover - every key is covered
        raise RuntimeError("respondent ids do not match the panel keys")
    return ids, created


def _int8_values(cursor: Any, sql: str, params: Sequence[Any] | None = None) -> np.ndarray:
    """PostgreSQL: the int64 values a query returns as one aggregated bytea of `int8send`
    (big-endian), fetched in binary on a psycopg cursor: no row and no Python object per
    value."""
    cursor.execute(sql, params, binary=True)
    row = cursor.fetchone()
    return send_numbers([row[0] if row is not None and row[0] is not None else b""])


@dataclass
class _NewRows:
    wave: np.ndarray
    respondent: np.ndarray | None  # primary keys; None until the respondents are created
    submission: pa.Array | None  # 32 hex digits each; None: stored as NULL (derived)
    region: np.ndarray
    sex: pa.Array
    age_group: pa.Array
    stratum: pa.Array
    psu: pa.Array
    base_weight: np.ndarray
    answers: np.ndarray

    def block(self, positions: np.ndarray) -> _NewRows:
        """The rows at `positions` (a block of the COPY)."""
        take = pa.array(positions)

        def pick(value: Any) -> Any:
            if isinstance(value, np.ndarray):
                return value[positions]
            if isinstance(value, pa.Array | pa.ChunkedArray):
                return value.take(take)
            return value

        return _NewRows(**{f.name: pick(getattr(self, f.name)) for f in fields(self)})

    def with_respondents(self, ids: np.ndarray) -> _NewRows:
        """These rows with their respondents' primary keys (known once they are created)."""
        self.respondent = ids
        return self

    def submission_ids(self) -> np.ndarray | None:
        """The rows' given submission ids as an (n, 16) byte matrix; None when the file gave
        none: the rows are stored without one (NULL), their id being the derived one of
        (respondent, wave) (`Response.effective_submission_id`; docs/DECISIONS.md 80)."""
        if self.submission is None:
            return None
        hexed = _fixed_width_text(self.submission, 32).tobytes().decode("ascii")
        return np.frombuffer(bytes.fromhex(hexed), dtype=np.uint8).reshape(len(self.wave), 16)


_COPY_CHUNK = 200_000
_COPY_FIRST_CHUNK = 25_000


def _block_bounds(n: int) -> list[tuple[int, int]]:
    """The COPY's blocks of n rows: a small first one (the server starts storing sooner),
    then _COPY_CHUNK rows each."""
    edges = [0, *range(min(n, _COPY_FIRST_CHUNK), n, _COPY_CHUNK), n]
    return [(lo, hi) for lo, hi in zip(edges, edges[1:], strict=False) if hi > lo]


#: PostgreSQL: from this many new rows the planner statistics are refreshed after the load,
#: for these columns.
ANALYZE_MIN_ROWS = 100_000
ANALYZE_COLUMNS = ("id", "wave", "respondent", "region", "status", "source", "submission_id",
                   "sex", "age_group", "stratum", "psu")


class _Referenced:
    """What the new rows point to, for the set-based checks of `_trusted_load`."""

    def __init__(self, waves: np.ndarray, regions: np.ndarray):
        self.waves = np.unique(waves).tolist()
        self.regions = np.unique(regions).tolist()


@contextmanager
def _trusted_load(cursor: Any, refs: _Referenced) -> Iterator[bool]:
    """PostgreSQL: write the new response rows without a foreign-key trigger per row.

    The row triggers of the four foreign keys cost more than the COPY itself (one lookup and
    one row lock per key and row, about 60 s per million rows). Their work is done here once
    per referenced row instead, inside the import's transaction: the waves are held FOR SHARE
    (`_lock_waves`), the existing respondents FOR KEY SHARE (`_respondent_ids`), the regions
    FOR KEY SHARE below, and each set is counted (the respondents in `_respondent_ids`);
    `created_by` is NULL. Then, for the COPY only,
    `SET LOCAL session_replication_role = replica` skips the triggers; constraints, unique
    indexes and check constraints still apply, and nothing is dropped, so no lock beyond ROW
    EXCLUSIVE is taken on the live table and API submissions go on (docs/DECISIONS.md).

    Applies only when the table has no trigger of its own (replica mode would skip it too)
    and the role may set the parameter (a superuser, or PostgreSQL 15's `GRANT SET ON
    PARAMETER session_replication_role`); otherwise the triggers run (slower, same result).
    Yields whether the triggers are skipped.
    """
    cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass "
                   "AND NOT tgisinternal", [Response._meta.db_table])
    (own_triggers,) = cursor.fetchone()
    if own_triggers:
        yield False
        return
    try:
        with transaction.atomic():
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        yield False
        return
    checks = (
        (Wave, refs.waves, "FOR SHARE"),  # already held: re-taking it is free
        (Region, refs.regions, "FOR KEY SHARE"),
    )
    for model, ids, lock in checks:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {_table(model)} WHERE {_col(model, 'id')} "
            f"= ANY(%s) {lock}) AS locked", [ids])
        (found,) = cursor.fetchone()
        if found != len(ids):  # pragma: no cover - ids come from rows read in this transaction
            raise RuntimeError(f"{model.__name__}: {len(ids) - found} referenced rows missing")
    yield True
    cursor.execute("SET LOCAL session_replication_role = DEFAULT")


_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_PG_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # no flags, no header extension
_PG_COPY_TRAILER = b"\xff\xff"


def _big_endian(values: np.ndarray, dtype: str) -> np.ndarray:
    """(n, size) bytes of each value in network byte order."""
    array = np.ascontiguousarray(values, dtype=dtype)
    return array.view(np.uint8).reshape(len(array), -1)


def _fixed_width_text(arr: pa.Array, width: int) -> np.ndarray:
    """(n, width) bytes of a string array whose values all have `width` bytes."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset: arr.offset + n + 1]
    if n and not (np.diff(offsets) == width).all():  # pragma: no cover - built that way
        raise ValueError(f"values of {width} bytes expected")
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8) if n else np.zeros(0, np.uint8)
    return data[offsets[0]: offsets[-1]].reshape(n, width) if n else data.reshape(0, width)


def _binary_rows(rows: _NewRows, stamp_us: int) -> memoryview:
    """The rows (a block) in COPY's binary format, columns in RESPONSE_COPY_BINARY_COLUMNS
    order (the four text fields last)."""
    stamp = _pg_timestamp(stamp_us)
    fixed: dict[str, Any] = {
        "wave": _big_endian(rows.wave, ">i8"),
        "respondent": _big_endian(rows.respondent, ">i8"),
        "submission_id": rows.submission_ids(),
        "status": ResponseStatus.SUBMITTED.value.encode(),
        "source": ResponseSource.IMPORT.value.encode(), "consent": b"\x01",
        "region": _big_endian(rows.region, ">i8"),
        "base_weight": _big_endian(rows.base_weight, ">f8"),
        "probability_sample": b"\x01", "answers": rows.answers,
        "content_hash": b"",  # computed from the row when needed (stored_fingerprint)
        "created_by": None, "created_at": stamp, "updated_at": stamp, "submitted_at": stamp,
    }
    return _binary_copy(
        len(rows.wave),
        [fixed[name] for name in ingest_sql.RESPONSE_COPY_BINARY_COLUMNS
         if name not in ingest_sql.RESPONSE_COPY_TEXT_FIELDS],
        [getattr(rows, name) for name in ingest_sql.RESPONSE_COPY_TEXT_FIELDS])


def _pg_timestamp(stamp_us: int) -> bytes:
    """A timestamptz in COPY's binary format: microseconds since 2000-01-01 UTC, big-endian."""
    return struct.pack(">q", stamp_us)


def _copy_in_binary(cursor: Any, target: str, n: int, fixed: list[Any],
                    texts: list[pa.Array]) -> None:
    """COPY n rows into `target` ("table (columns)") in binary, in one go (`_binary_copy`
    lays them out)."""
    with cursor.copy(f"COPY {target} FROM STDIN WITH (FORMAT binary)") as copy:
        copy.write(_PG_COPY_SIGNATURE)
        copy.write(_binary_copy(n, fixed, texts))
        copy.write(_PG_COPY_TRAILER)


def _binary_copy(n: int, fixed: list[Any], texts: list[pa.Array]) -> memoryview:
    """n rows in COPY's binary format (without the file header and trailer): the columns
    `fixed`, each None (NULL), bytes (the same value in every row) or an (n, width) uint8
    matrix (each row's value), then the text columns `texts`.

    Per row: the field count, then every field as its length and its bytes. The fixed-width
    fields go into one (rows x width) byte matrix, column by column; the text fields are
    appended by arrow's element-wise join, each after its length."""
    pieces: list[Any] = [struct.pack(">h", len(fixed) + len(texts))]
    for value in fixed:
        if value is None:
            pieces.append(struct.pack(">i", -1))
        elif isinstance(value, bytes):
            pieces.append(struct.pack(">i", len(value)) + value)
        else:
            pieces += [struct.pack(">i", value.shape[1]), value]
    width = sum(len(p) if isinstance(p, bytes) else p.shape[1] for p in pieces)
    matrix = np.empty((n, width), dtype=np.uint8)
    at = 0
    for piece in pieces:
        size = len(piece) if isinstance(piece, bytes) else piece.shape[1]
        matrix[:, at: at + size] = (np.frombuffer(piece, dtype=np.uint8)
                                    if isinstance(piece, bytes) else piece)
        at += size
    columns: list[Any] = [pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width), n, [None, pa.py_buffer(matrix)]).cast(pa.binary())]
    for column in texts:
        text = column.cast(pa.binary())
        lengths = _big_endian(pc.binary_length(text).to_numpy(zero_copy_only=False), ">i4")
        columns += [pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(4), n, [None, pa.py_buffer(lengths)]).cast(pa.binary()), text]
    joined = pc.binary_join_element_wise(*columns, pa.scalar(b"", pa.binary()))
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32)[
        joined.offset: joined.offset + n + 1]
    return memoryview(joined.buffers()[2])[offsets[0]: offsets[-1]]


def _insert_responses(blocks: Iterator[_NewRows], refs: _Referenced, n: int, now: Any
                      ) -> None:
    """Insert the new rows, `n` in all, given block by block in the order they are written:
    each column given by name, in surveys.ingest.sql's one column list (COPY on PostgreSQL,
    executemany on SQLite)."""
    if _postgres():
        from psycopg.copy import QueuedLibpqWriter

        stamp_us = (now - _PG_EPOCH) // timedelta(microseconds=1)
        with connection.cursor() as cursor, _trusted_load(cursor, refs):
            # the queued writer sends from a thread: the next block is laid out while the
            # server stores the previous one
            with cursor.cursor.copy(ingest_sql.RESPONSE_COPY_BINARY,
                                    writer=QueuedLibpqWriter(cursor.cursor)) as copy:
                copy.write(_PG_COPY_SIGNATURE)
                for block in blocks:
                    copy.write(_binary_rows(block, stamp_us))
                copy.write(_PG_COPY_TRAILER)
            if n >= ANALYZE_MIN_ROWS:
                # fresh planner statistics: autovacuum has not caught up right after a load,
                # and with the old estimate the exports sorted a million rows on disk.
                # ANALYZE takes SHARE UPDATE EXCLUSIVE: inserts and reads go on. Only the
                # columns queries filter, join, group or sort on (the answers, hashes and
                # time stamps never are), which takes half the time.
                columns = ", ".join(_col(Response, name) for name in ANALYZE_COLUMNS)
                cursor.execute(f"ANALYZE {_table(Response)} ({columns})")
        return
    raw = connection.connection
    # The default 2 MB page cache makes every insert into the random-keyed unique indexes
    # (submission id, wave x respondent) a page miss; 256 MB keeps them in memory.
    (previous,) = raw.execute("PRAGMA cache_size").fetchone()
    raw.execute(f"PRAGMA cache_size = {_SQLITE_CACHE_KIB}")
    try:
        for block in blocks:
            data = _sqlite_rows(block, now)
            while True:
                batch = [row for _, row in zip(range(_INSERT_BATCH), data, strict=False)]
                if not batch:
                    break
                raw.executemany(ingest_sql.RESPONSE_INSERT_SQLITE, batch)
    finally:
        raw.execute(f"PRAGMA cache_size = {int(previous)}")


def _sqlite_rows(rows: _NewRows, now: Any) -> Iterator[tuple[Any, ...]]:
    """The rows as parameter tuples of RESPONSE_INSERT_SQLITE."""
    assert rows.respondent is not None
    n, k = rows.answers.shape
    stamp = connection.ops.adapt_datetimefield_value(now)
    packed = rows.answers.tobytes()
    const = [stamp] * n
    values: dict[str, list[Any]] = {
        "wave": rows.wave.tolist(), "respondent": rows.respondent.tolist(),
        # the given ids as the 32 hex digits SQLite stores a UUID as, or NULL (derived)
        "submission_id": [None] * n if rows.submission is None else rows.submission.to_pylist(),
        "status": [ResponseStatus.SUBMITTED.value] * n,
        "source": [ResponseSource.IMPORT.value] * n, "consent": [1] * n,
        "region": rows.region.tolist(), "sex": rows.sex.to_pylist(),
        "age_group": rows.age_group.to_pylist(), "stratum": rows.stratum.to_pylist(),
        "psu": rows.psu.to_pylist(), "base_weight": rows.base_weight.tolist(),
        "probability_sample": [1] * n,
        "answers": [packed[i: i + k] for i in range(0, len(packed), k)] if k else [b""] * n,
        "content_hash": [""] * n, "created_by": [None] * n,
        "created_at": const, "updated_at": const, "submitted_at": const,
    }
    return zip(*(values[name] for name in ingest_sql.RESPONSE_COLUMNS), strict=True)


def _update_responses(parsed: _Parsed, idx: np.ndarray, ids: np.ndarray, now: Any) -> None:
    """Replace the content of stored responses `ids[idx]` by the file rows `idx` (their
    fingerprint is left empty, like any imported row's: `stored_fingerprint`)."""
    names = ("region", "sex", "age_group", "stratum", "psu", "base_weight", "answers",
             "content_hash", "status", "source", "probability_sample", "updated_at")
    sets = ", ".join(f"{_col(Response, name)} = %s" for name in names)
    sql = (
        f"UPDATE {_table(Response)} SET {sets}, {_col(Response, 'submitted_at')} = "
        f"COALESCE({_col(Response, 'submitted_at')}, %s) WHERE {_col(Response, 'id')} = %s"
    )
    params = []
    for i in idx.tolist():
        params.append((
            int(parsed.region_ids[i]), parsed.sex[i].as_py(), parsed.age_group[i].as_py(),
            parsed.stratum[i].as_py(), parsed.psu[i].as_py(), float(parsed.base_weight[i]),
            parsed.answers[i].tobytes(), "", ResponseStatus.SUBMITTED.value,
            ResponseSource.IMPORT.value, True, now, now, int(ids[i]),
        ))
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
