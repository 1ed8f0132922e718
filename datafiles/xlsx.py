"""A fast streaming XLSX (Office Open XML spreadsheet) writer. Pure: numpy and pyarrow only.

    with XlsxWriter(fh) as wb:                         # fh: a path or a binary file object
        sh = wb.add_sheet("microdata", header=names)   # sheets are written one after another
        for batch in batches:
            sh.write_batch(batch)                      # pyarrow/numpy arrays, one per column
        wb.add_sheet("variabel", header=[...]).write_rows(rows)   # small sheets, Python values

Each sheet's XML is built column-wise with pyarrow compute kernels (numbers formatted by a cast
to string, cells and rows assembled with ``binary_join_element_wise``) in chunks of
``chunk_rows`` rows, and streamed into its zip entry (deflate, ``compresslevel`` 1 by default)
by a background thread while the next chunk is built. Memory is bounded by the chunk size,
whatever the number of rows.

Cells:

- numbers ``<c><v>..</v></c>``: integers exactly as written; floats in their shortest
  round-trip form (the same digits as ``repr(float)``, exponent notation from 1e10 and below
  1e-6, e.g. ``1e+10``, ``1e-7``; integral floats get ``.0`` so readers see a float, and -0.0
  keeps its sign). Floats are converted to float64 first (float32 values keep their exact
  value).
- NaN and null: a blank cell ``<c/>`` (kept as a placeholder because cells carry no ``r``
  reference; readers place a cell by its order in the row). +-inf cannot be stored in XLSX:
  ``nonfinite="error"`` (the default) raises `ValueError`, ``nonfinite="empty"`` writes a blank
  cell.
- booleans ``<c t="b"><v>1</v></c>`` / 0.
- strings as inline strings ``<c t="inlineStr"><is><t>..</t></is></c>``: ``& < >`` escaped,
  CR written as ``&#13;`` (a literal CR would be read back as LF), characters illegal in XML 1.0
  (C0 controls other than TAB, LF, CR; U+FFFE, U+FFFF) removed, ``xml:space="preserve"`` when a
  string starts or ends with whitespace, strings longer than Excel's 32,767 characters cut to
  that length. The EMPTY STRING IS WRITTEN AS A BLANK CELL, like null: XLSX has no reliable
  distinction (Excel drops empty text, pandas reads both as NaN). Strings that look like
  Excel's own escapes (``_x0041_``) are written as they are (Excel, not openpyxl, would decode
  them).
- other types (dates, timestamps, binary, ...) are written as their string form. Dictionary
  arrays are decoded.

Sheets: names are sanitised (``[]:*?/\\`` and control characters become ``_``, no leading or
trailing apostrophe, at most 31 characters, unique ignoring case, never empty). A sheet holds
at most ``max_rows`` rows including its header (Excel: 1,048,576); when it is full the writer
starts a continuation sheet ``name_2``, ``name_3``, ... with the same header. The header row is
bold, and frozen at the top.

Display: ``add_sheet(..., active=True)`` makes the sheet the one Excel opens on (its tab
selected; readers such as pandas still read the first sheet by default).
``add_sheet(..., formats=[...], widths=[...])`` gives each column an Excel number format
(e.g. ``"0.0"``, ``"0"``, ``'0.0" %"'``; None = General) and a width in characters. A format
only changes how a number is SHOWN (the cell keeps its full value: ``<c s="2"><v>61.23456</v>``);
it applies to number cells (floats, integers, decimals), not to text, booleans or blanks. Each
distinct format is one cell style (``cellXfs``) of ``xl/styles.xml``; the common ones use
Excel's built-in format ids, the others are declared under ``numFmts`` from id 164.

Zip: ZIP64 only where needed. A forced ZIP64 entry gets a ZIP64 extra field in its local header
from Python's zipfile while its central directory record (under 2 GiB) has none, and Excel is
reported to be strict about ZIP64 and such mismatches. ``zip64=None`` (the default) therefore
forces ZIP64 only for a sheet whose uncompressed XML could plausibly pass 4 GiB, estimated when
the sheet (each continuation part too) starts as ``n_columns * max_rows * 64`` bytes: 64 bytes
is a generous cell (a float ``<c><v>0.12345678901234566</v></c>`` is 35, an integer code ~15,
an inline string ~40 plus its text); a sheet without a header row is estimated at its first
row. E.g. 44 columns at Excel's row limit estimate 2.75 GiB: no ZIP64. Without ZIP64 zipfile
takes at most 2 GiB - 1 per entry (``zipfile.ZIP64_LIMIT``, tighter than the format's 4 GiB);
a full sheet passes that when its cells average more than 2 GiB / (n_columns * max_rows) bytes
(32 at an estimate of 4 GiB, 46 for 44 columns). It then raises `Zip64RequiredError` naming the
sheet and suggesting ``zip64=True`` as soon as the limit is crossed: the export fails loudly,
never with a corrupt entry. ``zip64=True``
forces ZIP64 for every sheet (mismatch included), ``zip64=False`` never uses it. The small
package parts never need it. With a seekable ``fh`` zipfile rewrites each local header with the
real sizes; an unseekable one gets data descriptors (ZIP64 ones, after ZIP64 local headers,
for ZIP64 entries): prefer a (temporary) file.

Cells carry no ``r`` reference (optional in ECMA-376; Excel, LibreOffice, openpyxl and pandas
place them by order; a few third-party readers need ``r``); rows do carry ``r``. Parts:
``[Content_Types].xml``, ``_rels/.rels``, ``docProps/core.xml``, ``docProps/app.xml``,
``xl/workbook.xml``, ``xl/_rels/workbook.xml.rels``, ``xl/styles.xml``,
``xl/worksheets/sheetN.xml``.
"""

