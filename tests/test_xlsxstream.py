"""The streaming XLSX writer (datafiles/xlsx.py): values read back exactly with
openpyxl and pandas, escaping, sheets and their split at the row limit, zip structure, memory."""

from __future__ import annotations

import datetime as dt
import io
import math
import struct
import threading
import tracemalloc
import xml.etree.ElementTree as ET
import zipfile
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from openpyxl import load_workbook

from datafiles import xlsx as xlsxstream
from datafiles.xlsx import XlsxWriter, Zip64RequiredError, sanitize_sheet_name

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _write(build, **kw) -> bytes:
    buf = io.BytesIO()
    with XlsxWriter(buf, **kw) as wb:
        build(wb)
    return buf.getvalue()


def _sheets(data: bytes) -> dict[str, list[tuple]]:
    """Every sheet's rows (openpyxl read_only), padded to the widest row."""
    wb = load_workbook(io.BytesIO(data), read_only=True)
    out = {}
    for ws in wb.worksheets:
        rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
        width = max((len(r) for r in rows), default=0)
        out[ws.title] = [r + (None,) * (width - len(r)) for r in rows]
    wb.close()
    return out


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


def _sheet_xml(data: bytes, n: int = 1) -> str:
    return zipfile.ZipFile(io.BytesIO(data)).read(f"xl/worksheets/sheet{n}.xml").decode()


FLOATS = [0.1, 1 / 3, 1e-300, -0.0, 0.0, 5e-324, 1.7976931348623157e308, 3.0, -2.5, 1e16,
          1e22, 123456789.125, 1e-7, 2.0 ** 53, 6.02214076e23, None, float("nan")]
INTS = [2 ** 53 + 1, -(2 ** 63), 2 ** 63 - 1, 0, -1, 7, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12]
BIG_UINT = 2 ** 64 - 1
STRINGS = ["a & b < c > d \" e ' f", "Pancasila — Ketuhanan ĀŽ 日本語 😀", "  lead", "trail  ",
           "\ttab", "line\nbreak", "cr\r\nlf", "ctl\x00\x01\x08\x0b\x0c\x0e\x1fend",
           "non\ufffechar\uffff", "", None, "\x01\x02", "_x0041_", "plain", "x" * 40_000,
           "<![CDATA[x]]>", "]]>"]
CLEAN = ["a & b < c > d \" e ' f", "Pancasila — Ketuhanan ĀŽ 日本語 😀", "  lead", "trail  ",
         "\ttab", "line\nbreak", "cr\r\nlf", "ctlend", "nonchar", None, None, None, "_x0041_",
         "plain", "x" * 32_767, "<![CDATA[x]]>", "]]>"]
BOOLS = [True, False, None] + [True] * 14


def _typed_batch() -> list[pa.Array]:
    return [pa.array(FLOATS, pa.float64(), from_pandas=True), pa.array(INTS, pa.int64()),
            pa.array([BIG_UINT] + [1] * 16, pa.uint64()), pa.array(BOOLS, pa.bool_()),
            pa.array(STRINGS, pa.string()), pa.array([None] * 8 + [5] * 9, pa.int16())]


def _check_float(got, want) -> None:
    if want is None or (isinstance(want, float) and math.isnan(want)):
        assert got is None
    else:
        assert type(got) is float and _bits(got) == _bits(want), (got, want)


@pytest.mark.parametrize("path", ["batch", "rows"])
def test_values_read_back_exactly_with_openpyxl(path: str) -> None:
    header = ["f", "i", "u", "b", "s", "items"]
    cols = _typed_batch()

    def build(wb: XlsxWriter) -> None:
        sh = wb.add_sheet("data", header=header)
        if path == "batch":
            sh.write_batch(cols)
        else:
            sh.write_rows(zip(*(c.to_pylist() for c in cols), strict=True))

    rows = _sheets(_write(build))["data"]
    assert rows[0] == tuple(header)
    assert len(rows) == 1 + len(FLOATS)
    for k, row in enumerate(rows[1:]):
        _check_float(row[0], FLOATS[k])
        assert row[1] == INTS[k] and type(row[1]) is int
        assert row[2] == ([BIG_UINT] + [1] * 16)[k]
        assert row[3] is BOOLS[k]
        assert row[4] == CLEAN[k], (k, row[4])
        assert row[5] == (None if k < 8 else 5)


