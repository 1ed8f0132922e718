"""Benchmark: POST /api/v1/waves/{wave}/responses/ under gunicorn on PostgreSQL.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/bench_api.py [--duration 30]
        [--soak-seconds 600] [--soak-rate 100] [--workers 2] [--worker-class sync]

Set-up: a fresh PostgreSQL database `nilai_bench_api` (postgres@127.0.0.1:5432, dropped and
created with psql), migrate, the reference regions and 30-item instrument of
tests/reference/kaltim, an open wave, an enumerator assigned to the province and its token.
gunicorn serves bench.api_wsgi (the project's URLs plus a bare Django view that parses the same
JSON body and inserts one row) with DEBUG off, persistent DB connections (CONN_MAX_AGE=60) and
the throttle raised out of the way.

1. Throughput: wrk (apt-get install -y wrk) with a Lua script that makes every request a new
   respondent with a fresh random UUID v4 submission_id and 30 answers, at 8 and 32 connections
   for --duration seconds each; the same for the bare view. Sustained requests/s, p50/p99, and
   every status code counted.
2. Soak: a paced Python client (threads, keep-alive sessions) at --soak-rate submissions/s for
   --soak-seconds, 10 % of them identical replays of responses already acknowledged. Latency is
   measured from the scheduled send time (no coordinated omission). Afterwards the table is
   counted: rows vs distinct submission_ids vs ids acknowledged.

The load generator runs on the same 2-core machine as gunicorn and PostgreSQL: figures are a
floor, not a ceiling. Prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import requests

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "tests" / "reference" / "kaltim"
VENV_BIN = REPO / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
PG_ADMIN = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]
PG_DB = "nilai_bench_api"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
PORT = 8734
BASE = f"http://127.0.0.1:{PORT}"


def env() -> dict[str, str]:
    return dict(
        os.environ,
        DATABASE_URL=DATABASE_URL,
        DJANGO_SETTINGS_MODULE="bench.api_settings",
        CONN_MAX_AGE="60",
        THROTTLE_SUBMISSIONS="100000000/min",
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        PANEL_KEY_SECRET="bench-secret",
    )


def manage(*args: str) -> str:
    out = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=REPO, env=env(), check=True, capture_output=True,
        text=True,
    )
    return out.stdout


def setup_database() -> dict[str, Any]:
    subprocess.run([*PG_ADMIN, "-c", f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"], check=True)
    subprocess.run([*PG_ADMIN, "-c", f"CREATE DATABASE {PG_DB}"], check=True)
    manage("migrate", "--no-input")
    manage("load_regions", str(REFERENCE / "regions.csv"))
    manage("load_instrument", str(REFERENCE / "instrument.json"))
    opened = manage("open_wave", "IINP", "2026")
    wave_id = int(re.search(r"wave (\d+):", opened).group(1))
    manage("grant", "bench-enum", "enumerator", "--region", "64")
    token = manage("issue_token", "bench-enum").strip().splitlines()[-1]
    instrument = json.loads((REFERENCE / "instrument.json").read_text())
    codes = [it["code"] for d in instrument["dimensions"] for it in d["items"]]
    regions = [
        line.split(",")[0]
        for line in (REFERENCE / "regions.csv").read_text().splitlines()[1:]
        if line.split(",")[2] in ("regency", "city")
    ]
    return {"wave": wave_id, "token": token, "codes": codes, "regions": regions}


def start_gunicorn(workers: int, worker_class: str) -> subprocess.Popen:
    cmd = [
        str(VENV_BIN / "gunicorn"), "bench.api_wsgi:application",
        "--bind", f"127.0.0.1:{PORT}", "--workers", str(workers),
        "--worker-class", worker_class, "--backlog", "2048", "--log-level", "warning",
    ]
    if worker_class == "gthread":
        cmd += ["--threads", "4"]
    log = open(tempfile.gettempdir() + "/bench_api_gunicorn.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env(), start_new_session=True, stdout=log, stderr=log
    )
    for _ in range(300):
        try:
            requests.get(f"{BASE}/api/v1/regions/", timeout=5)  # 401 without a token: cheap
            return proc
        except requests.RequestException:
            time.sleep(0.2)
    stop(proc)
    raise RuntimeError("gunicorn did not start")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


LUA = r"""
local threads = {}
local counter = 0
local codes = {%(codes)s}
local regions = {%(regions)s}
local sexes = {"L", "P"}
local ages = {"17-24", "25-34", "35-44", "45-54", "55+"}

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  math.randomseed(os.time() + tid * 7919 + math.floor(os.clock() * 1e6))
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Token %(token)s"
end