from __future__ import annotations

import datetime as _dt
import math
import queue
import re
import threading
import zipfile
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["EXCEL_MAX_ROWS", "EXCEL_MAX_COLS", "XlsxWriter", "Sheet", "Zip64RequiredError",
           "sanitize_sheet_name"]

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLS = 16_384
MAX_CELL_CHARS = 32_767
#: rough cap on the XML of one chunk, so that int32 string offsets never overflow
_CHUNK_BYTES = 256 << 20
#: ``zip64=None``: a sheet part gets ZIP64 when n_columns * max_rows * ZIP64_CELL_BYTES passes
#: ZIP64_AUTO_BYTES (4 GiB)
ZIP64_CELL_BYTES = 64
ZIP64_AUTO_BYTES = 4 << 30

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

_EMPTY = "<c/>"
_NUM_OPEN, _NUM_CLOSE = "<c><v>", "</v></c>"
_STR_OPEN = '<c t="inlineStr"><is><t>'
_STR_OPEN_PRESERVE = '<c t="inlineStr"><is><t xml:space="preserve">'
_STR_CLOSE = "</t></is></c>"
_BOOL_CELLS = pa.array(['<c t="b"><v>0</v></c>', '<c t="b"><v>1</v></c>', _EMPTY])
_LOOKUP_SPAN = 4096

