"""A real Celery worker on Redis for the PostgreSQL test run (import `celery_worker`).

The worker is a separate process, so it must see the test's committed rows: that needs a
server database (the SQLite test database lives in the test process's memory), hence
`REQUIRES_SERVER_DB` for the test modules. CI's PostgreSQL pass makes sure Redis is up.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from django.db import connection

REPO = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("NILAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

REQUIRES_SERVER_DB = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a worker process cannot see the in-memory SQLite test database",
    ),
]


def _database_url() -> str:
    s = connection.settings_dict
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{s['NAME']}"


@dataclass
class Worker:
    process: subprocess.Popen
    queue: str
    output: str = ""

    def send(self, name: str, *args: Any, **kwargs: Any) -> None:
        # the test process's own (eager) app stays current
        Celery(broker=REDIS_URL, set_as_current=False).send_task(
            name, args=args, kwargs=kwargs, queue=self.queue)

    def wait(self, done: Callable[[], Any], timeout: float) -> Any:
        """Poll ``done`` until it returns something truthy, the worker dies or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = done()
            if result or self.process.poll() is not None:
                return result
            time.sleep(0.5)
        return None


@contextmanager
def celery_worker(*, processes: int = 1, **extra_env: str) -> Iterator[Worker]:
    """A solo worker (``processes`` > 1: a prefork pool of that many) on a queue of its own,
    against this test's database; its output is in ``worker.output`` after the block."""
    import redis

    redis.Redis.from_url(REDIS_URL).ping()  # fail loudly if Redis is not running
    queue = f"nilai-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "backend.settings.local",
           "DATABASE_URL": _database_url(), "CELERY_BROKER_URL": REDIS_URL,
           "OPENBLAS_NUM_THREADS": "1", **extra_env}
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "backend", "worker",
         "--pool=solo" if processes == 1 else "--pool=prefork", f"--concurrency={processes}",
         "-Q", queue, "--without-heartbeat", "--without-gossip",
         "--without-mingle", "--loglevel=WARNING"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    worker = Worker(process, queue)
    try:
        yield worker
    finally:
        process.terminate()
        worker.output = process.communicate(timeout=30)[0]
