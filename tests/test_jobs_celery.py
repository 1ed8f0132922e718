"""An export job through a real Celery worker on Redis (PostgreSQL run only; same set-up as
tests/test_celery_redis.py): the worker process writes the file and records the job."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import subprocess
import sys
import time
import uuid

import pytest
from celery import Celery
from django.db import connection

from surveys import models as m
from tests.results_world import build_world
from tests.test_celery_redis import REDIS_URL, REPO, _database_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a worker process cannot see the in-memory SQLite test database",
    ),
]


@pytest.mark.django_db(transaction=True)
def test_export_job_runs_on_a_celery_worker_through_redis(tmp_path):
    import redis

    redis.Redis.from_url(REDIS_URL).ping()  # fail loudly if Redis is not running
    build_world()
    job = m.ExportJob.objects.create(
        requested_by_name="tester", source=m.JobSource.API, table="estimates", format="csv",
        region_scope=["6401", "ALL"],
    )
    queue = f"nilai-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.settings.local",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": REDIS_URL,
        "NILAI_EXPORT_DIR": str(tmp_path),
        "OPENBLAS_NUM_THREADS": "1",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "backend", "worker", "--pool=solo",
         "--concurrency=1", "-Q", queue, "--without-heartbeat", "--without-gossip",
         "--without-mingle", "--loglevel=WARNING"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        client = Celery(broker=REDIS_URL, set_as_current=False)  # the eager app stays current
        client.send_task("surveys.run_export_job", args=[job.pk], queue=queue)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.status in (m.JobStatus.DONE, m.JobStatus.FAILED) or worker.poll() is not None:
                break
            time.sleep(0.5)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0]
    assert job.status == m.JobStatus.DONE, f"{job.status} {job.messages}\n{output}"
    path = tmp_path / job.file_path
    content = path.read_bytes()
    assert job.sha256 == hashlib.sha256(content).hexdigest()
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    regions = {row[rows[0].index("region")] for row in rows[1:]}
    assert regions == {"6401", "ALL"}
    assert job.rows == 12
