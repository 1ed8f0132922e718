"""Streaming .sav/.dta writers (datafiles/statfiles.py), read back by independent readers:
pyreadstat (ReadStat), pandas' own Stata reader, pandas.read_spss (through pyreadstat) and, when
installed, GNU PSPP's pspp-convert."""

from __future__ import annotations

import csv
import shutil
import subprocess
import tracemalloc
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from datafiles import statfiles
from datafiles.statfiles import DtaWriter, SavWriter, Variable

WRITERS = {"sav": SavWriter, "dta": DtaWriter}
FMTS = ["sav", "dta"]
LIKERT = {1: "Sangat tidak setuju", 2: "Tidak setuju", 3: "Netral", 4: "Setuju",
          5: "Sangat setuju — ✓"}

VARS = [
    Variable("respondent", "ID responden", "str", width=16),
    Variable("wave", "Tahun gelombang", "int"),
    Variable("region", "Kode / nama wilayah", "str", width=40),
    Variable("sex", "Jenis kelamin", "int", value_labels={1: "Laki-laki", 2: "Perempuan"}),
    Variable("index_score_sila_1", "Skor sila 1 (0-100)", "float"),
    Variable("S1_01", "Butir 1", "int", value_labels=LIKERT),
    Variable("code8", "Exactly one 8-byte piece", "str", width=8),
    Variable("weight", "Bobot", "float"),
]
# values on and around the bytecode boundaries (bias 100: -99..151 are one byte), and doubles
# that must survive bit for bit
BOUNDARY = [-99.0, -100.0, 151.0, 152.0, 1e300, -0.0, 0.5, 0.0, -1e300, 1e-20, 151.00000000000003,
            -99.5, 2.0**53, 5e-324, 0.1 + 0.2, -151.0, 251.0, 1.0, None, float("nan")]


def _rows() -> list[list]:
    n = len(BOUNDARY)
    regions = ["Kutai Kartanegara — Tenggarong", "Ünïcödé", "", None, "6401", "  lead", "x" * 40,
               "é" * 20]  # "é" * 20 is exactly 40 bytes: a string at its width
    return [
        [f"{i:016x}" if i % 5 else "" for i in range(n)],
        [2021 + i % 3 if i % 7 else None for i in range(n)],
        [regions[i % len(regions)] for i in range(n)],
        [(i % 2) + 1 if i % 4 else None for i in range(n)],
        BOUNDARY,
        [(i % 5) + 1 if i % 6 else None for i in range(n)],
        ["ABCDEFGH" if i % 3 == 0 else ("        " if i % 3 == 1 else "ab") for i in range(n)],
        [float(np.float64(i) / 7) if i % 5 != 4 else None for i in range(n)],
    ]


def _write(path: Path, fmt: str, batches: list[list], variables: list[Variable] = VARS,
           **kw) -> Path:
    with open(path, "w+b") as fh:
        w = WRITERS[fmt](fh, variables, file_label=kw.pop("file_label", "Mikrodata — uji"),
                         **kw)
        for cols in batches:
            w.write_batch(cols)
        w.close()
        assert fh.tell() == path.stat().st_size  # left at the end
    return path


def _expected(columns: list[list], variables: list[Variable] = VARS) -> dict[str, list]:
    return {v.name: list(c) for v, c in zip(variables, columns, strict=True)}


