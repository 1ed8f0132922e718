"""Benchmark of the streaming XLSX writer (datafiles/xlsx.py) against openpyxl.

    .venv/bin/python bench/bench_xlsx.py [--rows 1000000] [--openpyxl-rows 100000] [--batch 50000]

Cases (each in its own process, so that the peak RSS is its own):

- ``wide``: ROWS x 44 columns like the microdata table: 8 strings (a 16-hex pseudonym, region
  code, sex, age group, two masked design codes, two short labels), 6 float64 (full-precision
  weights and scores) and 30 int16 items 1-5; every numeric column ~5 % missing (null).
- ``narrow``: ROWS x 4 (int, float, string, bool).
- ``formatted-wide``: ``wide`` with a number format on every numeric column (``0.00`` for the
  floats, ``0`` for the items), as the Excel download for people writes them (issue 17).
- ``openpyxl-narrow`` / ``openpyxl-wide``: openpyxl ``write_only`` on OPENPYXL_ROWS rows,
  extrapolated linearly to ROWS.
- ``xlsxwriter-wide`` / ``xlsxwriter-narrow``: XlsxWriter in ``constant_memory`` mode (rows
  flushed to a temporary file as they are written, zipped at ``close()``) on ROWS rows, each
  column written with its typed method (``write_number``/``write_string``/``write_boolean``;
  nulls skipped = blank cells), the fastest way to feed it Arrow batches (issue 9).

Input batches (pyarrow arrays of BATCH rows) are generated before the clock starts; a few
distinct batches are cycled. Reported: wall and CPU seconds, RSS before writing (libraries and
input batches), peak RSS, file size. A ``wide`` result of CHECK_ROWS rows is then opened with
openpyxl (read_only: every cell compared with the input) and pandas.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from datafiles.xlsx import XlsxWriter  # noqa: E402

DISTINCT = 4


def _hex_pool(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    raw = rng.integers(0, 16, size=(n, width))
    chars = np.array(list("0123456789abcdef"))[raw]
    return np.array(["".join(r) for r in chars], dtype=object)


def make_batches(kind: str, rows: int, seed: int = 20261128) -> list[tuple[list[str],
                                                                           list[pa.Array]]]:
    rng = np.random.default_rng(seed)
    n = rows
    out = []

    def miss() -> np.ndarray:
        return rng.random(n) < 0.05

    for _ in range(DISTINCT):
        if kind == "narrow":
            names = ["wave", "weight", "region", "ok"]
            cols = [pa.array(rng.integers(2019, 2026, n)),
                    pa.array(rng.gamma(2.0, 150.0, n), mask=miss()),
                    pa.array(np.array([f"64{r:02d}" for r in range(1, 11)],
                                      dtype=object)[rng.integers(0, 10, n)], pa.string()),
                    pa.array(rng.random(n) < 0.5)]
        else:
            pool16, pool10, pool12 = (_hex_pool(rng, 20_000, w) for w in (16, 10, 12))
            regions = np.array([f"64{r:02d}" for r in range(1, 11)] + ["6471", "6472"],
                               dtype=object)
            sexes = np.array(["L", "P", None], dtype=object)
            ages = np.array(["17-24", "25-34", "35-44", "45-54", "55+"], dtype=object)
            labels = np.array(["sangat rendah", "rendah", "sedang", "tinggi", "sangat tinggi"],
                              dtype=object)
            names = ["respondent", "region", "sex", "age_group", "stratum", "psu", "category",
                     "status", "final_weight", "S1", "S2", "S3", "S4", "INDEX"] + [
                f"S{d}_{i:02d}" for d in range(1, 6) for i in range(1, 7)]
            cols = [pa.array(pool16[rng.integers(0, len(pool16), n)], pa.string()),
                    pa.array(regions[rng.integers(0, len(regions), n)], pa.string()),
                    pa.array(sexes[rng.choice(3, n, p=[0.49, 0.49, 0.02])], pa.string()),
                    pa.array(ages[rng.integers(0, 5, n)], pa.string()),
                    pa.array(pool10[rng.integers(0, len(pool10), n)], pa.string()),
                    pa.array(pool12[rng.integers(0, len(pool12), n)], pa.string()),
                    pa.array(labels[rng.integers(0, 5, n)], pa.string()),
                    pa.array(np.where(rng.random(n) < 0.9, "final", "a & b <draft>"),
                             pa.string())]
            cols.append(pa.array(rng.gamma(2.0, 150.0, n), mask=miss()))
            for _ in range(5):
                cols.append(pa.array(rng.uniform(0, 100, n), mask=miss()))
            for _ in range(30):
                cols.append(pa.array(rng.integers(1, 6, n).astype(np.int16), mask=miss()))
        out.append((names, cols))
    return out


def _rss_now() -> int:
    """Current resident set size (the input batches and libraries, before writing)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run_case(case: str, rows: int, batch: int, path: Path) -> dict:
    kind = "narrow" if case.endswith("narrow") else "wide"
    batches = make_batches(kind, batch)
    names = batches[0][0]
    before = _rss_now()
    t0, c0 = time.perf_counter(), time.process_time()
    done = 0
    if case.startswith("openpyxl"):
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet(kind)
        ws.append(names)
        i = 0
        while done < rows:
            cols = batches[i % DISTINCT][1]
            take = min(batch, rows - done)
            for row in zip(*(c.slice(0, take).to_pylist() for c in cols), strict=True):
                ws.append(row)
            done += take
            i += 1
        wb.save(path)
    elif case.startswith("xlsxwriter"):
        import xlsxwriter

        book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        ws = book.add_worksheet(kind)
        ws.write_row(0, 0, names)
        writers = []
        for c in batches[0][1]:
            if pa.types.is_string(c.type):
                writers.append(ws.write_string)
            elif pa.types.is_boolean(c.type):
                writers.append(ws.write_boolean)
            else:
                writers.append(ws.write_number)
        r, i = 1, 0
        while done < rows:
            cols = batches[i % DISTINCT][1]
            take = min(batch, rows - done)
            for row in zip(*(c.slice(0, take).to_pylist() for c in cols), strict=True):
                for j, v in enumerate(row):
                    if v is not None:
                        writers[j](r, j, v)
                r += 1
            done += take
            i += 1
        book.close()
    else:
        formats = None
        if case.startswith("formatted"):
            formats = ["0.00" if pa.types.is_floating(c.type) else
                       "0" if pa.types.is_integer(c.type) else None for c in batches[0][1]]
        with open(path, "wb") as fh, XlsxWriter(fh) as wb:
            sh = wb.add_sheet(kind, header=names, formats=formats)
            i = 0
            while done < rows:
                cols = batches[i % DISTINCT][1]
                take = min(batch, rows - done)
                sh.write_batch([c.slice(0, take) for c in cols])
                done += take
                i += 1
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"case": case, "rows": rows, "cols": len(names), "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2), "rss_before_mib": round(before / 2**20, 1),
            "peak_rss_mib": round(peak / 2**20, 1),
            "size_mib": round(path.stat().st_size / 2**20, 2)}


