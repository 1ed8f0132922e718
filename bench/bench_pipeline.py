"""Pipeline benchmark: demo data -> compute_indices -> exports, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_pipeline.py --db sqlite --respondents 1000000
    .venv/bin/python bench/bench_pipeline.py --db postgres --respondents 1000000

Every stage runs in its own child process so that its wall time and peak RSS (ru_maxrss from
wait4) are its own. `--db postgres` creates a fresh database on postgres://postgres@127.0.0.1:5432
(override with --pg-url) and drops it afterwards. Results are printed as a Markdown table for
bench/README.md. The compute stage runs `compute_indices` twice: first reading every wave in
line (``prefetch=False``), whose pure-analysis stage timings (score, weights, estimates,
reliability, CFA, trends, proxies) are the "analysis" figure, undisturbed by the read-ahead
thread; then the default run (reading the next wave while analysing one, replacing the first
run's results), whose wall time is the stage's "wall" (its "process" time covers both runs);
"COPY TO" is psql's `COPY (...) TO STDOUT` of a 1M x 45 table, the floor for a CSV export.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
ANALYSIS_STAGES = ("score", "weights", "estimates", "reliability", "cfa", "trends", "proxies")


def _setup(db_url: str) -> None:
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


def stage(name: str, db_url: str, args: argparse.Namespace) -> dict:
    _setup(db_url)

    from django.core.management import call_command
    from django.test.utils import override_settings

    out: dict = {}
    start = time.perf_counter()
    if name == "load":
        from surveys.services import demo

        call_command("migrate", verbosity=0)
        with override_settings(NILAI_AUTO_RECOMPUTE=False):
            demo.load_bundled()
            report = demo.demo_generate(respondents=args.respondents, seed=1)
        out["rows"] = report.responses
    elif name == "compute":
        from surveys.services.compute import compute_indices

        def stages(t: dict) -> dict:
            return {"analysis": sum(v for k, v in t.items()
                                    if k.split("/")[-1] in ANALYSIS_STAGES),
                    "read": sum(v for k, v in t.items() if k.endswith("/read")),
                    "write": t.get("write", 0.0)}

        # baseline: every wave read in line, so the analysis timings are undisturbed by the
        # read-ahead thread; then the default run (read-ahead), whose wall time is the figure
        t0 = time.perf_counter()
        in_line = compute_indices(prefetch=False)
        out["in_line"] = {"wall": round(time.perf_counter() - t0, 2),
                          **stages(in_line.timings)}
        start = time.perf_counter()
        run = compute_indices()
        out["timings"] = run.timings
        out.update(stages(run.timings))
        out["analysis"] = out["in_line"]["analysis"]
    elif name.startswith("export:"):
        from surveys.services.exports import export_table

        _, table, fmt = name.split(":")
        path = Path(args.workdir) / f"bench_{table}.{fmt}"
        summary = export_table(table=table, fmt=fmt, output=path)
        out["rows"] = summary.rows
        out["columns"] = len(summary.columns)
        out["bytes"] = path.stat().st_size
        path.unlink()
    out["inner"] = round(time.perf_counter() - start, 2)
    return out


def run_child(name: str, db_url: str, args: argparse.Namespace) -> dict:
    cmd = [PY, __file__, "--child", name, "--db-url", db_url, "--respondents",
           str(args.respondents), "--workdir", args.workdir]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=REPO)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    payload = proc.stdout.read().decode() if proc.stdout else ""
    if status != 0:
        raise SystemExit(f"stage {name} failed ({status})")
    result = json.loads(payload.strip().splitlines()[-1])
    result.update(stage=name, wall=round(wall, 2), peak_rss_mb=round(usage.ru_maxrss / 1024))
    print(json.dumps(result), file=sys.stderr)
    return result


def pg_copy_floor(pg_url: str, db: str) -> float:
    url = f"{pg_url.rstrip('/')}/{db}"
    cols = ", ".join(f"(random() * 100)::float8 AS c{i}" for i in range(44))
    subprocess.run(["psql", url, "-qc", "DROP TABLE IF EXISTS bench_copy; CREATE TABLE "
                    f"bench_copy AS SELECT g AS id, {cols} FROM generate_series(1, 1000000) g"],
                   check=True)
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(["psql", url, "-qc", "COPY bench_copy TO STDOUT WITH CSV HEADER"],
                       stdout=sink, check=True)
    elapsed = time.perf_counter() - start
    subprocess.run(["psql", url, "-qc", "DROP TABLE bench_copy"], check=True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--respondents", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--formats", default="csv,parquet,sav,dta,xlsx")
    parser.add_argument("--workdir", default="/tmp")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--child")
    parser.add_argument("--db-url")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(stage(args.child, args.db_url, args)))
        return

    dbname = f"nilai_bench_{os.getpid()}"
    if args.db == "sqlite":
        path = Path(args.workdir) / f"{dbname}.sqlite3"
        db_url = f"sqlite:///{path}"
    else:
        subprocess.run(["psql", f"{args.pg_url}/postgres", "-qc", f"CREATE DATABASE {dbname}"],
                       check=True)
        db_url = f"{args.pg_url}/{dbname}"
    results = []
    try:
        results.append(run_child("load", db_url, args))
        results.append(run_child("compute", db_url, args))
        for fmt in args.formats.split(","):
            results.append(run_child(f"export:microdata:{fmt}", db_url, args))
        results.append(run_child("export:weights:csv", db_url, args))
        copy = pg_copy_floor(args.pg_url, dbname if args.db == "postgres" else "postgres")
    finally:
        if not args.keep:
            if args.db == "sqlite":
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            else:
                subprocess.run(["psql", f"{args.pg_url}/postgres", "-qc",
                                f"DROP DATABASE IF EXISTS {dbname}"], check=False)
    compute = results[1]
    print(f"\n### {args.db}, {args.respondents:,} responses\n")
    print("| stage | wall (s) | process (s) | peak RSS (MB) | notes |")
    print("|---|---:|---:|---:|---|")
    for r in results:
        note = ""
        if r["stage"] == "compute":
            base = r["in_line"]
            note = (f"analysis {r['analysis']:.1f} s (run reading in line: wall "
                    f"{base['wall']:.1f} s, read {base['read']:.1f} s, write "
                    f"{base['write']:.1f} s); default run: read wait {r['read']:.1f} s, write "
                    f"{r['write']:.1f} s; end-to-end / analysis = "
                    f"{r['inner'] / r['analysis']:.2f}x")
        elif r["stage"].startswith("export"):
            note = f"{r['rows']:,} rows x {r['columns']} cols, {r['bytes'] / 1e6:.0f} MB"
            if r["stage"].endswith(":csv"):
                note += f"; {r['inner'] / copy:.2f}x COPY TO"
        elif r["stage"] == "load":
            note = "demo generator + import service (COPY/executemany)"
        print(f"| {r['stage']} | {r['inner']:.1f} | {r['wall']:.1f} | {r['peak_rss_mb']} | "
              f"{note} |")
    print(f"| PostgreSQL COPY TO 1M x 45 (psql) | {copy:.1f} | | | floor for CSV |")
    del compute


if __name__ == "__main__":
    main()
