"""Benchmark: API submissions while a 1,000,000-row import runs (issue 15), PostgreSQL.

    .venv/bin/python bench/bench_import_concurrency.py [--rows 1000000] [--rate 20]

Set-up: a fresh database `nilai_bench_conc` (postgres@127.0.0.1:5432, dropped and created with
psql), migrate, the reference regions and 30-item instrument, wave 2025 open, an enumerator
and its token; gunicorn (2 sync workers, bench.api_wsgi, DEBUG off, persistent connections)
on loopback. A paced client posts a new 30-item response every 1/--rate s (latency from the
scheduled send time, so a stall is counted in full), and after 5 s `manage.py
import_responses` loads the seeded CSV of bench/bench_import.py (5 waves 2021-2025: the import
also writes into the open wave the client posts to). The client goes on 3 s after the import
ends. Prints the import's wall time and the client's latency percentiles and status codes
during the import.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from bench_import import generate  # noqa: E402

REFERENCE = REPO / "tests" / "reference" / "kaltim"
VENV_BIN = REPO / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
PG_ADMIN = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q",
            "-d", "postgres"]
PG_DB = "nilai_bench_conc"
PORT = 8735
BASE = f"http://127.0.0.1:{PORT}"


def env() -> dict[str, str]:
    return dict(
        os.environ, DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{PG_DB}",
        DJANGO_SETTINGS_MODULE="bench.api_settings", CONN_MAX_AGE="60",
        THROTTLE_SUBMISSIONS="100000000/min", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
        PANEL_KEY_SECRET="bench-secret", NILAI_AUTO_RECOMPUTE="false",
    )


def manage(*args: str) -> str:
    return subprocess.run([PYTHON, "manage.py", *args], cwd=REPO, env=env(), check=True,
                          capture_output=True, text=True).stdout


def setup_database() -> dict[str, Any]:
    subprocess.run([*PG_ADMIN, "-c", f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"],
                   check=True)
    subprocess.run([*PG_ADMIN, "-c", f"CREATE DATABASE {PG_DB}"], check=True)
    manage("migrate", "--no-input")
    manage("load_regions", str(REFERENCE / "regions.csv"))
    manage("load_instrument", str(REFERENCE / "instrument.json"))
    opened = manage("open_wave", "IINP", "2025")
    wave_id = int(re.search(r"(?:wave|gelombang) (\d+):", opened).group(1))
    manage("grant", "bench-enum", "enumerator", "--region", "64")
    token = manage("issue_token", "bench-enum").strip().splitlines()[-1]
    instrument = json.loads((REFERENCE / "instrument.json").read_text())
    codes = [it["code"] for d in instrument["dimensions"] for it in d["items"]]
    return {"wave": wave_id, "token": token, "codes": codes}


def start_gunicorn() -> subprocess.Popen:
    log = open(tempfile.gettempdir() + "/bench_import_conc_gunicorn.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "bench.api_wsgi:application", "--bind",
         f"127.0.0.1:{PORT}", "--workers", "2", "--log-level", "warning"],
        cwd=REPO, env=env(), start_new_session=True, stdout=log, stderr=log)
    for _ in range(300):
        try:
            requests.get(f"{BASE}/api/v1/regions/", timeout=5)
            return proc
        except requests.RequestException:
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGTERM)
    raise RuntimeError("gunicorn did not start")


class Client:
    """Paced submissions; each result is (scheduled time, status or 0, latency s)."""

    def __init__(self, world: dict[str, Any], rate: float, n_workers: int = 8):
        self.world, self.rate = world, rate
        self.jobs: queue.Queue[tuple[float, dict[str, Any]] | None] = queue.Queue()
        self.results: list[tuple[float, int, float]] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.workers = [threading.Thread(target=self.work, daemon=True)
                        for _ in range(n_workers)]
        self.pacer = threading.Thread(target=self.pace, daemon=True)

    def start(self) -> None:
        for t in [*self.workers, self.pacer]:
            t.start()

    def pace(self) -> None:
        start = time.perf_counter()
        i = 0
        while not self.stop.is_set():
            scheduled = start + i / self.rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            sid = str(uuid.uuid4())
            self.jobs.put((scheduled, {
                "submission_id": sid, "respondent": f"S-{sid}", "region": "6401",
                "sex": "LP"[i % 2], "age_group": "25-34",
                "answers": {c: 1 + (i + j) % 5 for j, c in enumerate(self.world["codes"])}}))
            i += 1
        for _ in self.workers:
            self.jobs.put(None)

    def work(self) -> None:
        url = f"{BASE}/api/v1/waves/{self.world['wave']}/responses/"
        with requests.Session() as session:
            session.headers["Authorization"] = f"Token {self.world['token']}"
            while (job := self.jobs.get()) is not None:
                scheduled, body = job
                try:
                    status = session.post(url, json=body, timeout=120).status_code
                except requests.RequestException:
                    status = 0
                with self.lock:
                    self.results.append((scheduled, status, time.perf_counter() - scheduled))

    def finish(self) -> None:
        self.stop.set()
        self.pacer.join(timeout=60)
        for t in self.workers:
            t.join(timeout=180)


def main() -> None:
    global PG_DB
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--pg-db", default=PG_DB, help=f"database to create and drop ({PG_DB})")
    args = parser.parse_args()
    PG_DB = args.pg_db
    csv_path = Path(tempfile.gettempdir()) / f"nilai_bench_responses_{args.rows}.csv"
    if not csv_path.exists():
        generate(csv_path, args.rows)
    world = setup_database()
    server = start_gunicorn()
    try:
        client = Client(world, args.rate)
        client.start()
        time.sleep(5)
        load = os.getloadavg()
        start = time.perf_counter()
        out = subprocess.run(
            [PYTHON, "manage.py", "import_responses", str(csv_path), "--instrument", "IINP"],
            cwd=REPO, env=env(),
            capture_output=True, text=True, check=False)
        import_wall = time.perf_counter() - start
        end = time.perf_counter()
        time.sleep(3)
        client.finish()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    if out.returncode:
        sys.exit(f"import failed:\n{out.stdout}\n{out.stderr}")
    during = sorted(lat for t, _, lat in client.results if start <= t <= end)
    statuses: dict[int, int] = {}
    for t, status, _ in client.results:
        if start <= t <= end:
            statuses[status] = statuses.get(status, 0) + 1
    errors = sum(n for s, n in statuses.items() if s != 201)

    def pct(p: float) -> float:
        return during[min(len(during) - 1, int(p / 100 * len(during)))] * 1e3

    print(out.stdout.strip().splitlines()[0], file=sys.stderr)
    print(f"load average before the import: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("| rows | import wall s | submissions during it | p50 ms | p99 ms | max ms | "
          "errors | statuses |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    print(f"| {args.rows:,} | {import_wall:.1f} | {len(during)} | {pct(50):.0f} | "
          f"{pct(99):.0f} | {during[-1] * 1e3:.0f} | {errors} | "
          f"{', '.join(f'{s}: {n}' for s, n in sorted(statuses.items()))} |")
    subprocess.run([*PG_ADMIN, "-c", f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"],
                   check=False)


if __name__ == "__main__":
    main()
