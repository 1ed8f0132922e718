"""Celery tasks: an id in, a service call, nothing else (queued with transaction.on_commit)."""

from __future__ import annotations

from celery import shared_task

# no import of the index run at the top: a process that only queues tasks (a web worker, the
# compute_indices command) loads this module without the analysis stack


@shared_task(name="surveys.compute_indices")
def compute_indices_task(wave_id: int | None = None) -> dict[str, object]:
    """Recompute one wave (and the cross-wave tables), or everything when wave_id is None.

    A run that fails on its inputs is recorded as failed on its IndexRun row (with the message)
    and reported in the task result; it is not re-raised, so that an import that queued the
    recompute is not turned into an error after it has committed.
    """
    from surveys.services import compute_parallel
    from surveys.services.compute import ComputeError, compute_indices, select_waves

    wave_ids = [wave_id] if wave_id is not None else None
    try:
        if compute_parallel.parallel_wanted(select_waves(wave_ids=wave_ids)):
            result = compute_parallel.compute_indices_parallel(wave_ids=wave_ids)
            return {"status": "queued", "chord": result.id}
    except ComputeError:
        pass  # compute_indices records the failure on a run row
    try:
        run = compute_indices(wave_ids=wave_ids)
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


@shared_task(name="surveys.compute_province_part")
def compute_province_part_task(wave_id: int, region_ids: list[int], *,
                               lonely_psu: str = "certainty", trim: bool = False,
                               token: str, queue: str | None = None) -> dict[str, object]:
    """One province group of one wave: its sufficient statistics (the chord's header, see
    surveys.services.compute_parallel)."""
    from surveys.services.compute_parallel import province_part

    return province_part(wave_id, region_ids, lonely_psu=lonely_psu, trim=trim, token=token,
                         queue=queue)


@shared_task(name="surveys.compute_wave_stage")
def compute_wave_stage_task(token: str, wave_id: int, *, lonely_psu: str = "certainty",
                            trim: bool = False) -> dict[str, object]:
    """One wave's stage of a parallel run: what the chord's body would compute for the wave
    (surveys.services.compute_parallel.run_stage)."""
    from surveys.services.compute_parallel import run_stage

    run_stage(token, wave_id, lonely_psu=lonely_psu, trim=trim)
    return {"wave": wave_id}


@shared_task(name="surveys.compute_indices_finish")
def compute_indices_finish_task(results: list[dict[str, object]],
                                **params: object) -> dict[str, object]:
    """The chord's body: the index run combined from the parts. Failures as for
    compute_indices_task (recorded on the run, reported, not re-raised)."""
    from surveys.services.compute import ComputeError
    from surveys.services.compute_parallel import finish

    try:
        run = finish(results, **params)
    except ComputeError as exc:
        return {"status": "failed", "error": str(exc)}
    return {"status": run.status, "run": run.pk}


@shared_task(name="surveys.drop_run_parts")
def drop_run_parts_task(token: str) -> dict[str, object]:
    """Delete the staging rows of a parallel run's chord once its body is done with them."""
    from surveys.services.compute_parallel import drop_parts

    return {"deleted": drop_parts(token)}


@shared_task(name="surveys.compute_indices_parallel")
def compute_indices_parallel_task(queue: str | None = None,
                                  **params: object) -> dict[str, object]:
    """Queue the per-province chord (returns at once with the chord's id; the body records
    the run). A selection that fails (an unknown instrument, no waves) is reported, not
    re-raised."""
    from surveys.services.compute import ComputeError
    from surveys.services.compute_parallel import compute_indices_parallel

    try:
        result = compute_indices_parallel(queue=queue, **params)  # type: ignore[arg-type]
    except ComputeError as exc:
        return {"status": "failed", "error": str(exc)}
    return {"status": "queued", "chord": result.id}