def _as_float(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _check_frame(df: pd.DataFrame, expected: dict[str, list], variables: list[Variable],
                 *, sav: bool) -> None:
    assert list(df.columns) == [v.name for v in variables]
    for v in variables:
        got, want = df[v.name], expected[v.name]
        assert len(got) == len(want), v.name
        if v.type == "str":
            strip = (lambda s: s.rstrip(" ")) if sav else (lambda s: s)  # SPSS pads with blanks
            assert [("" if g is None or g != g else g) for g in got] == \
                [strip(w or "") for w in want], v.name
            continue
        want_f = _as_float(want)
        got_f = np.asarray(got, dtype=np.float64)
        np.testing.assert_array_equal(np.isnan(got_f), np.isnan(want_f), err_msg=v.name)
        ok = ~np.isnan(want_f)
        # bit for bit: -0.0 stays negative, 0.1 + 0.2 is not rounded
        np.testing.assert_array_equal(got_f[ok].view(np.uint64), want_f[ok].view(np.uint64),
                                      err_msg=v.name)


def _read_all(path: Path, fmt: str) -> list[pd.DataFrame]:
    if fmt == "sav":
        df1, _ = pyreadstat.read_sav(str(path))
        df2 = pd.read_spss(path, convert_categoricals=False)
        return [df1, df2]
    df1, _ = pyreadstat.read_dta(str(path))
    df2 = pd.read_stata(path, convert_categoricals=False, convert_missing=False)
    return [df1, df2]


@pytest.mark.parametrize("fmt", FMTS)
def test_values_round_trip_exactly(tmp_path: Path, fmt: str) -> None:
    cols = _rows()
    path = _write(tmp_path / f"t.{fmt}", fmt, [cols])
    for df in _read_all(path, fmt):
        _check_frame(df, _expected(cols), VARS, sav=fmt == "sav")


@pytest.mark.parametrize("fmt", FMTS)
def test_many_batches_of_varying_sizes(tmp_path: Path, fmt: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statfiles, "SLICE_CELLS", 64)  # also slice inside batches (256 rows)
    rng = np.random.default_rng(3)
    base = _rows()
    sizes = [0, 1, 7, 8, 9, 3, 0, 700, 13, 1]
    batches, total = [], [[] for _ in VARS]
    for size in sizes:
        idx = rng.integers(0, len(BOUNDARY), size)
        cols = []
        for j, col in enumerate(base):
            picked = [col[i] for i in idx]
            # hand the writer every column shape it accepts: lists, tuples, numpy arrays
            if VARS[j].type == "float" and size % 2:
                cols.append(_as_float(picked))
            elif VARS[j].type == "str" and size % 3 == 0:
                cols.append(np.array(picked, dtype=object))
            else:
                cols.append(tuple(picked))
            total[j] += picked
        batches.append(cols)
    path = _write(tmp_path / f"b.{fmt}", fmt, batches)
    for df in _read_all(path, fmt):
        _check_frame(df, _expected(total), VARS, sav=fmt == "sav")


@pytest.mark.parametrize("fmt", FMTS)
def test_zero_rows(tmp_path: Path, fmt: str) -> None:
    path = _write(tmp_path / f"z.{fmt}", fmt, [])
    reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    df, meta = reader(str(path))
    assert len(df) == 0 and meta.number_rows == 0
    assert list(df.columns) == [v.name for v in VARS]
    assert meta.column_names_to_labels["weight"] == "Bobot"
    other = pd.read_spss(path) if fmt == "sav" else pd.read_stata(path)
    assert len(other) == 0 and list(other.columns) == [v.name for v in VARS]


@pytest.mark.parametrize("fmt", FMTS)
def test_labels_names_and_metadata(tmp_path: Path, fmt: str) -> None:
    long_label = "Skor — " + "é" * 300  # > 320 bytes: cut at a character boundary
    variables = [*VARS, Variable("index_score_sila_2", long_label, "float"),
                 Variable("index_score_sila_10", "", "int")]
    cols = [*_rows(), [1.5] * len(BOUNDARY), [3] * len(BOUNDARY)]
    path = _write(tmp_path / f"l.{fmt}", fmt, [cols], variables,
                  timestamp=datetime(2024, 3, 5, 14, 7, 9))
    reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    df, meta = reader(str(path))
    names = [v.name for v in variables]
    assert list(df.columns) == names  # long names (> 8 characters) kept
    assert meta.number_rows == len(BOUNDARY)
    assert meta.file_label == "Mikrodata — uji"
    labels = meta.column_names_to_labels
    assert labels["region"] == "Kode / nama wilayah"
    assert labels["index_score_sila_10"] in ("", None)
    limit = 255 if fmt == "sav" else 320
    cut = labels["index_score_sila_2"]
    assert long_label.startswith(cut) and len(cut.encode()) <= limit
    assert len(cut.encode()) > limit - 2  # cut at the last whole character, not earlier
    assert meta.variable_value_labels["sex"] == {1: "Laki-laki", 2: "Perempuan"}
    assert meta.variable_value_labels["S1_01"] == LIKERT
    assert set(meta.variable_value_labels) == {"sex", "S1_01"}
    labelled, _ = reader(str(path), apply_value_formats=True)
    assert labelled["S1_01"].iloc[4] == "Sangat setuju — ✓"  # row 4 holds code 5
    if fmt == "sav":
        assert meta.variable_measure["sex"] == "nominal"
        assert meta.variable_measure["region"] == "nominal"
        assert meta.variable_measure["weight"] == "scale"
        assert meta.original_variable_types["wave"] == "F8.0"
        assert meta.original_variable_types["region"] == "A40"
        assert meta.original_variable_types["weight"].startswith("F")
    else:
        types = meta.original_variable_types
        assert types["weight"] == "%10.0g" and types["wave"] == "%12.0g"
        assert types["region"] == "%-40s"
        with pd.read_stata(path, iterator=True) as rd:
            assert rd.data_label == "Mikrodata — uji"
            assert rd.variable_labels()["region"] == "Kode / nama wilayah"
            assert rd.variable_labels()["index_score_sila_2"] == cut
            assert rd.value_labels()["S1_01"] == LIKERT
            assert rd.value_labels()["sex"] == {1: "Laki-laki", 2: "Perempuan"}
            assert rd.time_stamp == "05 Mar 2024 14:07"


def test_sav_short_names_are_unique_and_long_names_kept(tmp_path: Path) -> None:
    names = ["index_score_sila_1", "index_score_sila_2", "INDEX_SC", "by", "_x", "Ünïcödé",
             "a" * 32]
    variables = [Variable(n, n, "int") for n in names]
    shorts = statfiles._short_names(names)
    assert len(set(shorts)) == len(shorts)
    assert all(len(s) <= 8 and s.isascii() and s[0].isalpha() and s == s.upper()
               for s in shorts)
    assert "BY" not in shorts  # reserved word
    path = _write(tmp_path / "n.sav", "sav", [[[1, 2]] * len(names)], variables)
    df, _ = pyreadstat.read_sav(str(path))
    assert list(df.columns) == names


@pytest.mark.parametrize("fmt", FMTS)
def test_string_too_long_names_the_variable(tmp_path: Path, fmt: str) -> None:
    cols = _rows()
    cols[2] = list(cols[2])
    cols[2][3] = "é" * 20 + "x"  # 41 bytes for a width of 40
    with open(tmp_path / f"e.{fmt}", "w+b") as fh:
        w = WRITERS[fmt](fh, VARS)
        with pytest.raises(ValueError, match=r"'region'.*41 bytes.*width of 40"):
            w.write_batch(cols)


@pytest.mark.parametrize("fmt", FMTS)
def test_invalid_input_raises_clearly(tmp_path: Path, fmt: str) -> None:
    fh = open(tmp_path / f"i.{fmt}", "w+b")  # noqa: SIM115
    with fh:
        w = WRITERS[fmt](fh, [Variable("n", "", "int"), Variable("x", "", "float")])
        with pytest.raises(ValueError, match="'n'.*non-integer value 1.5"):
            w.write_batch([[1.5], [1.0]])
        with pytest.raises(ValueError, match="'x'.*not numbers"):
            w.write_batch([[1], ["abc"]])
        with pytest.raises(ValueError, match="expected 2 columns"):
            w.write_batch([[1]])
        with pytest.raises(ValueError, match="differ in length"):
            w.write_batch([[1, 2], [1.0]])
        if fmt == "dta":
            with pytest.raises(ValueError, match="'x'.*Stata double"):
                w.write_batch([[1], [float("inf")]])
            with pytest.raises(ValueError, match="'n'.*Stata long"):
                w.write_batch([[2**31], [1.0]])
    too_wide = statfiles.SAV_MAX_WIDTH + 1 if fmt == "sav" else statfiles.DTA_MAX_WIDTH + 1
    with pytest.raises(ValueError, match="'s'.*string width"):
        WRITERS[fmt](open(tmp_path / "w", "w+b"), [Variable("s", "", "str", width=too_wide)])
    with pytest.raises(ValueError, match="duplicate"):
        WRITERS[fmt](open(tmp_path / "d", "w+b"), [Variable("a"), Variable("a")])


def test_sav_bytecode_layout(tmp_path: Path) -> None:
    """The data section byte for byte: one command block, raw values after it, 252 at the
    end, the row count patched into the header."""
    variables = [Variable("a", "", "float"), Variable("s", "", "str", width=10)]
    path = _write(tmp_path / "c.sav", "sav", [[[5.0, 0.5, None], ["ab", "", "abcdefghij"]]],
                  variables)
    raw = path.read_bytes()
    assert int.from_bytes(raw[80:84], "little") == 3  # ncases
    data = raw[raw.index(b"\xe7\x03\x00\x00\x00\x00\x00\x00") + 8:]  # after 999, 0
    assert data[:8] == bytes([105, 253, 254, 253, 254, 254, 255, 253])
    assert data[8:16] == b"ab      "
    assert data[16:24] == np.float64(0.5).tobytes()
    assert data[24:32] == b"abcdefgh"
    assert data[32:40] == bytes([253, 252, 0, 0, 0, 0, 0, 0])
    assert data[40:] == b"ij      "


NO_PSPP = pytest.mark.skipif(shutil.which("pspp-convert") is None,
                             reason="GNU PSPP is not installed")


def _pspp_columns(path: Path, tmp_path: Path) -> dict[str, list[str]]:
    """The file as GNU PSPP reads it (pspp-convert to CSV), column by column; PSPP must not
    warn about anything."""
    out = tmp_path / (path.stem + ".pspp.csv")
    proc = subprocess.run(["pspp-convert", str(path), str(out)], capture_output=True, text=True)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return {name: [r[j] for r in rows[1:]] for j, name in enumerate(rows[0])}


def _check_pspp(got: dict[str, list[str]], expected: dict[str, list],
                variables: list[Variable]) -> None:
    assert list(got) == [v.name for v in variables]
    for v in variables:
        if v.type == "str":
            assert [g.rstrip(" ") for g in got[v.name]] == \
                [(w or "").rstrip(" ") for w in expected[v.name]], v.name
        else:
            want = _as_float(expected[v.name])
            have = np.array([np.nan if g.strip() == "" else float(g) for g in got[v.name]])
            np.testing.assert_array_equal(have.view(np.uint64)[~np.isnan(want)],
                                          want.view(np.uint64)[~np.isnan(want)], v.name)
            assert (np.isnan(have) == np.isnan(want)).all(), v.name


@NO_PSPP
def test_sav_reads_in_gnu_pspp(tmp_path: Path) -> None:
    cols = _rows()
    path = _write(tmp_path / "p.sav", "sav", [[c[:4] for c in cols], [c[4:] for c in cols]])
    _check_pspp(_pspp_columns(path, tmp_path), _expected(cols), VARS)


# ---------------------------------------------------------------------------------------------
# SPSS very long strings (> 255 bytes): segments of 255 bytes, subtype 14 record


def _utf8_text(rng: np.random.Generator, width: int, chars: str = "aé€😀 Z") -> str:
    """Random text of 1-4 byte characters, as long as fits in ``width`` bytes, ending in a
    non-blank: segment boundaries (every 255 bytes) fall inside characters at every offset."""
    out, size = [], 0
    while True:
        c = chars[int(rng.integers(len(chars)))]
        if size + len(c.encode()) > width:
            break
        out.append(c)
        size += len(c.encode())
    text = "".join(out).rstrip(" ")
    return text[:-1] + "Z" if text.endswith(" ") else text


def _boundary_texts(width: int) -> list[str]:
    """Characters of 2, 3 and 4 bytes straddling the first segment boundary (byte 255) at every
    offset, repeated up to ``width`` bytes (cut at a character boundary)."""
    out = []
    for ch in ("é", "€", "😀"):
        n = len(ch.encode())
        for lead in range(255 - n + 1, 255):  # the character starts before byte 255, ends after
            text = "a" * lead + ch * ((width - lead) // n)
            out.append(text)
    return out


def _vls_values(width: int) -> list:
    rng = np.random.default_rng(width)
    full_ascii = "".join(chr(33 + int(i)) for i in rng.integers(0, 94, width))  # every byte
    return [full_ascii, _utf8_text(rng, width), "", None, "x", "   lead and trail   ",
            " " * width, "é" * (width // 2), *_boundary_texts(width), _utf8_text(rng, width)]


def _sav_dictionary(raw: bytes) -> dict:
    """Parse the dictionary of a .sav this writer made: variable records (without the -1
    continuation records, counted in ``index``) and the type 7 records by subtype."""
    pos, index, variables, ext = 176, 0, [], {}
    while True:
        rec = int.from_bytes(raw[pos:pos + 4], "little", signed=True)
        pos += 4
        if rec == 2:
            typ, has_label, n_missing, fmt, _ = np.frombuffer(raw, "<i4", 5, pos)
            name = raw[pos + 20:pos + 28].decode().rstrip()
            pos += 28
            index += 1
            label = b""
            if has_label:
                size = int.from_bytes(raw[pos:pos + 4], "little")
                label = raw[pos + 4:pos + 4 + size]
                pos += 4 + -(-size // 4) * 4
            assert n_missing == 0
            if typ != -1:
                variables.append({"index": index, "type": int(typ), "name": name,
                                  "format": int(fmt), "label": label})
        elif rec == 3:
            count = int.from_bytes(raw[pos:pos + 4], "little")
            pos += 4
            for _ in range(count):
                pos += -(-(9 + raw[pos + 8]) // 8) * 8
            n_vars = int.from_bytes(raw[pos + 4:pos + 8], "little")
            ext.setdefault("labels", []).append(list(np.frombuffer(raw, "<i4", n_vars, pos + 8)))
            pos += 8 + 4 * n_vars
        elif rec == 7:
            sub, size, count = np.frombuffer(raw, "<i4", 3, pos)
            ext[int(sub)] = raw[pos + 12:pos + 12 + size * count]
            pos += 12 + int(size * count)
        else:
            assert rec == 999
            return {"variables": variables, "ext": ext, "cells": index,
                    "case_size": int.from_bytes(raw[68:72], "little"), "data": pos + 4}


@pytest.mark.parametrize("width", [256, 300, 504, 505, 1000, 32767])
def test_sav_very_long_string_round_trip(tmp_path: Path, width: int) -> None:
    values = _vls_values(width)
    assert max(len((v or "").encode()) for v in values) == width
    variables = [Variable("n", "Nomor", "int"),
                 Variable("teks_panjang", "Teks butir — panjang", "str", width=width),
                 Variable("after", "Sesudah", "int", value_labels={1: "satu", 2: "dua"})]
    cols = [list(range(len(values))), values, [1 + i % 2 for i in range(len(values))]]
    path = _write(tmp_path / "v.sav", "sav", [cols], variables)
    for df in _read_all(path, "sav"):
        _check_frame(df, _expected(cols, variables), variables, sav=True)
    df, meta = pyreadstat.read_sav(str(path))
    assert df["teks_panjang"][0] == values[0]  # every byte in its place
    assert meta.original_variable_types["teks_panjang"] == f"A{width}"
    assert meta.column_names_to_labels["teks_panjang"] == "Teks butir — panjang"
    assert meta.variable_measure == {"n": "scale", "teks_panjang": "nominal", "after": "nominal"}
    assert meta.variable_value_labels == {"after": {1: "satu", 2: "dua"}}
    if shutil.which("pspp-convert"):
        _check_pspp(_pspp_columns(path, tmp_path), _expected(cols, variables), variables)


@pytest.mark.parametrize("width", [256, 504, 505, 32767])
def test_sav_very_long_string_dictionary(tmp_path: Path, width: int) -> None:
    """Segments as the guide has them: N = (w + 251) // 252 variables, 255 wide but the last
    (w - (N - 1) * 252); own unique short names; label on the first; subtype 14 names the
    first segment; the long names and the display record as SPSS/PSPP/ReadStat write them."""
    variables = [Variable("item_text_en", "Teks", "str", width=width),
                 Variable("ITEM_T_1", "", "float"),  # the name the first segment would get
                 Variable("x", "", "int", value_labels={1: "a"})]
    path = _write(tmp_path / "d.sav", "sav", [[["é"], [1.5], [1]]], variables)
    d = _sav_dictionary(path.read_bytes())
    n = (width + 251) // 252
    seg = d["variables"][:n]
    assert [v["type"] for v in seg] == [255] * (n - 1) + [width - (n - 1) * 252]
    assert [v["format"] for v in seg] == [(1 << 16) | (v["type"] << 8) for v in seg]
    assert [v["label"] for v in seg] == [b"Teks"] + [b""] * (n - 1)
    names = [v["name"] for v in d["variables"]]
    assert len(set(names)) == len(names) == n + 2
    assert all(len(x) <= 8 and x.isascii() and x == x.upper() for x in names)
    assert names[0] == "ITEM_TEX" and names[n] == "ITEM_T_1" and names[1] == "ITEM_T_2"
    cells = 32 * (n - 1) + -(-seg[-1]["type"] // 8)
    assert [v["index"] for v in d["variables"][n:]] == [cells + 1, cells + 2]
    assert d["cells"] == d["case_size"] == cells + 2
    assert d["ext"]["labels"] == [[cells + 2]]  # value labels: dictionary index of "x"
    assert d["ext"][14] == f"ITEM_TEX={width:05d}".encode() + b"\0\t"
    assert d["ext"][13] == b"ITEM_TEX=item_text_en\tITEM_T_1=ITEM_T_1\tX=x"
    display = list(np.frombuffer(d["ext"][11], "<i4"))
    assert len(display) == 3 * (n + 2)  # one entry per segment variable
    assert display[:3] == [1, 40, 0] and display[-6:] == [3, 10, 1, 1, 8, 1]


def test_sav_very_long_string_bytes(tmp_path: Path) -> None:
    """The data bytes: 255 bytes of the value per 32-cell segment (the 256th is a blank), the
    rest blank; each 8-byte cell compressed like any string (254 when all blank)."""
    value = "".join(chr(65 + i % 26) for i in range(505))  # every byte distinct from a blank
    variables = [Variable("s", "", "str", width=505)]  # segments 255, 255, 1: 32 + 32 + 1
    path = _write(tmp_path / "b.sav", "sav", [[[value, ""]]], variables)
    raw = path.read_bytes()
    data = raw[_sav_dictionary(raw)["data"]:]
    row = 65
    codes, words = [], []
    pos = 0
    while len(codes) < 2 * row:
        block = data[pos:pos + 8]
        pos += 8
        for c in block:
            codes.append(c)
            if c == 253:
                words.append(data[pos:pos + 8])
                pos += 8
    assert codes[:row] == [253] * 64 + [254]  # segment 3 holds nothing: blank
    stored = b"".join(words[:64])
    want = value.encode()
    assert stored == want[:255] + b" " + want[255:].ljust(256)  # 250 bytes, 6 blanks
    assert codes[row:2 * row] == [254] * row  # the empty string: all blank cells
    assert codes[2 * row] == 252


def test_sav_mixed_long_and_short_strings_in_batches(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statfiles, "SLICE_CELLS", 512)  # slices of 256 rows inside batches
    variables = [
        Variable("id", "ID", "str", width=8),
        Variable("label_id", "Label (Indonesia)", "str", width=700),
        Variable("score", "Skor", "float"),
        Variable("short", "Pendek", "str", width=255),
        Variable("label_en", "Label (English)", "str", width=256),
        Variable("code", "Kode", "int", value_labels={1: "ya", 0: "tidak"}),
        Variable("values", "Nilai", "str", width=1000),
    ]
    rng = np.random.default_rng(11)
    total: list[list] = [[] for _ in variables]
    batches = []
    for size in [3, 0, 300, 1, 40, 600]:
        cols: list = []
        for j, v in enumerate(variables):
            if v.type == "str":
                col = [None if rng.random() < 0.1 else _utf8_text(rng, int(rng.integers(
                    0, v.width + 1))) for _ in range(size)]
                cols.append(np.array(col, dtype=object) if size % 2 else col)
            elif v.type == "int":
                cols.append([None if rng.random() < 0.1 else int(rng.integers(0, 2))
                             for _ in range(size)])
            else:
                cols.append(rng.normal(50, 30, size))
            total[j] += list(cols[-1])
        batches.append(cols)
    path = _write(tmp_path / "m.sav", "sav", batches, variables)
    for df in _read_all(path, "sav"):
        _check_frame(df, _expected(total, variables), variables, sav=True)
    _, meta = pyreadstat.read_sav(str(path), metadataonly=True)
    assert meta.number_rows == 944
    assert meta.original_variable_types["label_id"] == "A700"
    assert meta.original_variable_types["short"] == "A255"
    assert meta.column_names_to_labels["values"] == "Nilai"
    assert meta.variable_value_labels == {"code": {0: "tidak", 1: "ya"}}
    assert meta.variable_measure["score"] == "scale"
    if shutil.which("pspp-convert"):
        _check_pspp(_pspp_columns(path, tmp_path), _expected(total, variables), variables)


def test_sav_string_width_limit(tmp_path: Path) -> None:
    assert statfiles.SAV_MAX_WIDTH == 32767
    with open(tmp_path / "w.sav", "w+b") as fh:
        SavWriter(fh, [Variable("s", "", "str", width=32767)]).close()
        with pytest.raises(ValueError, match="'s'.*string width 32768 must be 1 to 32767"):
            SavWriter(fh, [Variable("s", "", "str", width=32768)])
    with open(tmp_path / "e.sav", "w+b") as fh:
        w = SavWriter(fh, [Variable("s", "", "str", width=300)])
        with pytest.raises(ValueError, match=r"'s'.*301 bytes.*width of 300"):
            w.write_batch([["é" * 150 + "x"]])


# ---------------------------------------------------------------------------------------------
# memory: flat in the number of rows


MEM_VARS = [Variable(f"s{i}", "", "str", width=w) for i, w in enumerate((20, 16, 12))] + \
    [Variable(f"i{i}", "", "int", value_labels={1: "a"}) for i in range(6)] + \
    [Variable(f"f{i}", "", "float") for i in range(6)]
POOL = np.array([f"{i:x}-{'é' * (i % 5)}" for i in range(997)], dtype=object)


def _mem_batch(rng: np.random.Generator, n: int) -> list:
    cols: list = [POOL[rng.integers(0, len(POOL), n)] for _ in range(3)]
    for _ in range(6):
        v = rng.integers(1, 6, n).astype(np.float64)
        v[rng.random(n) < 0.05] = np.nan
        cols.append(v)
    for _ in range(6):
        cols.append(rng.normal(50, 20, n))
    return cols


class _Hoarder(SavWriter):
    """A writer that keeps every batch: what the memory test must catch."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.kept: list = []

    def write_batch(self, columns) -> None:
        self.kept.append([np.array(c, copy=True) for c in columns])
        super().write_batch(columns)


def _peak(cls, path: Path, rows: int, batch: int = 10_000) -> int:
    rng = np.random.default_rng(5)
    tracemalloc.start()
    try:
        with open(path, "w+b") as fh:
            w = cls(fh, MEM_VARS)
            for _ in range(rows // batch):
                w.write_batch(_mem_batch(rng, batch))
            w.close()
            del w
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("cls", [SavWriter, DtaWriter, _Hoarder], ids=["sav", "dta", "hoarder"])
def test_memory_does_not_grow_with_rows(tmp_path: Path, cls) -> None:
    _peak(cls, tmp_path / "warm", 10_000)
    small = _peak(cls, tmp_path / "small", 20_000)
    large = _peak(cls, tmp_path / "large", 200_000)
    if cls is _Hoarder:  # the bound below does catch a writer that buffers the rows
        assert large > 2 * small
    else:
        assert large < 2 * small, (small, large)
        assert (tmp_path / "large").stat().st_size > 5 * (tmp_path / "small").stat().st_size
