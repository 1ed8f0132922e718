"""Benchmark the streaming .sav/.dta writers (datafiles/statfiles.py) against pyreadstat.

    .venv/bin/python bench/bench_statfiles.py [--rows 1000000] [--batch 50000] [--only sav,dta,...]

Table: 44 columns = 8 strings (widths 20/16/12) + 26 integer codes (1-5, value labelled) +
10 doubles, about 5 % missing in every numeric column. Each writer runs in its own process so
that its peak RSS (``resource.getrusage``) is its own; the batches are generated on the fly (the
same data for every writer, from one seed). pyreadstat needs the whole table as one DataFrame,
so its run concatenates the batches first (as the old exporter did).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datafiles.statfiles import DtaWriter, SavWriter, Variable  # noqa: E402

WIDTHS = [20, 16, 12, 20, 16, 12, 20, 16]
N_INT, N_FLOAT = 26, 10


def variables() -> list[Variable]:
    out = [Variable(f"str_{i}", f"String {i} ({w} bytes)", "str", width=w)
           for i, w in enumerate(WIDTHS)]
    labels = {1: "Sangat tidak setuju", 2: "Tidak setuju", 3: "Netral", 4: "Setuju",
              5: "Sangat setuju"}
    out += [Variable(f"item_{i:02d}", f"Butir {i}", "int", value_labels=labels)
            for i in range(N_INT)]
    out += [Variable(f"score_{i}", f"Skor {i}", "float") for i in range(N_FLOAT)]
    return out


def batches(rows: int, batch: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    pools = [np.array([rng.bytes(w // 2 + 1).hex()[: int(rng.integers(max(1, w - 8), w + 1))]
                       for _ in range(5000)], dtype=object) for w in WIDTHS]
    done = 0
    while done < rows:
        n = min(batch, rows - done)
        cols: list = [pool[rng.integers(0, len(pool), n)] for pool in pools]
        for _ in range(N_INT):
            v = rng.integers(1, 6, n).astype(np.float64)
            v[rng.random(n) < 0.05] = np.nan
            cols.append(v)
        for _ in range(N_FLOAT):
            v = rng.normal(50, 20, n)
            v[rng.random(n) < 0.05] = np.nan
            cols.append(v)
        done += n
        yield cols


def run_one(kind: str, rows: int, batch: int) -> None:
    path = Path(tempfile.mkdtemp()) / f"bench.{kind.split('-')[-1]}"
    vs = variables()
    t0 = time.perf_counter()
    if kind in ("sav", "dta"):
        cls = SavWriter if kind == "sav" else DtaWriter
        with open(path, "w+b") as fh:
            w = cls(fh, vs, file_label="bench")
            for cols in batches(rows, batch):
                w.write_batch(cols)
            w.close()
    else:
        import pandas as pd
        import pyreadstat

        frames = [pd.DataFrame({v.name: c for v, c in zip(vs, cols, strict=True)})
                  for cols in batches(rows, batch)]
        df = pd.concat(frames, ignore_index=True)
        del frames
        labels = [v.label for v in vs]
        vvl = {v.name: dict(v.value_labels) for v in vs if v.value_labels}
        if kind == "pyreadstat-sav":
            pyreadstat.write_sav(df, str(path), column_labels=labels, variable_value_labels=vvl)
        else:
            pyreadstat.write_dta(df, str(path), column_labels=labels, variable_value_labels=vvl,
                                 version=15)
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = path.stat().st_size / 1e6
    path.unlink()
    print(f"{kind:15s} rows={rows:>9,d} wall={wall:6.1f}s peak_rss={rss:7.0f}MB "
          f"size={size:7.1f}MB", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=50_000)
    ap.add_argument("--only", default="sav,dta,pyreadstat-sav,pyreadstat-dta")
    ap.add_argument("--child", default="")
    args = ap.parse_args()
    if args.child:
        run_one(args.child, args.rows, args.batch)
        return
    gen_only = time.perf_counter()
    for _ in batches(args.rows, args.batch):
        pass
    print(f"(generating the batches alone: {time.perf_counter() - gen_only:.1f}s)")
    for kind in args.only.split(","):
        subprocess.run([sys.executable, __file__, "--rows", str(args.rows), "--batch",
                        str(args.batch), "--child", kind], check=True, env=dict(os.environ))


if __name__ == "__main__":
    main()