local function uuid4()
  return (string.gsub("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", "[xy]", function(c)
    local v = (c == "x") and math.random(0, 15) or math.random(8, 11)
    return string.format("%%x", v)
  end))
end

function request()
  local id = uuid4()
  local parts = {}
  for i = 1, #codes do
    parts[i] = string.format('"%%s":%%d', codes[i], math.random(1, 5))
  end
  local body = string.format(
    '{"submission_id":"%%s","respondent":"B-%%s","region":"%%s","sex":"%%s",' ..
    '"age_group":"%%s","answers":{%%s}}',
    id, id, regions[math.random(#regions)], sexes[math.random(2)], ages[math.random(5)],
    table.concat(parts, ","))
  return wrk.format("POST", "%(path)s", nil, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do total[k] = (total[k] or 0) + v end
  end
  local s = {}
  for k, v in pairs(total) do table.insert(s, string.format('"%%d":%%d', k, v)) end
  io.write(string.format(
    'RESULT {"requests":%%d,"seconds":%%f,"p50_ms":%%f,"p99_ms":%%f,"errors":%%d,' ..
    '"statuses":{%%s}}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, table.concat(s, ",")))
end
"""


def wrk(path: str, world: dict[str, Any], connections: int, duration: int) -> dict[str, Any]:
    script = LUA % {
        "codes": ",".join(f'"{c}"' for c in world["codes"]),
        "regions": ",".join(f'"{r}"' for r in world["regions"]),
        "token": world["token"],
        "path": path,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    threads = min(2, connections)
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s",
         "--timeout", "10s", "-s", fh.name, BASE],
        check=True, capture_output=True, text=True,
    ).stdout
    os.unlink(fh.name)
    result = json.loads(out.split("RESULT ", 1)[1].splitlines()[0])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def count_rows(wave_id: int) -> tuple[int, int]:
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={PG_DB}") as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT submission_id) FROM surveys_response "
            "WHERE wave_id = %s", [wave_id],
        ).fetchone()
    return int(row[0]), int(row[1])


def soak(world: dict[str, Any], rate: float, seconds: int, replay_share: float = 0.10,
         n_workers: int = 24, seed: int = 20261128) -> dict[str, Any]:
    url = f"{BASE}/api/v1/waves/{world['wave']}/responses/"
    rng = random.Random(seed)
    jobs: queue.Queue[tuple[float, dict[str, Any], str] | None] = queue.Queue()
    acknowledged: list[dict[str, Any]] = []
    lock = threading.Lock()
    results: list[tuple[str, int, float]] = []  # kind, status (0 = exception), latency s
    accepted_ids: set[str] = set()

    def new_body() -> dict[str, Any]:
        sid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        return {
            "submission_id": sid, "respondent": f"S-{sid}",
            "region": rng.choice(world["regions"]), "sex": rng.choice("LP"),
            "age_group": rng.choice(["17-24", "25-34", "35-44", "45-54", "55+"]),
            "answers": {c: rng.randint(1, 5) for c in world["codes"]},
        }

    def worker() -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {world['token']}"
        while (job := jobs.get()) is not None:
            scheduled, body, kind = job
            try:
                r = session.post(url, json=body, timeout=30)
                status = r.status_code
            except requests.RequestException:
                status = 0
            latency = time.perf_counter() - scheduled
            with lock:
                results.append((kind, status, latency))
                if status in (200, 201):
                    accepted_ids.add(body["submission_id"])
                if status == 201:
                    acknowledged.append(body)

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(n_workers)]
    for t in workers:
        t.start()
    total = int(rate * seconds)
    start = time.perf_counter()
    for i in range(total):
        scheduled = start + i / rate
        with lock:
            pool = list(acknowledged[-500:])
        if pool and rng.random() < replay_share:
            body, kind = rng.choice(pool), "replay"
        else:
            body, kind = new_body(), "new"
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        jobs.put((scheduled, body, kind))
    for _ in workers:
        jobs.put(None)
    for t in workers:
        t.join(timeout=120)
    elapsed = time.perf_counter() - start
    latencies = sorted(lat for _, _, lat in results)
    expected = {"new": 201, "replay": 200}
    errors = sum(1 for kind, status, _ in results if status != expected[kind])
    rows, distinct = count_rows(world["wave"])

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1e3

    return {
        "seconds": elapsed, "sent": len(results),
        "replays": sum(1 for kind, _, _ in results if kind == "replay"),
        "achieved_rate": len(results) / elapsed, "p50_ms": pct(50), "p95_ms": pct(95),
        "p99_ms": pct(99), "max_ms": latencies[-1] * 1e3,
        "mean_ms": statistics.fmean(latencies) * 1e3, "errors": errors,
        "statuses": {
            f"{kind} {status}": sum(1 for k, s, _ in results if (k, s) == (kind, status))
            for kind, status in sorted({(k, s) for k, s, _ in results})
        },
        "rows": rows, "distinct_ids": distinct, "accepted_ids": len(accepted_ids),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=30, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, nargs="*", default=[8, 32],
                        help="wrk runs (none: soak only)")
    parser.add_argument("--soak-seconds", type=int, default=600)
    parser.add_argument("--soak-rate", type=float, default=100.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    args = parser.parse_args()

    world = setup_database()
    server = start_gunicorn(args.workers, args.worker_class)
    try:
        api_path = f"/api/v1/waves/{world['wave']}/responses/"
        if args.connections:
            wrk(api_path, world, 8, 5)  # warm-up: imports, connections, plans
            wrk("/bench/bare/", world, 8, 5)
        rows = []
        for c in args.connections:
            api = wrk(api_path, world, c, args.duration)
            bare = wrk("/bench/bare/", world, c, args.duration)
            rows.append((c, api, bare))
            print(f"c={c}: api {api}\n      bare {bare}", file=sys.stderr, flush=True)
        before = count_rows(world["wave"])
        print(f"rows after wrk: {before}", file=sys.stderr, flush=True)
        soaked = (
            soak(world, args.soak_rate, args.soak_seconds) if args.soak_seconds > 0 else None
        )
    finally:
        stop(server)

    print(f"\ngunicorn {args.workers} {args.worker_class} workers, PostgreSQL, "
          f"{len(world['codes'])}-item responses, wrk {args.duration} s per run\n")
    print("| clients | API submissions/s | p50 ms | p99 ms | statuses | bare view req/s "
          "| bare p50 / p99 ms | API / bare |")
    print("|---|---|---|---|---|---|---|---|")
    for c, api, bare in rows:
        print(f"| {c} | {api['rps']:.0f} | {api['p50_ms']:.1f} | {api['p99_ms']:.1f} "
              f"| {api['statuses']} (socket errors {api['errors']}) | {bare['rps']:.0f} "
              f"| {bare['p50_ms']:.1f} / {bare['p99_ms']:.1f} | {api['rps'] / bare['rps']:.0%} |")
    rows_total, distinct_total = before
    print(f"\nafter wrk: {rows_total} rows, {distinct_total} distinct submission_ids")
    if soaked:
        s = soaked
        rows_soak = s["rows"] - rows_total
        distinct_soak = s["distinct_ids"] - distinct_total
        print(
            f"\nsoak: {s['sent']} requests in {s['seconds']:.0f} s "
            f"({s['achieved_rate']:.1f}/s; {s['replays']} identical replays)\n"
            f"latency from scheduled send: p50 {s['p50_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms, "
            f"p99 {s['p99_ms']:.1f} ms, max {s['max_ms']:.0f} ms\n"
            f"errors (status other than 201 new / 200 replay): {s['errors']}; "
            f"statuses {s['statuses']}\n"
            f"rows added {rows_soak}, distinct ids added {distinct_soak}, ids acknowledged "
            f"{s['accepted_ids']}, duplicates {rows_soak - distinct_soak}"
        )


if __name__ == "__main__":
    main()