def test_values_read_back_with_pandas() -> None:
    header = ["f", "i", "b", "s", "items", "whole"]
    cols = [pa.array(FLOATS, from_pandas=True), pa.array(INTS), pa.array(BOOLS),
            pa.array(STRINGS), pa.array([None] * 8 + [5] * 9, pa.int16()),
            pa.array([float(k) for k in range(17)])]
    data = _write(lambda wb: wb.add_sheet("data", header=header).write_batch(cols))
    df = pd.read_excel(io.BytesIO(data), engine="openpyxl")
    assert list(df.columns) == header and len(df) == 17
    want = np.array([np.nan if v is None else v for v in FLOATS], dtype=float)
    got = df["f"].to_numpy(dtype=float)
    # pandas itself turns integral floats into ints (so -0.0 becomes 0): equal, NaN where blank
    np.testing.assert_array_equal(got, want)
    assert [int(v) for v in df["i"]] == INTS  # 2**53 + 1 and the int64 extremes exact
    assert df["b"].tolist()[:2] == [True, False] and pd.isna(df["b"][2])
    assert [None if pd.isna(v) else v for v in df["s"]] == CLEAN
    assert df["items"].isna().sum() == 8 and (df["items"].dropna() == 5).all()
    assert df["whole"].tolist() == list(range(17))


def test_string_xml_details() -> None:
    data = _write(lambda wb: wb.add_sheet("s").write_batch([pa.array(STRINGS)]))
    xml = _sheet_xml(data)
    ET.fromstring(xml)  # well-formed
    assert '<t xml:space="preserve">  lead</t>' in xml
    assert '<t xml:space="preserve">trail  </t>' in xml
    assert "<t>plain</t>" in xml
    assert "cr&#13;\nlf" in xml  # CR survives XML line-end normalisation
    assert "a &amp; b &lt; c &gt; d" in xml
    assert "\x00" not in xml and "\x01" not in xml and "\ufffe" not in xml
    assert "<c/>" in xml  # empty, null and all-control strings are blank cells
    assert ' r="A' not in xml  # no cell references: blanks keep their place as <c/>
    rows = [f'<row r="{k}">' for k in range(1, len(STRINGS) + 1)]
    assert all(r in xml for r in rows)


def test_float_text_shortest_round_trip() -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_normal(20_000) * 10.0 ** rng.integers(-30, 30, 20_000)
    x[:5] = [1.0, -0.0, 1e15, 123.0, 2.0 ** 60]
    data = _write(lambda wb: wb.add_sheet("f").write_batch([pa.array(x)]), chunk_rows=4096)
    texts = [v.findtext(f"{MAIN}v") for v in ET.fromstring(_sheet_xml(data)).iter(f"{MAIN}c")]
    assert len(texts) == x.size
    assert all(_bits(float(t)) == _bits(v) for t, v in zip(texts, x.tolist(), strict=True))
    # shortest: the same significant digits as repr(); integral floats keep a float form
    assert all(_digits(t) == _digits(repr(v)) for t, v in zip(texts, x.tolist(), strict=True))
    assert texts[:4] == ["1.0", "-0.0", "1e+15", "123.0"]
    assert all(("." in t or "e" in t) for t in texts)


def _digits(text: str) -> str:
    mantissa = text.lower().split("e")[0]
    return mantissa.replace("-", "").replace(".", "").strip("0")


