"""National benchmark (issue 15): the full path for 38 provinces / 514 regencies on PostgreSQL.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/bench_national.py --sizes 1000000,2500000,5000000
        [--pg-url postgres://postgres@127.0.0.1:5432] [--redis redis://127.0.0.1:6379/14]
        [--workdir /tmp/bench_national] [--shards 2] [--keep] [--compute-only] [--warm]

Per size, on a fresh database ``nilai_national_bench`` (dropped and created with psql):

1. generate: `manage.py national_demo` (population margins of every regency x sex x age group
   x year, 5 waves of responses CSV; surveys.services.national);
2. load: regions (fixtures/regions_indonesia.csv), instrument, margins, then
   `import_responses` of each wave (the import service, binary COPY on PostgreSQL);
3. compute: `compute_indices` in one process; then `compute_indices --parallel` (the
   per-province chord, surveys.services.compute_parallel) with 1 and with 2 Celery worker
   processes (solo pool each, Redis broker and result backend). The figure for a parallel run
   is the command's wall time (queue -> chord done); each worker's peak RSS is its VmHWM;
   ``--warm`` times a second run on the same workers too (long-lived workers, whose first
   task grew their heap). The database is vacuumed before each timed run (`vacuum`);
4. exports: `manage.py export estimates` (CSV) and `export microdata` (CSV);
5. web: the dashboard's heaviest page (ALL: the national view, its ranking of every regency)
   and the estimates API (all pages), through Django's test client as a researcher.

Every stage is a child process: wall time and peak RSS (``ru_maxrss`` from wait4) are its own.
Prints one Markdown table per size plus ``uptime`` before and after (the machine is shared:
note the load beside the figures). The data files are deleted after each size unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
DB = "nilai_national_bench"


def _env(db_url: str, redis: str | None = None) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": db_url, "DJANGO_SETTINGS_MODULE":
           "backend.settings.local", "OPENBLAS_NUM_THREADS": "1", "NILAI_AUTO_RECOMPUTE": "false"}
    if redis:
        env.update(CELERY_BROKER_URL=redis, CELERY_RESULT_BACKEND=redis)
    else:
        env.pop("CELERY_BROKER_URL", None)
        env.pop("CELERY_RESULT_BACKEND", None)
    return env


def busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (/proc/stat: everything but idle and
    iowait), whoever used them: PostgreSQL, the workers, the command."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(v) for v in fields]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def run(name: str, cmd: list[str], env: dict[str, str],
        watch: list[subprocess.Popen] | None = None) -> dict:
    """Run one stage as a child process; ``watch``: Celery workers the stage needs (a worker
    that exits while the stage runs stops the bench with its log instead of a chord that
    waits for ever)."""
    start, busy = time.perf_counter(), busy_seconds()
    with tempfile.TemporaryFile("w+") as log:  # a pipe would fill up and block the child
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                text=True)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            dead = [w for w in watch or [] if w.poll() is not None]
            if dead:
                proc.kill()
                os.wait4(proc.pid, 0)
                logs = "\n".join(Path(w.args[-1].split("=", 1)[1]).read_text()[-3000:]
                                  for w in dead)
                raise SystemExit(f"stage {name}: a Celery worker exited "
                                 f"({[w.returncode for w in dead]}):\n{logs}")
            time.sleep(0.1)
        wall = time.perf_counter() - start
        log.seek(0)
        out = log.read()
    if status != 0:
        raise SystemExit(f"stage {name} failed ({status}):\n{out[-3000:]}")
    result = {"stage": name, "wall": round(wall, 2), "rss": round(usage.ru_maxrss / 1024),
              "cpu": round(busy_seconds() - busy, 1),
              "out": out.strip().splitlines()[-1] if out.strip() else ""}
    print(json.dumps(result), file=sys.stderr, flush=True)
    return result


def last_run(db_url: str) -> str:
    """The latest index run's own figures: its total, the parallel parts' summed seconds and
    the largest stages (the body of a chord run is this run)."""
    sql = ("SELECT json_build_object('total', timings->'total', 'parts', "
           "parameters->'parallel'->'part_seconds_total', 'tasks', "
           "parameters->'parallel'->'tasks', 'write', timings->'write', 'panels', "
           "timings->'panels', 'trends', timings->'trends') FROM surveys_indexrun "
           "ORDER BY id DESC LIMIT 1")
    out = subprocess.run(["psql", db_url, "-Atc", sql], capture_output=True, text=True)
    return out.stdout.strip()


def manage(*args: str) -> list[str]:
    return [PY, "manage.py", *args, "--skip-checks"]


def vm_hwm_mb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return 0


def workers(n: int, env: dict[str, str], queue: str, logdir: Path,
            loglevel: str = "WARNING") -> list[subprocess.Popen]:
    """``n`` solo-pool workers on a flushed Redis db (no task of an interrupted earlier run
    may be picked up); each logs to ``logdir/worker<i>.log`` (the last argument; at INFO
    every task's start and end, `bench_chord.py --timeline`)."""
    subprocess.run(["redis-cli", "-u", env["CELERY_BROKER_URL"], "flushdb"], check=True,
                   capture_output=True)
    logdir.mkdir(parents=True, exist_ok=True)
    procs = []
    for i in range(n):
        procs.append(subprocess.Popen(
            [PY, "-m", "celery", "-A", "backend", "worker", "--pool=solo", "--concurrency=1",
             "-Q", queue, "-n", f"bench{i}@%h", "--without-heartbeat", "--without-gossip",
             "--without-mingle", f"--loglevel={loglevel}",
             f"--logfile={logdir / f'worker{i}.log'}"],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(6)  # start-up (Django, numpy, scipy) before the clock starts
    return procs


def stop(procs: list[subprocess.Popen]) -> list[int]:
    peaks = [vm_hwm_mb(p.pid) for p in procs]
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=60)
    return peaks


def child_load(directory: Path) -> None:
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from io import StringIO

    from django.core.management import call_command

    from surveys.services import national

    quiet = {"verbosity": 0, "stdout": StringIO()}
    times = {}
    start = time.perf_counter()
    call_command("load_regions", str(national.REGIONS_FILE), **quiet)
    call_command("load_instrument", str(national.INSTRUMENT_FILE), **quiet)
    call_command("load_population", str(directory / "population.csv"), **quiet)
    times["inputs"] = round(time.perf_counter() - start, 2)
    for path in sorted(directory.glob("responses_*.csv")):
        t0 = time.perf_counter()
        call_command("import_responses", str(path), "--instrument", "IINP", **quiet)
        times[path.stem] = round(time.perf_counter() - t0, 2)
    print(json.dumps(times))


def child_web() -> None:
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.test import Client

    from surveys import models as m
    from tests.results_world import make_user

    user = make_user("bench-national", "researcher")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    times = {}
    start = time.perf_counter()
    page = client.get("/dashboard/", {"region": "ALL"})
    times["dashboard_all"] = round(time.perf_counter() - start, 2)
    times["dashboard_bytes"] = len(page.content)
    if page.status_code != 200:
        raise SystemExit(f"dashboard: {page.status_code}")
    start = time.perf_counter()
    url: str | None = "/api/v1/estimates/"
    rows = pages = 0
    while url:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code}")
        body = response.json()
        rows += len(body["results"])
        pages += 1
        url = body.get("next")
    times["api_estimates"] = round(time.perf_counter() - start, 2)
    times["api_rows"], times["api_pages"] = rows, pages
    times["estimates_stored"] = m.EstimateResult.objects.count()
    print(json.dumps(times))


def vacuum(db_url: str) -> None:
    """VACUUM the database before a timed run, as autovacuum would between runs on a
    production server: this machine's PostgreSQL runs with autovacuum off, so the rows every
    run replaces (weights, results) stayed dead and each run wrote into new pages at the end
    of ever larger files (docs/DECISIONS.md 84)."""
    subprocess.run(["psql", db_url, "-qc", "VACUUM"], check=True, capture_output=True)


def one_size(size: int, args: argparse.Namespace) -> list[dict]:
    db_url = f"{args.pg_url.rstrip('/')}/{DB}"
    admin = f"{args.pg_url.rstrip('/')}/postgres"
    env = _env(db_url)
    data = Path(args.workdir) / str(size)
    rows = []
    if not args.compute_only:
        subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {DB}"], check=True,
                       capture_output=True)
        subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {DB}"], check=True)
        subprocess.run(manage("migrate", "-v0"), cwd=REPO, env=env, check=True)
        rows.append(run("generate", manage("national_demo", "--out", str(data), "--responses",
                                           str(size)), env))
        rows.append(run("load (regions, margins, import 5 waves)",
                        [PY, __file__, "--child", "load", "--dir", str(data)], env))
    vacuum(db_url)
    rows.append(run("compute_indices, 1 process", manage("compute_indices", "--no-progress",
                                                         "-v0"), env))
    rows[-1]["out"] = f"run {last_run(db_url)}"
    for n in (1, 2):
        wenv = _env(db_url, args.redis)
        # the default queue, on the bench's Redis db
        procs = workers(n, wenv, "celery", Path(args.workdir) / "logs")
        command = [*manage("compute_indices", "--parallel", "--shards", str(args.shards),
                           "--no-progress", "-v0")]
        label = f"compute_indices --parallel, {n} worker{'s' * (n > 1)}"
        try:
            vacuum(db_url)
            fresh = run(label, command, {**wenv}, watch=procs)
            fresh["out"] = f"body run {last_run(db_url)}"
            if args.warm:  # the same workers again: their heaps grown, as in service
                vacuum(db_url)
                warm = run(f"{label}, warm", command, {**wenv}, watch=procs)
                warm["out"] = f"body run {last_run(db_url)}"
        finally:
            peaks = stop(procs)
        fresh["workers_rss"] = peaks
        rows.append(fresh)
        if args.warm:
            warm["workers_rss"] = peaks
            rows.append(warm)
    if args.compute_only:
        return rows
    out = Path(args.workdir) / "exports"
    out.mkdir(parents=True, exist_ok=True)
    rows.append(run("export estimates csv", manage("export", "estimates", "-o",
                                                   str(out / "estimates.csv"), "--format",
                                                   "csv"), env))
    rows.append(run("export microdata csv", manage("export", "microdata", "-o",
                                                   str(out / "microdata.csv"), "--format",
                                                   "csv"), env))
    for name in ("estimates.csv", "microdata.csv"):
        rows[-2 if name == "estimates.csv" else -1]["bytes"] = (out / name).stat().st_size
    rows.append(run("web: dashboard ALL + estimates API",
                    [PY, __file__, "--child", "web"], env))
    if not args.keep:
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="50000,200000")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--workdir", default="/tmp/bench_national")
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--compute-only", action="store_true",
                        help="only the three compute runs, on the database left by a run")
    parser.add_argument("--warm", action="store_true",
                        help="also time each parallel run's second run on the same workers")
    parser.add_argument("--child", choices=["load", "web"])
    parser.add_argument("--dir", type=Path)
    args = parser.parse_args()
    if args.child == "load":
        return child_load(args.dir)
    if args.child == "web":
        return child_web()
    sys.path.insert(0, str(REPO))
    for size in [int(s) for s in args.sizes.split(",")]:
        before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        rows = one_size(size, args)
        after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        print(f"\n### {size:,} responses requested\n\nuptime before: `{before}`  \n"
              f"uptime after: `{after}`\n")
        print("| stage | wall (s) | machine CPU (s) | cores busy | peak RSS (MB) | notes |\n"
              "|---|---:|---:|---:|---:|---|")
        for r in rows:
            notes = r["out"]
            if "workers_rss" in r:
                notes = f"workers' peak RSS {r['workers_rss']} MB; {notes}"
            if "bytes" in r:
                notes = f"{r['bytes'] / 1e6:.1f} MB; {notes}"
            print(f"| {r['stage']} | {r['wall']:.1f} | {r['cpu']:.1f} | "
                  f"{r['cpu'] / r['wall']:.2f} | {r['rss']} | {notes} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
