"""The parallel index run's parts alone (issue 15, docs/DECISIONS.md 81): how they split over
processes on this machine, without Celery, the command's start or the chord's body.

    OPENBLAS_NUM_THREADS=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/nilai_national_bench \\
        DJANGO_SETTINGS_MODULE=backend.settings.local .venv/bin/python bench/bench_parts.py 1 2 1 2

On the database a `bench_national.py --keep` run left: the tasks of `compute_parallel.plan`
(``--shards``, default 2) are queued in plan order to N processes (one per argument), each
running `province_part` (read, score, rake, sufficient statistics, its `RunPart` row) like a
solo-pool worker. Prints per N the wall time, the parts' summed seconds and the busy CPU
seconds of the whole machine (PostgreSQL included) during it; the rows it wrote are deleted.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_national import busy_seconds  # noqa: E402 - beside this script


def worker(tasks: mp.Queue, done: mp.Queue, token: str) -> None:
    import django

    from backend.celery import keep_freed_memory

    keep_freed_memory()  # as a Celery worker does when it starts
    django.setup()
    from surveys.services.compute_parallel import province_part

    while (task := tasks.get()) is not None:
        wave_id, regions = task
        start = time.perf_counter()
        province_part(wave_id, regions, token=token)
        done.put(time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("processes", nargs="+", type=int)
    parser.add_argument("--shards", type=int, default=2)
    args = parser.parse_args()
    import django

    from backend.celery import keep_freed_memory

    keep_freed_memory()  # as a Celery worker does when it starts
    django.setup()
    from django.db import connections

    from surveys import models as m
    from surveys.services import compute_parallel

    plan = compute_parallel.plan(list(m.Wave.objects.values_list("pk", flat=True)), args.shards)
    connections.close_all()  # not inherited by the children
    token = uuid.uuid4().hex
    try:
        for n in args.processes:
            tasks: mp.Queue = mp.Queue()
            done: mp.Queue = mp.Queue()
            procs = [mp.Process(target=worker, args=(tasks, done, token)) for _ in range(n)]
            for p in procs:
                p.start()
            time.sleep(3)  # Django set up in every process before the clock starts
            busy, start = busy_seconds(), time.perf_counter()
            for task in plan:
                tasks.put(task)
            seconds = [done.get() for _ in plan]
            wall, cpu = time.perf_counter() - start, busy_seconds() - busy
            for _ in procs:
                tasks.put(None)
            for p in procs:
                p.join()
            print(f"| {n} | {len(plan)} | {wall:.1f} | {sum(seconds):.1f} | {cpu:.1f} |",
                  flush=True)
    finally:
        m.RunPart.objects.filter(token=token).delete()


if __name__ == "__main__":
    main()