def test_nonfinite_raises_or_blank() -> None:
    inf = [pa.array([1.0, float("inf")])]
    with pytest.raises(ValueError, match="inf"):
        _write(lambda wb: wb.add_sheet("x").write_batch(inf))
    with pytest.raises(ValueError, match="inf"):
        _write(lambda wb: wb.add_sheet("x").write_rows([[float("-inf")]]))
    assert all(t.name != "xlsxstream" for t in threading.enumerate())

    def build(wb: XlsxWriter) -> None:
        sh = wb.add_sheet("x", header=["v"])
        sh.write_batch([pa.array([1.0, float("inf"), -float("inf"), 2.0])])
        sh.write_rows([[float("inf")]])

    rows = _sheets(_write(build, nonfinite="empty"))["x"]
    assert rows == [("v",), (1.0,), (None,), (None,), (2.0,), (None,)]


def test_input_kinds() -> None:
    """numpy arrays, lists, RecordBatch, ChunkedArray, dictionary, float32, dates, large
    strings, an all-null column."""
    f32 = np.array([0.1, 2.5], dtype=np.float32)
    cols = [np.array([1.5, np.nan]), np.array([1, 2], dtype=np.int32), np.array([True, False]),
            np.array(["a", "b"]), np.array(["x", None], dtype=object), [3, None],
            pa.chunked_array([[1], [2]]), pa.array(["lo", "hi"]).dictionary_encode(),
            pa.array(f32), pa.array([dt.date(2024, 1, 2), None]),
            pa.array(["big", "str"], pa.large_string()), pa.array([None, None]),
            pa.array([Decimal("1.25"), None])]
    header = [f"c{k}" for k in range(len(cols))]

    table = pa.table([c if isinstance(c, pa.Array | pa.ChunkedArray) else pa.array(c)
                      for c in cols], names=header)

    def build(wb: XlsxWriter) -> None:
        sh = wb.add_sheet("kinds", header=header)
        sh.write_batch(cols)
        sh.write_batch(table)
        sh.write_batch(table.combine_chunks().to_batches()[0])

    rows = _sheets(_write(build))["kinds"]
    want = [(1.5, 1, True, "a", "x", 3, 1, "lo", float(f32[0]), "2024-01-02", "big", None, 1.25),
            (None, 2, False, "b", None, None, 2, "hi", 2.5, None, "str", None, None)]
    assert rows[1:] == want + want + want

    def python_values(wb: XlsxWriter) -> None:
        wb.add_sheet("py", header=header).write_rows(
            [[np.float64(1.5), np.int32(1), np.bool_(True), "a", "x", 3, 1, "lo",
              float(f32[0]), dt.date(2024, 1, 2), "big", None, Decimal("1.25")],
             [np.nan, 2, False, "b", None, None, 2, "hi", 2.5, None, "str", Decimal("NaN"),
              None]])

    assert _sheets(_write(python_values))["py"][1:] == want
    assert _bits(rows[1][8]) == _bits(float(np.float32(0.1)))  # float32 keeps its exact value


def test_header_only_sheets_and_several_sheets() -> None:
    def build(wb: XlsxWriter) -> None:
        wb.add_sheet("empty", header=["a", "b"])
        wb.add_sheet("nohead").write_rows([[1, "x"], [2, "y"]])
        sh = wb.add_sheet("third", header=["n"])
        sh.write_batch([pa.array([], pa.int64())])
        sh.write_batch([pa.array([7])])

    data = _write(build)
    assert _sheets(data) == {"empty": [("a", "b")], "nohead": [(1, "x"), (2, "y")],
                             "third": [("n",), (7,)]}
    frames = pd.read_excel(io.BytesIO(data), sheet_name=None, engine="openpyxl")
    assert list(frames) == ["empty", "nohead", "third"]
    assert list(frames["empty"].columns) == ["a", "b"] and frames["empty"].empty
    assert frames["third"]["n"].tolist() == [7]
    # the header row is bold, frozen; data cells are unstyled
    xml = _sheet_xml(data, 3)
    assert '<row r="1"><c s="1" t="inlineStr"><is><t>n</t></is></c></row>' in xml
    assert 'state="frozen"' in xml and 'state="frozen"' not in _sheet_xml(data, 2)
    # a workbook without sheets still gets one (Excel needs one)
    assert list(_sheets(_write(lambda wb: None))) == ["Sheet1"]


