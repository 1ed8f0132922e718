"""Benchmark of the analysis engine on synthetic data: scoring, raking, estimation, reliability.

Default workload (the project's target): 1,000,000 respondents in total, 30 items (5 dimensions
x 6, 5-point, one reverse-keyed item each, ~3 % item non-response), 10 regions, 5 waves
(200,000 respondents per wave), stratum = region, PSUs of 10 respondents, sex and age skewed
against the population so that raking has work to do. Target: the whole engine under 10 s on a
2-core machine.

Usage::

    .venv/bin/python bench/bench_analysis.py [--respondents N] [--waves W] [--seed S]

Times are wall-clock (and CPU) per stage summed over waves (one untraced run); memory is the peak
``tracemalloc`` allocation of a second, traced run of the engine (on top of the input data) and
the process peak RSS (``getrusage``).
"""

from __future__ import annotations

import os

# One BLAS thread: the figures must not depend on how many cores OpenBLAS grabs.
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.estimation import estimate_domains  # noqa: E402
from analysis.scoring import DimensionSpec, InstrumentSpec, reverse_key, score  # noqa: E402
from analysis.weighting import rake_wave  # noqa: E402

try:  # written by another part of the project; benchmarked when present
    from analysis.reliability import reliability as _reliability
except ImportError:  # pragma: no cover
    _reliability = None

REGIONS = ["6401", "6402", "6403", "6404", "6405", "6409", "6411", "6471", "6472", "6474"]
SEXES = ["L", "P"]
AGES = ["17-24", "25-34", "35-44", "45-54", "55+"]
N_DIM, N_PER_DIM = 5, 6


def make_spec() -> InstrumentSpec:
    dims = tuple(
        DimensionSpec(
            code=f"S{d + 1}",
            weight=0.2,
            item_codes=tuple(f"S{d + 1}_{j + 1:02d}" for j in range(N_PER_DIM)),
            reverse=tuple(j == N_PER_DIM - 1 for j in range(N_PER_DIM)),
        )
        for d in range(N_DIM)
    )
    return InstrumentSpec(scale_min=1, scale_max=5, min_valid_share=2 / 3, dimensions=dims)


def make_wave(rng: np.random.Generator, n: int, wave: int) -> dict[str, np.ndarray]:
    """One wave: stratified cluster sample with skewed sex/age and graded Likert answers."""
    region_idx = np.sort(rng.integers(0, len(REGIONS), n))
    region = np.array(REGIONS)[region_idx]
    # PSUs of 10 consecutive respondents within a region (rows are sorted by region).
    start = np.r_[0, np.flatnonzero(np.diff(region_idx)) + 1]
    pos = np.arange(n) - np.repeat(start, np.diff(np.r_[start, n]))
    psu = region_idx.astype(np.int64) * 1_000_000 + pos // 10
    sex = np.where(rng.random(n) < 0.62, "P", "L")  # women over-represented
    age = np.array(AGES)[rng.choice(5, n, p=[0.10, 0.15, 0.20, 0.25, 0.30])]
    base_weight = np.repeat(rng.uniform(500, 2000, len(REGIONS)), np.bincount(region_idx,
                                                                              minlength=10))
    theta = rng.normal(0, 1, (n, N_DIM)) + rng.normal(0, 0.3, (n, 1))
    loadings = np.repeat(theta, N_PER_DIM, axis=1)
    raw = 3 + 1.1 * loadings + rng.normal(0, 0.9, (n, N_DIM * N_PER_DIM))
    answers = np.clip(np.rint(raw), 1, 5)
    rev = np.arange(N_DIM * N_PER_DIM) % N_PER_DIM == N_PER_DIM - 1
    answers[:, rev] = 6 - answers[:, rev]
    answers[rng.random(answers.shape) < 0.03] = np.nan
    return {"wave": wave, "region": region, "sex": sex, "age_group": age, "psu": psu,
            "stratum": region, "base_weight": base_weight, "answers": answers}


def make_population(rng: np.random.Generator, waves: list[int]) -> pd.DataFrame:
    rows = [(year, r, s, a, int(rng.integers(5_000, 60_000)))
            for year in waves for r in REGIONS for s in SEXES for a in AGES]
    return pd.DataFrame(rows, columns=["year", "region", "sex", "age_group", "population"])


def run_engine(data: list[dict], population: pd.DataFrame, spec: InstrumentSpec,
               timer: Callable[[str, Callable[[], object]], object]) -> None:
    blocks = []
    start = 0
    for dim in spec.dimensions:
        blocks.append((slice(start, start + len(dim.item_codes)), dim.item_codes))
        start += len(dim.item_codes)
    for wave in data:
        scores = timer("scoring", lambda w=wave: score(w["answers"], spec))
        raked = timer("raking", lambda w=wave: rake_wave(
            region=w["region"], sex=w["sex"], age_group=w["age_group"],
            base_weight=w["base_weight"], population=population, year=w["wave"]))
        timer("estimation", lambda w=wave, s=scores, r=raked: estimate_domains(
            s, r.weights, w["stratum"], w["psu"], w["region"], categories=True))
        if _reliability is not None:
            def rel(w: dict = wave) -> None:
                keyed = reverse_key(w["answers"], spec)
                for cols, codes in blocks:
                    _reliability(keyed[:, cols], codes)
            timer("reliability", rel)


