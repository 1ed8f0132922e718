"""Streaming writers for SPSS system files (.sav) and Stata 118 datasets (.dta).

Pure module (numpy only, no Django). Memory does not depend on the number of rows: every batch
is encoded with numpy and written at once; only the header fields that depend on the row count
are patched at `close` by seeking back, so the file object must be seekable ("w+b")::

    w = SavWriter(fh, [Variable("wave", "Tahun", "int"), Variable("region", "Wilayah", "str",
                   width=20)], file_label="...")
    for columns in batches:          # one array / list per variable, all of one length
        w.write_batch(columns)
    w.close()                        # does not close ``fh``

Columns may be numpy arrays, lists or tuples. Bad data raises `ValueError` naming the variable;
rows of earlier slices may already be written then, so the file is to be discarded.

Variables (`Variable`):

- ``float``: IEEE doubles, written bit for bit (-0.0 included); ``None``/NaN is missing.
- ``int``: integral values (ints, or floats that are whole numbers); ``None``/NaN is missing; a
  fractional value raises `ValueError`. Value labels ({int: str}) may be attached to numbers.
- ``str``: UTF-8, at most ``width`` bytes (a longer value raises `ValueError` naming the
  variable); ``None`` is written as the empty string (neither format has missing strings).

SPSS (.sav, the system file format documented in the PSPP developers guide): bytecode
compression with bias 100 (whole numbers -99..151 take one byte, other numbers 9, missing
1, all-blank 8-byte string pieces 1), UTF-8 (character code 65001 and the encoding record),
short names ``SHORT=long`` in the long variable names record, measurement levels (nominal for
labelled numbers and strings, scale otherwise), formats F8.0 (int), F16.6 (float; display only:
values are stored as doubles) and A<width>. String widths go up to 32767 bytes; trailing blanks of
strings are not significant in SPSS. A string wider than 255 bytes is a "very long string" (guide,
"Very Long String Record", subtype 14): N = (width + 251) // 252 segment variables, each but the
last 255 bytes wide (A255), the last width - (N - 1) * 252; the value's bytes are packed 255 per
segment (the 256th byte of a 255-wide segment is a blank pad) and may split a UTF-8 character
between two segments, which readers join before decoding; space left over at the end is blank.
Continuation segments have their own unique short names (``SHORT_1``...) and no label; the long
names record names only the first segment, the subtype 14 record gives ``SHORT=<width:05d>``,
and the display record (measurement levels) has one entry per segment, as GNU PSPP and ReadStat
write it. Each segment's 8-byte cells are compressed like other strings (254 when all blank).
Variable labels are cut to 255 bytes and value labels to 120 bytes, at a character boundary. The
number -DBL_MAX is SPSS's system-missing value and reads back as missing.

Stata (.dta format 118, Stata 14+, little-endian): ``float`` -> double (missing ``.`` =
2^1023), ``int`` -> long (missing ``.`` = 2147483621; values outside -2147483647..2147483620
raise), ``str`` -> str<width> (1..2045 bytes, NUL padded). Doubles must be finite and below
2^1023 (Stata's largest double; larger values or infinities raise `ValueError`). Variable
labels are cut to 320 bytes and the file label to 80 characters, at a character boundary; value
label sets are named after their variable and written at close.
"""

from __future__ import annotations

import re
import struct
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, Literal

import numpy as np

VarType = Literal["float", "int", "str"]

SAV_MAX_WIDTH = 32767
#: Widest SPSS string that is a single variable; wider ones are very long strings (segments).
SAV_SHORT_MAX = 255
DTA_MAX_WIDTH = 2045
MAX_NAME = 32
#: Target number of 8-byte cells encoded at once (rows per slice = this / cells per row).
SLICE_CELLS = 1 << 19

if sys.byteorder != "little":  # pragma: no cover - the writers emit native little-endian arrays
    raise ImportError("statfiles needs a little-endian machine")