def test_many_batches_of_varying_sizes() -> None:
    rng = np.random.default_rng(3)
    sizes = [0, 1, 7, 100, 3, 0, 5000, 64, 65, 1]
    start = 0

    def build(wb: XlsxWriter) -> None:
        nonlocal start
        sh = wb.add_sheet("rows", header=["n", "f", "s"])
        for size in sizes:
            n = np.arange(start, start + size)
            sh.write_batch([n, n / 7, pa.array([f"r{k}" for k in n.tolist()], pa.string())])
            start += size
        assert sh.rows == sum(sizes)

    data = _write(build, chunk_rows=int(rng.integers(50, 70)))
    rows = _sheets(data)["rows"][1:]
    total = sum(sizes)
    assert [r[0] for r in rows] == list(range(total))
    assert all(_bits(r[1]) == _bits(r[0] / 7) for r in rows[1:])
    assert [r[2] for r in rows] == [f"r{k}" for k in range(total)]
    xml = _sheet_xml(data)
    assert f'<row r="{total + 1}">' in xml and f'<row r="{total + 2}">' not in xml


def test_split_at_row_limit() -> None:
    def build(wb: XlsxWriter) -> None:
        sh = wb.add_sheet("data", header=["n"])
        for lo in range(0, 11, 3):
            sh.write_batch([pa.array(list(range(lo, min(lo + 3, 11))))])
        assert sh.names == ["data", "data_2", "data_3"] and sh.rows == 11
        wb.add_sheet("exact", header=["n"]).write_batch([pa.array(range(8))])
        rows = wb.add_sheet("rows", header=["n"])
        rows.write_rows([k] for k in range(9))
        assert rows.names == ["rows", "rows_2", "rows_3"]
        long = wb.add_sheet("x" * 31, header=["n"])
        long.write_batch([pa.array(range(5))])
        assert long.names == ["x" * 31, "x" * 29 + "_2"]
        wb.add_sheet("nohead").write_batch([pa.array(range(6))])

    sheets = _sheets(_write(build, max_rows=5))  # 5 rows per sheet including the header
    assert sheets["data"] == [("n",), (0,), (1,), (2,), (3,)]
    assert sheets["data_2"] == [("n",), (4,), (5,), (6,), (7,)]
    assert sheets["data_3"] == [("n",), (8,), (9,), (10,)]
    assert [k for k in sheets if k.startswith("exact")] == ["exact", "exact_2"]  # no empty 3rd
    assert sheets["rows_3"] == [("n",), (8,)]
    assert sheets["x" * 29 + "_2"] == [("n",), (4,)]
    assert sheets["nohead"] == [(0,), (1,), (2,), (3,), (4,)] and sheets["nohead_2"] == [(5,)]
    with pytest.raises(ValueError, match="max_rows"):
        _write(lambda wb: wb.add_sheet("h", header=["a"]), max_rows=1)


def test_sheet_names_sanitised() -> None:
    assert sanitize_sheet_name("a[b]:c*d?e/f\\g") == "a_b__c_d_e_f_g"
    assert sanitize_sheet_name("n" * 40) == "n" * 31
    assert sanitize_sheet_name("'quoted'") == "quoted"
    assert sanitize_sheet_name("") == "Sheet"
    assert sanitize_sheet_name("''") == "Sheet"
    assert sanitize_sheet_name("History") == "History_"
    assert sanitize_sheet_name("tab\there") == "tab_here"

    def build(wb: XlsxWriter) -> None:
        for name in ["Data", "data", "R&D <1>", "a/b", "DATA"]:
            wb.add_sheet(name, header=["v"]).write_rows([[name]])
        assert wb.sheet_names == ["Data", "data_2", "R&D <1>", "a_b", "DATA_3"]

    data = _write(build)
    sheets = _sheets(data)
    assert list(sheets) == ["Data", "data_2", "R&D <1>", "a_b", "DATA_3"]
    assert sheets["R&D <1>"] == [("v",), ("R&D <1>",)]
    assert list(pd.read_excel(io.BytesIO(data), sheet_name=None, engine="openpyxl")) == list(
        sheets)


