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

from surveys.models import AgeGroup, Sex
from surveys.models.waves import YEAR_MAX, YEAR_MIN

#: How many problems are listed before "... and N more".
ERROR_LIMIT = 50

#: Codes loaded from files (indicator, instrument, dimension and item codes) are slugs: ASCII
#: letters and digits, then also ``_ . -``. No leading ``= + - @`` (a spreadsheet would read a
#: formula), no space, control or invisible character (U+202E, U+200B...).
SLUG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: Region codes (BPS) are digits; Kemendagri codes are digits in dot-separated groups.
REGION_CODE_RE = re.compile(r"[0-9]+")
KEMENDAGRI_CODE_RE = re.compile(r"[0-9]+(?:\.[0-9]+)*")

SEX_VALUES = frozenset(Sex.values)
AGE_GROUP_VALUES = frozenset(AgeGroup.values)


class ImportFailed(Exception):
    """A file was rejected; `messages` lists every problem found (already formatted)."""

    def __init__(self, messages: list[str]):
        super().__init__("\n".join(messages))
        self.messages = messages


@dataclass
class ErrorLog:
    """Collects problems of one file; keeps the first `limit` messages and counts the rest."""

    label: str
    limit: int = ERROR_LIMIT
    messages: list[str] = field(default_factory=list)
    total: int = 0

    def __bool__(self) -> bool:
        return self.total > 0

    def add(self, problem_id: str, problem_en: str, *, row: int | None = None,
            column: str | None = None, field: str | None = None) -> None:
        self.total += 1
        if len(self.messages) >= self.limit:
            return
        where = self.label
        if row is not None:
            where += f", baris/row {row}"
        if column is not None:
            where += f", kolom/column {column}"
        if field is not None:
            where += f", isian/field {field}"
        self.messages.append(f"{where}: {problem_id} / {problem_en}")

    def full(self) -> bool:
        return len(self.messages) >= self.limit

    def raise_if_any(self) -> None:
        if not self.total:
            return
        messages = list(self.messages)
        if self.total > len(messages):
            more = self.total - len(messages)
            messages.append(f"... dan {more} kesalahan lain / and {more} more errors")
        messages.insert(
            0,
            f"{self.label}: {self.total} kesalahan, tidak ada yang disimpan / "
            f"{self.total} errors, nothing was saved",
        )
        raise ImportFailed(messages)


@dataclass(frozen=True)
class LoadReport:
    """What a loader did: rows created, changed (updated in place) and unchanged."""

    label: str
    what_id: str
    what_en: str
    created: int = 0
    changed: int = 0
    unchanged: int = 0

    @property
    def is_noop(self) -> bool:
        return self.created == 0 and self.changed == 0

    def summary(self) -> str:
        head = (
            "Tidak ada perubahan / nothing changed" if self.is_noop else "Dimuat / loaded"
        )
        return (
            f"{head} {self.label} ({self.what_id} / {self.what_en}): "
            f"{self.created} baru, {self.changed} diubah, {self.unchanged} tidak berubah / "
            f"{self.created} new, {self.changed} changed, {self.unchanged} unchanged"
        )


def read_bytes(path: Path, log: ErrorLog) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError as exc:
        log.add(f"berkas tidak dapat dibaca ({exc.strerror})",
                f"file cannot be read ({exc.strerror})")
        return None