@dataclass(frozen=True)
class Variable:
    """One column. ``name`` must already be a valid stat name (<= 32 characters)."""

    name: str
    label: str = ""
    type: VarType = "float"
    width: int | None = None
    value_labels: Mapping[int, str] | None = None


# ---------------------------------------------------------------------------------------------
# shared helpers


def _cut_utf8(text: str, limit: int) -> bytes:
    """``text`` in UTF-8, cut to at most ``limit`` bytes at a character boundary."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return raw
    return raw[:limit].decode("utf-8", "ignore").encode("utf-8")


def _pad(raw: bytes, size: int, fill: bytes = b"\0") -> bytes:
    return raw[:size] + fill * (size - len(raw))


def _to_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return value
    if isinstance(value, float) and value != value:  # NaN as a missing string
        return b""
    return str(value).encode("utf-8")


def _strings(var: Variable, values: Any) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 values as a ``S<width>`` array (NUL padded) and their byte lengths."""
    try:
        encoded = [b"" if v is None else v.encode("utf-8") for v in values]
    except (AttributeError, TypeError):
        encoded = [_to_bytes(v) for v in values]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    width = int(var.width or 0)
    if lengths.size and int(lengths.max()) > width:
        i = int(np.argmax(lengths > width))
        shown = encoded[i].decode("utf-8", "replace")
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise ValueError(f"variable {var.name!r}: value {shown!r} is {int(lengths[i])} bytes in "
                         f"UTF-8, longer than the declared width of {width} bytes")
    return np.array(encoded, dtype=f"S{width}"), lengths


def _numbers(var: Variable, values: Any) -> np.ndarray:
    """Float64 values, NaN for missing; whole numbers only for ``int`` variables."""
    try:
        if isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
            out = values.astype(np.float64, copy=False)
        else:
            out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"variable {var.name!r}: values are not numbers ({exc})") from None
    if out.ndim != 1:
        raise ValueError(f"variable {var.name!r}: a column must be one-dimensional")
    if var.type == "int":
        with np.errstate(invalid="ignore"):
            bad = ~np.isnan(out) & (np.trunc(out) != out)
        if bad.any():
            raise ValueError(f"variable {var.name!r}: integer variable holds the non-integer "
                             f"value {float(out[np.argmax(bad)])!r}")
    return out


def _check_variables(variables: Sequence[Variable], max_width: int, fmt: str) -> list[Variable]:
    variables = list(variables)
    seen: set[str] = set()
    for v in variables:
        if not isinstance(v, Variable):
            raise TypeError(f"expected Variable, got {type(v).__name__}")
        if not v.name or len(v.name) > MAX_NAME or len(v.name.encode("utf-8")) > 64:
            raise ValueError(f"variable name {v.name!r} must have 1 to {MAX_NAME} characters")
        key = v.name.upper() if fmt == "sav" else v.name  # SPSS names are case-insensitive
        if key in seen:
            raise ValueError(f"duplicate variable name {v.name!r}")
        seen.add(key)
        if v.type not in ("float", "int", "str"):
            raise ValueError(f"variable {v.name!r}: unknown type {v.type!r}")
        if v.type == "str":
            if v.width is None or not 1 <= v.width <= max_width:
                raise ValueError(f"variable {v.name!r}: string width {v.width!r} must be 1 to "
                                 f"{max_width} bytes in {fmt} files")
            if v.value_labels:
                raise ValueError(f"variable {v.name!r}: value labels are for numbers only")
        for key_ in (v.value_labels or {}):
            if int(key_) != key_ or not -2147483647 <= int(key_) <= 2147483620:
                raise ValueError(f"variable {v.name!r}: value label key {key_!r} must be an "
                                 "integer in the Stata long range")
    return variables