def test_zip_structure_and_content_types() -> None:
    def build(wb: XlsxWriter) -> None:
        wb.add_sheet("one", header=["a"]).write_batch([pa.array([1, 2])])
        wb.add_sheet("two", header=["b"]).write_rows([["x"]])

    data = _write(build)
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert zf.testzip() is None
    names = set(zf.namelist())
    assert names == {"[Content_Types].xml", "_rels/.rels", "docProps/core.xml",
                     "docProps/app.xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                     "xl/styles.xml", "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"}
    assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())
    for name in names:
        ET.fromstring(zf.read(name))  # every part is well-formed XML
    types = ET.fromstring(zf.read("[Content_Types].xml"))
    overrides = {o.get("PartName"): o.get("ContentType") for o in types}
    for k in (1, 2):
        assert overrides[f"/xl/worksheets/sheet{k}.xml"].endswith("worksheet+xml")
    assert overrides["/xl/workbook.xml"].endswith("sheet.main+xml")
    assert overrides["/xl/styles.xml"].endswith("styles+xml")
    rels = zf.read("xl/_rels/workbook.xml.rels").decode()
    assert "worksheets/sheet2.xml" in rels and "styles.xml" in rels
    # the styles part is read by openpyxl (bold header font)
    wb = load_workbook(io.BytesIO(data))
    assert wb["one"]["A1"].font.b and not wb["one"]["A2"].font.b
    assert wb["one"]["A2"].value == 1 and wb["two"]["A2"].value == "x"


class _Pipe(io.RawIOBase):
    """An unseekable output."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.parts.append(bytes(b))
        return len(b)


def test_unseekable_output_and_single_thread_mode() -> None:
    cols = _typed_batch()
    pipe = _Pipe()
    with XlsxWriter(pipe) as wb:
        wb.add_sheet("p", header=list("abcdef")).write_batch(cols)
    streamed = b"".join(pipe.parts)
    assert zipfile.ZipFile(io.BytesIO(streamed)).testzip() is None
    single = _write(lambda wb: wb.add_sheet("p", header=list("abcdef")).write_batch(cols),
                    threaded=False)
    assert _sheet_xml(streamed) == _sheet_xml(single)
    assert _sheets(streamed) == _sheets(single)


def test_errors_and_cleanup() -> None:
    with pytest.raises(ValueError, match="columns"):
        _write(lambda wb: wb.add_sheet("x", header=["a", "b"]).write_batch([[1]]))
    with pytest.raises(ValueError, match="lengths"):
        _write(lambda wb: wb.add_sheet("x").write_batch([[1], [1, 2]]))

    def closed(wb: XlsxWriter) -> None:
        first = wb.add_sheet("a")
        wb.add_sheet("b")
        first.write_rows([[1]])

    with pytest.raises(ValueError, match="closed"):
        _write(closed)

    class Broken(io.BytesIO):
        def write(self, b) -> int:
            if self.tell() > 10_000:
                raise OSError("disk full")
            return super().write(b)

    big = [pa.array(np.arange(200_000)), pa.array(np.random.default_rng(1).random(200_000))]
    with pytest.raises(OSError, match="disk full"), XlsxWriter(Broken(), chunk_rows=1000) as wb:
        wb.add_sheet("x").write_batch(big)
    assert all(t.name != "xlsxstream" for t in threading.enumerate())


# ---------------------------------------------------------------------------------------------
# ZIP64 only where needed


def _local_extra_ids(data: bytes) -> dict[str, list[int]]:
    """The extra field ids of each entry's local file header (0x0001: ZIP64)."""
    out = {}
    for info in zipfile.ZipFile(io.BytesIO(data)).infolist():
        pos = info.header_offset
        assert data[pos:pos + 4] == b"PK\x03\x04"
        name_len, extra_len = struct.unpack_from("<HH", data, pos + 26)
        extra = data[pos + 30 + name_len:pos + 30 + name_len + extra_len]
        ids, k = [], 0
        while k + 4 <= len(extra):
            field, size = struct.unpack_from("<HH", extra, k)
            ids.append(field)
            k += 4 + size
        out[info.filename] = ids
    return out


