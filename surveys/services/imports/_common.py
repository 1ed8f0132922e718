"""Shared plumbing of the file importers: reading, error collection and reports.

Every importer validates a whole file first and collects *all* problems (up to a limit) before
anything is written; the write then happens in one transaction. Messages are Indonesian first,
English second, and name the file, the row (1-based, the header is row 1) and the column.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_noop as _noop

from surveys.language import both
from surveys.models import AgeGroup, Sex
from surveys.models.waves import YEAR_MAX, YEAR_MIN

#: How many problems without a row (file, header-less or field problems) are listed.
ERROR_LIMIT = 50
#: How many rows with problems are listed, one line each, before "... and N more rows".
ERROR_ROW_LIMIT = 20
#: Problems listed on one row's line (one problem on several columns counts once).
ROW_PROBLEM_LIMIT = 5
#: Problems stored per row (the rest are only counted).
_ROW_STORE_LIMIT = 200

#: Codes loaded from files (indicator, instrument, dimension and item codes) are slugs: ASCII
#: letters and digits, then also ``_ . -``. No leading ``= + - @`` (a spreadsheet would read a
#: formula), no space, control or invisible character (U+202E, U+200B...).
SLUG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: Region codes (BPS) are digits; Kemendagri codes are digits in dot-separated groups.
REGION_CODE_RE = re.compile(r"[0-9]+")
KEMENDAGRI_CODE_RE = re.compile(r"[0-9]+(?:\.[0-9]+)*")

#: A number written with a decimal comma, as Excel in an Indonesian locale saves it: ``1,5``,
#: ``1121,19`` or with dot thousands ``1.121,19``.
COMMA_DECIMAL_PATTERN = r"^[+-]?(?:[0-9]+|[0-9]{1,3}(?:\.[0-9]{3})+),[0-9]+$"
COMMA_DECIMAL_RE = re.compile(COMMA_DECIMAL_PATTERN)
#: A number with a decimal point and no comma (``1.5``).
DOT_DECIMAL_PATTERN = r"^[+-]?[0-9]*\.[0-9]+$"
DOT_DECIMAL_RE = re.compile(DOT_DECIMAL_PATTERN)
#: Delimiters tried on the header line besides the comma: Excel in an Indonesian (or any
#: decimal-comma) locale saves "CSV" with semicolons; some tools write tabs.
_OTHER_DELIMITERS = (";", "\t")
_DELIMITER_NAMES = {";": "';'", "\t": "tab"}

SEX_VALUES = frozenset(Sex.values)
AGE_GROUP_VALUES = frozenset(AgeGroup.values)


class ImportFailed(Exception):
    """A file was rejected; `messages` lists every problem found (already formatted)."""

    def __init__(self, messages: list[str]):
        super().__init__("\n".join(messages))
        self.messages = messages


@dataclass
class _Problem:
    where: str | None  # "column", "field" or None
    name: str | None
    text: str  # "Indonesian / English" (surveys.language.both)


@dataclass
class ErrorLog:
    """Collects the problems of one file and reports them one line per row.

    A row's line names the row (1-based, the header is row 1) and lists its problems; the same
    problem on several columns is listed once with its columns (an out-of-range row gives one
    line, not thirty). The first `row_limit` rows with problems are listed, then how many rows
    more; problems without a row (the file, a JSON field) are listed up to `limit`. `notes`
    (how the file was read: its delimiter, decimal commas) head the report.
    """

    label: str
    limit: int = ERROR_LIMIT
    row_limit: int = ERROR_ROW_LIMIT
    total: int = 0
    general: list[str] = field(default_factory=list)
    general_total: int = 0
    rows: dict[int, list[_Problem]] = field(default_factory=dict)
    #: rows with problems that were counted (vectorised checks) but not stored
    extra_rows: int = 0
    notes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.total > 0

    def add(self, msgid: str, /, *, row: int | None = None, column: str | None = None,
            field: str | None = None, **params: object) -> None:
        """One problem: `msgid` (an English gettext msgid marked ``_noop`` with its
        ``# Translators: id:`` comment) filled with `params`, stored in both languages
        (`surveys.language.both`). A msgid's placeholders are never named row/column/field."""
        self.total += 1
        text = both(msgid, **params)
        where, name = ("column", column) if column is not None else (
            ("field", field) if field is not None else (None, None))
        if row is None:
            self.general_total += 1
            if len(self.general) >= self.limit:
                return
            head = self.label
            if where is not None:
                head += f", {_WHERE[where]} {name}"
            self.general.append(f"{head}: {text}")
            return
        problems = self.rows.setdefault(row, [])
        if len(problems) < _ROW_STORE_LIMIT:
            problems.append(_Problem(where, name, text))

    def note(self, msgid: str, /, **params: object) -> None:
        """How the file was read (shown above its problems, when there are any); `msgid` and
        `params` as in `add`."""
        line = f"{self.label}: {both(msgid, **params)}"
        if line not in self.notes:
            self.notes.append(line)

    @property
    def row_count(self) -> int:
        """Rows with at least one problem."""
        return len(self.rows) + self.extra_rows

    @property
    def messages(self) -> list[str]:
        """The report lines (without the heading): notes, problems without a row, then one
        line per row in row order, capped, with the counts of what was left out."""
        lines = [*self.notes, *self.general]
        if self.general_total > len(self.general):
            more = self.general_total - len(self.general)
            # Translators: id: dan {more} kesalahan lain
            lines.append("... " + both(_noop("and {more} more errors"), more=more))
        row_lines = sorted(self.rows.items())[: self.row_limit]
        for row, problems in row_lines:
            lines.append(_row_line(self.label, row, problems))
        more_rows = self.row_count - len(row_lines)
        if more_rows > 0:
            # Translators: id: dan {more} baris lain dengan kesalahan
            lines.append("... " + both(_noop("and {more} more rows with errors"), more=more_rows))
        return lines

    def raise_if_any(self) -> None:
        if not self.total:
            return
        # Translators: id: {total} kesalahan, tidak ada yang disimpan
        head = f"{self.label}: " + both(_noop("{total} errors, nothing was saved"),
                                        total=self.total)
        raise ImportFailed([head, *self.messages])


_WHERE = {"column": "kolom/column", "field": "isian/field"}


def _names(names: list[str]) -> str:
    """Columns of one problem: all of them up to four, else the first, the last and a count."""
    if len(names) <= 4:
        return ", ".join(names)
    return f"{names[0]} ... {names[-1]} ({len(names)} kolom/columns)"


def _row_line(label: str, row: int, problems: list[_Problem]) -> str:
    groups: dict[tuple[str | None, str], list[str]] = {}
    for p in problems:
        names = groups.setdefault((p.where, p.text), [])
        if p.name is not None and p.name not in names:
            names.append(p.name)
    parts = []
    for (where, text), names in groups.items():
        parts.append(f"{_WHERE[where]} {_names(names)}: {text}" if where and names else text)
    head = f"{label}, baris/row {row}"
    if len(parts) == 1:
        only = parts[0]
        return f"{head}, {only}" if only.startswith(tuple(_WHERE.values())) else f"{head}: {only}"
    shown_parts = parts[:ROW_PROBLEM_LIMIT]
    more = len(parts) - len(shown_parts)
    if more:
        # Translators: id: dan {more} masalah lain
        shown_parts.append("... " + both(_noop("and {more} more problems"), more=more))
    return f"{head}: " + "; ".join(shown_parts)


@dataclass(frozen=True)
class LoadReport:
    """What a loader did: rows created, changed (updated in place) and unchanged."""

    label: str
    #: what was loaded: a msgid (``_noop``), shown in both languages
    what: str
    created: int = 0
    changed: int = 0
    unchanged: int = 0

    @property
    def is_noop(self) -> bool:
        return self.created == 0 and self.changed == 0

    def summary(self) -> str:
        if self.is_noop:
            # Translators: id: Tidak ada perubahan
            head = both(_noop("nothing changed"))
        else:
            # Translators: id: Dimuat
            head = both(_noop("loaded"))
        # Translators: id: {created} baru, {changed} diubah, {unchanged} tidak berubah
        counts = both(_noop("{created} new, {changed} changed, {unchanged} unchanged"),
                      created=self.created, changed=self.changed, unchanged=self.unchanged)
        return f"{head} {self.label} ({both(self.what)}): {counts}"


def read_bytes(path: Path, log: ErrorLog) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError as exc:
        # Translators: id: berkas tidak dapat dibaca ({strerror})
        log.add(_noop("file cannot be read ({strerror})"), strerror=exc.strerror)
        return None


def decode_utf8(data: bytes, log: ErrorLog) -> str | None:
    """Decode UTF-8 with or without BOM; a bad byte is reported with its row."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = data.count(b"\n", 0, exc.start) + 1
        # Translators: id: bukan teks UTF-8 yang sah
        log.add(_noop("not valid UTF-8 text"), row=row)
        return None


def split_header(line: str, required: tuple[str, ...], log: ErrorLog) -> tuple[str, list[str]]:
    """The delimiter of a CSV, found from its header line, and the header's cells.

    A comma unless another delimiter (``;``, tab) finds more of the required columns, or the
    comma finds none and splits nothing while the other splits the line (then the header's
    problems name the real columns). Excel in an Indonesian locale saves "CSV" with ``;``.
    A delimiter other than the comma is noted in the report.
    """
    def hits(cells: list[str]) -> int:
        return len(set(required) & {cell.strip() for cell in cells})

    best, best_cells = ",", next(csv.reader([line]), [])
    best_hits = hits(best_cells)
    for delim in _OTHER_DELIMITERS:
        if delim not in line:
            continue
        cells = next(csv.reader([line], delimiter=delim), [])
        if hits(cells) > best_hits or (
                hits(cells) == best_hits and len(best_cells) == 1 and len(cells) > 1):
            best, best_cells, best_hits = delim, cells, hits(cells)
    if best != ",":
        name = _DELIMITER_NAMES[best]
        # Translators: id: berkas ini memakai pemisah {name}, bukan koma (seperti CSV dari Excel
        #   berbahasa Indonesia); dibaca dengan pemisah itu
        log.note(_noop("this file uses {name} as its delimiter, not a comma (as a CSV saved by "
                       "Excel in an Indonesian locale); it was read with that delimiter"),
                 name=name)
    return best, best_cells


def _column_name(name: str) -> str:
    return name if len(name) <= 40 else name[:37] + "..."


def parse_header(header: list[str], *, required: tuple[str, ...], optional: tuple[str, ...],
                 log: ErrorLog, allow_extra: bool = False) -> list[str]:
    """Check a header row: required columns present, no duplicates, no unknown columns."""
    names = [name.strip() for name in header]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            # Translators: id: kolom {name} ganda
            log.add(_noop("duplicate column {name}"), name=shown(name), row=1,
                    column=_column_name(name))
        seen.add(name)
    missing = [name for name in required if name not in seen]
    if missing:
        listed = ", ".join(missing)
        if len(missing) == 1:
            # Translators: id: kolom wajib '{listed}' tidak ada
            log.add(_noop("required column '{listed}' is missing"), listed=listed, row=1,
                    column=listed)
        else:
            # Translators: id: kolom wajib tidak ada: {listed}
            log.add(_noop("required columns are missing: {listed}"), listed=listed, row=1)
    if not allow_extra:
        known = set(required) | set(optional)
        for name in names:
            if name not in known:
                # Translators: id: kolom tidak dikenal {name}
                log.add(_noop("unknown column {name}"), name=shown(name), row=1,
                        column=_column_name(name))
    return names


def mixed_decimals(log: ErrorLog, column: str, *, comma_row: int, dot_row: int) -> None:
    """A column of a ``;`` file with both decimal commas and decimal points: ambiguous."""
    # Translators: id: koma desimal (baris {comma_row}) dan titik desimal (baris {dot_row})
    #   bercampur; tulis semua angka kolom ini dengan cara yang sama
    log.add(_noop("decimal commas (row {comma_row}) and decimal points (row {dot_row}) are "
                  "mixed; write every number of this column the same way"), comma_row=comma_row,
            dot_row=dot_row, column=column)


def note_decimal_commas(log: ErrorLog, column: str) -> None:
    # Translators: id: kolom {the_column} memakai koma desimal (1,5 = 1.5); dibaca demikian
    log.note(_noop("column {the_column} uses decimal commas (1,5 = 1.5); read as such"),
             the_column=column)


def _decimal_commas(records: list[tuple[int, dict[str, str]]], columns: tuple[str, ...],
                    log: ErrorLog) -> None:
    """Numbers with a decimal comma in the ``numeric`` columns of a ``;`` file become numbers
    with a point, when no cell of the column uses a decimal point (else it is ambiguous)."""
    for column in columns:
        comma = [(row, rec) for row, rec in records if COMMA_DECIMAL_RE.match(rec[column])]
        if not comma:
            continue
        dot = next((row for row, rec in records if DOT_DECIMAL_RE.match(rec[column])), None)
        if dot is not None:
            mixed_decimals(log, column, comma_row=comma[0][0], dot_row=dot)
            continue
        for _, rec in comma:
            rec[column] = rec[column].replace(".", "").replace(",", ".")
        note_decimal_commas(log, column)


def csv_records(text: str, *, required: tuple[str, ...], optional: tuple[str, ...],
                log: ErrorLog, numeric: tuple[str, ...] = ()
                ) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (row number, {column: stripped value}) for a small CSV; blank lines are skipped.

    The delimiter is found from the header (`split_header`); in a file that does not use
    commas, the ``numeric`` columns may use decimal commas (`_decimal_commas`). Rows with the
    wrong number of cells are reported and skipped. Yields nothing when the header is bad (the
    problems are in `log`).
    """
    first_line = text.split("\n", 1)[0].rstrip("\r")
    delimiter, _ = split_header(first_line, required, log)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        # Translators: id: berkas kosong
        log.add(_noop("empty file"))
        return
    except csv.Error as exc:
        # Translators: id: CSV rusak ({exc})
        log.add(_noop("malformed CSV ({exc})"), exc=exc, row=1)
        return
    names = parse_header(header, required=required, optional=optional, log=log)
    if log:
        return
    records: list[tuple[int, dict[str, str]]] = []
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # Translators: id: CSV rusak ({exc})
            log.add(_noop("malformed CSV ({exc})"), exc=exc, row=reader.line_num)
            return
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        row = reader.line_num
        if len(cells) != len(names):
            # Translators: id: {cells} sel, seharusnya {n_columns}
            log.add(_noop("{cells} cells, expected {n_columns}"), cells=len(cells),
                    n_columns=len(names), row=row)
            records.append((row, {}))
            continue
        records.append((row, {name: cell.strip() for name, cell in zip(names, cells, strict=True)}))
    if not records:
        # Translators: id: berkas tidak berisi baris data
        log.add(_noop("file has no data rows"))
        return
    complete = [(row, rec) for row, rec in records if rec]
    if delimiter != ",":
        _decimal_commas(complete, tuple(c for c in numeric if c in names), log)
    yield from complete


def shown(value: object, limit: int = 60) -> str:
    """A value for an error message: escaped (a control or invisible character is shown as
    ``\\u202e``, never acted on) and cut at ``limit`` characters."""
    text = ascii(value) if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


#: The rule of `SLUG_RE`, for `check_code`'s message.
# Translators: id: hanya huruf, angka, _ . - dan diawali huruf atau angka
SLUG_RULE = _noop("only letters, digits, _ . - and starting with a letter or digit")


def check_code(value: object, log: ErrorLog, *, what: str, max_length: int | None = None,
               pattern: re.Pattern[str] = SLUG_RE, rule: str = SLUG_RULE,
               row: int | None = None, column: str | None = None,
               field: str | None = None) -> bool:
    """Report a code that is empty, too long or not of ``pattern`` (a slug by default).

    `what` (the code's name, "item code") and `rule` (what ``pattern`` allows) are msgids
    (``_noop``), translated into each language of the message."""
    name, rule_text = gettext_lazy(what), gettext_lazy(rule)
    if not isinstance(value, str) or not value:
        # Translators: id: {what} wajib diisi
        log.add(_noop("{what} is required"), what=name, row=row, column=column, field=field)
        return False
    if pattern.fullmatch(value) is None:
        # Translators: id: {what} {value} tidak sah: {rule}
        log.add(_noop("invalid {what} {value}: {rule}"), what=name, value=shown(value),
                rule=rule_text, row=row, column=column, field=field)
        return False
    if max_length is not None and len(value) > max_length:
        # Translators: id: {what} lebih dari {max_length} karakter
        log.add(_noop("{what} longer than {max_length} characters"), what=name,
                max_length=max_length, row=row, column=column, field=field)
        return False
    return True


def parse_year(value: str, log: ErrorLog, *, row: int, column: str) -> int | None:
    if not (value.isascii() and value.isdigit()):  # int() would also take "2_021", "+2021"
        # Translators: id: tahun '{value}' bukan bilangan bulat
        log.add(_noop("year '{value}' is not an integer"), value=value, row=row, column=column)
        return None
    year = int(value)
    if not YEAR_MIN <= year <= YEAR_MAX:
        # Translators: id: tahun {year} di luar {year_min}..{year_max}
        log.add(_noop("year {year} outside {year_min}..{year_max}"), year=year, year_min=YEAR_MIN,
                year_max=YEAR_MAX, row=row, column=column)
        return None
    return year


def parse_number(value: str, log: ErrorLog, *, row: int, column: str) -> float | None:
    """A finite decimal number (dot as decimal separator; `csv_records` has already turned
    the decimal commas of a ``;`` file into points)."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not value:
        if COMMA_DECIMAL_RE.match(value):
            # Translators: id: '{value}' bukan angka: dalam berkas berpemisah koma, pemisah desimal
            #   adalah titik (1.5)
            log.add(_noop("'{value}' is not a number: in a comma-separated file the decimal "
                          "separator is a point (1.5)"), value=value, row=row, column=column)
        else:
            # Translators: id: '{value}' bukan angka
            log.add(_noop("'{value}' is not a number"), value=value, row=row, column=column)
        return None
    return number


def parse_choice(value: str, allowed: frozenset[str], log: ErrorLog, *, row: int,
                 column: str) -> str | None:
    if value not in allowed:
        choices = ", ".join(sorted(allowed))
        # Translators: id: '{value}' bukan salah satu dari {choices}
        log.add(_noop("'{value}' is not one of {choices}"), value=value, choices=choices, row=row,
                column=column)
        return None
    return value


def file_label(path: Path) -> str:
    return path.name


def update_if_changed(obj: Any, values: dict[str, Any]) -> bool:
    """Set `values` on a stored row and save only those fields, if any differs.

    Returns True when the row changed (the loaders count changed vs unchanged rows).
    """
    if all(getattr(obj, k) == v for k, v in values.items()):
        return False
    for k, v in values.items():
        setattr(obj, k, v)
    obj.save(update_fields=list(values))
    return True
