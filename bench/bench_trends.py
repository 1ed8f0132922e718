"""Trend stage benchmark (issue 15): `trend_table` / `change_table` at national scale.

    .venv/bin/python bench/bench_trends.py [--regions 514] [--waves 5] [--seed 20261203]

Builds a synthetic estimates table of ``regions x 6 dimensions`` series (515 x 6 = 3,090, the
national case) over ``waves`` consecutive years: index-like estimates (60 + a per-series slope
+ noise, SE 0.5-3), ~3 % suppressed rows (n < 30). Times, in the same process, the per-series
loop (`series_trend` / `series_changes` per series: what `trend_table` / `change_table` did
before issue 15) and the vectorised tables, checks they agree (1e-12 relative; see
tests/analysis/test_trends_vectorised.py for the full comparison) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--regions", type=int, default=515,
                        help="regions incl. the province row ALL (514 regencies + ALL)")
    parser.add_argument("--waves", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for the fast route")
    args = parser.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.path.insert(0, str(REPO))
    import numpy as np
    import pandas as pd

    from analysis import trends

    rng = np.random.default_rng(args.seed)
    dims = ["INDEX", "S1", "S2", "S3", "S4", "S5"]
    n_series = args.regions * len(dims)
    years = np.arange(2021, 2021 + args.waves)
    slope = rng.normal(0, 1, (n_series, 1))
    est = 60 + slope * (years - years[0]) + rng.normal(0, 2, (n_series, args.waves))
    frame = pd.DataFrame(
        {
            "wave": np.tile(years, n_series),
            "region": np.repeat([f"{6400 + r // len(dims):04d}" for r in range(n_series)],
                                args.waves),
            "dimension": np.repeat([dims[r % len(dims)] for r in range(n_series)], args.waves),
            "estimate": est.ravel(),
            "se": rng.uniform(0.5, 3.0, est.size),
            "suppressed": rng.random(est.size) < 0.03,
        }
    )

    def loop_trends(e: pd.DataFrame) -> pd.DataFrame:
        pub = trends._published(e)
        rows = [{"region": r, "dimension": d,
                 **asdict(trends.series_trend(g["wave"].to_numpy(), g["estimate"].to_numpy()))}
                for (r, d), g in pub.groupby(["region", "dimension"], sort=True)]
        return pd.DataFrame(rows, columns=list(trends.TREND_COLUMNS))

    def loop_changes(e: pd.DataFrame) -> pd.DataFrame:
        pub = trends._published(e)
        rows = [{"region": r, "dimension": d, **asdict(c)}
                for (r, d), g in pub.groupby(["region", "dimension"], sort=True)
                for c in trends.series_changes(g["wave"].to_numpy(), g["estimate"].to_numpy(),
                                               g["se"].to_numpy())]
        return pd.DataFrame(rows, columns=list(trends.CHANGE_COLUMNS))

    def timed(fn, repeat: int) -> tuple[float, float, pd.DataFrame]:  # type: ignore[no-untyped-def]
        best_wall = best_cpu = float("inf")
        out = None
        for _ in range(repeat):
            w0, c0 = time.perf_counter(), time.process_time()
            out = fn(frame)
            best_wall = min(best_wall, time.perf_counter() - w0)
            best_cpu = min(best_cpu, time.process_time() - c0)
        return best_wall, best_cpu, out

    trends._kendall_exact.cache_clear()
    first_wall, first_cpu, _ = timed(trends.trend_table, 1)  # includes the exact Kendall p
    rows = []
    for name, slow, fast in (("trend_table", loop_trends, trends.trend_table),
                             ("change_table", loop_changes, trends.change_table)):
        s_wall, s_cpu, s_out = timed(slow, 1)
        f_wall, f_cpu, f_out = timed(fast, args.repeat)
        num = s_out.select_dtypes("number").columns
        a, b = f_out[num].to_numpy(float), s_out[num].to_numpy(float)
        same = bool(np.array_equal(np.isnan(a), np.isnan(b))
                    and np.all(np.abs(a - b)[~np.isnan(b)] <= 1e-12 * np.abs(b[~np.isnan(b)])))
        rows.append((name, s_wall, s_cpu, f_wall, f_cpu, same))
    # The compute run's trends stage goes through analysis.bridges.segmented_tables, which
    # calls series_trend / year_change per series: one version, one full segment per code.
    from analysis import bridges

    plan = {d: [bridges.Segment(d, 1, tuple(int(y) for y in years), (1,), None)] for d in dims}
    wave_version = {int(y): 1 for y in years}
    empty = frame.iloc[0:0].assign(series=pd.Series(dtype="int64"))
    w0, c0 = time.perf_counter(), time.process_time()
    bridges.segmented_tables(frame, empty, plan, wave_version)
    seg_wall, seg_cpu = time.perf_counter() - w0, time.process_time() - c0
    pub = trends._published(frame)
    groups = [(g["wave"].to_numpy(), g["estimate"].to_numpy())
              for _, g in pub.groupby(["region", "dimension"], sort=True)]
    w0, c0 = time.perf_counter(), time.process_time()
    trends.series_trends([g[0] for g in groups], [g[1] for g in groups])
    batch_wall, batch_cpu = time.perf_counter() - w0, time.process_time() - c0
    pub_series = trends._published(frame).groupby(["region", "dimension"]).ngroups
    print(f"{pub_series:,} series x {args.waves} waves, {int(frame.suppressed.sum())} suppressed "
          f"rows; fast route best of {args.repeat}; first vectorised trend_table call "
          f"(computes the exact Kendall p per (n, D)) {first_wall:.3f} s wall\n")
    print("| table | loop wall s | loop CPU s | vectorised wall s | vectorised CPU s | speed-up "
          "| equal (1e-12 rel) |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, sw, sc, fw, fc, same in rows:
        print(f"| `{name}` | {sw:.3f} | {sc:.3f} | {fw:.3f} | {fc:.3f} | {sw / fw:.0f}x | "
              f"{'yes' if same else 'NO'} |")
    print(f"\n`bridges.segmented_tables` (the compute run's route, per series, unchanged): "
          f"{seg_wall:.3f} s wall, {seg_cpu:.3f} s CPU; `series_trends` on the same series "
          f"(arrays already grouped): {batch_wall:.3f} s wall, {batch_cpu:.3f} s CPU.")


if __name__ == "__main__":
    main()