def _wide_build(ncols: int, rows: int = 50):
    header = [f"c{j}" for j in range(ncols)]
    cols = [pa.array(np.arange(rows) * (j + 1)) if j % 2 else
            pa.array([f"s{i}-{j}" for i in range(rows)]) for j in range(ncols)]

    def build(wb: XlsxWriter) -> None:
        wb.add_sheet("microdata", header=header).write_batch(cols)
        wb.add_sheet("variabel", header=["variable"]).write_rows([[h] for h in header])

    return build, header, cols


def _check_readable(data: bytes, header: list[str], cols: list[pa.Array]) -> None:
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    rows = _sheets(data)["microdata"]
    assert rows[0] == tuple(header) and len(rows) == len(cols[0]) + 1
    assert rows[-1] == tuple(c[-1].as_py() for c in cols)
    frames = pd.read_excel(io.BytesIO(data), sheet_name=None, engine="openpyxl")
    assert list(frames) == ["microdata", "variabel"]
    assert list(frames["microdata"].columns) == header and len(frames["microdata"]) == 50
    assert frames["microdata"]["c1"].tolist() == cols[1].to_pylist()


@pytest.mark.parametrize("seekable", [True, False])
def test_zip64_only_where_needed(seekable: bool) -> None:
    build, header, cols = _wide_build(44)  # 44 columns at the default (Excel) row limit

    def write(**kw) -> bytes:
        if seekable:
            return _write(build, **kw)
        pipe = _Pipe()
        with XlsxWriter(pipe, **kw) as wb:
            build(wb)
        return b"".join(pipe.parts)

    default = write()
    with XlsxWriter(io.BytesIO()) as wb:  # the estimate: 44 x 1,048,576 x 64 = 2.75 GiB
        assert wb.max_rows == xlsxstream.EXCEL_MAX_ROWS
        assert wb._zip64_for(44)[0] is False and wb._zip64_for(64)[0] is False
        assert wb._zip64_for(65)[0] is True
    ids = _local_extra_ids(default)
    assert len(ids) == 9 and all(0x0001 not in v for v in ids.values()), ids
    forced = write(zip64=True)
    ids = _local_extra_ids(forced)
    assert 0x0001 in ids["xl/worksheets/sheet1.xml"] and 0x0001 in ids["xl/worksheets/sheet2.xml"]
    assert 0x0001 not in ids["xl/workbook.xml"]  # small parts never need it
    assert _local_extra_ids(write(zip64=False)) == _local_extra_ids(default)
    for data in (default, forced):
        _check_readable(data, header, cols)
    assert _sheet_xml(default) == _sheet_xml(forced)