# byte classes of UTF-8 text that need work
_CONTROL = frozenset([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_SPECIAL_LUT = np.zeros(256, dtype=bool)
_SPECIAL_LUT[[*_CONTROL, ord("&"), ord("<"), ord(">"), ord("\r"), 0xEF]] = True
_WS_LUT = np.zeros(256, dtype=bool)
_WS_LUT[[ord(" "), ord("\t"), ord("\n"), ord("\r")]] = True
_CONTROL_RE2 = r"[\x00-\x08\x0B\x0C\x0E-\x1F]"
_NONCHAR_RE2 = r"[\x{FFFE}\x{FFFF}]"
_ILLEGAL_PY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_BAD_SHEET_CHARS = re.compile("[\\[\\]:*?/\\\\\x00-\x1f\ufffe\uffff]")


def sanitize_sheet_name(name: Any) -> str:
    """An Excel-valid sheet name: ``[]:*?/\\`` and control characters replaced by ``_``,
    apostrophes stripped from both ends, at most 31 characters, ``Sheet`` when nothing is left,
    ``History`` (reserved by Excel) renamed ``History_``."""
    text = _BAD_SHEET_CHARS.sub("_", str(name)).strip("'")
    text = text[:31].strip("'")
    if not text:
        text = "Sheet"
    if text.lower() == "history":
        text = "History_"
    return text


def _xml_attr(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


# ---------------------------------------------------------------------------------------------
# per-cell encoding in Python (headers, small sheets via write_rows)


def _py_str_cell(text: str, style: str = "") -> str:
    text = _ILLEGAL_PY.sub("", text)[:MAX_CELL_CHARS]
    if not text:
        return f"<c{style}/>"
    preserve = text[0] in " \t\n\r" or text[-1] in " \t\n\r"
    body = (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r", "&#13;"))
    t_open = '<t xml:space="preserve">' if preserve else "<t>"
    return f'<c{style} t="inlineStr"><is>{t_open}{body}</t></is></c>'


def _py_cell(value: Any, nonfinite: str, style: str = "") -> str:
    if value is None:
        return f"<c{style}/>" if style else _EMPTY
    if isinstance(value, bool | np.bool_):
        return f'<c{style} t="b"><v>{int(bool(value))}</v></c>'
    if isinstance(value, int | np.integer):
        return f"<c{style}><v>{int(value)}</v></c>"
    if isinstance(value, float | np.floating):
        value = float(value)
        if math.isnan(value):
            return f"<c{style}/>" if style else _EMPTY
        if math.isinf(value):
            if nonfinite == "error":
                raise ValueError(f"XLSX cannot store {value!r}; use nonfinite='empty' to "
                                 "write a blank cell")
            return f"<c{style}/>" if style else _EMPTY
        return f"<c{style}><v>{value!r}</v></c>"
    if isinstance(value, str):
        return _py_str_cell(value, style)
    if isinstance(value, Decimal):
        if not value.is_finite():  # NaN: blank; +-inf: as for floats
            return _py_cell(float(value), nonfinite, style)
        return f"<c{style}><v>{value}</v></c>"
    if isinstance(value, bytes):
        return _py_str_cell(value.decode("utf-8", "replace"), style)
    return _py_str_cell(str(value), style)


# ---------------------------------------------------------------------------------------------
# vectorised encoding of one column chunk: a StringArray of cell XML, one per row


def _string_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, data) of a StringArray, offsets sliced to the array (n + 1 entries)."""
    bufs = arr.buffers()
    n = len(arr)
    offsets = np.frombuffer(bufs[1], dtype=np.int32)[arr.offset:arr.offset + n + 1]
    data = (np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None and bufs[2].size
            else np.zeros(1, dtype=np.uint8))
    return offsets, data


def _encode_strings(arr: pa.Array) -> pa.Array:
    if arr.type != pa.string():
        arr = arr.cast(pa.string())
    n = len(arr)
    offsets, data = _string_buffers(arr)
    lo, hi = int(offsets[0]), int(offsets[-1])
    region = data[lo:hi]
    special = region[_SPECIAL_LUT[region]]
    kinds = set(np.unique(special).tolist()) if special.size else set()
    lengths = np.diff(offsets)
    s = arr
    changed = False
    if kinds & _CONTROL:
        s = pc.replace_substring_regex(s, _CONTROL_RE2, "")
        changed = True
    if 0xEF in kinds:
        s = pc.replace_substring_regex(s, _NONCHAR_RE2, "")
        changed = True
    if n and int(lengths.max(initial=0)) > MAX_CELL_CHARS:
        s = pc.utf8_slice_codeunits(s, 0, MAX_CELL_CHARS)
        changed = True
    if changed:
        s = s.combine_chunks() if isinstance(s, pa.ChunkedArray) else s
        offsets, data = _string_buffers(s)
        lengths = np.diff(offsets)
    # blank: null or empty
    blank = lengths == 0
    if s.null_count:
        blank |= s.is_null().to_numpy(zero_copy_only=False)
    # whitespace at either end: xml:space="preserve"
    nonempty = ~blank
    first = data[np.where(nonempty, offsets[:-1], 0)]
    last = data[np.where(nonempty, offsets[1:] - 1, 0)]
    preserve = (_WS_LUT[first] | _WS_LUT[last]) & nonempty
    if ord("&") in kinds:
        s = pc.replace_substring(s, "&", "&amp;")
    if ord("<") in kinds:
        s = pc.replace_substring(s, "<", "&lt;")
    if ord(">") in kinds:
        s = pc.replace_substring(s, ">", "&gt;")
    if ord("\r") in kinds:
        s = pc.replace_substring(s, "\r", "&#13;")
    if preserve.any():
        opener: Any = pc.if_else(pa.array(preserve), _STR_OPEN_PRESERVE, _STR_OPEN)
    else:
        opener = _STR_OPEN
    cells = pc.binary_join_element_wise(opener, s, _STR_CLOSE, "")
    if blank.any():
        cells = pc.if_else(pa.array(blank), _EMPTY, cells)
    return cells


def _num_open(style: int) -> str:
    return f'<c s="{style}"><v>' if style else _NUM_OPEN


def _encode_floats(arr: pa.Array, nonfinite: str, style: int = 0) -> pa.Array:
    if arr.type != pa.float64():
        arr = arr.cast(pa.float64())
    x = arr.to_numpy(zero_copy_only=False)  # nulls -> NaN
    missing = np.isnan(x)
    inf = np.isinf(x)
    if inf.any():
        if nonfinite == "error":
            row = int(np.flatnonzero(inf)[0])
            raise ValueError(f"XLSX cannot store {x[row]!r} (row {row} of the batch); use "
                             "nonfinite='empty' to write a blank cell")
        missing |= inf
    clean = pa.array(x, mask=missing) if missing.any() else pa.array(x)
    text = pc.cast(clean, pa.string())
    with np.errstate(invalid="ignore"):
        integral = (np.trunc(x) == x) & ~missing
    if integral.any():
        plain = pc.invert(pc.match_substring(text, "e"))
        cond = pc.and_(pa.array(integral), plain)
        text = pc.if_else(cond, pc.binary_join_element_wise(text, ".0", ""), text)
    cells = pc.binary_join_element_wise(_num_open(style), text, _NUM_CLOSE, "")
    return pc.fill_null(cells, _EMPTY) if cells.null_count else cells


def _encode_ints(arr: pa.Array, style: int = 0) -> pa.Array:
    """Integers; a small range of values (survey answers, codes, years) by a lookup of the
    ready-made cells, which is several times faster than formatting each one."""
    if arr.null_count == len(arr):
        return pa.array([_EMPTY] * len(arr), pa.string())
    lo, hi = (v.as_py() for v in pc.min_max(arr).values())
    span = hi - lo
    opener = _num_open(style)
    if span <= _LOOKUP_SPAN:
        table = pa.array([f"{opener}{v}{_NUM_CLOSE}" for v in range(lo, hi + 1)] + [_EMPTY],
                         pa.string())
        index = pc.subtract(arr, pa.scalar(lo, arr.type)).cast(pa.int32())
        return table.take(pc.fill_null(index, span + 1) if arr.null_count else index)
    cells = pc.binary_join_element_wise(opener, pc.cast(arr, pa.string()), _NUM_CLOSE, "")
    return pc.fill_null(cells, _EMPTY) if cells.null_count else cells


def _encode_column(arr: pa.Array, nonfinite: str, style: int = 0) -> pa.Array:
    """Cell XML of one column chunk; ``style`` (a cellXfs index) applies to number cells."""
    t = arr.type
    if pa.types.is_dictionary(t):
        return _encode_column(arr.dictionary_decode(), nonfinite, style)
    if pa.types.is_null(t):
        return pa.array([_EMPTY] * len(arr), pa.string())
    if pa.types.is_floating(t):
        return _encode_floats(arr, nonfinite, style)
    if pa.types.is_integer(t):
        return _encode_ints(arr, style)
    if pa.types.is_decimal(t):
        cells = pc.binary_join_element_wise(_num_open(style), pc.cast(arr, pa.string()),
                                            _NUM_CLOSE, "")
        return pc.fill_null(cells, _EMPTY) if cells.null_count else cells
    if pa.types.is_boolean(t):
        return _BOOL_CELLS.take(pc.fill_null(arr.cast(pa.int8()), 2))
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return _encode_strings(arr)
    try:
        text = pc.cast(arr, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid) as exc:
        raise TypeError(f"cannot write a column of type {t} to XLSX") from exc
    return _encode_strings(text)


def _as_arrow(col: Any) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        return col.combine_chunks()
    if isinstance(col, pa.Array):
        return col
    if isinstance(col, np.ndarray):
        if col.dtype.kind == "O":
            return pa.array(col.tolist())
        if col.dtype.kind == "U":
            return pa.array(col.tolist(), pa.string())
        return pa.array(col)
    return pa.array(list(col))


# ---------------------------------------------------------------------------------------------
# zip output, in a background thread


class Zip64RequiredError(RuntimeError):
    """A sheet written without ZIP64 outgrew what a zip entry holds without it."""


class _Sink:
    """Runs the zip entry writes (CRC, deflate, file writes) in a thread, so that the next chunk
    is built while this one is compressed. At most ``depth`` chunks wait in the queue."""

    def __init__(self, zf: zipfile.ZipFile, threaded: bool, depth: int = 2) -> None:
        self._zf = zf
        self._fh: IO[bytes] | None = None
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if threaded:
            self._queue: queue.Queue = queue.Queue(maxsize=depth)
            self._thread = threading.Thread(target=self._run, name="xlsxstream", daemon=True)
            self._thread.start()

    def _do(self, op: str, arg: Any) -> None:
        if op == "open":
            part, self._sheet, self._zip64, self._why = arg
            self._fh = self._zf.open(part, "w", force_zip64=self._zip64)
            self._size = 0
            self._limit = zipfile.ZIP64_LIMIT  # what zipfile refuses without ZIP64
        elif op == "data":
            assert self._fh is not None
            data = arg[0]
            self._size += len(data) if isinstance(data, bytes) else memoryview(data).nbytes
            if not self._zip64 and self._size > self._limit:
                raise self._too_large()  # before zipfile writes the entry that cannot fit
            self._fh.write(data)
        elif op == "close":
            assert self._fh is not None
            fh, self._fh = self._fh, None
            try:
                fh.close()
            except RuntimeError as exc:  # zipfile: "... too large, try using force_zip64"
                if self._zip64 or "zip64" not in str(exc).lower():
                    raise
                raise self._too_large() from exc

    def _too_large(self) -> Zip64RequiredError:
        return Zip64RequiredError(
            f"sheet {self._sheet!r}: its XML passed {self._limit:,} bytes, the most Python's "
            f"zipfile writes to an entry without ZIP64, and the sheet was written without ZIP64 "
            f"({self._why}); the workbook is incomplete: write it again with "
            "XlsxWriter(..., zip64=True)")

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self.error is None:
                try:
                    self._do(*item)
                except BaseException as exc:
                    self.error = exc

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def put(self, op: str, arg: Any = None) -> None:
        self._raise()
        if self._thread is None:
            self._do(op, arg)
        else:
            self._queue.put((op, arg))

    def finish(self) -> None:
        """Wait for the queued writes; raise what failed in the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._raise()

    def abort(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._fh is not None:
            fh, self._fh = self._fh, None
            try:
                fh.close()
            except Exception:
                pass


# ---------------------------------------------------------------------------------------------
# workbook and sheets


class Sheet:
    """One logical sheet: its rows may continue on ``name_2``, ``name_3``... (`names`)."""

    def __init__(self, wb: XlsxWriter, name: str, header: Sequence[Any] | None,
                 formats: Sequence[str | None] | None = None,
                 widths: Sequence[float | None] | None = None, active: bool = False) -> None:
        self._wb = wb
        self.active = active
        self._base = name
        self.header = list(header) if header is not None else None
        self.ncols = len(self.header) if self.header is not None else None
        if self.ncols is not None and self.ncols > EXCEL_MAX_COLS:
            raise ValueError(f"{self.ncols} columns: XLSX allows at most {EXCEL_MAX_COLS}")
        for given, what in ((formats, "formats"), (widths, "widths")):
            if given is not None and self.ncols is not None and len(given) != self.ncols:
                raise ValueError(f"{len(given)} {what} for {self.ncols} columns")
        #: cellXfs index per column (0: no number format)
        self._styles = [wb._style_for(f) for f in formats] if formats is not None else None
        self._widths = list(widths) if widths is not None else None
        self._first_row = 2 if self.header is not None else 1
        self._capacity = wb.max_rows - (1 if self.header is not None else 0)
        if self._capacity < 1:
            raise ValueError(f"max_rows={wb.max_rows} leaves no room for data rows")
        self.names: list[str] = []
        self.rows = 0  # data rows written, over all parts
        self._in_part = 0
        self._open = False
        self._entry: tuple[str, bytes] | None = None  # zip entry and head not yet opened
        self.closed = False
        self._start_part()

    @property
    def name(self) -> str:
        return self.names[0]

    def _start_part(self) -> None:
        wb = self._wb
        part = len(self.names) + 1
        name = wb._unique_name(self._base, part)
        self.names.append(name)
        part_name = wb._register(name)
        views = ""
        selected = ' tabSelected="1"' if self.active and part == 1 else ""
        if self.header is not None and wb.freeze_header:
            views = (f'<sheetViews><sheetView{selected} workbookViewId="0"><pane ySplit="1" '
                     'topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                     '<selection pane="bottomLeft"/></sheetView></sheetViews>')
        elif selected:
            views = f'<sheetViews><sheetView{selected} workbookViewId="0"/></sheetViews>'
        if self.active and part == 1:
            wb._active = len(wb._sheets) - 1
        cols = ""
        if self._widths is not None and any(w for w in self._widths):
            cols = "<cols>" + "".join(
                f'<col min="{i}" max="{i}" width="{float(w):g}" customWidth="1"/>'
                for i, w in enumerate(self._widths, 1) if w) + "</cols>"
        head = (f'{_XML_DECL}<worksheet xmlns="{_NS_MAIN}" xmlns:r="{_NS_REL}">{views}{cols}'
                "<sheetData>")
        if self.header is not None:
            cells = "".join(_py_cell(v, "empty", ' s="1"') for v in self.header)
            head += f'<row r="1">{cells}</row>'
        self._open = True
        self._in_part = 0
        # the zip entry is opened with the first data (a sheet without a header learns its
        # number of columns there, and the ZIP64 choice depends on it)
        self._entry = (part_name, head.encode())
        if self.ncols is not None:
            self._open_entry()

    def _open_entry(self) -> None:
        assert self._entry is not None
        (part_name, head), self._entry = self._entry, None
        ncols = self.ncols or 0
        zip64, why = self._wb._zip64_for(ncols)
        self._wb._sink.put("open", (part_name, self.names[-1], zip64, why))
        self._send(head)

    def _end_part(self) -> None:
        self._send(b"</sheetData></worksheet>")
        self._wb._sink.put("close")
        self._open = False

    def _send(self, data: Any, keep: Any = None) -> None:
        if self._entry is not None:
            self._open_entry()
        self._wb._sink.put("data", (data, keep))

    def _room(self) -> int:
        if self._in_part >= self._capacity:
            self._end_part()
            self._start_part()
        return self._capacity - self._in_part

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError(f"sheet {self.name!r} is closed (sheets are written one after "
                             "another)")
        self._wb._check_open()

    def write_batch(self, columns: Any) -> None:
        """Append rows given column-wise: a pyarrow RecordBatch or Table, or a sequence of
        arrays (pyarrow, numpy or lists), one per column, all of the same length."""
        self._check_open()
        if isinstance(columns, pa.RecordBatch | pa.Table):
            columns = columns.columns
        arrays = [_as_arrow(c) for c in columns]
        if self.ncols is None:
            self.ncols = len(arrays)
        if len(arrays) != self.ncols:
            raise ValueError(f"{len(arrays)} columns given, the sheet has {self.ncols}")
        if not arrays:
            return
        n = len(arrays[0])
        if any(len(a) != n for a in arrays):
            raise ValueError("columns of different lengths")
        pos = 0
        while pos < n:
            take = min(n - pos, self._room(), self._wb.chunk_rows)
            self._write_chunk([a.slice(pos, take) for a in arrays])
            pos += take

    def _write_chunk(self, arrays: list[pa.Array]) -> None:
        n = len(arrays[0])
        est = n * (len(arrays) * 40 + 20) + sum(
            a.nbytes for a in arrays if not pa.types.is_primitive(a.type))
        if est > _CHUNK_BYTES and n > 1:
            half = n // 2
            self._write_chunk([a.slice(0, half) for a in arrays])
            self._write_chunk([a.slice(half) for a in arrays])
            return
        nonfinite = self._wb.nonfinite
        styles = self._styles or [0] * len(arrays)
        cells = [_encode_column(a, nonfinite, s) for a, s in zip(arrays, styles, strict=True)]
        start = self._first_row + self._in_part
        numbers = pc.cast(pa.array(np.arange(start, start + n, dtype=np.int64)), pa.string())
        rows = pc.binary_join_element_wise('<row r="', numbers, '">', *cells, "</row>", "")
        offsets, data = _string_buffers(rows)
        view = data.data[int(offsets[0]):int(offsets[-1])]
        self._send(view, rows)
        self._in_part += n
        self.rows += n

    def write_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        """Append rows of Python values (any mix of types per column); for small sheets."""
        self._check_open()
        nonfinite = self._wb.nonfinite
        parts: list[str] = []
        size = 0
        for row in rows:
            row = list(row)
            if self.ncols is None:
                self.ncols = len(row)
            if len(row) > EXCEL_MAX_COLS:
                raise ValueError(f"{len(row)} columns: XLSX allows at most {EXCEL_MAX_COLS}")
            if self._in_part >= self._capacity:
                self._flush_rows(parts)
                size = 0
                self._room()
            number = self._first_row + self._in_part
            if self._styles is not None:
                body = "".join(_py_cell(v, nonfinite, _style_attr(v, s))
                               for v, s in zip(row, self._styles, strict=True))
            else:
                body = "".join(_py_cell(v, nonfinite) for v in row)
            text = f'<row r="{number}">{body}</row>'
            parts.append(text)
            size += len(text)
            self._in_part += 1
            self.rows += 1
            if size > 1 << 20:
                self._flush_rows(parts)
                size = 0
        self._flush_rows(parts)

    def _flush_rows(self, parts: list[str]) -> None:
        if parts:
            self._send("".join(parts).encode())
            parts.clear()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self._open:
                self._end_part()


class XlsxWriter:
    """Write an .xlsx workbook to ``fh`` (a path or a binary file object, seekable or not).

    ``max_rows``: rows per sheet including the header before a continuation sheet starts
    (default Excel's 1,048,576). ``chunk_rows``: rows built and compressed at a time (memory
    is proportional to it). ``nonfinite``: ``"error"`` or ``"empty"`` for +-inf.
    ``threaded``: compress in a background thread. ``zip64``: ``None`` (automatic: only for a
    sheet whose XML could pass 4 GiB, see the module doc), ``True`` (every sheet) or ``False``
    (never); a sheet without ZIP64 that outgrows a zip entry raises `Zip64RequiredError`."""

    def __init__(self, fh: Any, *, max_rows: int = EXCEL_MAX_ROWS, chunk_rows: int = 16_384,
                 compresslevel: int = 1, nonfinite: Literal["error", "empty"] = "error",
                 freeze_header: bool = True, threaded: bool = True,
                 zip64: bool | None = None) -> None:
        if nonfinite not in ("error", "empty"):
            raise ValueError("nonfinite must be 'error' or 'empty'")
        if zip64 not in (None, True, False):
            raise ValueError("zip64 must be None (automatic), True or False")
        self.zip64 = zip64
        if not 1 <= max_rows <= EXCEL_MAX_ROWS:
            raise ValueError(f"max_rows must be within 1..{EXCEL_MAX_ROWS}")
        self.max_rows = max_rows
        self.chunk_rows = max(1, int(chunk_rows))
        self.nonfinite = nonfinite
        self.freeze_header = freeze_header
        self._zf = zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED,
                                   compresslevel=compresslevel)
        self._sink = _Sink(self._zf, threaded)
        self._sheets: list[str] = []  # sheet names in order
        self._current: Sheet | None = None
        #: number format code -> (numFmtId, cellXfs index); 0 and 1 are normal and bold
        self._formats: dict[str, tuple[int, int]] = {}
        self._active = 0  # the sheet Excel opens on
        self._closed = False

    # -- sheets --------------------------------------------------------------------------------

    @property
    def sheet_names(self) -> list[str]:
        return list(self._sheets)

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("the workbook is closed")

    def _unique_name(self, base: str, part: int) -> str:
        base = sanitize_sheet_name(base)
        used = {s.lower() for s in self._sheets}
        k = part
        while True:
            suffix = "" if k == 1 else f"_{k}"
            name = sanitize_sheet_name(base[:31 - len(suffix)] + suffix)
            if name.lower() not in used:
                return name
            k += 1

    def _zip64_for(self, ncols: int) -> tuple[bool, str]:
        """Whether a sheet part of ``ncols`` columns gets ZIP64, and why (for errors)."""
        if self.zip64 is not None:
            return self.zip64, f"zip64={self.zip64} was given"
        estimate = ncols * self.max_rows * ZIP64_CELL_BYTES
        return estimate > ZIP64_AUTO_BYTES, (
            f"zip64=None estimated {ncols} columns x {self.max_rows:,} rows x "
            f"{ZIP64_CELL_BYTES} bytes = {estimate:,} bytes, within {ZIP64_AUTO_BYTES:,}")

    def _register(self, name: str) -> str:
        self._sheets.append(name)
        return f"xl/worksheets/sheet{len(self._sheets)}.xml"

    def add_sheet(self, name: str, header: Sequence[Any] | None = None, *,
                  formats: Sequence[str | None] | None = None,
                  widths: Sequence[float | None] | None = None, active: bool = False) -> Sheet:
        """Start a new sheet (the previous one is finished). ``header``: the first row, bold.
        ``formats``: per column, an Excel number format code for its number cells (None:
        General); ``widths``: per column, its width in characters (None: Excel's default);
        ``active``: Excel opens the workbook on this sheet (one sheet at most)."""
        self._check_open()
        if self._current is not None:
            self._current.close()
        if active and self._active:
            raise ValueError("another sheet is already the active one")
        self._current = Sheet(self, name, header, formats, widths, active)
        return self._current

    def _style_for(self, code: str | None) -> int:
        """The cellXfs index of a number format (registered on first use); 0 for None."""
        if code is None or code == "General":
            return 0
        if code not in self._formats:
            if any(ch in code for ch in "<>&") or not code.isprintable():
                raise ValueError(f"unsupported number format {code!r}")
            custom = sum(1 for c in self._formats if c not in _BUILTIN_FORMATS)
            num_id = _BUILTIN_FORMATS.get(code, 164 + custom)
            self._formats[code] = (num_id, 2 + len(self._formats))
        return self._formats[code][1]

    # -- closing -------------------------------------------------------------------------------

    def close(self) -> None:
        """Finish the last sheet and write the workbook parts. On failure the writer is
        aborted (see `abort`) and the error raised."""
        if self._closed:
            return
        try:
            if self._current is not None:
                self._current.close()
                self._current = None
            if not self._sheets:  # Excel needs at least one sheet
                Sheet(self, "Sheet1", None).close()
            self._sink.finish()
            self._write_package()
            self._zf.close()
            self._closed = True
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Stop after an error: release the thread and the file; the output is incomplete."""
        if self._closed:
            return
        self._closed = True
        self._sink.abort()
        try:
            self._zf.close()
        except Exception:
            pass

    def __enter__(self) -> XlsxWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _write_package(self) -> None:
        n = len(self._sheets)
        now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        sheets = "".join(f'<sheet name="{_xml_attr(name)}" sheetId="{i}" r:id="rId{i}"/>'
                         for i, name in enumerate(self._sheets, 1))
        active = f' activeTab="{self._active}"' if self._active else ""
        parts = {
            "xl/workbook.xml": (
                f'{_XML_DECL}<workbook xmlns="{_NS_MAIN}" xmlns:r="{_NS_REL}">'
                f'<bookViews><workbookView{active}/></bookViews><sheets>{sheets}</sheets>'
                '</workbook>'),
            "xl/_rels/workbook.xml.rels": (
                f'{_XML_DECL}<Relationships xmlns="{_NS_PKG_REL}">'
                + "".join(f'<Relationship Id="rId{i}" Type="{_NS_REL}/worksheet" '
                          f'Target="worksheets/sheet{i}.xml"/>' for i in range(1, n + 1))
                + f'<Relationship Id="rId{n + 1}" Type="{_NS_REL}/styles" '
                  'Target="styles.xml"/></Relationships>'),
            "xl/styles.xml": _styles(self._formats),
            "docProps/core.xml": _CORE.format(now=now),
            "docProps/app.xml": _APP,
            "_rels/.rels": _RELS,
            "[Content_Types].xml": (
                f'{_XML_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                'content-types">'
                '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
                'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
                '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.'
                'openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType='
                          '"application/vnd.openxmlformats-officedocument.spreadsheetml.'
                          'worksheet+xml"/>' for i in range(1, n + 1))
                + '<Override PartName="/xl/styles.xml" ContentType="application/vnd.'
                  'openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
                  '<Override PartName="/docProps/core.xml" ContentType="application/vnd.'
                  'openxmlformats-package.core-properties+xml"/>'
                  '<Override PartName="/docProps/app.xml" ContentType="application/vnd.'
                  'openxmlformats-officedocument.extended-properties+xml"/></Types>'),
        }
        for name, text in parts.items():
            self._zf.writestr(name, text.encode())


#: Excel's built-in number formats (ECMA-376 18.8.30) used without a numFmt declaration.
_BUILTIN_FORMATS = {"0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9, "0.00%": 10}


def _style_attr(value: Any, style: int) -> str:
    """The ``s`` attribute for a Python value in a styled column: numbers only."""
    if not style or isinstance(value, bool | np.bool_) or not isinstance(
            value, int | float | Decimal | np.integer | np.floating):
        return ""
    return f' s="{style}"'


def _styles(formats: dict[str, tuple[int, int]]) -> str:
    """xl/styles.xml: normal (0), bold header (1), then one cell style per number format."""
    custom = "".join(f'<numFmt numFmtId="{num_id}" formatCode="{_xml_attr(code)}"/>'
                     for code, (num_id, _) in formats.items() if code not in _BUILTIN_FORMATS)
    n_custom = sum(1 for code in formats if code not in _BUILTIN_FORMATS)
    numfmts = f'<numFmts count="{n_custom}">{custom}</numFmts>' if n_custom else ""
    xfs = "".join(f'<xf numFmtId="{num_id}" fontId="0" fillId="0" borderId="0" xfId="0" '
                  'applyNumberFormat="1"/>'
                  for num_id, _ in sorted(formats.values(), key=lambda v: v[1]))
    return _STYLES.replace("<fonts ", numfmts + "<fonts ", 1).replace(
        '<cellXfs count="2">', f'<cellXfs count="{2 + len(formats)}">', 1).replace(
        "</cellXfs>", xfs + "</cellXfs>", 1)


_STYLES = (
    f'{_XML_DECL}<styleSheet xmlns="{_NS_MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    '</cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '<dxfs count="0"/><tableStyles count="0"/></styleSheet>')

_RELS = (
    f'{_XML_DECL}<Relationships xmlns="{_NS_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_NS_REL}/officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/'
    'relationships/metadata/core-properties" Target="docProps/core.xml"/>'
    f'<Relationship Id="rId3" Type="{_NS_REL}/extended-properties" '
    'Target="docProps/app.xml"/></Relationships>')

_CORE = (
    _XML_DECL + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
    'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    '<dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>'
    '<dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified>'
    '</cp:coreProperties>')

_APP = (
    _XML_DECL + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
    'extended-properties"><Application>xlsxstream</Application></Properties>')