def decode_utf8(data: bytes, log: ErrorLog) -> str | None:
    """Decode UTF-8 with or without BOM; a bad byte is reported with its row."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = data.count(b"\n", 0, exc.start) + 1
        log.add("bukan teks UTF-8 yang sah", "not valid UTF-8 text", row=row)
        return None


def parse_header(header: list[str], *, required: tuple[str, ...], optional: tuple[str, ...],
                 log: ErrorLog, allow_extra: bool = False) -> list[str]:
    """Check a header row: required columns present, no duplicates, no unknown columns."""
    names = [name.strip() for name in header]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            log.add(f"kolom '{name}' ganda", f"duplicate column '{name}'", row=1, column=name)
        seen.add(name)
    for name in required:
        if name not in seen:
            log.add(f"kolom wajib '{name}' tidak ada", f"required column '{name}' is missing",
                    row=1, column=name)
    if not allow_extra:
        known = set(required) | set(optional)
        for name in names:
            if name not in known:
                log.add(f"kolom tidak dikenal '{name}'", f"unknown column '{name}'",
                        row=1, column=name)
    return names


def csv_records(text: str, *, required: tuple[str, ...], optional: tuple[str, ...],
                log: ErrorLog) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (row number, {column: stripped value}) for a small CSV; blank lines are skipped.

    Rows with the wrong number of cells are reported and skipped. Yields nothing when the
    header is bad (the problems are in `log`).
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        log.add("berkas kosong", "empty file")
        return
    except csv.Error as exc:
        log.add(f"CSV rusak ({exc})", f"malformed CSV ({exc})", row=1)
        return
    names = parse_header(header, required=required, optional=optional, log=log)
    if log:
        return
    n_rows = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            log.add(f"CSV rusak ({exc})", f"malformed CSV ({exc})", row=reader.line_num)
            return
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        n_rows += 1
        row = reader.line_num
        if len(cells) != len(names):
            log.add(f"{len(cells)} sel, seharusnya {len(names)}",
                    f"{len(cells)} cells, expected {len(names)}", row=row)
            continue
        yield row, {name: cell.strip() for name, cell in zip(names, cells, strict=True)}
    if n_rows == 0:
        log.add("berkas tidak berisi baris data", "file has no data rows")


def shown(value: object, limit: int = 60) -> str:
    """A value for an error message: escaped (a control or invisible character is shown as
    ``\\u202e``, never acted on) and cut at ``limit`` characters."""
    text = ascii(value) if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def check_code(value: object, log: ErrorLog, *, what_id: str, what_en: str,
               max_length: int | None = None, pattern: re.Pattern[str] = SLUG_RE,
               rule_id: str = "hanya huruf, angka, _ . - dan diawali huruf atau angka",
               rule_en: str = "only letters, digits, _ . - and starting with a letter or digit",
               row: int | None = None, column: str | None = None,
               field: str | None = None) -> bool:
    """Report a code that is empty, too long or not of ``pattern`` (a slug by default)."""
    if not isinstance(value, str) or not value:
        log.add(f"{what_id} wajib diisi", f"{what_en} is required", row=row, column=column,
                field=field)
        return False
    if pattern.fullmatch(value) is None:
        log.add(f"{what_id} {shown(value)} tidak sah: {rule_id}",
                f"invalid {what_en} {shown(value)}: {rule_en}", row=row, column=column,
                field=field)
        return False
    if max_length is not None and len(value) > max_length:
        log.add(f"{what_id} lebih dari {max_length} karakter",
                f"{what_en} longer than {max_length} characters", row=row, column=column,
                field=field)
        return False
    return True


def parse_year(value: str, log: ErrorLog, *, row: int, column: str) -> int | None:
    if not (value.isascii() and value.isdigit()):  # int() would also take "2_021", "+2021"
        log.add(f"tahun '{value}' bukan bilangan bulat", f"year '{value}' is not an integer",
                row=row, column=column)
        return None
    year = int(value)
    if not YEAR_MIN <= year <= YEAR_MAX:
        log.add(f"tahun {year} di luar {YEAR_MIN}..{YEAR_MAX}",
                f"year {year} outside {YEAR_MIN}..{YEAR_MAX}", row=row, column=column)
        return None
    return year


def parse_number(value: str, log: ErrorLog, *, row: int, column: str) -> float | None:
    """A finite decimal number (dot as decimal separator)."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not value:
        log.add(f"'{value}' bukan angka", f"'{value}' is not a number", row=row, column=column)
        return None
    return number


def parse_choice(value: str, allowed: frozenset[str], log: ErrorLog, *, row: int,
                 column: str) -> str | None:
    if value not in allowed:
        choices = ", ".join(sorted(allowed))
        log.add(f"'{value}' bukan salah satu dari {choices}",
                f"'{value}' is not one of {choices}", row=row, column=column)
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
