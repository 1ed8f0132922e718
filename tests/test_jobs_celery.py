"""An export job through a real Celery worker on Redis (PostgreSQL run only, see
tests/celery_worker.py): the worker process writes the file and records the job."""

from __future__ import annotations

import csv
import hashlib
import io

import pytest

from surveys import models as m
from tests.celery_worker import REQUIRES_SERVER_DB, celery_worker
from tests.results_world import build_world

pytestmark = REQUIRES_SERVER_DB


@pytest.mark.django_db(transaction=True)
def test_export_job_runs_on_a_celery_worker_through_redis(tmp_path):
    build_world()
    job = m.ExportJob.objects.create(
        requested_by_name="tester", source=m.JobSource.API, table="estimates", format="csv",
        region_scope=["6401", "ALL"],
    )
    with celery_worker(NILAI_EXPORT_DIR=str(tmp_path)) as worker:
        worker.send("surveys.run_export_job", job.pk)

        def finished() -> bool:
            job.refresh_from_db()
            return job.status in (m.JobStatus.DONE, m.JobStatus.FAILED)
        worker.wait(finished, timeout=120)
    output = worker.output
    assert job.status == m.JobStatus.DONE, f"{job.status} {job.messages}\n{output}"
    path = tmp_path / job.file_path
    content = path.read_bytes()
    assert job.sha256 == hashlib.sha256(content).hexdigest()
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    regions = {row[rows[0].index("region")] for row in rows[1:]}
    assert regions == {"6401", "ALL"}
    assert job.rows == 12