def check(path: Path, rows: int, batch: int) -> str:
    """Read a ``wide`` result back with openpyxl and pandas and compare with the input: every
    cell must be of the input's type; numbers that differ (a writer printing fewer than the 17
    significant digits a double needs) are counted with their largest relative error."""
    import pandas as pd
    from openpyxl import load_workbook

    batches = make_batches("wide", batch)
    names, cols = batches[0]
    t0 = time.perf_counter()
    wb = load_workbook(path, read_only=True)
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    assert tuple(next(it)) == tuple(names)
    expected = [list(zip(*(c.to_pylist() for c in b[1]), strict=True)) for b in batches]
    got = differ = 0
    worst = 0.0
    for k, row in enumerate(it):
        want = expected[(k // batch) % DISTINCT][k % batch]
        row = tuple(row) + (None,) * (len(names) - len(row))
        if row != want:
            for g, w in zip(row, want, strict=True):
                if g != w:
                    assert isinstance(g, float) and isinstance(w, float), (k, g, w)
                    differ += 1
                    worst = max(worst, abs(g - w) / abs(w))
        got += 1
    assert got == rows, (got, rows)
    wb.close()
    t1 = time.perf_counter()
    df = pd.read_excel(path, engine="openpyxl")
    assert len(df) == rows and list(df.columns) == names
    ref = pa.table(cols, names=names).to_pandas()
    first = min(rows, batch)
    np.testing.assert_allclose(df["final_weight"].to_numpy(float)[:first],
                               ref["final_weight"].to_numpy(float)[:first], rtol=1e-15)
    cells = "every cell equal" if not differ else (
        f"{differ} of {rows * len(names)} cells NOT equal: doubles rounded, largest relative "
        f"error {worst:.1e}")
    return (f"checked {rows} rows x {len(names)} with openpyxl read_only ({t1 - t0:.1f} s, "
            f"{cells}) and pandas ({time.perf_counter() - t1:.1f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--openpyxl-rows", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=50_000)
    ap.add_argument("--check-rows", type=int, default=100_000)
    ap.add_argument("--cases", default="wide,xlsxwriter-wide,narrow,xlsxwriter-narrow,"
                    "openpyxl-narrow,openpyxl-wide,check-wide,check-xlsxwriter-wide",
                    help="comma-separated subset of the cases to run")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        rows = args.openpyxl_rows if args.case.startswith("openpyxl") else args.rows
        print(json.dumps(run_case(args.case, rows, args.batch, Path(args.out))))
        return
    with tempfile.TemporaryDirectory(prefix="bench-xlsx-") as tmp:
        cases = [("wide", args.rows), ("formatted-wide", args.rows),
                 ("xlsxwriter-wide", args.rows), ("narrow", args.rows),
                 ("xlsxwriter-narrow", args.rows),
                 ("openpyxl-narrow", args.openpyxl_rows), ("openpyxl-wide", args.openpyxl_rows),
                 ("check-wide", args.check_rows), ("check-xlsxwriter-wide", args.check_rows)]
        wanted = set(args.cases.split(","))
        for case, rows in cases:
            if case not in wanted:
                continue
            out = Path(tmp) / f"{case}.xlsx"
            real = case.removeprefix("check-")
            cmd = [sys.executable, __file__, "--case", real, "--out", str(out),
                   "--batch", str(args.batch),
                   "--rows" if not real.startswith("openpyxl") else "--openpyxl-rows",
                   str(rows)]
            res = json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                            text=True, env=os.environ).stdout)
            if real.startswith("openpyxl") and rows != args.rows:
                res["extrapolated_wall_s"] = round(res["wall_s"] * args.rows / rows, 1)
            print(json.dumps(res), flush=True)
            if case.startswith("check-"):
                print(check(out, rows, args.batch), flush=True)
            out.unlink()


if __name__ == "__main__":
    main()