class _Writer:
    """Batching, validation and slicing shared by both formats."""

    _fmt = ""
    _max_width = 0

    def __init__(self, fh: BinaryIO, variables: Sequence[Variable], *, file_label: str = "",
                 timestamp: datetime | None = None) -> None:
        self.fh = fh
        self.variables = _check_variables(variables, self._max_width, self._fmt)
        if not self.variables:
            raise ValueError("at least one variable is needed")
        self.file_label = file_label or ""
        self.timestamp = timestamp or datetime.now()
        self.rows = 0
        self._closed = False
        self._base = fh.tell()

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is None:
            self.close()

    def _slice_rows(self) -> int:
        raise NotImplementedError

    def write_batch(self, columns: Sequence[Any]) -> None:
        """Append rows: ``columns`` holds one array / list per variable, all of one length."""
        if self._closed:
            raise ValueError("writer is closed")
        if len(columns) != len(self.variables):
            raise ValueError(f"expected {len(self.variables)} columns, got {len(columns)}")
        lengths = {len(c) for c in columns}
        if len(lengths) > 1:
            raise ValueError(f"columns differ in length: {sorted(lengths)}")
        n = lengths.pop()
        step = self._slice_rows()
        for start in range(0, n, step):
            part = columns if n <= step else [c[start:start + step] for c in columns]
            self._write_rows(part, min(step, n - start))
            self.rows += min(step, n - start)

    def _write_rows(self, columns: Sequence[Any], n: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the file and patch the row count; ``fh`` stays open, positioned at the end."""
        if self._closed:
            return
        self._finish()
        self._closed = True

    def _finish(self) -> None:
        raise NotImplementedError

    def _patch(self, offset: int, data: bytes) -> None:
        end = self.fh.tell()
        self.fh.seek(self._base + offset)
        self.fh.write(data)
        self.fh.seek(end)


# ---------------------------------------------------------------------------------------------
# SPSS system file

SYSMIS = -sys.float_info.max
HIGHEST = sys.float_info.max
LOWEST = float(np.nextafter(-sys.float_info.max, 0.0))
BIAS = 100.0
_SPACES8 = np.frombuffer(b" " * 8, dtype="<u8")[0]
_RESERVED = {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_NCASES_OFFSET = 80  # rec_type 4 + prod_name 60 + layout, case size, compression, weight 4 each
_F_INT = (5 << 16) | (8 << 8) | 0  # F8.0
_F_FLOAT = (5 << 16) | (16 << 8) | 6  # F16.6


def _unique_name(base: str, used: set[str]) -> str:
    """``base`` cut to 8 bytes, or ``base`` cut shorter plus ``_1``, ``_2``... if taken."""
    cand = base[:8]
    i = 0
    while cand in used:
        i += 1
        suffix = f"_{i}"
        cand = base[:8 - len(suffix)] + suffix
    used.add(cand)
    return cand


def _short_names(names: Sequence[str]) -> list[str]:
    """Unique, upper-case, ASCII, <= 8 byte SPSS short names (the long names go to 7/13)."""
    used = set(_RESERVED)
    out = []
    for name in names:
        base = re.sub(r"[^A-Z0-9_]", "_", name.upper().encode("ascii", "replace").decode())
        if not base[:1].isalpha():
            base = "V" + base
        out.append(_unique_name(base, used))
    return out


def _segment_names(shorts: Sequence[str], segments: Sequence[int]) -> list[list[str]]:
    """Short names of the continuation segments of each variable (``segments[i] - 1`` of them:
    ``SHORT_1``, ``SHORT_2``... cut to 8 bytes), unique among themselves and all ``shorts``."""
    used = set(_RESERVED) | set(shorts)
    return [[_unique_name(short, used) for _ in range(n - 1)]
            for short, n in zip(shorts, segments, strict=True)]


def _sav_segments(width: int) -> list[int]:
    """Widths of the segment variables of an SPSS string of ``width`` bytes (guide, "Very Long
    String Record"): one segment up to 255 bytes, else N = (width + 251) // 252 segments, each
    255 wide but the last, which is width - (N - 1) * 252."""
    if width <= SAV_SHORT_MAX:
        return [width]
    n = (width + 251) // 252
    return [SAV_SHORT_MAX] * (n - 1) + [width - (n - 1) * 252]


class SavWriter(_Writer):
    """SPSS system file (.sav), bytecode compressed, UTF-8; see the module doc."""

    _fmt = "sav"
    _max_width = SAV_MAX_WIDTH

    def __init__(self, fh: BinaryIO, variables: Sequence[Variable], *, file_label: str = "",
                 timestamp: datetime | None = None) -> None:
        super().__init__(fh, variables, file_label=file_label, timestamp=timestamp)
        # segment widths per variable (numbers: [0]); 8-byte cells per segment and variable
        self._seg_widths = [_sav_segments(int(v.width or 0)) if v.type == "str" else [0]
                            for v in self.variables]
        self._var_cells = [sum(max(1, -(-w // 8)) for w in ws) for ws in self._seg_widths]
        starts = np.cumsum([0, *self._var_cells])
        self._starts = [int(s) for s in starts[:-1]]
        self._cells = int(starts[-1])
        self._num = [i for i, v in enumerate(self.variables) if v.type != "str"]
        self._num_pos = np.array([self._starts[i] for i in self._num], dtype=np.intp)
        self._pend_codes = np.zeros(0, dtype=np.uint8)
        self._pend_words = np.zeros(0, dtype="<u8")
        self.fh.write(self._dictionary())

    def _slice_rows(self) -> int:
        return max(256, SLICE_CELLS // self._cells)

    # -- dictionary ---------------------------------------------------------------------------

    def _dictionary(self) -> bytes:
        ts = self.timestamp
        date = f"{ts.day:02d} {_MONTHS[ts.month - 1]} {ts.year % 100:02d}".encode()
        parts = [struct.pack(
            "<4s60siiiiid9s8s64s3s", b"$FL2",
            _pad(b"@(#) SPSS DATA FILE - nilai statfiles (streaming writer)", 60, b" "),
            2, self._cells, 1, 0, -1, BIAS, date, ts.strftime("%H:%M:%S").encode(),
            _pad(_cut_utf8(self.file_label, 64), 64, b" "), b"\0\0\0")]
        shorts = _short_names([v.name for v in self.variables])
        seg_names = _segment_names(shorts, [len(ws) for ws in self._seg_widths])
        for v, short, widths, more in zip(self.variables, shorts, self._seg_widths, seg_names,
                                          strict=True):
            label = _cut_utf8(v.label, 255) if v.label else b""
            for k, (width, name) in enumerate(zip(widths, [short, *more], strict=True)):
                if v.type == "str":
                    typ, fmt = width, (1 << 16) | (width << 8)  # A<segment width>
                else:
                    typ, fmt = 0, _F_INT if v.type == "int" else _F_FLOAT
                has_label = bool(label) and k == 0  # the label goes on the first segment
                parts.append(struct.pack("<iiiiii8s", 2, typ, int(has_label), 0, fmt, fmt,
                                         _pad(name.encode(), 8, b" ")))
                if has_label:
                    parts.append(struct.pack("<i", len(label)) +
                                 _pad(label, -(-len(label) // 4) * 4, b" "))
                for _ in range(-(-width // 8) - 1):  # continuation records of a long string
                    parts.append(struct.pack("<iiiiii8s", 2, -1, 0, 0, 0, 0, b" " * 8))
        for v, start in zip(self.variables, self._starts, strict=True):
            if not v.value_labels:
                continue
            items = sorted(v.value_labels.items())
            rec = [struct.pack("<ii", 3, len(items))]
            for value, text in items:
                raw = _cut_utf8(str(text), 120)
                rec.append(struct.pack("<dB", float(value), len(raw)) +
                           _pad(raw, -(-(len(raw) + 1) // 8) * 8 - 1, b" "))
            rec.append(struct.pack("<iii", 4, 1, start + 1))  # 1-based dictionary index
            parts.extend(rec)
        parts.append(struct.pack("<iiii8i", 7, 3, 4, 8, 1, 0, 0, -1, 1, 1, 2, 65001))
        parts.append(struct.pack("<iiiiddd", 7, 4, 8, 3, SYSMIS, HIGHEST, LOWEST))
        display = []  # one entry per segment variable, as PSPP and ReadStat write it
        for v, widths in zip(self.variables, self._seg_widths, strict=True):
            if v.type == "str":
                for width in widths:
                    display += [1, max(1, min(width, 40)), 0]  # nominal, left
            else:
                display += [1 if v.value_labels else 3, 8 if v.type == "int" else 10, 1]
        parts.append(struct.pack(f"<iiii{len(display)}i", 7, 11, 4, len(display), *display))
        names = "\t".join(f"{s}={v.name}" for s, v in zip(shorts, self.variables, strict=True))
        raw_names = names.encode("utf-8")
        parts.append(struct.pack("<iiii", 7, 13, 1, len(raw_names)) + raw_names)
        lengths = b"".join(f"{s}={int(v.width or 0):05d}".encode() + b"\0\t"
                           for s, v in zip(shorts, self.variables, strict=True)
                           if v.type == "str" and int(v.width or 0) > SAV_SHORT_MAX)
        if lengths:  # very long strings: first segment's short name = true width
            parts.append(struct.pack("<iiii", 7, 14, 1, len(lengths)) + lengths)
        parts.append(struct.pack("<iiii", 7, 20, 1, 5) + b"UTF-8")
        parts.append(struct.pack("<ii", 999, 0))
        return b"".join(parts)

    # -- data ---------------------------------------------------------------------------------

    def _write_rows(self, columns: Sequence[Any], n: int) -> None:
        words = np.empty((n, self._cells), dtype="<u8")
        codes = np.empty((n, self._cells), dtype=np.uint8)
        if self._num:
            values = np.empty((n, len(self._num)), dtype=np.float64)
            for j, i in enumerate(self._num):
                values[:, j] = _numbers(self.variables[i], columns[i])
            with np.errstate(invalid="ignore"):
                small = (values >= 1 - BIAS) & (values <= 251 - BIAS) & \
                    (np.trunc(values) == values)
            small &= ~((values == 0) & np.signbit(values))  # -0.0 keeps its sign: raw
            code = np.full(values.shape, 253, dtype=np.uint8)
            code[small] = (values[small] + BIAS).astype(np.uint8)
            code[np.isnan(values)] = 255
            codes[:, self._num_pos] = code
            words[:, self._num_pos] = values.view("<u8")
        for i, v in enumerate(self.variables):
            if v.type != "str":
                continue
            start, cells, width = self._starts[i], self._var_cells[i], int(v.width or 0)
            fixed, lengths = _strings(v, columns[i])
            raw = fixed.view(np.uint8).reshape(n, width)
            raw[np.arange(width) >= lengths[:, None]] = 0x20  # blank padding, not NUL
            padded = np.full((n, cells * 8), 0x20, dtype=np.uint8)
            if width <= SAV_SHORT_MAX:
                padded[:, :width] = raw
            else:  # very long string: 255 bytes of the value per 256-byte segment, packed
                for k in range(-(-width // SAV_SHORT_MAX)):
                    piece = raw[:, k * SAV_SHORT_MAX:(k + 1) * SAV_SHORT_MAX]
                    padded[:, k * 256:k * 256 + piece.shape[1]] = piece
            chunk = padded.view("<u8")
            words[:, start:start + cells] = chunk
            codes[:, start:start + cells] = np.where(chunk == _SPACES8, 254, 253)
        self._emit(codes.reshape(-1), words.reshape(-1))

    def _emit(self, codes: np.ndarray, words: np.ndarray, final: bool = False) -> None:
        """Write whole blocks: 8 command bytes, then the raw 8-byte value of each 253 among
        them, in order; fewer than 8 leftover cells wait for the next batch."""
        if self._pend_codes.size:
            codes = np.concatenate([self._pend_codes, codes])
            words = np.concatenate([self._pend_words, words])
        full = codes.size if final else codes.size - codes.size % 8
        if full:
            block_codes = codes[:full]
            raw = block_codes == 253
            rank = np.cumsum(raw)  # raw cells up to and including each cell
            raw_idx = np.flatnonzero(raw)
            blocks = full // 8
            out = np.empty(blocks + raw_idx.size, dtype="<u8")
            first = np.arange(0, full, 8)
            out[np.arange(blocks) + rank[first] - raw[first]] = block_codes.view("<u8")
            out[raw_idx // 8 + 1 + np.arange(raw_idx.size)] = words[raw_idx]
            self.fh.write(out.tobytes())
        self._pend_codes = codes[full:].copy()
        self._pend_words = words[full:].copy()

    def _finish(self) -> None:
        tail = np.concatenate([self._pend_codes, np.array([252], dtype=np.uint8)])
        tail = np.concatenate([tail, np.zeros(-tail.size % 8, dtype=np.uint8)])
        words = np.concatenate([self._pend_words,
                                np.zeros(tail.size - self._pend_words.size, dtype="<u8")])
        self._pend_codes = np.zeros(0, dtype=np.uint8)
        self._pend_words = np.zeros(0, dtype="<u8")
        self._emit(tail, words, final=True)
        self._patch(_NCASES_OFFSET, struct.pack("<i", self.rows if self.rows < 2**31 else -1))


# ---------------------------------------------------------------------------------------------
# Stata 118

DTA_DOUBLE_MISSING = 2.0 ** 1023  # bit pattern 0x7FE0000000000000, Stata's "."
DTA_LONG_MISSING = 2147483621
DTA_LONG_MIN, DTA_LONG_MAX = -2147483647, 2147483620
_DTA_DOUBLE, _DTA_LONG = 65526, 65528


def _tag(name: str, payload: bytes) -> bytes:
    return b"<" + name.encode() + b">" + payload + b"</" + name.encode() + b">"


class DtaWriter(_Writer):
    """Stata .dta format 118 (little-endian); see the module doc."""

    _fmt = "dta"
    _max_width = DTA_MAX_WIDTH

    def __init__(self, fh: BinaryIO, variables: Sequence[Variable], *, file_label: str = "",
                 timestamp: datetime | None = None) -> None:
        super().__init__(fh, variables, file_label=file_label, timestamp=timestamp)
        if len(self.variables) > 32767:
            raise ValueError("format 118 holds at most 32,767 variables")
        fields = []
        for i, v in enumerate(self.variables):
            fmt = "<f8" if v.type == "float" else "<i4" if v.type == "int" else f"S{v.width}"
            fields.append((f"f{i}", fmt))
        self._dtype = np.dtype(fields)  # packed: no alignment padding, as in the file
        self._offsets: dict[str, int] = {}
        self.fh.write(self._preamble())

    def _slice_rows(self) -> int:
        return max(256, (SLICE_CELLS * 8) // max(1, self._dtype.itemsize))

    def _preamble(self) -> bytes:
        k = len(self.variables)
        out = bytearray(b"<stata_dta>")
        ts = self.timestamp
        stamp = f"{ts.day:02d} {_MONTHS[ts.month - 1]} {ts.year:04d} {ts:%H:%M}".encode()
        label = _cut_utf8(self.file_label[:80], 320)
        header = (_tag("release", b"118") + _tag("byteorder", b"LSF") +
                  _tag("K", struct.pack("<H", k)) + b"<N>")
        out += b"<header>" + header
        self._offsets["N"] = len(out)
        out += struct.pack("<Q", 0) + b"</N>"
        out += _tag("label", struct.pack("<H", len(label)) + label)
        out += _tag("timestamp", bytes([len(stamp)]) + stamp) + b"</header>"
        self._offsets["map"] = len(out)
        out += _tag("map", b"\0" * (8 * 14))

        def section(name: str, payload: bytes) -> None:
            self._offsets[name] = len(out)
            out.extend(_tag(name, payload))

        types, names, formats, lblnames, labels = [], [], [], [], []
        for v in self.variables:
            if v.type == "float":
                types.append(_DTA_DOUBLE)
                formats.append(b"%10.0g")
            elif v.type == "int":
                types.append(_DTA_LONG)
                formats.append(b"%12.0g")
            else:
                types.append(int(v.width or 0))
                formats.append(f"%-{v.width}s".encode())
            names.append(_pad(v.name.encode("utf-8"), 129))
            lblnames.append(_pad(v.name.encode("utf-8") if v.value_labels else b"", 129))
            labels.append(_pad(_cut_utf8(v.label, 320), 321))
        section("variable_types", struct.pack(f"<{k}H", *types))
        section("varnames", b"".join(names))
        section("sortlist", b"\0" * (2 * (k + 1)))
        section("formats", b"".join(_pad(f, 57) for f in formats))
        section("value_label_names", b"".join(lblnames))
        section("variable_labels", b"".join(labels))
        section("characteristics", b"")
        self._offsets["data"] = len(out)
        out += b"<data>"
        return bytes(out)

    def _write_rows(self, columns: Sequence[Any], n: int) -> None:
        rec = np.empty(n, dtype=self._dtype)
        for i, v in enumerate(self.variables):
            field = f"f{i}"
            if v.type == "str":
                rec[field] = _strings(v, columns[i])[0]
                continue
            values = _numbers(v, columns[i])
            missing = np.isnan(values)
            if v.type == "float":
                bad = ~missing & ~(values < DTA_DOUBLE_MISSING) | np.isneginf(values)
                if bad.any():
                    raise ValueError(f"variable {v.name!r}: {float(values[np.argmax(bad)])!r} is "
                                     "outside the range of a Stata double")
                rec[field] = np.where(missing, DTA_DOUBLE_MISSING, values)
            else:
                with np.errstate(invalid="ignore"):
                    bad = ~missing & ((values < DTA_LONG_MIN) | (values > DTA_LONG_MAX))
                if bad.any():
                    raise ValueError(f"variable {v.name!r}: {float(values[np.argmax(bad)])!r} is "
                                     "outside the range of a Stata long")
                rec[field] = np.where(missing, DTA_LONG_MISSING, values).astype("<i4")
        self.fh.write(rec.tobytes())

    def _finish(self) -> None:
        fh, base = self.fh, self._base
        offsets = self._offsets
        fh.write(b"</data>")
        offsets["strls"] = fh.tell() - base
        fh.write(_tag("strls", b""))
        offsets["value_labels"] = fh.tell() - base
        tables = []
        for v in self.variables:
            if not v.value_labels:
                continue
            items = sorted((int(k), str(t).encode("utf-8")) for k, t in v.value_labels.items())
            off, text = [], bytearray()
            for _, t in items:
                off.append(len(text))
                text += t + b"\0"
            n = len(items)
            table = struct.pack(f"<ii{n}i{n}i", n, len(text), *off, *(k for k, _ in items))
            body = table + bytes(text)
            tables.append(_tag("lbl", struct.pack("<i", len(body)) +
                               _pad(v.name.encode("utf-8"), 129) + b"\0\0\0" + body))
        fh.write(_tag("value_labels", b"".join(tables)))
        offsets["stata_data_close"] = fh.tell() - base
        fh.write(b"</stata_dta>")
        offsets["eof"] = fh.tell() - base
        order = ["map", "variable_types", "varnames", "sortlist", "formats",
                 "value_label_names", "variable_labels", "characteristics", "data", "strls",
                 "value_labels", "stata_data_close", "eof"]
        self._patch(offsets["N"], struct.pack("<Q", self.rows))
        self._patch(offsets["map"] + len(b"<map>"),
                    struct.pack("<14Q", 0, *(offsets[name] for name in order)))
