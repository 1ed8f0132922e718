"""The recompute task through a real Celery worker on Redis (PostgreSQL run only, see
tests/celery_worker.py)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from surveys import models as m
from tests.celery_worker import REQUIRES_SERVER_DB, celery_worker

pytestmark = REQUIRES_SERVER_DB


@pytest.mark.django_db(transaction=True)
def test_compute_task_runs_on_a_celery_worker_through_redis(kaltim_dir):
    call_command("load_regions", str(kaltim_dir / "regions.csv"))
    call_command("load_instrument", str(kaltim_dir / "instrument.json"))
    call_command("load_population", str(kaltim_dir / "population.csv"))
    call_command(
        "import_responses", str(kaltim_dir / "responses.csv"), "--instrument", "IINP"
    )
    before = set(m.IndexRun.objects.values_list("pk", flat=True))
    with celery_worker() as worker:
        worker.send("surveys.compute_indices", wave_id=None)
        run = worker.wait(lambda: m.IndexRun.objects.exclude(pk__in=before).filter(
            status__in=[m.RunStatus.SUCCEEDED, m.RunStatus.FAILED]).first(), timeout=180)
    assert run is not None, f"the worker did not finish a run; worker output:\n{worker.output}"
    assert run.status == m.RunStatus.SUCCEEDED, run.messages
    assert m.EstimateResult.objects.filter(run=run).count() == 330
    assert sum(m.WaveWeights.objects.filter(run=run).values_list("n", flat=True)) == 9140