def export_for_r(data: list[dict], population: pd.DataFrame, spec: InstrumentSpec,
                 out_dir: Path) -> None:
    """Write the estimation input of every wave so that R survey can time the same work."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for wave in data:
        scores = score(wave["answers"], spec)
        weights = rake_wave(region=wave["region"], sex=wave["sex"], age_group=wave["age_group"],
                            base_weight=wave["base_weight"], population=population,
                            year=wave["wave"]).weights
        frame = pd.DataFrame(scores.all_scores, columns=list(scores.all_codes))
        frame.insert(0, "w", weights)
        frame.insert(0, "psu", wave["psu"])
        frame.insert(0, "stratum", wave["stratum"])
        frame.insert(0, "region", wave["region"])
        path = out_dir / f"wave_{wave['wave']}.csv"
        frame.to_csv(path, index=False, float_format="%.17g")
        print(f"wrote {path}")


def compare_r(data: list[dict], population: pd.DataFrame, spec: InstrumentSpec,
              out_dir: Path) -> None:
    """Time R survey (bench/bench_r_survey.R) and `estimate_domains` on the same inputs in one
    run: the CSVs written by `export_for_r`, R in a subprocess, then Python three times on
    the same weights and scores (reading and scoring not timed on either side)."""
    import re
    import subprocess

    export_for_r(data, population, spec, out_dir)
    inputs = []
    for wave in data:
        frame = pd.read_csv(out_dir / f"wave_{wave['wave']}.csv",
                            dtype={"region": str, "stratum": str})
        scores = frame[["S1", "S2", "S3", "S4", "S5", "INDEX"]].to_numpy()
        inputs.append((scores, frame["w"].to_numpy(), frame["stratum"].to_numpy(dtype=str),
                       frame["psu"].to_numpy(), frame["region"].to_numpy(dtype=str)))
    load_r = os.getloadavg()[0]
    t0 = time.perf_counter()
    r = subprocess.run(["Rscript", str(Path(__file__).with_name("bench_r_survey.R")),
                        str(out_dir)], capture_output=True, text=True, check=True)
    r_wall = time.perf_counter() - t0
    print(r.stdout, end="")
    r_total = float(re.findall(r": ([0-9.]+) s$", r.stdout.strip())[-1])
    load_py = os.getloadavg()[0]
    py = []
    for _ in range(3):
        t0 = time.perf_counter()
        for y, w, stratum, psu, region in inputs:
            estimate_domains(y, w, stratum, psu, region, categories=True,
                             dimension_codes=["S1", "S2", "S3", "S4", "S5", "INDEX"])
        py.append(time.perf_counter() - t0)
    print(f"R survey (svydesign + svyby/svymean, timed inside R): {r_total:.2f} s "
          f"(process {r_wall:.1f} s with reading), load {load_r:.2f}")
    print(f"estimate_domains, same inputs: {py[0]:.3f} s first, {min(py):.3f} s best of 3 "
          f"({', '.join(f'{t:.3f}' for t in py)}), load {load_py:.2f}")
    print(f"ratio R / Python: {r_total / py[0]:.0f}x (first run), "
          f"{r_total / min(py):.0f}x (best of 3)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=1_000_000,
                        help="respondents in total over all waves")
    parser.add_argument("--waves", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--export-r", type=Path, metavar="DIR",
                        help="also write wave_<year>.csv (design, final weights, scores) to DIR "
                             "for bench/bench_r_survey.R, then exit")
    parser.add_argument("--compare-r", type=Path, metavar="DIR",
                        help="write the R inputs to DIR, run bench/bench_r_survey.R on them and "
                             "time estimate_domains on the same inputs (one run), then exit")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    waves = list(range(2021, 2021 + args.waves))
    per_wave = args.respondents // args.waves
    t0 = time.perf_counter()
    data = [make_wave(rng, per_wave, year) for year in waves]
    population = make_population(rng, waves)
    spec = make_spec()
    gen = time.perf_counter() - t0
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.export_r is not None:
        export_for_r(data, population, spec, args.export_r)
        return
    if args.compare_r is not None:
        compare_r(data, population, spec, args.compare_r)
        return

    seconds: dict[str, float] = defaultdict(float)
    cpu: dict[str, float] = defaultdict(float)

    def timed(stage: str, fn: Callable[[], object]) -> object:
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        seconds[stage] += time.perf_counter() - t
        cpu[stage] += time.process_time() - c
        return out

    run_engine(data, population, spec, timed)
    total = sum(seconds.values())

    tracemalloc.start()
    run_engine(data, population, spec, lambda stage, fn: fn())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"workload: {per_wave * args.waves:,} respondents = {args.waves} waves x "
          f"{per_wave:,}; {N_DIM * N_PER_DIM} items; {len(REGIONS)} regions; "
          f"OPENBLAS_NUM_THREADS=1; numpy {np.__version__}, pandas {pd.__version__}")
    print(f"data generation (not timed below): {gen:.2f} s")
    print(f"{'stage':<12} {'wall s':>8} {'per wave':>9} {'CPU s':>8}")
    for stage, sec in seconds.items():
        print(f"{stage:<12} {sec:8.2f} {sec / args.waves:9.3f} {cpu[stage]:8.2f}")
    print(f"{'total':<12} {total:8.2f} {total / args.waves:9.3f} {sum(cpu.values()):8.2f}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (other processes inflate wall time)")
    if _reliability is None:
        print("reliability: analysis.reliability not importable, not timed")
    print(f"peak traced memory of the engine: {peak / 2**20:.0f} MiB; process peak RSS "
          f"{rss_peak:.0f} MiB (after data generation {rss_data:.0f} MiB)")


if __name__ == "__main__":
    main()
