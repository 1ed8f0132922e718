"""Benchmark: import_responses of a 1,000,000-row responses CSV on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_import.py [--rows 1000000] [--skip-postgres] [--skip-sqlite]
        [--pg-db nilai_bench] [--index-floor]

Generates (once, cached in /tmp) a seeded CSV with the 30 items of the reference instrument and
the 10 surveyed regions of tests/reference/kaltim, 5 waves of rows/5 respondents each (a panel:
respondent ids drawn from a pool twice the wave size), about 3 % missing answers. Then, for a
fresh SQLite file and a fresh PostgreSQL database (postgres@127.0.0.1:5432, database
nilai_bench, created and dropped with psql): migrate, load regions + instrument, run
`manage.py import_responses` (first import, then a re-import that must be a no-op), each as its
own process under /usr/bin/time (wall time includes Django start-up; peak RSS of that process),
with NILAI_AUTO_RECOMPUTE=false (no eager compute_indices after the commit). For comparison,
psql's `\\copy` of the same CSV into a bare logged table with typed columns and no
constraints, right before and right after the PostgreSQL imports (same run, same load); the
1-minute load average at the start of each step is printed beside it. Every PostgreSQL step
starts after an (untimed) CHECKPOINT, so none pays for the writes of the one before. Prints a
Markdown table.

--index-floor then times binary COPYs of the imported rows into empty copies of the response
table with each index set of INDEX_SETS (the server's share of the import): the live indexes
with the rows as imported now, and the four indexes of before with the rows as they were
imported before (a derived submission id and a 64-digit fingerprint each; DECISIONS 80).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "tests" / "reference" / "kaltim"
PYTHON = str(REPO / ".venv" / "bin" / "python")
PG_ADMIN = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]
PG_DB = "nilai_bench"


def generate(path: Path, rows: int, seed: int = 20261128) -> None:
    instrument = json.loads((REFERENCE / "instrument.json").read_text())
    items = [it["code"] for d in instrument["dimensions"] for it in d["items"]]
    regions = sorted({
        line.split(",")[0] for line in (REFERENCE / "regions.csv").read_text().splitlines()[1:]
        if line.split(",")[2] != "province"
    })
    rng = np.random.default_rng(seed)
    waves = np.arange(2021, 2026)
    per_wave = rows // len(waves)
    chunks = []
    for w in waves:
        n = per_wave if w != waves[-1] else rows - per_wave * (len(waves) - 1)
        ids = rng.choice(2 * per_wave, size=n, replace=False)
        region = rng.choice(regions, size=n)
        psu_no = rng.integers(0, 40, size=n)
        frame = pd.DataFrame({
            "respondent": np.char.add("B", np.char.zfill(ids.astype(str), 8)),
            "wave": w,
            "region": region,
            "sex": rng.choice(["L", "P"], size=n),
            "age_group": rng.choice(["17-24", "25-34", "35-44", "45-54", "55+"], size=n),
            "stratum": region,
            "psu": [f"{r}-{w}-{p:03d}" for r, p in zip(region, psu_no, strict=True)],
            "base_weight": np.round(rng.uniform(200, 2000, size=n), 4),
        })
        answers = rng.integers(1, 6, size=(n, len(items))).astype(float)
        answers[rng.random(size=answers.shape) < 0.03] = np.nan
        for j, code in enumerate(items):
            frame[code] = pd.array(answers[:, j], dtype="Int64")
        chunks.append(frame)
    pd.concat(chunks, ignore_index=True).to_csv(path, index=False)


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a command under /usr/bin/time; returns (wall s, peak RSS MiB, stdout)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        proc = subprocess.run(
            ["/usr/bin/time", "-o", tf.name, "-f", "%e %M", *cmd], env=env, cwd=REPO,
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
        wall, rss_kb = tf.read().split()[-2:]
    return float(wall), int(rss_kb) / 1024, proc.stdout.strip()


def prepare(env: dict[str, str]) -> None:
    for args in (["migrate", "-v0"], ["load_regions", str(REFERENCE / "regions.csv")],
                 ["load_instrument", str(REFERENCE / "instrument.json")]):
        subprocess.run([PYTHON, "manage.py", *args], env=env, cwd=REPO, check=True,
                       capture_output=True)


def run_backend(name: str, url: str, csv_path: Path, rows: int) -> list[dict]:
    # NILAI_AUTO_RECOMPUTE off: without a broker compute_indices would run eagerly inside
    # the import's process after the commit (it has its own bench, bench_pipeline.py)
    # OMP_NUM_THREADS is left as the shell has it (unset: as many threads as cores): Arrow
    # sizes its CPU thread pool by it, and OMP_NUM_THREADS=1, set here before 2026-12-04,
    # made the import's CSV reader and column kernels single-threaded (+2-3 s per 1M rows)
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "false", "NILAI_AUTO_RECOMPUTE": "false",
           "OPENBLAS_NUM_THREADS": "1"}
    prepare(env)
    out = []
    cmd = [PYTHON, "manage.py", "import_responses", str(csv_path), "--instrument", "IINP"]
    for label in ("import", "re-import (no-op)"):
        if name == "postgresql":
            checkpoint()
        load = os.getloadavg()[0]
        wall, rss, stdout = timed(cmd, env)
        print(f"[{name} {label}] {stdout.splitlines()[0]}", file=sys.stderr)
        out.append({"backend": name, "run": label, "wall": wall, "rss": rss,
                    "rate": rows / wall, "load": load})
    return out


def checkpoint() -> None:
    """PostgreSQL: write every dirty buffer out before a timed step (untimed), so no step pays
    for the writes of the one before (the migration, the other COPYs): each starts from the
    same clean state."""
    subprocess.run([*PG_ADMIN, "-d", PG_DB, "-c", "CHECKPOINT"], check=True)


def psql_copy(csv_path: Path, rows: int) -> dict:
    items = json.loads((REFERENCE / "instrument.json").read_text())["dimensions"]
    codes = [it["code"] for d in items for it in d["items"]]
    columns = ", ".join(
        ["respondent text", "wave int", "region text", "sex text", "age_group text",
         "stratum text", "psu text", "base_weight float8"] + [f'"{c}" smallint' for c in codes])
    subprocess.run([*PG_ADMIN, "-d", PG_DB, "-c", f"DROP TABLE IF EXISTS bare; "
                    f"CREATE TABLE bare ({columns})"], check=True)
    checkpoint()
    load = os.getloadavg()[0]
    start = time.perf_counter()
    subprocess.run([*PG_ADMIN, "-d", PG_DB, "-c",
                    f"\\copy bare FROM '{csv_path}' WITH (FORMAT csv, HEADER true)"], check=True)
    wall = time.perf_counter() - start
    return {"backend": "postgresql", "run": "psql \\copy into a bare table", "wall": wall,
            "rss": float("nan"), "rate": rows / wall, "load": load}


_PK = "ALTER TABLE t ADD PRIMARY KEY (id)"
#: The response table's index sets timed by --index-floor (server-side COPY cost alone), each
#: with the rows it loads: "imported" (the rows as the import stores them: no submission id,
#: an empty fingerprint; docs/DECISIONS.md 80) or "as before" (the same rows as the import
#: stored them until 2026-12-04: a derived submission id and 64 hex digits of fingerprint).
INDEX_SETS = {
    "no index": ([], "imported"),
    "primary key": ([_PK], "imported"),
    "as live (PK, unique (wave, respondent), partial submission_id)": (
        [_PK, "CREATE UNIQUE INDEX ON t (wave_id, respondent_id)",
         "CREATE UNIQUE INDEX ON t (submission_id) WHERE submission_id IS NOT NULL"],
        "imported"),
    "as before (PK, unique (respondent, wave), (wave, status), submission_id)": (
        [_PK, "CREATE UNIQUE INDEX ON t (respondent_id, wave_id)",
         "CREATE INDEX ON t (wave_id, status)", "CREATE UNIQUE INDEX ON t (submission_id)"],
        "as before"),
}
#: The derived submission id (surveys.ingest.fingerprint.derived_submission_id) in SQL.
_DERIVED_ID_SQL = (
    "(lpad(to_hex((respondent_id << 16) | 32768 | (wave_id >> 20)), 16, '0') || "
    "lpad(to_hex((2::bigint << 62) | ((wave_id & 1048575) << 42) | x'4e696c6169'::bigint), 16, "
    "'0'))::uuid")


def index_floor(rows: int) -> list[dict]:
    """The server's share: the imported rows, in the import's (respondent, wave) order, COPYed
    in binary from a file into an empty copy of the response table with each index set (no
    client work, no triggers, the check constraints included): what the import's COPY costs
    the server whatever the client does."""
    tmp = Path(tempfile.gettempdir())
    dumps = {"imported": tmp / "nilai_bench_rows.bin", "as before": tmp / "nilai_bench_old.bin"}
    psql = [*PG_ADMIN, "-d", PG_DB, "-c"]
    subprocess.run([*psql, f"\\copy (SELECT * FROM surveys_response ORDER BY respondent_id, "
                    f"wave_id) TO '{dumps['imported']}' WITH (FORMAT binary)"], check=True)
    subprocess.run([*psql, "DROP TABLE IF EXISTS src; CREATE TABLE src AS SELECT * FROM "
                    "surveys_response ORDER BY respondent_id, wave_id; UPDATE src SET "
                    f"submission_id = {_DERIVED_ID_SQL}, content_hash = "
                    "md5(id::text) || md5(respondent_id::text)"], check=True)
    subprocess.run([*psql, f"\\copy (SELECT * FROM src ORDER BY respondent_id, wave_id) TO "
                    f"'{dumps['as before']}' WITH (FORMAT binary)"], check=True)
    subprocess.run([*psql, "DROP TABLE src"], check=True)
    out = []
    try:
        for label, (statements, source) in INDEX_SETS.items():
            subprocess.run([*psql, "DROP TABLE IF EXISTS t; CREATE TABLE t (LIKE "
                            "surveys_response INCLUDING DEFAULTS INCLUDING CONSTRAINTS); "
                            + "; ".join(statements)], check=True)
            subprocess.run([*psql, "CHECKPOINT"], check=True)
            load = os.getloadavg()[0]
            start = time.perf_counter()
            subprocess.run([*psql, f"\\copy t FROM '{dumps[source]}' WITH (FORMAT binary)"],
                           check=True)
            wall = time.perf_counter() - start
            out.append({"backend": "postgresql", "run": f"binary \\copy, {label}",
                        "wall": wall, "rss": float("nan"), "rate": rows / wall, "load": load})
        subprocess.run([*psql, "DROP TABLE t"], check=True)
    finally:
        for dump in dumps.values():
            dump.unlink(missing_ok=True)
    return out


def main() -> None:
    global PG_DB
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--pg-db", default=PG_DB, help=f"database to create and drop ({PG_DB})")
    parser.add_argument("--index-floor", action="store_true",
                        help="after the imports, time binary COPYs of the imported rows into "
                             "copies of the table with each index set of INDEX_SETS")
    args = parser.parse_args()
    PG_DB = args.pg_db
    csv_path = Path(tempfile.gettempdir()) / f"nilai_bench_responses_{args.rows}.csv"
    if not csv_path.exists():
        start = time.perf_counter()
        generate(csv_path, args.rows)
        print(f"generated {csv_path} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    results = []
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            results += run_backend("sqlite", f"sqlite:///{tmp}/bench.sqlite3", csv_path,
                                   args.rows)
    if not args.skip_postgres:
        subprocess.run([*PG_ADMIN, "-d", "postgres", "-c", f"DROP DATABASE IF EXISTS {PG_DB}"],
                       check=True)
        subprocess.run([*PG_ADMIN, "-d", "postgres", "-c", f"CREATE DATABASE {PG_DB}"],
                       check=True)
        try:
            # the bare COPY right before and right after the import: same run, same load
            results.append(psql_copy(csv_path, args.rows))
            results += run_backend(
                "postgresql", f"postgres://postgres@127.0.0.1:5432/{PG_DB}", csv_path, args.rows)
            results.append(psql_copy(csv_path, args.rows))
            if args.index_floor:
                results += index_floor(args.rows)
        finally:
            subprocess.run([*PG_ADMIN, "-d", "postgres", "-c", f"DROP DATABASE {PG_DB}"],
                           check=True)
    print(f"| backend | run ({args.rows:,} rows) | wall s | rows/s | peak RSS MiB | "
          "load (1 min) |")
    print("|---|---|---:|---:|---:|---:|")
    for r in results:
        rss = "-" if r["rss"] != r["rss"] else f"{r['rss']:.0f}"
        print(f"| {r['backend']} | {r['run']} | {r['wall']:.1f} | {r['rate']:,.0f} | {rss} | "
              f"{r['load']:.1f} |")
    copies = [r["wall"] for r in results if r["run"].startswith("psql")]
    imports = [r["wall"] for r in results if r["backend"] == "postgresql"
               and r["run"] == "import"]
    if copies and imports:
        copy = sum(copies) / len(copies)
        print(f"\nPostgreSQL import {imports[0]:.2f} s / bare COPY {copy:.2f} s (mean of the "
              f"two) = {imports[0] / copy:.2f}x")


if __name__ == "__main__":
    main()