def test_zip64_automatic_estimate() -> None:
    """ZIP64 when n_columns * max_rows * 64 bytes passes 4 GiB, decided per sheet part; a
    sheet without a header row is decided at its first row."""
    wide = 4 * 2**30 // (64 * xlsxstream.EXCEL_MAX_ROWS) + 1  # 65 columns: just above 4 GiB

    def build(wb: XlsxWriter) -> None:
        wb.add_sheet("wide", header=[f"c{j}" for j in range(wide)]).write_batch(
            [pa.array([j]) for j in range(wide)])
        wb.add_sheet("narrow", header=["a"]).write_rows([[1]])
        wb.add_sheet("bare").write_rows([list(range(wide))])
        wb.add_sheet("bare_narrow").write_batch([pa.array([1, 2])])
        wb.add_sheet("empty")

    ids = _local_extra_ids(_write(build))
    zip64 = {n for n, v in ids.items() if 0x0001 in v}
    assert zip64 == {"xl/worksheets/sheet1.xml", "xl/worksheets/sheet3.xml"}, ids
    # fewer rows per sheet: the same width needs no ZIP64; continuation parts decide alike
    data = _write(lambda wb: wb.add_sheet("w", header=[f"c{j}" for j in range(wide)])
                  .write_batch([pa.array(np.arange(5))] * wide), max_rows=3)
    ids = _local_extra_ids(data)
    assert len([n for n in ids if n.startswith("xl/worksheets/")]) == 3
    assert all(0x0001 not in v for v in ids.values())
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    with pytest.raises(ValueError, match="zip64"):
        XlsxWriter(io.BytesIO(), zip64="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize("threaded", [True, False])
def test_sheet_outgrowing_a_non_zip64_entry_fails_loudly(monkeypatch: pytest.MonkeyPatch,
                                                         threaded: bool) -> None:
    """zipfile refuses an entry over ZIP64_LIMIT without ZIP64 (2 GiB; made small here): the
    writer stops at the limit with an error naming the sheet, instead of writing on."""
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 200_000)
    cols = [pa.array(np.arange(20_000)), pa.array(np.random.default_rng(2).random(20_000))]
    out = io.BytesIO()
    with pytest.raises(Zip64RequiredError, match=r"sheet 'besar'.*200,000 bytes.*zip64=True"):
        with XlsxWriter(out, chunk_rows=1000, threaded=threaded) as wb:
            wb.add_sheet("kecil", header=["a"]).write_rows([[1]])
            wb.add_sheet("besar", header=["i", "f"]).write_batch(cols)
    assert out.tell() < 300_000  # stopped at the limit, not after the whole sheet
    assert all(t.name != "xlsxstream" for t in threading.enumerate())
    with pytest.raises(Zip64RequiredError, match=r"zip64=False was given"):
        _write(lambda wb: wb.add_sheet("besar", header=["i", "f"]).write_batch(cols),
               zip64=False, threaded=threaded)
    data = _write(lambda wb: wb.add_sheet("besar", header=["i", "f"]).write_batch(cols),
                  zip64=True, chunk_rows=1000, threaded=threaded)
    monkeypatch.undo()
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    assert 0x0001 in _local_extra_ids(data)["xl/worksheets/sheet1.xml"]
    assert len(pd.read_excel(io.BytesIO(data), engine="openpyxl")) == 20_000


def test_zipfile_size_error_at_close_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should zipfile itself refuse the entry when it is closed, the error names the sheet."""
    out = io.BytesIO()
    with pytest.raises(Zip64RequiredError, match="sheet 's'") as info:
        with XlsxWriter(out, threaded=False) as wb:
            sheet = wb.add_sheet("s", header=["a"])
            monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 1000)  # after the entry was opened
            sheet.write_batch([pa.array(np.arange(1000))])
    assert "force_zip64" in str(info.value.__cause__)


def _peak_while_writing(rows: int, batch: int) -> tuple[int, int]:
    """Peak traced Python memory and peak pyarrow allocation while writing ``rows`` rows."""
    rng = np.random.default_rng(5)
    pool = np.array([f"kode-{k:05d}" for k in range(1000)], dtype=object)
    arrow_peak = 0
    tracemalloc.start()
    try:
        with XlsxWriter(_Null()) as wb:
            sh = wb.add_sheet("m", header=["f", "i", "s", "b"])
            for _ in range(rows // batch):
                sh.write_batch([pa.array(rng.random(batch)),
                                pa.array(rng.integers(0, 10**9, batch)),
                                pa.array(pool[rng.integers(0, 1000, batch)], pa.string()),
                                pa.array(rng.random(batch) < 0.5)])
                arrow_peak = max(arrow_peak, pa.total_allocated_bytes())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, arrow_peak


class _Null(io.RawIOBase):
    """A sink that keeps only its position (the output itself must not count)."""

    pos = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, b) -> int:
        n = memoryview(b).nbytes
        self.pos += n
        return n

    def tell(self) -> int:
        return self.pos

    def seek(self, pos: int, whence: int = 0) -> int:
        self.pos = pos if whence == 0 else self.pos + pos
        return self.pos


def test_memory_is_flat_in_the_row_count() -> None:
    small, small_arrow = _peak_while_writing(20_000, 5_000)
    large, large_arrow = _peak_while_writing(200_000, 5_000)
    assert large < 2 * small, (small, large)
    assert large_arrow < 2 * small_arrow + (1 << 20), (small_arrow, large_arrow)
