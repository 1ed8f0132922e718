"""One parallel index run with its timeline (issue 15, docs/DECISIONS.md 83): where a chord's
time and the machine's CPU go, per worker and per task.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/bench_chord.py 1 2 1 2
        [--pg-url postgres://postgres@127.0.0.1:5432] [--redis redis://127.0.0.1:6379/14]
        [--logdir /tmp/bench_chord]

On the database a `bench_national.py --keep` run left (``nilai_national_bench``): for each
argument N, N solo-pool Celery workers (INFO logs) and one `manage.py compute_indices
--parallel`, as `bench_national.py` runs them. Prints per run the command's wall time, the
machine's CPU seconds by kind (``/proc/stat``: user, system, idle, steal), each worker's user
and system seconds and page faults during the run (``/proc/<pid>/stat``), the run's
summed part and stage seconds and its body, and with ``--timeline`` every task's start and
end from the workers' logs, in seconds from the command's start. Environment variables pass
through to the workers (e.g. ``NILAI_WORKER_KEEP_HEAP=false`` for an A/B). ``--warm``
measures the workers' second run: workers live long, and their first task grows the heap.
The database is vacuumed before each timed run (`bench_national.vacuum`: this machine's
PostgreSQL runs without autovacuum).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_national as bn  # noqa: E402 - beside this script

_LINE = re.compile(r"\[(\S+ \S+): INFO/\S+\] Task (\S+)\[(\w+)-.*\] "
                   r"(received|succeeded in [\d.]+s)")
_KINDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def _cpu() -> list[int]:
    return [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]


def _worker_stat(pid: int) -> dict[str, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = 100.0
    return {"user_s": int(fields[11]) / tick, "system_s": int(fields[12]) / tick,
            "minor_faults": int(fields[7])}


def one_run(n: int, db_url: str, redis: str, logdir: Path, timeline: bool,
            warm: bool, shards: int = 2) -> dict:
    env = bn._env(db_url, redis)
    for old in logdir.glob("*.log"):  # Celery appends: this run's tasks only
        old.unlink()
    procs = bn.workers(n, env, "celery", logdir, loglevel="INFO")
    command = bn.manage("compute_indices", "--parallel", "--shards", str(shards),
                        "--no-progress", "-v0")
    try:
        if warm:  # one run first: the workers' heaps and PostgreSQL's caches as in service
            subprocess.run(command, cwd=bn.REPO, env=env, check=True, capture_output=True)
            for log in logdir.glob("*.log"):
                log.write_text("")
        bn.vacuum(db_url)
        start, cpu = time.time(), _cpu()
        before = [_worker_stat(p.pid) for p in procs]
        subprocess.run(command, cwd=bn.REPO, env=env, check=True, capture_output=True)
        wall = time.time() - start
        used = [(b - a) / 100 for a, b in zip(cpu, _cpu(), strict=True)]
        workers = [{k: round(v - b[k], 2) for k, v in _worker_stat(p.pid).items()}
                   for p, b in zip(procs, before, strict=True)]
    finally:
        bn.stop(procs)
    sql = ("SELECT json_build_object('parts', parameters->'parallel'->'part_seconds_total', "
           "'stages', parameters->'parallel'->'stage_seconds_total', 'body', "
           "timings->'total', 'write', timings->'write') FROM surveys_indexrun "
           "ORDER BY id DESC LIMIT 1")
    run = json.loads(subprocess.run(["psql", db_url, "-Atc", sql], capture_output=True,
                                    text=True, check=True).stdout)
    out = {"workers": n, "warm": warm, "wall_s": round(wall, 2),
           "machine_cpu_s": dict(zip(_KINDS, used, strict=True)), "worker_cpu": workers,
           "run": run}
    if timeline:
        events: list[tuple] = []
        for i in range(n):
            for line in (logdir / f"worker{i}.log").read_text().splitlines():
                found = _LINE.match(line)
                if found:
                    at = dt.datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S,%f")
                    events.append((at.timestamp(), f"w{i}",
                                   found.group(2).rsplit(".", 1)[-1], found.group(3),
                                   found.group(4).split(" ")[0]))
        # the logs are in Celery's time zone (the project's): whole hours from the clock here
        shift = round((min(e[0] for e in events) - start) / 3600) * 3600 if events else 0
        out["timeline"] = sorted((round(e[0] - shift - start, 2), *e[1:]) for e in events)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workers", nargs="+", type=int)
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--logdir", type=Path, default=Path("/tmp/bench_chord"))
    parser.add_argument("--timeline", action="store_true")
    parser.add_argument("--shards", type=int, default=2,
                        help="tasks per wave (compute_indices --shards; default 2)")
    parser.add_argument("--warm", action="store_true",
                        help="measure the workers' second run (long-lived workers)")
    args = parser.parse_args()
    db_url = f"{args.pg_url}/{bn.DB}"
    for n in args.workers:
        result = one_run(n, db_url, args.redis, args.logdir, args.timeline, args.warm,
                         args.shards)
        events = result.pop("timeline", [])
        print(json.dumps(result), flush=True)
        for event in events:
            print("  ", *event)


if __name__ == "__main__":
    main()
