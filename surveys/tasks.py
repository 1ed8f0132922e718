"""Celery tasks: an id in, a service call, nothing else (queued with transaction.on_commit)."""

from __future__ import annotations

from celery import shared_task

from surveys.services.compute import ComputeError, compute_indices


@shared_task(name="surveys.compute_indices")
def compute_indices_task(wave_id: int | None = None) -> dict[str, object]:
    """Recompute one wave (and the cross-wave tables), or everything when wave_id is None.

    A run that fails on its inputs is recorded as failed on its IndexRun row (with the message)
    and reported in the task result; it is not re-raised, so that an import that queued the
    recompute is not turned into an error after it has committed.
    """
    try:
        run = compute_indices(wave_ids=[wave_id] if wave_id is not None else None)
    except ComputeError as exc:
        return {"status": "failed", "error": str(exc)}
    return {"status": run.status, "run": run.pk}


@shared_task(name="surveys.run_export_job")
def run_export_job_task(job_id: int) -> dict[str, object]:
    """Write one export job's file (surveys.services.jobs.run_export_job); the job row records
    the outcome, so a failed export is reported, not re-raised."""
    from surveys.services.jobs import run_export_job

    job = run_export_job(job_id)
    return {"status": job.status, "job": job.pk, "rows": job.rows, "sha256": job.sha256}
