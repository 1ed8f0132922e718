"""The recompute task through a real Celery worker on Redis (PostgreSQL run only).

The worker is a separate process, so it must see the test's committed rows: that needs a
server database (the SQLite test database lives in the test process's memory). CI runs this
file in its PostgreSQL pass, where .ci/run also makes sure Redis is up.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.core.management import call_command
from django.db import connection

from surveys import models as m

REPO = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("NILAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

pytestmark = [
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


@pytest.mark.django_db(transaction=True)
def test_compute_task_runs_on_a_celery_worker_through_redis(kaltim_dir):
    import redis

    redis.Redis.from_url(REDIS_URL).ping()  # fail loudly if Redis is not running
    call_command("load_regions", str(kaltim_dir / "regions.csv"))
    call_command("load_instrument", str(kaltim_dir / "instrument.json"))
    call_command("load_population", str(kaltim_dir / "population.csv"))
    call_command(
        "import_responses", str(kaltim_dir / "responses.csv"), "--instrument", "IINP"
    )
    before = set(m.IndexRun.objects.values_list("pk", flat=True))

    queue = f"nilai-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.settings.local",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": REDIS_URL,
        "OPENBLAS_NUM_THREADS": "1",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "backend", "worker", "--pool=solo",
         "--concurrency=1", "-Q", queue, "--without-heartbeat", "--without-gossip",
         "--without-mingle", "--loglevel=WARNING"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        client = Celery(broker=REDIS_URL)
        client.send_task("surveys.compute_indices", kwargs={"wave_id": None}, queue=queue)
        deadline = time.monotonic() + 180
        run = None
        while time.monotonic() < deadline:
            run = (
                m.IndexRun.objects.exclude(pk__in=before)
                .filter(status__in=[m.RunStatus.SUCCEEDED, m.RunStatus.FAILED])
                .first()
            )
            if run is not None or worker.poll() is not None:
                break
            time.sleep(0.5)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0]
    assert run is not None, f"the worker did not finish a run; worker output:\n{output}"
    assert run.status == m.RunStatus.SUCCEEDED, run.messages
    assert m.EstimateResult.objects.filter(run=run).count() == 330
    assert sum(m.WaveWeights.objects.filter(run=run).values_list("n", flat=True)) == 9140
